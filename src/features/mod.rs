//! Per-file acoustic features, computed as librosa 0.11 computes them with its defaults, then
//! pooled over time. Pure functions of a mono signal and its sample rate: no IO, no CLI.
//!
//! Optionally the signal is first trimmed of leading and trailing silence
//! (`librosa.effects.trim(y, top_db)`, see [`trim`]). Then one STFT (`n_fft` 2048, hop 512,
//! periodic Hann, centred with zero padding) feeds every spectral family, each intermediate
//! (power, magnitude, mel, dB mel, MFCC) computed once per signal:
//! - `mfcc`: `librosa.feature.mfcc(y, sr, n_mfcc=40)`: DCT-II (ortho) of the dB mel spectrogram;
//! - `chroma`: `librosa.feature.chroma_stft(S=|stft|, sr)`, with librosa's tuning estimation;
//! - `mel`: `librosa.feature.melspectrogram(y, sr)`: mel power (128 Slaney bands, 0..sr/2);
//! - `log_mel`: `librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80)`, the dB mel the
//!   MFCCs are made from;
//! - `mfcc_delta`, `mfcc_delta2`: `librosa.feature.delta(mfcc, order=1 | 2)` (width 9,
//!   `mode="interp"`, see [`delta`]);
//! - `spectral_centroid`, `spectral_bandwidth`, `spectral_rolloff`, `spectral_flatness`,
//!   `spectral_contrast`: `librosa.feature.spectral_*(S=|stft|, sr)` with their defaults
//!   (flatness from `|stft|^2`; contrast has 7 values: 6 octave bands from 200 Hz and the rest),
//!   see [`spectral`].
//!
//! Three families come from the samples rather than the STFT, with the same frame length and
//! hop (so the same frame count): `rms` (`librosa.feature.rms(y=y)`, computed in float32 as
//! librosa does) and `zcr` (`librosa.feature.zero_crossing_rate(y)`), see [`temporal`]; and
//! `f0`: `librosa.yin(y, fmin=65, fmax=600, sr, frame_length=n_fft, hop_length)` in semitones
//! re 440 Hz, interpolated across unvoiced frames, and a voiced flag (2 values), see [`pitch`].
//!
//! Each family's frames are then pooled by the configured statistics (`mean` is the original
//! recipe's `np.mean(x.T, axis=0)`; `std` is the population standard deviation, `np.std`;
//! `min`, `max`, `median`, `p10`, `p90` are `np.min`, `np.max`, `np.median` and
//! `np.percentile` with linear interpolation), see [`stats`].
//!
//! The extractor itself, planned once per sample rate, is in `extractor.rs` ([`Extractor`],
//! [`ExtractorCache`]): which intermediates a configuration needs, each family's frames, and
//! pooling them into a row; `segments.rs` cuts a recording's frames into windows, one row each
//! ([`SegmentScale`]); `front_end.rs` holds the spectral front end's fused kernels; `params.rs`
//! the configuration ([`FeatureParams`], [`Family`], [`Stat`]). Each family's numerics are in
//! its own file: `mfcc.rs` (`mfcc`, and the decibels of `log_mel`), `chroma/` (with its tuning
//! estimate), `mel.rs`, `delta.rs` (`mfcc_delta`, `mfcc_delta2`), `spectral.rs` (the
//! `spectral_*` families), `temporal.rs` (`rms`, `zcr`, and silence trimming), `pitch.rs`
//! (`f0`); `stft.rs` is the STFT, `stats.rs` the pooling statistics, `block.rs` and `real.rs`
//! what the kernels share.

pub mod block;
pub mod chroma;
pub mod delta;
pub mod mel;
pub mod mfcc;
pub mod pitch;
pub mod real;
pub mod spectral;
pub mod stats;
pub mod stft;
pub mod temporal;

mod extractor;
mod front_end;
mod params;
mod segments;
#[cfg(test)]
mod tests;

pub use self::extractor::{Extractor, ExtractorCache, FeatureError, Features, Frames};
pub use self::params::{Family, FeatureParams, ParamError, Precision, Stat, CONTRAST_BANDS};
pub use self::segments::{segment_windows, SegmentScale};
pub use self::stats::pool;
pub use self::temporal::trim;
