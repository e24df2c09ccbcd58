//! Fundamental frequency and voicing: `librosa.yin` (librosa 0.11) and the `f0` family built on
//! it.
//!
//! [`Yin::track`] is `librosa.yin(y, fmin, fmax, sr, frame_length, hop_length,
//! trough_threshold=0.1, center=True, pad_mode="constant")` step by step:
//! 1. the signal is padded with `frame_length / 2` zeros on both sides and cut into frames of
//!    `frame_length` every `hop_length` (`1 + len / hop` frames, the STFT's);
//! 2. each frame's autocorrelation up to `max_period` (`librosa.autocorrelate`: the inverse real
//!    FFT of the squared magnitude of its real FFT zero-padded to
//!    `scipy.fft.next_fast_len(2 frame_length - 1, real=True)`);
//! 3. the difference function `d(k) = 2 (acf(0) - acf(k)) - sum_{m<k} y(m)^2` (the frame's
//!    samples beyond its end taken as zeros), `d(0) = 0`, and, as librosa computes it,
//!    `d(1) = 2 (acf(0) - acf(1))` without the `y(0)^2` (it zeroes that sum before reading it);
//! 4. the cumulative mean normalised difference (CMNDF)
//!    `c(k) = d(k) / (mean(d(1..=k)) + tiny)` over `min_period = floor(sr / fmax)` to
//!    `max_period = min(ceil(sr / fmin), frame_length - 1)`;
//! 5. the smallest lag that is a local minimum (`util.localmin`: below its left neighbour, not
//!    above its right; the first lag counts when below the second) with `c < trough_threshold`,
//!    else the global minimum (`np.argmin`: the first on ties);
//! 6. parabolic interpolation around that lag (no shift at the ends of the range, nor when the
//!    parabola's optimum is a bin or more away), `f0 = sr / period`.
//!
//! librosa returns the F0 only; [`Yin::track`] also returns `c` at the chosen lag, the frame's
//! *aperiodicity* (0 for a perfectly periodic frame; also 0 for an all-zero frame, whose `d` is
//! all zero).
//!
//! It computes in `f64` whatever `features.precision` says: `d(k)` subtracts quantities of the
//! frame's energy to get a value near zero at the period, so float32 round-off there is of the
//! order of the periodic frames' CMNDF itself, the value the trough choice and the voicing
//! threshold read.
//!
//! The `f0` family ([`f0_frames`]) has two values per frame:
//! - `00`: F0 in semitones relative to 440 Hz (`12 log2(f0 / 440)`) on voiced frames; unvoiced
//!   frames take the value linearly interpolated between the nearest voiced frames on either
//!   side (held flat before the first and after the last voiced frame, as `np.interp` does); a
//!   signal without a voiced frame takes [`NO_VOICE_SEMITONES`], the semitone value of `fmin`;
//! - `01`: voicing, 1 for a voiced frame and 0 otherwise (its mean is the voiced fraction).
//!
//! A frame is voiced when its aperiodicity is below [`VOICED_APERIODICITY`] (0.55) and its RMS
//! (`librosa.feature.rms`, same frames) is more than [`VOICED_RMS_DB`] (40 dB) below the
//! signal's loudest frame at most: the rule of `tools/experiments/f0` (`yinc`), fixed before
//! any classification run.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use super::temporal;

/// Lowest F0 searched, Hz (librosa's recommended minimum, C2 ~ 65.4 Hz, rounded down).
pub const FMIN: f64 = 65.0;
/// Highest F0 searched, Hz: above any speaking voice's F0.
pub const FMAX: f64 = 600.0;
/// `librosa.yin`'s default `trough_threshold`.
pub const TROUGH_THRESHOLD: f64 = 0.1;
/// A frame is voiced only when its aperiodicity (CMNDF at the chosen lag) is below this: the
/// threshold that best agreed with pYIN's voicing on RAVDESS (label-free, `tools/experiments/f0`).
pub const VOICED_APERIODICITY: f64 = 0.55;
/// A frame is voiced only when its RMS is within this many dB of the signal's loudest frame.
pub const VOICED_RMS_DB: f64 = 40.0;
/// Reference pitch of the semitone scale, Hz (A4).
pub const REFERENCE_HZ: f64 = 440.0;
/// The F0 value (semitones) of every frame of a signal with no voiced frame: `fmin`'s.
pub const NO_VOICE_SEMITONES: f64 = -33.10790280595446; // 12 log2(65 / 440)

/// Values per frame of the `f0` family: semitones, voicing.
pub const F0_DIMS: usize = 2;

/// One frame's YIN result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pitch {
    /// `librosa.yin`'s F0, Hz.
    pub f0: f64,
    /// The CMNDF value at the chosen lag (lower is more periodic).
    pub aperiodicity: f64,
}

/// `12 log2(hz / 440)`.
pub fn semitones(hz: f64) -> f64 {
    12.0 * (hz / REFERENCE_HZ).log2()
}

/// `scipy.fft.next_fast_len(n, real=True)`: the smallest 5-smooth number (`2^a 3^b 5^c`) >= `n`.
pub fn next_fast_len(n: usize) -> usize {
    let smooth = |mut m: usize| {
        for p in [2, 3, 5] {
            while m.is_multiple_of(p) {
                m /= p;
            }
        }
        m == 1
    };
    (n.max(1)..)
        .find(|&m| smooth(m))
        .expect("5-smooth numbers are unbounded")
}

/// A YIN tracker planned for one sample rate, frame length and hop. Cheap to share.
#[derive(Clone)]
pub struct Yin {
    sr: f64,
    frame_length: usize,
    hop: usize,
    min_period: usize,
    max_period: usize,
    n_pad: usize,
    forward: Arc<dyn RealToComplex<f64>>,
    inverse: Arc<dyn ComplexToReal<f64>>,
}

impl Yin {
    /// Plans `librosa.yin(fmin=FMIN, fmax=FMAX, sr, frame_length, hop_length)`. Errs where
    /// librosa raises: `fmax` above Nyquist, or a period of `fmin` not fitting in a frame
    /// (`sr / fmin >= frame_length - 1`).
    pub fn new(sr: f64, frame_length: usize, hop: usize) -> Result<Yin, String> {
        Self::with_range(sr, frame_length, hop, FMIN, FMAX)
    }

    /// [`Yin::new`] with another F0 range (tests).
    pub fn with_range(
        sr: f64,
        frame_length: usize,
        hop: usize,
        fmin: f64,
        fmax: f64,
    ) -> Result<Yin, String> {
        if fmax > sr / 2.0 {
            return Err(format!(
                "f0 needs a sample rate of at least {} Hz (fmax {fmax} Hz must not exceed \
                 Nyquist), got {sr} Hz",
                2.0 * fmax
            ));
        }
        if !(fmin > 0.0 && fmin < fmax) {
            return Err(format!("f0: fmin {fmin} must be in (0, fmax {fmax})"));
        }
        if sr / fmin >= frame_length as f64 - 1.0 {
            return Err(format!(
                "f0 needs n_fft above {} at {sr} Hz (a period of fmin {fmin} Hz must fit in \
                 a frame), got {frame_length}",
                (sr / fmin).ceil() + 1.0
            ));
        }
        let min_period = (sr / fmax).floor() as usize;
        let max_period = ((sr / fmin).ceil() as usize).min(frame_length - 1);
        if min_period < 1 || max_period < min_period + 1 {
            return Err(format!(
                "f0: the period range {min_period}..={max_period} samples at {sr} Hz is too \
                 small"
            ));
        }
        let n_pad = next_fast_len(2 * frame_length - 1);
        let mut planner = RealFftPlanner::<f64>::new();
        Ok(Yin {
            sr,
            frame_length,
            hop,
            min_period,
            max_period,
            n_pad,
            forward: planner.plan_fft_forward(n_pad),
            inverse: planner.plan_fft_inverse(n_pad),
        })
    }

    /// Frames of `n_samples` samples: `1 + n_samples / hop` (centred, even frame length).
    pub fn n_frames(&self, n_samples: usize) -> usize {
        1 + (n_samples + 2 * (self.frame_length / 2) - self.frame_length) / self.hop
    }

    /// F0 and aperiodicity of every frame of `y` (in `f64`; see the module doc).
    pub fn track(&self, y: &[f32]) -> Vec<Pitch> {
        let n = self.frame_length;
        let half = n / 2;
        let mut padded = vec![0.0f64; y.len() + 2 * half];
        for (p, &v) in padded[half..].iter_mut().zip(y) {
            *p = f64::from(v);
        }
        let n_frames = self.n_frames(y.len());
        let mut buf = self.forward.make_input_vec();
        let mut spectrum = self.forward.make_output_vec();
        let mut acf = self.inverse.make_output_vec();
        let mut scratch_f = self.forward.make_scratch_vec();
        let mut scratch_i = self.inverse.make_scratch_vec();
        let lags = self.max_period + 1;
        let mut diff = vec![0.0f64; lags];
        let mut cmndf = vec![0.0f64; self.max_period - self.min_period + 1];
        let scale = 1.0 / self.n_pad as f64;
        (0..n_frames)
            .map(|t| {
                let frame = &padded[t * self.hop..t * self.hop + n];
                buf[..n].copy_from_slice(frame);
                buf[n..].iter_mut().for_each(|v| *v = 0.0);
                self.forward
                    .process_with_scratch(&mut buf, &mut spectrum, &mut scratch_f)
                    .expect("buffer sizes come from the plan");
                for c in spectrum.iter_mut() {
                    *c = Complex::new(c.re * c.re + c.im * c.im, 0.0);
                }
                // The inverse of a real signal's spectrum: the imaginary parts of the ends are
                // zero here already (squared magnitudes).
                self.inverse
                    .process_with_scratch(&mut spectrum, &mut acf, &mut scratch_i)
                    .expect("buffer sizes come from the plan");
                self.frame_pitch(frame, &acf, scale, &mut diff, &mut cmndf)
            })
            .collect()
    }

    /// Steps 3 to 6 for one frame, from its unnormalised autocorrelation `acf * scale`.
    fn frame_pitch(
        &self,
        frame: &[f64],
        acf: &[f64],
        scale: f64,
        diff: &mut [f64],
        cmndf: &mut [f64],
    ) -> Pitch {
        // np.cumsum of the squares, sequential; only the first max_period sums are read.
        // librosa zeroes the first sum (`yin_frames[..., 0, :] = 0`) before reading it, so d(1)
        // subtracts 0 where y(0)^2 was meant: kept, to give librosa's values.
        let acf0 = acf[0] * scale;
        let mut energy = frame[0] * frame[0];
        diff[0] = 0.0;
        diff[1] = 2.0 * (acf0 - acf[1] * scale);
        for k in 2..diff.len() {
            energy += frame[k - 1] * frame[k - 1];
            diff[k] = 2.0 * (acf0 - acf[k] * scale) - energy;
        }
        // Cumulative mean of d(1..=k), sequential as np.cumsum, divided by k.
        let mut running = 0.0f64;
        for k in 1..diff.len() {
            running += diff[k];
            if k >= self.min_period {
                let mean = running / k as f64;
                cmndf[k - self.min_period] = diff[k] / (mean + f64::MIN_POSITIVE);
            }
        }
        let c = &*cmndf;
        let last = c.len() - 1;
        let is_trough = |i: usize| {
            if i == 0 {
                c[0] < c[1]
            } else if i == last {
                c[last] < c[last - 1]
            } else {
                c[i] < c[i - 1] && c[i] <= c[i + 1]
            }
        };
        let index = (0..c.len())
            .find(|&i| is_trough(i) && c[i] < TROUGH_THRESHOLD)
            .unwrap_or_else(|| argmin(c));
        let shift = if index == 0 || index == last {
            0.0
        } else {
            let a = c[index + 1] + c[index - 1] - 2.0 * c[index];
            let b = (c[index + 1] - c[index - 1]) / 2.0;
            if b.abs() >= a.abs() {
                0.0
            } else {
                -b / a
            }
        };
        let period = (self.min_period + index) as f64 + shift;
        Pitch {
            f0: self.sr / period,
            aperiodicity: c[index],
        }
    }
}

impl std::fmt::Debug for Yin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Yin")
            .field("sr", &self.sr)
            .field("frame_length", &self.frame_length)
            .field("hop", &self.hop)
            .field("min_period", &self.min_period)
            .field("max_period", &self.max_period)
            .field("n_pad", &self.n_pad)
            .finish_non_exhaustive()
    }
}

/// `np.argmin`: the first smallest value's index (the first NaN's, if any).
fn argmin(c: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in c.iter().enumerate() {
        if v.is_nan() {
            return i;
        }
        if v < c[best] {
            best = i;
        }
    }
    best
}

/// The voicing rule: aperiodicity below [`VOICED_APERIODICITY`] and RMS above the loudest
/// frame's RMS times `10^(-VOICED_RMS_DB / 20)` (compared in `f64`). `rms` and `pitch` are per
/// frame, the same frames.
pub fn voiced(pitch: &[Pitch], rms: &[f32]) -> Vec<bool> {
    let loudest = rms.iter().copied().fold(0.0f32, f32::max);
    let floor = f64::from(loudest) * 10f64.powf(-VOICED_RMS_DB / 20.0);
    pitch
        .iter()
        .zip(rms)
        .map(|(p, &r)| p.aperiodicity < VOICED_APERIODICITY && f64::from(r) > floor)
        .collect()
}

/// Semitones of the voiced frames, linearly interpolated across unvoiced ones (held flat
/// beyond the first and last voiced frame, `np.interp`); [`NO_VOICE_SEMITONES`] everywhere
/// when no frame is voiced.
pub fn interpolated_semitones(pitch: &[Pitch], voiced: &[bool]) -> Vec<f64> {
    let anchors: Vec<(usize, f64)> = voiced
        .iter()
        .zip(pitch)
        .enumerate()
        .filter(|(_, (&v, _))| v)
        .map(|(t, (_, p))| (t, semitones(p.f0)))
        .collect();
    let (Some(&(first, first_value)), Some(&(last, last_value))) =
        (anchors.first(), anchors.last())
    else {
        return vec![NO_VOICE_SEMITONES; pitch.len()];
    };
    let mut out = vec![0.0; pitch.len()];
    out[..=first].iter_mut().for_each(|v| *v = first_value);
    out[last..].iter_mut().for_each(|v| *v = last_value);
    for pair in anchors.windows(2) {
        let ((a, va), (b, vb)) = (pair[0], pair[1]);
        for (t, v) in out.iter_mut().enumerate().take(b + 1).skip(a) {
            *v = va + (vb - va) * ((t - a) as f64 / (b - a) as f64);
        }
    }
    out
}

/// The `f0` family's frames, `(n_frames, 2)` row-major: semitones (interpolated), voicing.
/// `y` is the (trimmed) signal; the RMS frames are `librosa.feature.rms(y, frame_length,
/// hop_length)`'s.
pub fn f0_frames(yin: &Yin, y: &[f32]) -> ndarray::Array2<f64> {
    let pitch = yin.track(y);
    let rms = temporal::rms_f32(y, yin.frame_length, yin.hop);
    debug_assert_eq!(rms.len(), pitch.len());
    let voiced = voiced(&pitch, &rms);
    let semitones = interpolated_semitones(&pitch, &voiced);
    let mut out = ndarray::Array2::zeros((pitch.len(), F0_DIMS));
    for (t, (&s, &v)) in semitones.iter().zip(&voiced).enumerate() {
        out[[t, 0]] = s;
        out[[t, 1]] = if v { 1.0 } else { 0.0 };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn harmonic(sr: f64, n: usize, hz: impl Fn(f64) -> f64, amp: f64) -> Vec<f32> {
        let mut phase = 0.0f64;
        (0..n)
            .map(|i| {
                let f = hz(i as f64 / sr);
                phase += 2.0 * std::f64::consts::PI * f / sr;
                let v: f64 = (1..=4).map(|k| (k as f64 * phase).sin() / k as f64).sum();
                (amp * v) as f32
            })
            .collect()
    }

    fn pitch(f0: f64, aperiodicity: f64) -> Pitch {
        Pitch { f0, aperiodicity }
    }

    #[test]
    fn next_fast_len_is_scipys() {
        assert_eq!(next_fast_len(4095), 4096);
        assert_eq!(next_fast_len(1023), 1024);
        assert_eq!(next_fast_len(1001), 1024);
        assert_eq!(next_fast_len(999), 1000);
        assert_eq!(next_fast_len(7), 8);
        assert_eq!(next_fast_len(1), 1);
    }

    #[test]
    fn no_voice_constant_is_fmins_semitones() {
        assert!((NO_VOICE_SEMITONES - semitones(FMIN)).abs() < 1e-12);
        assert_eq!(semitones(440.0), 0.0);
        assert!((semitones(220.0) + 12.0).abs() < 1e-12);
    }

    #[test]
    fn a_steady_harmonic_tone_gives_its_pitch() {
        let sr = 22_050.0;
        let y = harmonic(sr, 22_050, |_| 150.0, 0.3);
        let yin = Yin::new(sr, 2048, 512).unwrap();
        let track = yin.track(&y);
        assert_eq!(track.len(), 1 + 22_050 / 512);
        for p in &track[4..track.len() - 4] {
            assert!((p.f0 - 150.0).abs() < 0.5, "{p:?}");
            assert!(p.aperiodicity < 0.05, "{p:?}");
        }
        let frames = f0_frames(&yin, &y);
        assert_eq!(frames.ncols(), 2);
        assert!(frames.column(1).iter().skip(2).take(30).all(|&v| v == 1.0));
        assert!((frames[[20, 0]] - semitones(150.0)).abs() < 0.01);
    }

    #[test]
    fn silence_and_noise_are_unvoiced() {
        let sr = 16_000.0;
        let yin = Yin::new(sr, 2048, 512).unwrap();
        let silent = vec![0.0f32; 8000];
        let frames = f0_frames(&yin, &silent);
        assert!(frames.column(1).iter().all(|&v| v == 0.0));
        assert!(frames.column(0).iter().all(|&v| v == NO_VOICE_SEMITONES));
        // An all-zero frame is "perfectly periodic" by the CMNDF (0 / tiny): the RMS rule
        // (nothing is louder than 40 dB below a zero maximum) keeps it unvoiced.
        assert_eq!(yin.track(&silent)[3].aperiodicity, 0.0);
        // Noise: a pseudo-random sequence has no period; most frames are unvoiced.
        let mut state = 12345u64;
        let noise: Vec<f32> = (0..16_000)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) as f32 * 0.2
            })
            .collect();
        let frames = f0_frames(&yin, &noise);
        let voiced = frames.column(1).sum();
        assert!(voiced <= 2.0, "{voiced} noise frames voiced");
    }

    #[test]
    fn unvoiced_frames_are_interpolated_and_held_at_the_ends() {
        let hz = |st: f64| REFERENCE_HZ * 2f64.powf(st / 12.0);
        let p = [
            pitch(hz(-5.0), 0.9),
            pitch(hz(-10.0), 0.1),
            pitch(hz(30.0), 0.9),
            pitch(hz(30.0), 0.9),
            pitch(hz(-4.0), 0.2),
            pitch(hz(7.0), 0.9),
        ];
        let v = [false, true, false, false, true, false];
        let s = interpolated_semitones(&p, &v);
        let want = [-10.0, -10.0, -8.0, -6.0, -4.0, -4.0];
        for (a, b) in s.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{s:?}");
        }
        // One voiced frame: every frame takes its value; none: the constant.
        let s = interpolated_semitones(&p, &[false, false, false, true, false, false]);
        assert!(s.iter().all(|&x| (x - 30.0).abs() < 1e-12), "{s:?}");
        let s = interpolated_semitones(&p, &[false; 6]);
        assert_eq!(s, vec![NO_VOICE_SEMITONES; 6]);
    }

    #[test]
    fn voicing_needs_periodicity_and_loudness() {
        let p = [
            pitch(100.0, 0.54),
            pitch(100.0, 0.55),
            pitch(100.0, 0.1),
            pitch(100.0, 0.1),
            pitch(100.0, 0.0),
        ];
        // Loudest 1.0: the floor is 0.01 (40 dB down), exclusive.
        let rms = [1.0f32, 1.0, 0.011, 0.0099, 0.0];
        assert_eq!(voiced(&p, &rms), [true, false, true, false, false]);
    }

    #[test]
    fn infeasible_rates_and_frames_are_refused() {
        assert!(Yin::new(1000.0, 2048, 512).unwrap_err().contains("Nyquist"));
        // 48 kHz / 65 Hz = 738.5 samples: more than a 512-sample frame.
        assert!(Yin::new(48_000.0, 512, 128).unwrap_err().contains("n_fft"));
        assert!(Yin::new(48_000.0, 2048, 512).is_ok());
        assert!(Yin::new(16_000.0, 512, 128).is_ok());
    }
}
