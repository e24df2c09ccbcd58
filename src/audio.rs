//! The audio edge: reading headers and decoding files with symphonia.
//!
//! Everything after [`decode`] sees only mono `f32` samples and a sample rate; container and
//! codec quirks (RAVDESS's Apple `FLLR` padding chunk, 8/16/24/32-bit integer and 32-bit float
//! PCM, FLAC) stay here. So do the checks every input goes through before it costs anything:
//! the header's ranges and the work budget ([`limits`]), and whether the decoded clip holds any
//! sound a voice could have made ([`voice`]).

pub mod limits;
pub mod voice;

use std::fs::File;
use std::path::Path;

use symphonia::core::codecs::audio::well_known::{CODEC_ID_FLAC, CODEC_ID_PCM_S16LE};
use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoderOptions};
use symphonia::core::codecs::CodecParameters;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use thiserror::Error;

pub use self::limits::Limits;

/// Why a file could not be read as audio. Messages are one line and say what was wrong.
#[derive(Debug, Error)]
pub enum AudioError {
    #[error("cannot open: {0}")]
    Open(#[source] std::io::Error),
    #[error("not a readable audio file: {0}")]
    Format(String),
    #[error("no audio track")]
    NoTrack,
    #[error("unsupported audio: {0}")]
    Unsupported(String),
    #[error("corrupt audio data: {0}")]
    Decode(String),
    #[error("truncated: the header declares {declared} frames but the file holds {decoded}")]
    Truncated { declared: u64, decoded: u64 },
    #[error("empty: no audio samples")]
    Empty,
    /// A header value outside the supported ranges ([`limits`]).
    #[error("unsupported {what}: {value} is outside {range}")]
    OutOfRange {
        what: &'static str,
        value: String,
        range: String,
    },
    /// Longer than the limit (from the header, or found while decoding).
    #[error("too long: {detail}; at most {max_seconds} s is analysed")]
    TooLong { detail: String, max_seconds: f64 },
    /// More decoding and analysis than the work budget allows ([`limits`]).
    #[error(
        "too much work: {detail}, over the budget of {budget} samples ({max_seconds} s x \
         {per_second} samples/s)",
        per_second = limits::WORK_SAMPLES_PER_SECOND
    )]
    OverBudget {
        detail: String,
        budget: u64,
        max_seconds: f64,
    },
    /// Decoded, but nothing a voice could have made ([`voice`]).
    #[error("no voice found in the clip: {0}")]
    NoVoice(String),
}

/// Facts read from a file's header without decoding its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub sample_rate: u32,
    pub channels: u16,
    /// Bits per sample as stored (8, 16, 24, 32), when the container says.
    pub bits_per_sample: Option<u32>,
    /// Decoded sample format, e.g. `s16`, `s24`, `f32`, `u8`.
    pub sample_format: Option<String>,
    /// Frames (samples per channel) the header declares.
    pub n_frames: Option<u64>,
}

impl Header {
    pub fn duration_s(&self) -> Option<f64> {
        self.n_frames
            .map(|n| n as f64 / f64::from(self.sample_rate))
    }
}

/// Decoded audio, downmixed to mono by the mean of its channels (as `librosa.to_mono`).
#[derive(Debug, Clone)]
pub struct Audio {
    pub samples: Vec<f32>,
    pub sample_rate: u32,
    /// Channels in the source, before the downmix.
    pub source_channels: u16,
}

impl Audio {
    pub fn duration_s(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate)
    }
}

struct Opened {
    reader: Box<dyn FormatReader>,
    track_id: u32,
    params: AudioCodecParameters,
    header: Header,
    /// The most frames the file's size can hold.
    frames_by_size: Option<u64>,
}

fn open(path: &Path) -> Result<Opened, AudioError> {
    let file = File::open(path).map_err(AudioError::Open)?;
    let file_len = file.metadata().map_err(AudioError::Open)?.len();
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let reader = symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| {
            // symphonia's message for a WAV it refuses may not name the value; ours does.
            if let Some(range_error) = header_out_of_range(path) {
                return range_error;
            }
            match e {
                SymphoniaError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                    AudioError::Format("file ends before any audio header".into())
                }
                other => AudioError::Format(other.to_string()),
            }
        })?;
    let track = reader
        .default_track(TrackType::Audio)
        .ok_or(AudioError::NoTrack)?;
    let params = match &track.codec_params {
        Some(CodecParameters::Audio(p)) => p.clone(),
        _ => return Err(AudioError::NoTrack),
    };
    let sample_rate = params
        .sample_rate
        .ok_or_else(|| AudioError::Unsupported("no sample rate in header".into()))?;
    limits::check_rate(sample_rate)?;
    let channels = params
        .channels
        .as_ref()
        .map(|c| c.count())
        .ok_or_else(|| AudioError::Unsupported("no channel count in header".into()))?;
    limits::check_channels(channels as u32)?;
    let header = Header {
        sample_rate,
        channels: u16::try_from(channels)
            .map_err(|_| AudioError::Unsupported(format!("{channels} channels")))?,
        bits_per_sample: params.bits_per_coded_sample.or(params.bits_per_sample),
        sample_format: params
            .sample_format
            .map(|f| format!("{f:?}").to_ascii_lowercase()),
        n_frames: track.num_frames,
    };
    limits::check_header(&header)?;
    let frames_by_size = Some(if params.codec == CODEC_ID_FLAC {
        limits::flac_frames_by_size(file_len)
    } else {
        limits::pcm_frames_by_size(
            file_len,
            header.channels,
            header.bits_per_sample.unwrap_or(8),
        )
    });
    let track_id = track.id;
    Ok(Opened {
        reader,
        track_id,
        params,
        header,
        frames_by_size,
    })
}

/// When `path` is a RIFF/WAVE file whose `fmt ` chunk, or a FLAC file whose STREAMINFO, holds
/// a rate, channel count or sample size outside the supported ranges, the error naming it (read
/// from the first 4 KB): symphonia refuses some such files with a message that does not.
fn header_out_of_range(path: &Path) -> Option<AudioError> {
    use std::io::Read;
    let mut head = Vec::with_capacity(4096);
    File::open(path)
        .ok()?
        .take(4096)
        .read_to_end(&mut head)
        .ok()?;
    if head.len() >= 26 && &head[..4] == b"fLaC" && head[4] & 0x7f == 0 {
        // STREAMINFO: rate (20 bits), channels - 1 (3), bits per sample - 1 (5), from byte 18.
        let packed = u32::from_be_bytes(head[18..22].try_into().ok()?);
        let rate = packed >> 12;
        let bits = ((packed >> 4) & 0x1f) + 1;
        return limits::check_rate(rate)
            .and_then(|()| {
                if limits::INTEGER_BITS.contains(&bits) {
                    Ok(())
                } else {
                    Err(limits::out_of_range(
                        "bits per sample",
                        bits.to_string(),
                        "4..=32".to_string(),
                    ))
                }
            })
            .err();
    }
    if head.len() < 12 || &head[..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return None;
    }
    let mut at = 12;
    while at + 8 <= head.len() {
        let id = &head[at..at + 4];
        let size = u32::from_le_bytes(head[at + 4..at + 8].try_into().ok()?) as usize;
        let body = head.get(at + 8..at + 8 + size.min(40))?;
        if id == b"fmt " {
            if body.len() < 16 {
                return None;
            }
            let u16_at = |i: usize| u16::from_le_bytes([body[i], body[i + 1]]);
            let (tag, channels, bits) = (u16_at(0), u16_at(2), u16_at(14));
            let rate = u32::from_le_bytes(body[4..8].try_into().ok()?);
            if let Err(e) = limits::check_rate(rate) {
                return Some(e);
            }
            if let Err(e) = limits::check_channels(u32::from(channels)) {
                return Some(e);
            }
            // WAVE_FORMAT_PCM stores whole bytes: 8, 16, 24 or 32 bits.
            if tag == 1 && !matches!(bits, 8 | 16 | 24 | 32) {
                return Some(limits::out_of_range(
                    "bits per sample",
                    bits.to_string(),
                    "8, 16, 24 or 32 (WAV PCM)".to_string(),
                ));
            }
            return None;
        }
        at = at.checked_add(8 + size + (size & 1))?;
    }
    None
}

/// Reads a file's header (rate, channels, format, length) without decoding the samples; a
/// rate, channel count or sample size outside the supported ranges is an error
/// ([`AudioError::OutOfRange`]).
pub fn read_header(path: &Path) -> Result<Header, AudioError> {
    open(path).map(|o| o.header)
}

/// [`read_header`], and the header (with the file's size) checked against `limits`
/// ([`Limits::admit`]).
pub fn read_header_within(path: &Path, limits: &Limits) -> Result<Header, AudioError> {
    let opened = open(path)?;
    limits.admit(&opened.header, opened.frames_by_size)?;
    Ok(opened.header)
}

impl AudioError {
    /// Whether the file was read but is outside what is accepted (a header range, the length
    /// or the work budget), rather than unreadable.
    pub fn is_unsupported(&self) -> bool {
        matches!(
            self,
            AudioError::OutOfRange { .. }
                | AudioError::TooLong { .. }
                | AudioError::OverBudget { .. }
        )
    }
}

/// Decodes a whole file to mono `f32` at its native sample rate.
///
/// Integer PCM is scaled as libsndfile (and so `soundfile.read`) does: `s / 2^(bits-1)`, with
/// 8-bit unsigned centred at 128. A file that decodes to fewer frames than its header declares
/// is reported as truncated rather than silently shortened. No length limit: the stages,
/// `predict` and `serve` use [`decode_within`].
pub fn decode(path: &Path) -> Result<Audio, AudioError> {
    decode_with(path, true, None)
}

/// [`decode`] within `limits`: the header is checked against the work budget before anything
/// is decoded ([`Limits::admit`]), and decoding stops (with [`AudioError::TooLong`]) as soon as
/// the clip passes `limits.max_seconds`, whatever its header declared.
pub fn decode_within(path: &Path, limits: &Limits) -> Result<Audio, AudioError> {
    decode_with(path, true, Some(limits))
}

/// [`decode_within`], then [`voice::check`]: how every stage, `predict` and `serve` read a
/// recording to judge (a clip with no voice is refused with [`AudioError::NoVoice`]).
pub fn decode_speech(path: &Path, limits: &Limits) -> Result<Audio, AudioError> {
    let audio = decode_within(path, limits)?;
    voice::check(&audio.samples, audio.sample_rate)?;
    Ok(audio)
}

/// [`decode_speech`], then [`resample`] to `limits.analysis_rate` when one is given (the
/// `audio.sample_rate` setting): how the batch stages load a file.
pub fn load(path: &Path, limits: &Limits) -> Result<Audio, AudioError> {
    let audio = decode_speech(path, limits)?;
    match limits.analysis_rate {
        Some(rate) => resample(audio, rate),
        None => Ok(audio),
    }
}

/// [`decode`], with the 16-bit PCM shortcut on or off (off only to test it against symphonia's
/// decoder), within `limits` when given.
fn decode_with(
    path: &Path,
    fast_pcm16: bool,
    limits: Option<&Limits>,
) -> Result<Audio, AudioError> {
    let Opened {
        mut reader,
        track_id,
        params,
        header,
        frames_by_size,
    } = open(path)?;
    // Never reserved from the declared length alone: at most what the file can hold (PCM) and
    // what the limit allows.
    let expected = match limits {
        Some(limits) => limits.admit(&header, frames_by_size)?.frames,
        None => limits::effective_frames(header.n_frames, frames_by_size),
    };
    let max_frames = limits.map_or(u64::MAX, |l| l.frame_cap(&header));
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| AudioError::Unsupported(e.to_string()))?;
    let channels = usize::from(header.channels);
    // 16-bit PCM (RAVDESS, and most WAV): the packet holds the interleaved little-endian
    // samples, converted here in one vectorised pass (symphonia's decoder renders them sample by
    // sample into its own buffer first, at several times the cost). Same values (tested).
    let pcm16 = params.codec == CODEC_ID_PCM_S16LE && params.bits_per_sample == Some(16);
    let capacity = expected.unwrap_or(0).min(max_frames).min(1 << 28) as usize;
    let mut mono: Vec<f32> = Vec::with_capacity(capacity);
    let mut interleaved: Vec<f32> = Vec::new();
    let mut truncated = false;
    loop {
        let packet = match reader.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            Err(SymphoniaError::IoError(io)) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                truncated = true;
                break;
            }
            Err(e) => return Err(AudioError::Decode(e.to_string())),
        };
        if packet.track_id != track_id {
            continue;
        }
        if pcm16 && fast_pcm16 {
            let whole = packet.data.len() / (2 * channels) * (2 * channels);
            let bytes = &packet.data[..whole];
            let target = if channels == 1 {
                &mut mono
            } else {
                interleaved.clear();
                &mut interleaved
            };
            target.extend(
                bytes
                    .chunks_exact(2)
                    .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) * (1.0 / 32768.0)),
            );
        } else {
            let buf = decoder
                .decode(&packet)
                .map_err(|e| AudioError::Decode(e.to_string()))?;
            let buf_channels = buf.spec().channels().count();
            if buf_channels != channels {
                return Err(AudioError::Unsupported(format!(
                    "channel count changes mid-stream ({channels} -> {buf_channels})"
                )));
            }
            buf.copy_to_vec_interleaved(&mut interleaved);
        }
        if pcm16 && fast_pcm16 && channels == 1 {
            // Already in `mono`.
        } else if channels == 1 {
            mono.extend_from_slice(&interleaved);
        } else {
            let scale = 1.0 / channels as f64;
            mono.extend(
                interleaved
                    .chunks_exact(channels)
                    .map(|frame| (frame.iter().map(|&s| f64::from(s)).sum::<f64>() * scale) as f32),
            );
        }
        if let Some(limits) = limits.filter(|_| mono.len() as u64 > max_frames) {
            return Err(past_cap(&header, limits, max_frames));
        }
    }
    let decoded = mono.len() as u64;
    // A header declaring more frames than the file holds is reported, never allocated for.
    if let Some(declared) = header.n_frames {
        if truncated || decoded < declared {
            return Err(AudioError::Truncated { declared, decoded });
        }
    }
    if mono.is_empty() {
        return Err(AudioError::Empty);
    }
    // Samples converted from 16-bit integers are finite; the decoder's output is checked.
    let from_integers = pcm16 && fast_pcm16;
    if let Some(bad) = (!from_integers)
        .then(|| mono.iter().position(|s| !s.is_finite()))
        .flatten()
    {
        return Err(AudioError::Decode(format!(
            "non-finite sample at frame {bad}"
        )));
    }
    Ok(Audio {
        samples: mono,
        sample_rate: header.sample_rate,
        source_channels: header.channels,
    })
}

/// The error for a file whose decoding passed [`Limits::frame_cap`]: too long, or (with many
/// channels or much resampling) over the work budget first.
fn past_cap(header: &Header, limits: &Limits, cap: u64) -> AudioError {
    let declared = header
        .n_frames
        .map_or("no length".to_string(), |n| format!("{n} frames"));
    if cap == limits.max_frames(header.sample_rate) {
        AudioError::TooLong {
            detail: format!(
                "more than {cap} frames at {} Hz decoded (the header declared {declared})",
                header.sample_rate
            ),
            max_seconds: limits.max_seconds,
        }
    } else {
        AudioError::OverBudget {
            detail: format!(
                "more than {cap} frames of {} channels at {} Hz decoded (the header declared \
                 {declared})",
                header.channels, header.sample_rate
            ),
            budget: limits.budget_samples(),
            max_seconds: limits.max_seconds,
        }
    }
}

/// Resamples mono audio to `target_rate` with rubato's FFT resampler (band-limited, fixed
/// ratio), compensating its delay so the output is aligned with the input and has
/// `ceil(n * target / source)` samples, as `librosa.resample` sizes its output.
///
/// librosa's default resampler is soxr (`soxr_hq`); features of resampled audio therefore agree
/// with librosa's only approximately (both are high-quality band-limited resamplers).
pub fn resample(audio: Audio, target_rate: u32) -> Result<Audio, AudioError> {
    use rubato::{FftFixedIn, Resampler};
    if audio.sample_rate == target_rate {
        return Ok(audio);
    }
    let err = |e: &dyn std::fmt::Display| AudioError::Unsupported(format!("cannot resample: {e}"));
    let input: Vec<f64> = audio.samples.iter().map(|&s| f64::from(s)).collect();
    let (from, to) = (audio.sample_rate as usize, target_rate as usize);
    let expected = (input.len() as u128 * to as u128).div_ceil(from as u128) as usize;
    let mut resampler = FftFixedIn::<f64>::new(from, to, 1024, 2, 1).map_err(|e| err(&e))?;
    let delay = resampler.output_delay();
    let mut out: Vec<f64> = Vec::with_capacity(expected + delay + 2048);
    let mut pos = 0;
    while input.len() - pos >= resampler.input_frames_next() {
        let n = resampler.input_frames_next();
        let chunk = resampler
            .process(&[&input[pos..pos + n]], None)
            .map_err(|e| err(&e))?;
        out.extend_from_slice(&chunk[0]);
        pos += n;
    }
    if pos < input.len() {
        let chunk = resampler
            .process_partial(Some(&[&input[pos..]]), None)
            .map_err(|e| err(&e))?;
        out.extend_from_slice(&chunk[0]);
    }
    while out.len() < delay + expected {
        let chunk = resampler
            .process_partial::<&[f64]>(None, None)
            .map_err(|e| err(&e))?;
        out.extend_from_slice(&chunk[0]);
    }
    Ok(Audio {
        samples: out[delay..delay + expected]
            .iter()
            .map(|&s| s as f32)
            .collect(),
        sample_rate: target_rate,
        source_channels: audio.source_channels,
    })
}

/// Writes mono or interleaved 16-bit PCM WAV bytes; used by tests and examples to synthesise
/// audio (no third-party audio is ever shipped).
pub fn wav_pcm16_bytes(interleaved: &[f32], channels: u16, sample_rate: u32) -> Vec<u8> {
    let data_len = (interleaved.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&(sample_rate * u32::from(channels) * 2).to_le_bytes());
    out.extend_from_slice(&(channels * 2).to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for &s in interleaved {
        let v = (f64::from(s) * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn tone(n: usize, sr: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                (0.5 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / f64::from(sr)).sin()) as f32
            })
            .collect()
    }

    #[test]
    fn decodes_pcm16_exactly_as_libsndfile_scales() {
        let dir = tempfile::tempdir().unwrap();
        let samples = tone(1000, 16000);
        let path = write(dir.path(), "t.wav", &wav_pcm16_bytes(&samples, 1, 16000));
        let header = read_header(&path).unwrap();
        assert_eq!(header.sample_rate, 16000);
        assert_eq!(header.channels, 1);
        assert_eq!(header.n_frames, Some(1000));
        let audio = decode(&path).unwrap();
        assert_eq!(audio.samples.len(), 1000);
        for (a, s) in audio.samples.iter().zip(&samples) {
            let q = (f64::from(*s) * 32768.0).round() / 32768.0;
            assert_eq!(f64::from(*a), q);
        }
    }

    #[test]
    fn pcm16_shortcut_matches_symphonias_decoder() {
        let dir = tempfile::tempdir().unwrap();
        // Full scale both ways, odd lengths, mono and stereo, and a truncated last frame.
        let mut samples = tone(4099, 44100);
        samples[7] = 1.0;
        samples[8] = -1.0;
        samples[9] = 0.99997;
        for (name, channels) in [("m.wav", 1), ("s.wav", 2)] {
            let bytes = wav_pcm16_bytes(&samples, channels, 44100);
            let path = write(dir.path(), name, &bytes);
            // The shortcut's condition holds for these files, so the two paths differ.
            let params = open(&path).unwrap().params;
            assert_eq!(params.codec, CODEC_ID_PCM_S16LE);
            assert_eq!(params.bits_per_sample, Some(16));
            let fast = decode_with(&path, true, None).unwrap();
            let slow = decode_with(&path, false, None).unwrap();
            assert_eq!(fast.samples.len(), 4099 / usize::from(channels));
            assert!(fast
                .samples
                .iter()
                .zip(&slow.samples)
                .all(|(a, b)| a.to_bits() == b.to_bits()));
            assert_eq!(fast.samples.len(), slow.samples.len());
            let cut = write(dir.path(), "cut.wav", &bytes[..bytes.len() - 3]);
            let (f, s) = (
                decode_with(&cut, true, None),
                decode_with(&cut, false, None),
            );
            assert_eq!(f.unwrap_err().to_string(), s.unwrap_err().to_string());
        }
    }

    #[test]
    fn stereo_is_the_mean_of_channels() {
        let dir = tempfile::tempdir().unwrap();
        let interleaved: Vec<f32> = (0..200)
            .map(|i| if i % 2 == 0 { 0.5 } else { -0.25 })
            .collect();
        let path = write(dir.path(), "s.wav", &wav_pcm16_bytes(&interleaved, 2, 8000));
        let audio = decode(&path).unwrap();
        assert_eq!(audio.source_channels, 2);
        assert_eq!(audio.samples.len(), 100);
        assert!(audio.samples.iter().all(|&s| s == 0.125));
    }

    #[test]
    fn bad_files_get_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let good = wav_pcm16_bytes(&tone(4000, 16000), 1, 16000);
        let empty = write(dir.path(), "empty.wav", b"");
        let garbage = write(dir.path(), "garbage.wav", &[0x5a; 3000]);
        let truncated = write(dir.path(), "trunc.wav", &good[..good.len() / 2]);
        let no_samples = write(dir.path(), "nosamples.wav", &wav_pcm16_bytes(&[], 1, 16000));
        let cases: [(&Path, &str); 4] = [
            (&empty, "not a readable audio file"),
            (&garbage, "not a readable audio file"),
            (&truncated, "truncated"),
            (&no_samples, "empty"),
        ];
        for (path, needle) in cases {
            let err = decode(path).unwrap_err().to_string();
            assert!(err.contains(needle), "{}: {err}", path.display());
        }
        let missing = decode(&dir.path().join("missing.wav")).unwrap_err();
        assert!(matches!(missing, AudioError::Open(_)));
    }

    #[test]
    fn resampling_keeps_a_tone_and_its_timing() {
        let samples = tone(48000, 48000);
        let audio = Audio {
            samples,
            sample_rate: 48000,
            source_channels: 1,
        };
        let out = resample(audio, 16000).unwrap();
        assert_eq!(out.sample_rate, 16000);
        assert_eq!(out.samples.len(), 16000);
        // Away from the edges the 440 Hz tone is reproduced and aligned with the input to within
        // half an output sample (rubato reports its delay in whole output samples).
        let best = (-10..=10)
            .map(|k| {
                let shift = f64::from(k) * 0.05;
                (1000..15000)
                    .map(|i| {
                        let t = (i as f64 - shift) / 16000.0;
                        let want = 0.5 * (2.0 * std::f64::consts::PI * 440.0 * t).sin();
                        (f64::from(out.samples[i]) - want).abs()
                    })
                    .fold(0.0f64, f64::max)
            })
            .fold(f64::INFINITY, f64::min);
        assert!(best < 5e-3, "{best}");
    }
}
