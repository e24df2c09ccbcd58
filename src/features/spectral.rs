//! Spectral shape features of one STFT, as librosa 0.11's `librosa.feature.spectral_*` compute
//! them with their defaults. Spectrograms are frame-major, `(n_frames, n_bins)`; every function
//! returns one row per frame.
//!
//! - centroid: `sum_k f_k S_k / sum_k S_k` of the magnitude `S` (a frame whose sum is below the
//!   smallest normal float is left unnormalised, so a silent frame gives 0);
//! - bandwidth (`p=2`, `norm=True`): `sqrt(sum_k (S_k / sum S) (f_k - centroid)^2)`;
//! - rolloff (`roll_percent=0.85`): the frequency of the first bin whose cumulative magnitude
//!   reaches 85 % of the frame's total;
//! - flatness (`power=2`, `amin=1e-10`): geometric over arithmetic mean of `max(amin, S^2)`;
//! - contrast (`fmin=200`, `n_bands=6`, `quantile=0.02`, `linear=False`): per octave band, the
//!   dB of the mean of the top 2 % of magnitudes minus the dB of the mean of the bottom 2 %.

use ndarray::{Array2, ArrayView2};

use super::mel::fft_frequencies;

/// `np.finfo(np.float64).tiny`, librosa's `util.normalize` threshold.
const TINY: f64 = f64::MIN_POSITIVE;

/// numpy's pairwise summation (`pairwise_sum` in `loops_utils.h.src`, what `np.sum` does along
/// a contiguous axis, as librosa's spectrogram columns are) of `f(0), ..., f(n - 1)`: runs of
/// at most 128 summed with 8 accumulators, longer runs split in two at a multiple of 8. Besides
/// following numpy's order, the independent accumulators make it several times faster than a
/// sequential sum.
pub fn pairwise_sum_by(n: usize, f: &impl Fn(usize) -> f64) -> f64 {
    pairwise_range(0, n, f)
}

fn pairwise_range(start: usize, n: usize, f: &impl Fn(usize) -> f64) -> f64 {
    if n < 8 {
        let mut res = 0.0;
        for i in start..start + n {
            res += f(i);
        }
        res
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        for (j, acc) in r.iter_mut().enumerate() {
            *acc = f(start + j);
        }
        let full = n - n % 8;
        let mut i = 8;
        while i < full {
            for (j, acc) in r.iter_mut().enumerate() {
                *acc += f(start + i + j);
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for k in full..n {
            res += f(start + k);
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_range(start, n2, f) + pairwise_range(start + n2, n - n2, f)
    }
}

/// Spectral centroid (Hz) of one magnitude frame: `sum_k f_k S_k / norm`.
pub fn centroid(mag: &[f64], freqs: &[f64]) -> f64 {
    let norm = l1_norm(mag);
    pairwise_sum_by(mag.len(), &|k| freqs[k] * mag[k]) / norm
}

/// `util.normalize(S, norm=1)`'s divisor: the frame's sum, or 1 when below `TINY`.
fn l1_norm(mag: &[f64]) -> f64 {
    let norm = pairwise_sum_by(mag.len(), &|k| mag[k]);
    if norm < TINY {
        1.0
    } else {
        norm
    }
}

/// Spectral bandwidth (Hz, `p = 2`) of one magnitude frame around `centroid`:
/// `sqrt(sum_k S_k (f_k - centroid)^2 / norm)`.
pub fn bandwidth(mag: &[f64], freqs: &[f64], centroid: f64) -> f64 {
    let norm = l1_norm(mag);
    let sum = pairwise_sum_by(mag.len(), &|k| {
        let dev = freqs[k] - centroid;
        mag[k] * (dev * dev)
    });
    (sum / norm).sqrt()
}

/// Spectral rolloff (Hz) of one magnitude frame at `roll_percent` (librosa 0.85). The
/// cumulative sum is sequential, as `np.cumsum` is, so each frame's threshold crossing is
/// decided on the same partial sums as librosa's.
pub fn rolloff(mag: &[f64], freqs: &[f64], roll_percent: f64) -> f64 {
    let total: f64 = mag.iter().sum();
    let threshold = roll_percent * total;
    let mut cumulative = 0.0;
    for (s, f) in mag.iter().zip(freqs) {
        cumulative += s;
        if cumulative >= threshold {
            return *f;
        }
    }
    // Only reachable with NaN input, where librosa's nanmin of an all-NaN frame is NaN too.
    f64::NAN
}

/// Spectral flatness of one power frame (`|X|^2`), `amin` 1e-10: `exp(mean(ln v)) / mean(v)`
/// of `v = max(amin, |X|^2)`.
///
/// The sum of logarithms is taken as the logarithm of the product, the product kept as a
/// mantissa in [1, 2) and a binary exponent, eight values at a time (one `ln` per frame
/// instead of one per bin, which made this the slowest family). Its round-off (a few ulp of
/// the product) is below that of summing a thousand logarithms, as numpy does. Should a block
/// of eight over- or underflow (values beyond 1e38, far outside audio spectra), the frame is
/// computed with one logarithm per bin.
pub fn flatness(power: &[f64]) -> f64 {
    const AMIN: f64 = 1e-10;
    const EXP_MASK: u64 = 0x7ff << 52;
    const ONE_EXP: u64 = 1023 << 52;
    let n = power.len();
    if power.iter().any(|p| !p.is_finite()) {
        return f64::NAN;
    }
    let v = |k: usize| power[k].max(AMIN);
    let mean = pairwise_sum_by(n, &v) / n as f64;
    let (mut mantissa, mut exponent) = (1.0f64, 0i64);
    let mut normal = true;
    let chunks = power.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        let c: [f64; 8] = std::array::from_fn(|j| c[j].max(AMIN));
        let block = ((c[0] * c[1]) * (c[2] * c[3])) * ((c[4] * c[5]) * (c[6] * c[7]));
        normal &= block.is_normal();
        let bits = (mantissa * block).to_bits();
        exponent += ((bits & EXP_MASK) >> 52) as i64 - 1023;
        mantissa = f64::from_bits((bits & !EXP_MASK) | ONE_EXP);
    }
    for &p in rest {
        let bits = (mantissa * p.max(AMIN)).to_bits();
        exponent += ((bits & EXP_MASK) >> 52) as i64 - 1023;
        mantissa = f64::from_bits((bits & !EXP_MASK) | ONE_EXP);
    }
    let log_sum = if normal {
        mantissa.ln() + exponent as f64 * std::f64::consts::LN_2
    } else {
        power.iter().map(|p| p.max(AMIN).ln()).sum()
    };
    (log_sum / n as f64).exp() / mean
}

/// One frame-wise feature of a spectrogram as an `(n_frames, 1)` matrix.
pub fn per_frame(spec: ArrayView2<'_, f64>, mut f: impl FnMut(&[f64]) -> f64) -> Array2<f64> {
    let values: Vec<f64> = spec
        .rows()
        .into_iter()
        .map(|row| f(row.as_slice().expect("spectrogram rows are contiguous")))
        .collect();
    Array2::from_shape_vec((values.len(), 1), values).expect("one column")
}

/// One sub-band of `spectral_contrast`: the bins `lo..hi` and how many of the smallest and
/// largest magnitudes are averaged.
#[derive(Debug, Clone, PartialEq)]
struct Band {
    lo: usize,
    hi: usize,
    quantile_count: usize,
}

/// A planned `librosa.feature.spectral_contrast(S=|X|, sr, n_fft, fmin, n_bands, quantile)`.
#[derive(Debug, Clone)]
pub struct Contrast {
    bands: Vec<Band>,
}

impl Contrast {
    /// librosa's defaults: `fmin=200`, `n_bands=6`, `quantile=0.02`.
    pub fn librosa_default(sample_rate: f64, n_fft: usize) -> Result<Contrast, String> {
        Contrast::new(sample_rate, n_fft, 200.0, 6, 0.02)
    }

    /// Plans the `n_bands + 1` bands. Fails where librosa fails (a band edge at or above
    /// Nyquist) and where librosa would produce NaN or an index error (a band without bins).
    pub fn new(
        sample_rate: f64,
        n_fft: usize,
        fmin: f64,
        n_bands: usize,
        quantile: f64,
    ) -> Result<Contrast, String> {
        let freqs = fft_frequencies(sample_rate, n_fft);
        let n_bins = freqs.len();
        // octa = [0, fmin, 2 fmin, ..., 2^n_bands fmin].
        let mut octa = vec![0.0];
        octa.extend((0..=n_bands).map(|i| fmin * 2f64.powi(i as i32)));
        if octa[..octa.len() - 1]
            .iter()
            .any(|&f| f >= 0.5 * sample_rate)
        {
            return Err(format!(
                "spectral_contrast: band edge {} Hz is at or above Nyquist ({} Hz); \
                 its 6 octave bands from 200 Hz need a sample rate above 12800 Hz",
                octa[octa.len() - 2],
                0.5 * sample_rate
            ));
        }
        let mut bands = Vec::with_capacity(n_bands + 1);
        for k in 0..=n_bands {
            let (f_low, f_high) = (octa[k], octa[k + 1]);
            let inside: Vec<usize> = (0..n_bins)
                .filter(|&i| freqs[i] >= f_low && freqs[i] <= f_high)
                .collect();
            let (Some(&first), Some(&last)) = (inside.first(), inside.last()) else {
                return Err(format!(
                    "spectral_contrast: no FFT bin between {f_low} and {f_high} Hz \
                     (n_fft {n_fft} at {sample_rate} Hz)"
                ));
            };
            // The band also takes the bin below it (k > 0) and, for the last band, every
            // bin above it; all but the last band then drop their top bin.
            let lo = if k > 0 { first - 1 } else { first };
            let hi_inclusive = if k == n_bands { n_bins - 1 } else { last };
            let count = hi_inclusive + 1 - lo;
            let hi = if k < n_bands {
                hi_inclusive
            } else {
                hi_inclusive + 1
            };
            if hi <= lo {
                return Err(format!(
                    "spectral_contrast: band {f_low}..{f_high} Hz has a single FFT bin \
                     (n_fft {n_fft} at {sample_rate} Hz)"
                ));
            }
            let quantile_count = ((quantile * count as f64).round_ties_even() as usize).max(1);
            bands.push(Band {
                lo,
                hi,
                quantile_count,
            });
        }
        Ok(Contrast { bands })
    }

    /// Number of values per frame (`n_bands + 1`).
    pub fn n_bands(&self) -> usize {
        self.bands.len()
    }

    /// Contrast frames `(n_frames, n_bands + 1)` from a magnitude spectrogram.
    pub fn frames(&self, mag: ArrayView2<'_, f64>) -> Array2<f64> {
        let n_frames = mag.nrows();
        let n = self.bands.len();
        let mut peak = Array2::<f64>::zeros((n_frames, n));
        let mut valley = Array2::<f64>::zeros((n_frames, n));
        let (mut smallest, mut largest) = (Vec::new(), Vec::new());
        for (t, frame) in mag.rows().into_iter().enumerate() {
            let frame = frame.as_slice().expect("spectrogram rows are contiguous");
            for (k, band) in self.bands.iter().enumerate() {
                let values = &frame[band.lo..band.hi];
                let q = band.quantile_count.min(values.len());
                // Magnitudes are >= +0, so plain comparisons order them as np.sort does;
                // a NaN (from non-finite audio) makes the band NaN, as in librosa.
                let (low, high) = if values.iter().any(|v| v.is_nan()) {
                    (f64::NAN, f64::NAN)
                } else if q == 1 {
                    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
                    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    (min, max)
                } else {
                    extremes(values, q, &mut smallest, &mut largest);
                    (mean(&smallest), mean(&largest))
                };
                valley[[t, k]] = low;
                peak[[t, k]] = high;
            }
        }
        db_top80(&mut peak);
        db_top80(&mut valley);
        peak - valley
    }
}

/// The `q` smallest and the `q` largest of `values`, each in ascending order (what slicing
/// `np.sort(values)` gives), in one pass: each value is compared with the current `q`-th
/// smallest and largest and inserted only when it displaces one.
fn extremes(values: &[f64], q: usize, smallest: &mut Vec<f64>, largest: &mut Vec<f64>) {
    let n = values.len();
    // Speech spectra fall with frequency: scanning the smallest from the top bin and the
    // largest from the bottom one meets the extremes early, so few values are inserted. Any
    // order gives the same values.
    smallest.clear();
    smallest.extend_from_slice(&values[n - q..]);
    smallest.sort_unstable_by(f64::total_cmp);
    let mut low_max = smallest[q - 1];
    for &v in values[..n - q].iter().rev() {
        if v < low_max {
            // Insertion step: shift the larger ones up, dropping the largest.
            let mut i = q - 1;
            while i > 0 && smallest[i - 1] > v {
                smallest[i] = smallest[i - 1];
                i -= 1;
            }
            smallest[i] = v;
            low_max = smallest[q - 1];
        }
    }
    largest.clear();
    largest.extend_from_slice(&values[..q]);
    largest.sort_unstable_by(f64::total_cmp);
    let mut high_min = largest[0];
    for &v in &values[q..] {
        if v > high_min {
            // Shift the smaller ones down, dropping the smallest.
            let mut i = 0;
            while i + 1 < q && largest[i + 1] < v {
                largest[i] = largest[i + 1];
                i += 1;
            }
            largest[i] = v;
            high_min = largest[0];
        }
    }
}

/// `np.mean` of a few values, summed in order (numpy's order for these short strided runs).
fn mean(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |s, x| s + x) / v.len() as f64
}

/// `librosa.power_to_db(x)` with its defaults (ref 1, amin 1e-10, top_db 80 over the matrix).
fn db_top80(x: &mut Array2<f64>) {
    super::mfcc::power_to_db_inplace(x, 1e-10, Some(80.0));
}

/// `librosa.fft_frequencies` for these parameters (re-exported for the extractor).
pub fn frequencies(sample_rate: f64, n_fft: usize) -> Vec<f64> {
    fft_frequencies(sample_rate, n_fft)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centroid_bandwidth_rolloff_of_simple_spectra() {
        let freqs: Vec<f64> = (0..5).map(|i| 100.0 * i as f64).collect();
        // All the energy in one bin.
        let one = [0.0, 0.0, 3.0, 0.0, 0.0];
        assert_eq!(centroid(&one, &freqs), 200.0);
        assert_eq!(bandwidth(&one, &freqs, 200.0), 0.0);
        assert_eq!(rolloff(&one, &freqs, 0.85), 200.0);
        // Two equal bins: centroid halfway, bandwidth half the distance.
        let two = [0.0, 1.0, 0.0, 1.0, 0.0];
        assert_eq!(centroid(&two, &freqs), 200.0);
        assert_eq!(bandwidth(&two, &freqs, 200.0), 100.0);
        assert_eq!(rolloff(&two, &freqs, 0.85), 300.0);
        assert_eq!(rolloff(&two, &freqs, 0.5), 100.0);
        // Silence: centroid 0 (unnormalised), rolloff at the first bin.
        let zero = [0.0; 5];
        assert_eq!(centroid(&zero, &freqs), 0.0);
        assert_eq!(rolloff(&zero, &freqs, 0.85), 0.0);
    }

    #[test]
    fn flatness_of_flat_and_peaky_spectra() {
        assert!((flatness(&[2.0; 16]) - 1.0).abs() < 1e-15);
        // One non-zero bin among n: gmean is amin^((n-1)/n) p^(1/n), amean about p / n.
        let mut p = vec![0.0; 4];
        p[1] = 1.0;
        let expected = (1e-10f64).powf(0.75) / ((1.0 + 3e-10) / 4.0);
        assert!((flatness(&p) - expected).abs() < 1e-12 * expected);
        // Silence: every bin at amin, perfectly flat.
        assert!((flatness(&[0.0; 8]) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn contrast_bands_follow_librosa_at_48k() {
        // librosa, sr=48000, n_fft=2048 (bin width 23.4375 Hz): octa = [0, 200, ..., 12800].
        let c = Contrast::librosa_default(48_000.0, 2048).unwrap();
        let got: Vec<(usize, usize, usize)> = c
            .bands
            .iter()
            .map(|b| (b.lo, b.hi, b.quantile_count))
            .collect();
        // k=0: bins 0..=8 (0..187.5 Hz), top dropped; k=1: 200..400 Hz is bins 9..=17, plus 8;
        // ... k=6: 6400 Hz up is bins 274.. plus 273, to the end (bin 1024), nothing dropped.
        assert_eq!(
            got,
            vec![
                (0, 8, 1),
                (8, 17, 1),
                (17, 34, 1),
                (34, 68, 1),
                (68, 136, 1),
                (136, 273, 3),
                (273, 1025, 15),
            ]
        );
        assert!(Contrast::librosa_default(12_800.0, 2048).is_err());
        assert!(Contrast::librosa_default(16_000.0, 2048).is_ok());
    }

    #[test]
    fn pairwise_sum_is_numpys() {
        // Exact for integers; a run of 1e16 followed by ones shows the blocking: sequentially
        // every 1 is lost, in numpy's 8 accumulators the ones of 7 lanes survive.
        assert_eq!(pairwise_sum_by(1000, &|i| i as f64), 499_500.0);
        assert_eq!(pairwise_sum_by(3, &|i| i as f64), 3.0);
        let v = |i: usize| if i == 0 { 1e16 } else { 1.0 };
        assert_eq!(pairwise_sum_by(16, &v), 1e16 + 14.0);
    }

    #[test]
    fn extremes_match_sorting() {
        let values: Vec<f64> = (0..200).map(|i| ((i * 7919) % 211) as f64 * 0.5).collect();
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        let (mut lo, mut hi) = (Vec::new(), Vec::new());
        for q in [1, 2, 5, 15] {
            extremes(&values, q, &mut lo, &mut hi);
            assert_eq!(lo, sorted[..q]);
            assert_eq!(hi, sorted[200 - q..]);
        }
        // Ties.
        extremes(&[3.0, 1.0, 3.0, 1.0, 2.0, 3.0], 2, &mut lo, &mut hi);
        assert_eq!(
            (lo.as_slice(), hi.as_slice()),
            (&[1.0, 1.0][..], &[3.0, 3.0][..])
        );
    }

    #[test]
    fn flatness_product_matches_the_sum_of_logarithms() {
        let power: Vec<f64> = (0..1025)
            .map(|i| {
                if i % 97 == 0 {
                    0.0
                } else {
                    (1.0 + (i as f64 * 0.37).sin()) * 10f64.powi(i % 13 - 6)
                }
            })
            .collect();
        let n = power.len() as f64;
        let logs: f64 = power.iter().map(|p| p.max(1e-10).ln()).sum();
        let mean: f64 = power.iter().map(|p| p.max(1e-10)).sum::<f64>() / n;
        let expected = (logs / n).exp() / mean;
        assert!((flatness(&power) - expected).abs() < 1e-13 * expected);
        // Values whose blocks of eight overflow take the per-bin logarithm path.
        let huge = vec![1e60; 16];
        assert!((flatness(&huge) - 1.0).abs() < 1e-12);
        assert!(flatness(&[1.0, f64::NAN]).is_nan());
    }

    #[test]
    fn contrast_of_a_flat_spectrum_is_zero_and_of_a_peak_is_its_db() {
        let c = Contrast::librosa_default(48_000.0, 2048).unwrap();
        let flat = Array2::from_elem((2, 1025), 0.5);
        assert!(c.frames(flat.view()).iter().all(|&v| v == 0.0));
        // One loud bin per band over a floor: peak/valley in dB, within 80 dB of the loudest.
        let mut mag = Array2::from_elem((1, 1025), 1e-3);
        mag[[0, 500]] = 10.0; // in the last band, which averages its top 15 values
        let out = c.frames(mag.view());
        let expected = 10.0 * ((10.0 + 14.0 * 1e-3) / 15.0f64).log10() - 10.0 * 1e-3f64.log10();
        assert!((out[[0, 6]] - expected).abs() < 1e-12, "{}", out[[0, 6]]);
        assert_eq!(out[[0, 0]], 0.0);
    }
}
