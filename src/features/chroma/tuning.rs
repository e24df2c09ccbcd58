//! The tuning chroma's filterbank is built for: `librosa.estimate_tuning` over the pitch
//! candidates of `librosa.piptrack`, from the magnitude spectrogram or its squares.

use ndarray::ArrayView2;

use super::hz_to_octs;
use crate::features::mel::{fft_frequencies, linspace};
use crate::features::real::Real;

/// Pitch candidates of `librosa.piptrack(S=mag, sr=sr, n_fft=n_fft)` with its defaults
/// (`fmin=150`, `fmax=4000`, `threshold=0.1`, `ref=np.max`): for every spectral peak above a
/// tenth of its frame's maximum and inside `[fmin, fmax)`, the parabolically interpolated
/// frequency and magnitude. `mag` is `(n_frames, n_bins)`, in `f64` or `f32` (the frame maximum
/// is found in that type; thresholds, comparisons and interpolation run in `f64`, exactly on
/// the widened values). Returns `(pitch_hz, magnitude)` pairs. The extractor reads the power
/// spectrogram instead, through [`estimate_tuning_from_power`]; this form is the reference that
/// is tested against.
pub fn piptrack<T: Real>(
    mag: ArrayView2<'_, T>,
    sample_rate: f64,
    n_fft: usize,
) -> Vec<(f64, f64)> {
    piptrack_of::<T, false>(mag, sample_rate, n_fft)
}

/// [`piptrack`] of `S` given as magnitudes or (`POWER`) as their squares; the magnitudes the
/// algorithm reads are then their square roots, the same values, since a square root is
/// correctly rounded and the frame maximum's root is the maximum root.
fn piptrack_of<T: Real, const POWER: bool>(
    s: ArrayView2<'_, T>,
    sample_rate: f64,
    n_fft: usize,
) -> Vec<(f64, f64)> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { piptrack_avx2::<T, POWER>(s, sample_rate, n_fft) };
    }
    piptrack_portable::<T, POWER>(s, sample_rate, n_fft)
}

/// [`piptrack_portable`] compiled for AVX2 (the frame maximum and the thresholding run eight or
/// four lanes wide). Comparisons and selections only, so the results are the same.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn piptrack_avx2<T: Real, const POWER: bool>(
    s: ArrayView2<'_, T>,
    sample_rate: f64,
    n_fft: usize,
) -> Vec<(f64, f64)> {
    piptrack_portable::<T, POWER>(s, sample_rate, n_fft)
}

#[inline(always)]
fn piptrack_portable<T: Real, const POWER: bool>(
    s: ArrayView2<'_, T>,
    sample_rate: f64,
    n_fft: usize,
) -> Vec<(f64, f64)> {
    let fmin = 150.0f64.max(0.0);
    let fmax = 4000.0f64.min(sample_rate / 2.0);
    let threshold = 0.1;
    let freqs = fft_frequencies(sample_rate, n_fft);
    let n_bins = freqs.len();
    // Only bins inside [fmin, fmax) can be candidates, so only they (and their neighbours) are
    // visited; the threshold still uses the maximum of the whole frame.
    let first = (1..n_bins).find(|&f| fmin <= freqs[f]).unwrap_or(n_bins);
    let last = (first..n_bins)
        .take_while(|&f| freqs[f] < fmax)
        .last()
        .map_or(first, |f| f + 1);
    let mut peaks = Vec::new();
    if first >= last {
        return peaks;
    }
    // fmax <= sr / 2, the last bin's frequency, so every candidate has a right neighbour (and
    // librosa's edge cases for the last bin never arise).
    assert!(last < n_bins, "fmax is at most the Nyquist frequency");
    // The thresholded magnitudes of bins first-1 ..= last: the candidates and their neighbours.
    let mut kept = vec![0.0f64; last - first + 2];
    let mut is_peak = vec![false; last - first];
    let mag = |v: T| if POWER { v.sqrt() } else { v }.widen();
    for frame in s.rows() {
        let frame = frame.as_slice().expect("spectrogram rows are contiguous");
        let frame_max = mag(max_of(frame));
        let ref_value = threshold * frame_max;
        // Magnitudes at or below a tenth of the frame's maximum count as 0 (branch-free, so it
        // vectorises).
        for (k, &v) in kept.iter_mut().zip(&frame[first - 1..=last]) {
            let s = mag(v);
            *k = if s > ref_value { s } else { 0.0 };
        }
        // librosa.util.localmax: x[i] > x[i-1] and x[i] >= x[i+1]. Magnitudes are >= 0, so a
        // bin thresholded to 0 exceeds no neighbour.
        let mut any = false;
        for (p, w) in is_peak.iter_mut().zip(kept.windows(3)) {
            *p = (w[1] > w[0]) & (w[1] >= w[2]);
            any |= *p;
        }
        if !any {
            continue;
        }
        for (j, _) in is_peak.iter().enumerate().filter(|(_, &p)| p) {
            let f = first + j;
            let (left, x, right) = (mag(frame[f - 1]), mag(frame[f]), mag(frame[f + 1]));
            // Parabolic interpolation offset (librosa.core.pitch._pi_stencil).
            let a = right + left - 2.0 * x;
            let b = (right - left) / 2.0;
            let shift = if b.abs() >= a.abs() { 0.0 } else { -b / a };
            // numpy.gradient along frequency: a central difference.
            let dskew = 0.5 * b * shift;
            peaks.push(((f as f64 + shift) * sample_rate / n_fft as f64, x + dskew));
        }
    }
    peaks
}

/// The largest value of a non-empty slice without NaN (a magnitude spectrum), in lanes of 8
/// the compiler can vectorise (`f64::max` over an iterator is sequential).
fn max_of<T: Real>(x: &[T]) -> T {
    let mut lanes = [T::neg_infinity(); 8];
    let mut chunks = x.chunks_exact(8);
    for chunk in &mut chunks {
        for (m, &v) in lanes.iter_mut().zip(chunk) {
            *m = if v > *m { v } else { *m };
        }
    }
    let mut max = lanes.into_iter().fold(T::neg_infinity(), T::max);
    for &v in chunks.remainder() {
        max = max.max(v);
    }
    max
}

/// `librosa.pitch_tuning(freqs, resolution=0.01, bins_per_octave)`: the most common deviation
/// from equal temperament, in fractions of a bin, as the left edge of a 0.01-wide histogram bin.
pub fn pitch_tuning(freqs: &[f64], resolution: f64, bins_per_octave: usize) -> f64 {
    let residuals: Vec<f64> = freqs
        .iter()
        .filter(|&&f| f > 0.0)
        .map(|&f| {
            // numpy.mod(x, 1.0); x - floor(x) is exact, and much cheaper than fmod.
            let x = bins_per_octave as f64 * hz_to_octs(f, 0.0, bins_per_octave);
            let r = x - x.floor();
            if r >= 0.5 {
                r - 1.0
            } else {
                r
            }
        })
        .collect();
    if residuals.is_empty() {
        return 0.0;
    }
    let edges = linspace(-0.5, 0.5, (1.0 / resolution).ceil() as usize + 1);
    let n_hist = edges.len() - 1;
    let mut counts = vec![0usize; n_hist];
    for r in residuals {
        // numpy.histogram with explicit edges: [e_i, e_{i+1}), the last bin closed.
        let i = edges.partition_point(|&e| e <= r);
        if i == 0 || r > edges[n_hist] {
            continue;
        }
        counts[(i - 1).min(n_hist - 1)] += 1;
    }
    let mut best = 0;
    for (i, &c) in counts.iter().enumerate() {
        if c > counts[best] {
            best = i;
        }
    }
    edges[best]
}

/// `librosa.estimate_tuning(S=mag, sr=sr, n_fft=n_fft, bins_per_octave=...)`: pitch tuning of the
/// piptrack peaks whose magnitude is at least the median peak magnitude.
pub fn estimate_tuning<T: Real>(
    mag: ArrayView2<'_, T>,
    sample_rate: f64,
    n_fft: usize,
    bins_per_octave: usize,
) -> f64 {
    tuning_of_peaks(piptrack(mag, sample_rate, n_fft), bins_per_octave)
}

/// [`estimate_tuning`] from the power spectrogram `|S|^2` (the same value: see
/// `piptrack_of`).
pub fn estimate_tuning_from_power<T: Real>(
    power: ArrayView2<'_, T>,
    sample_rate: f64,
    n_fft: usize,
    bins_per_octave: usize,
) -> f64 {
    tuning_of_peaks(
        piptrack_of::<T, true>(power, sample_rate, n_fft),
        bins_per_octave,
    )
}

/// The tuning estimate from piptrack's `(pitch, magnitude)` candidates.
fn tuning_of_peaks(peaks: Vec<(f64, f64)>, bins_per_octave: usize) -> f64 {
    let peaks: Vec<(f64, f64)> = peaks.into_iter().filter(|&(p, _)| p > 0.0).collect();
    let threshold = if peaks.is_empty() {
        0.0
    } else {
        // np.median: the middle value, or the mean of the two middle values (found by
        // selection, in linear time, rather than a sort).
        let mut mags: Vec<f64> = peaks.iter().map(|&(_, m)| m).collect();
        let n = mags.len();
        let (lower, &mut middle, _) = mags.select_nth_unstable_by(n / 2, f64::total_cmp);
        if n % 2 == 1 {
            middle
        } else {
            let below = lower
                .iter()
                .copied()
                .max_by(f64::total_cmp)
                .expect("n >= 2 when even and non-empty");
            (below + middle) / 2.0
        }
    };
    let selected: Vec<f64> = peaks
        .iter()
        .filter(|&&(_, m)| m >= threshold)
        .map(|&(p, _)| p)
        .collect();
    pitch_tuning(&selected, 0.01, bins_per_octave)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::chroma::tests::power_of_tones;

    #[test]
    fn pitch_tuning_finds_a_known_deviation() {
        // Tones 20 cents sharp of A4 and E5: residual 0.2 of a semitone.
        let sharp = |hz: f64| hz * 2f64.powf(0.2 / 12.0);
        let freqs = vec![sharp(440.0), sharp(440.0), sharp(659.255), 300.0];
        let t = pitch_tuning(&freqs, 0.01, 12);
        assert!((t - 0.2).abs() < 0.011, "{t}");
        assert_eq!(pitch_tuning(&[], 0.01, 12), 0.0);
    }

    #[test]
    fn tuning_from_power_is_tuning_from_magnitude() {
        let (sr, n_fft) = (22050.0, 2048);
        let p32 = power_of_tones::<f32>(sr, n_fft);
        let p64 = power_of_tones::<f64>(sr, n_fft);
        let a = estimate_tuning_from_power(p32.view(), sr, n_fft, 12);
        let b = estimate_tuning(p32.mapv(f32::sqrt).view(), sr, n_fft, 12);
        assert_eq!(a, b);
        let a = estimate_tuning_from_power(p64.view(), sr, n_fft, 12);
        let b = estimate_tuning(p64.mapv(f64::sqrt).view(), sr, n_fft, 12);
        assert_eq!(a, b);
        // 220 Hz x 1.0116 is 20 cents sharp, the other two tones in tune: a non-zero estimate.
        assert!(a != 0.0);
    }
}
