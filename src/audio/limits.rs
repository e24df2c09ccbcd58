//! What one input may be and cost: the header ranges every file is checked against before any
//! sample is decoded, and the work budget a file's header (and size) must fit.
//!
//! The budget is `max_seconds` (the `audio.max_seconds` setting for the batch stages and
//! `predict`, `--max-duration-s` for `serve`) in two ways: a recording longer than that is
//! refused, and so is one whose decoding and analysis would handle more than
//! `max_seconds x` [`WORK_SAMPLES_PER_SECOND`] samples (`frames x channels` decoded, plus
//! `frames x analysis rate / sample rate` resampled and analysed). The estimate uses the
//! header's declared length, but never more frames than the file's size can hold, and
//! decoding stops as soon as it passes the limit, so a header that lies costs no more than one
//! that tells the truth.

use std::ops::RangeInclusive;

use super::{AudioError, Header};

/// Sample rates accepted, Hz: 1 kHz (below it there is no speech band left to analyse) to
/// 384 kHz (the highest rate of common audio interfaces). `audio.sample_rate` must be in the
/// same range.
pub const SAMPLE_RATES: RangeInclusive<u32> = 1_000..=384_000;

/// Channels accepted: mono to 32 (FLAC has at most 8, symphonia's WAV reader at most 26; 32
/// leaves room for any multichannel recorder while bounding the decoding work per frame).
pub const CHANNELS: RangeInclusive<u16> = 1..=32;

/// Bits per stored integer sample accepted: 4 (FLAC's least) to 32. Floating-point samples must
/// be 32 or 64 bits.
pub const INTEGER_BITS: RangeInclusive<u32> = 4..=32;

/// Samples one second of the budget pays for (decoded plus analysed): a second of 48 kHz
/// stereo resampled to 48 kHz costs 144,000, of 48 kHz mono analysed at 22,050 Hz 70,050.
pub const WORK_SAMPLES_PER_SECOND: u64 = 192_000;

/// Checks a header's rate, channel count and sample size against the supported ranges.
pub fn check_header(header: &Header) -> Result<(), AudioError> {
    check_rate(header.sample_rate)?;
    check_channels(u32::from(header.channels))?;
    if let Some(bits) = header.bits_per_sample {
        let float = header
            .sample_format
            .as_deref()
            .is_some_and(|f| f.starts_with('f'));
        let ok = if float {
            bits == 32 || bits == 64
        } else {
            INTEGER_BITS.contains(&bits)
        };
        if !ok {
            return Err(out_of_range(
                "bits per sample",
                bits.to_string(),
                if float {
                    "32 or 64 (floating point)".to_string()
                } else {
                    format!("{}..={}", INTEGER_BITS.start(), INTEGER_BITS.end())
                },
            ));
        }
    }
    Ok(())
}

pub(super) fn check_rate(rate: u32) -> Result<(), AudioError> {
    if SAMPLE_RATES.contains(&rate) {
        Ok(())
    } else {
        Err(out_of_range(
            "sample rate",
            format!("{rate} Hz"),
            format!("{}..={} Hz", SAMPLE_RATES.start(), SAMPLE_RATES.end()),
        ))
    }
}

pub(super) fn check_channels(channels: u32) -> Result<(), AudioError> {
    if u16::try_from(channels).is_ok_and(|c| CHANNELS.contains(&c)) {
        Ok(())
    } else {
        Err(out_of_range(
            "channel count",
            channels.to_string(),
            format!("{}..={}", CHANNELS.start(), CHANNELS.end()),
        ))
    }
}

pub(super) fn out_of_range(what: &'static str, value: String, range: String) -> AudioError {
    AudioError::OutOfRange { what, value, range }
}

/// The limits one input is held to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Longest recording accepted, in seconds; also sets the work budget
    /// ([`WORK_SAMPLES_PER_SECOND`] samples per second).
    pub max_seconds: f64,
    /// The rate the audio will be analysed at (resampled to), when not its own: the estimate
    /// counts the resampled samples.
    pub analysis_rate: Option<u32>,
}

/// The work a file was estimated to need from its header and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Work {
    /// Frames it will decode: the declared length, or fewer when the file cannot hold that many;
    /// `None` when neither is known (decoding then stops at the limit).
    pub frames: Option<u64>,
    /// Samples decoded (`frames x channels`) plus samples resampled and analysed.
    pub samples: Option<u64>,
}

impl Limits {
    /// The default of `audio.max_seconds`.
    pub const DEFAULT_MAX_SECONDS: f64 = 600.0;

    /// Frames of `rate` Hz that fit in `max_seconds`.
    pub fn max_frames(&self, rate: u32) -> u64 {
        (self.max_seconds * f64::from(rate)).floor() as u64
    }

    /// Samples the budget allows (decoded plus analysed).
    pub fn budget_samples(&self) -> u64 {
        (self.max_seconds * WORK_SAMPLES_PER_SECOND as f64).floor() as u64
    }

    /// The most frames of a file with this header that fit in both the length and the work
    /// budget: decoding stops past it, whatever the header declared (or when it declared
    /// nothing).
    pub fn frame_cap(&self, header: &Header) -> u64 {
        let rate = f64::from(header.sample_rate);
        let per_frame =
            f64::from(header.channels) + self.analysis_rate.map_or(1.0, |to| f64::from(to) / rate);
        let by_budget = (self.budget_samples() as f64 / per_frame).floor() as u64;
        self.max_frames(header.sample_rate).min(by_budget)
    }

    /// Checks a header (already within the supported ranges) against the limits, before
    /// anything is decoded; `by_size` is the most frames the file's size can hold
    /// ([`pcm_frames_by_size`], [`flac_frames_by_size`]).
    pub fn admit(&self, header: &Header, by_size: Option<u64>) -> Result<Work, AudioError> {
        let frames = effective_frames(header.n_frames, by_size);
        let Some(frames) = frames else {
            return Ok(Work {
                frames: None,
                samples: None,
            });
        };
        let rate = u64::from(header.sample_rate);
        if frames > self.max_frames(header.sample_rate) {
            let claim = match header.n_frames {
                Some(declared) if declared > frames => {
                    format!("; the header declares {declared} frames, more than the file can hold")
                }
                _ => String::new(),
            };
            return Err(AudioError::TooLong {
                detail: format!(
                    "{:.1} s ({frames} frames at {rate} Hz{claim})",
                    frames as f64 / rate as f64
                ),
                max_seconds: self.max_seconds,
            });
        }
        let decoded = frames.saturating_mul(u64::from(header.channels));
        let analysed = match self.analysis_rate {
            Some(to) => (u128::from(frames) * u128::from(to)).div_ceil(u128::from(rate)) as u64,
            None => frames,
        };
        let samples = decoded.saturating_add(analysed);
        if samples > self.budget_samples() {
            return Err(AudioError::OverBudget {
                detail: format!(
                    "{frames} frames x {} channels at {rate} Hz, analysed at {} Hz: {samples} \
                     samples",
                    header.channels,
                    self.analysis_rate.unwrap_or(header.sample_rate)
                ),
                budget: self.budget_samples(),
                max_seconds: self.max_seconds,
            });
        }
        Ok(Work {
            frames: Some(frames),
            samples: Some(samples),
        })
    }
}

/// The frames a file can really hold: its declared length, capped by what its size allows
/// (`by_size`). A declared length far beyond the file is never believed; `None` when the header
/// declares none.
pub fn effective_frames(declared: Option<u64>, by_size: Option<u64>) -> Option<u64> {
    // No declared length: unknown (the size bound of a FLAC file is too loose to estimate by);
    // decoding stops at `Limits::frame_cap`.
    declared.map(|d| by_size.map_or(d, |s| d.min(s)))
}

/// The most frames a FLAC file of `file_len` bytes can hold: a FLAC frame takes at least 9
/// bytes (a 5-byte header, a 2-byte constant subframe, a 2-byte CRC) and holds at most 65,535
/// samples per channel. A loose bound, but a bound: a header declaring more is not believed.
pub fn flac_frames_by_size(file_len: u64) -> u64 {
    (file_len / 9 + 1).saturating_mul(65_535)
}

/// The most frames of `channels` x `bits`-bit PCM a file of `file_len` bytes can hold.
pub fn pcm_frames_by_size(file_len: u64, channels: u16, bits: u32) -> u64 {
    file_len / (u64::from(bits.div_ceil(8).max(1)) * u64::from(channels.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(rate: u32, channels: u16, frames: Option<u64>) -> Header {
        Header {
            sample_rate: rate,
            channels,
            bits_per_sample: Some(16),
            sample_format: Some("s16".into()),
            n_frames: frames,
        }
    }

    #[test]
    fn ranges_name_the_value_and_the_range() {
        let err = check_header(&header(4_000_000_000, 1, None)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported sample rate: 4000000000 Hz is outside 1000..=384000 Hz"
        );
        let err = check_header(&header(16000, 64, None)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported channel count: 64 is outside 1..=32"
        );
        assert!(check_header(&header(1000, 1, None)).is_ok());
        assert!(check_header(&header(384_000, 32, None)).is_ok());
        assert!(check_header(&header(999, 1, None)).is_err());
        let mut h = header(16000, 1, None);
        h.bits_per_sample = Some(48);
        assert!(check_header(&h).unwrap_err().to_string().contains("48"));
        h.sample_format = Some("f32".into());
        h.bits_per_sample = Some(16);
        assert!(check_header(&h).is_err());
        h.bits_per_sample = Some(64);
        assert!(check_header(&h).is_ok());
    }

    #[test]
    fn the_budget_counts_channels_and_resampling_and_never_believes_a_long_header() {
        let limits = Limits {
            max_seconds: 10.0,
            analysis_rate: Some(22050),
        };
        // 10 s of 48 kHz mono: 480,000 decoded + 220,500 analysed, within 1.92 M.
        let ok = limits
            .admit(&header(48000, 1, Some(480_000)), Some(480_000))
            .unwrap();
        assert_eq!(ok.samples, Some(700_500));
        // One frame more is too long.
        let err = limits
            .admit(&header(48000, 1, Some(480_001)), Some(480_001))
            .unwrap_err();
        assert!(matches!(err, AudioError::TooLong { .. }), "{err}");
        // 5 s of 32 channels: 7.68 M decoded, over the budget.
        let err = limits
            .admit(&header(48000, 32, Some(240_000)), Some(240_000))
            .unwrap_err();
        assert!(matches!(err, AudioError::OverBudget { .. }), "{err}");
        // 1 kHz analysed at 384 kHz: 384x the samples.
        let up = Limits {
            max_seconds: 10.0,
            analysis_rate: Some(384_000),
        };
        assert!(up.admit(&header(1000, 1, Some(9000)), Some(9000)).is_err());
        // A header declaring 2^31 frames in a 2 KB file: the file's 1,000 frames are counted.
        let work = limits
            .admit(
                &header(16000, 1, Some(1 << 31)),
                Some(pcm_frames_by_size(2044, 1, 16)),
            )
            .unwrap();
        assert_eq!(work.frames, Some(1022));
        // FLAC (no size bound): the declared length.
        assert!(limits
            .admit(&header(16000, 1, Some(1 << 31)), None)
            .is_err());
    }
}
