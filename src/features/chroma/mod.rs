//! Chroma from a magnitude spectrogram, as `librosa.feature.chroma_stft(S=|stft|, sr=sr)`:
//! tuning estimated from the spectrogram (`librosa.estimate_tuning` over `librosa.piptrack`),
//! the chroma filterbank of `librosa.filters.chroma` (centre octave 5, octave width 2, starting
//! at C, weights as `float32`), and each frame scaled to a maximum of 1 (`norm=np.inf`).
//!
//! This file holds the filterbank and the frames through it (the whole filterbank, or from the
//! power spectrogram with the twelve sums in vector lanes); `tuning.rs` the tuning estimate
//! ([`piptrack`], [`estimate_tuning`]); `sparse.rs` the `f32` front end's filterbank without its
//! negligible weights ([`SparseChroma`]), sixteen frames at a time.

mod sparse;
mod tuning;

use ndarray::{Array2, ArrayView2};

use super::real::Real;

pub use self::sparse::{chroma_frames_sparse, sparse_block, SparseChroma};
pub use self::tuning::{estimate_tuning, estimate_tuning_from_power, piptrack, pitch_tuning};

/// `numpy.finfo(float64).tiny`: librosa's threshold below which a norm counts as zero.
const TINY: f64 = f64::MIN_POSITIVE;

/// `librosa.hz_to_octs`: octaves above C0 (A440 / 16, shifted by `tuning` fractions of a bin).
pub(super) fn hz_to_octs(hz: f64, tuning: f64, bins_per_octave: usize) -> f64 {
    let a440 = 440.0 * 2.0f64.powf(tuning / bins_per_octave as f64);
    (hz / (a440 / 16.0)).log2()
}

/// The chroma filterbank `librosa.filters.chroma(sr, n_fft, n_chroma, tuning)`, shape
/// `(n_chroma, 1 + n_fft / 2)`, values rounded to `float32` as librosa returns them.
pub fn chroma_filter(sample_rate: f64, n_fft: usize, n_chroma: usize, tuning: f64) -> Array2<f64> {
    let nc = n_chroma as f64;
    let (ctroct, octwidth) = (5.0, 2.0);
    // FFT bin frequencies without DC (numpy.linspace(0, sr, n_fft, endpoint=False)[1:]).
    let step = sample_rate / n_fft as f64;
    let mut frqbins: Vec<f64> = Vec::with_capacity(n_fft);
    frqbins.push(0.0);
    frqbins.extend((1..n_fft).map(|i| nc * hz_to_octs(i as f64 * step, tuning, n_chroma)));
    // A made-up value for DC: 1.5 octaves below bin 1.
    frqbins[0] = frqbins[1] - 1.5 * nc;
    let mut binwidth: Vec<f64> = frqbins.windows(2).map(|w| (w[1] - w[0]).max(1.0)).collect();
    binwidth.push(1.0);
    let half = (nc / 2.0).round();
    // librosa builds all n_fft columns and keeps the first 1 + n_fft / 2; each column is
    // normalised on its own, so only the kept ones are computed.
    let n_bins = n_fft / 2 + 1;
    let mut wts = Array2::<f64>::zeros((n_chroma, n_bins));
    for (f, (&bin, &width)) in frqbins.iter().zip(&binwidth).take(n_bins).enumerate() {
        for c in 0..n_chroma {
            let d = (bin - c as f64 + half + 10.0 * nc).rem_euclid(nc) - half;
            wts[[c, f]] = (-0.5 * (2.0 * d / width).powi(2)).exp();
        }
    }
    for (f, &bin) in frqbins.iter().take(n_bins).enumerate() {
        let mut column = wts.column_mut(f);
        let norm = column.iter().map(|w| w * w).sum::<f64>().powf(0.5);
        let norm = if norm < TINY { 1.0 } else { norm };
        let octave_weight = (-0.5 * ((bin / nc - ctroct) / octwidth).powi(2)).exp();
        column.mapv_inplace(|w| w / norm * octave_weight);
    }
    // Start at C rather than A (base_c=True): roll by -3 bins per 12.
    let roll = 3 * (n_chroma / 12);
    Array2::from_shape_fn((n_chroma, n_bins), |(c, f)| {
        f64::from(wts[[(c + roll) % n_chroma, f]] as f32)
    })
}

/// Chroma frames `(n_frames, n_chroma)`: filterbank times magnitude (in `T`), each frame divided
/// by its maximum in `f64` (frames whose maximum is below the smallest normal float stay
/// unscaled).
pub fn chroma_frames<T: Real>(mag: ArrayView2<'_, T>, filter: &Array2<T>) -> Array2<f64> {
    normalised(T::widen_owned(mag.dot(&filter.t())))
}

/// Each row scaled to a maximum absolute value of 1 (`librosa.util.normalize(norm=np.inf)`;
/// rows below `TINY` are left as they are).
pub(crate) fn normalised(mut out: Array2<f64>) -> Array2<f64> {
    for mut row in out.rows_mut() {
        let max = row.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let norm = if max < TINY { 1.0 } else { max };
        row.mapv_inplace(|v| v / norm);
    }
    out
}

/// [`chroma_frames`] from the power spectrogram: the magnitudes are square roots taken on the
/// way through the filterbank, so no magnitude spectrogram is stored. With the default 12
/// chroma in `f32` this is one pass per frame with the twelve sums in vector lanes (fused
/// multiply-adds where the CPU has them); `f64` and other sizes take [`chroma_frames`]. The sums are
/// ordered differently from the matrix product's, so values agree to rounding (tested).
pub fn chroma_frames_from_power<T: Real>(
    power: ArrayView2<'_, T>,
    filter: &Array2<T>,
) -> Array2<f64> {
    // In f64 the twelve 8-lane sums need 24 vector registers of AVX2's 16: the matrix product
    // is faster there (criterion: chroma_f64 4,987 audio-s/s through this kernel, 11,277 through
    // the product).
    if std::mem::size_of::<T>() != 4 || filter.nrows() != 12 || !filter.is_standard_layout() {
        return chroma_frames(power.mapv(T::sqrt).view(), filter);
    }
    let mut out = Array2::<f64>::zeros((power.nrows(), 12));
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        unsafe { chroma12_fma(power, filter, &mut out) };
        return normalised(out);
    }
    chroma12::<T, false>(power, filter, &mut out);
    normalised(out)
}

/// [`chroma12`] compiled for AVX2 with fused multiply-adds.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn chroma12_fma<T: Real>(
    power: ArrayView2<'_, T>,
    filter: &Array2<T>,
    out: &mut Array2<f64>,
) {
    chroma12::<T, true>(power, filter, out);
}

/// `out[t, c] = sum_k filter[c, k] * sqrt(power[t, k])` for 12 chroma: eight bins at a time,
/// each chroma's sum in eight lanes, the lanes added pairwise at the end of the frame.
#[inline(always)]
fn chroma12<T: Real, const FMA: bool>(
    power: ArrayView2<'_, T>,
    filter: &Array2<T>,
    out: &mut Array2<f64>,
) {
    const L: usize = 8;
    let n_bins = filter.ncols();
    let rows: [&[T]; 12] =
        std::array::from_fn(|c| filter.row(c).to_slice().expect("standard layout"));
    let whole = n_bins / L * L;
    for (p, mut o) in power.rows().into_iter().zip(out.rows_mut()) {
        let p = p.as_slice().expect("spectrogram rows are contiguous");
        assert_eq!(p.len(), n_bins, "one filter column per bin");
        let mut acc = [[T::zero(); L]; 12];
        for k in (0..whole).step_by(L) {
            let mut m = [T::zero(); L];
            for (mi, &pi) in m.iter_mut().zip(&p[k..k + L]) {
                *mi = pi.sqrt();
            }
            for (a, row) in acc.iter_mut().zip(&rows) {
                let w = &row[k..k + L];
                for l in 0..L {
                    a[l] = if FMA {
                        w[l].mul_add(m[l], a[l])
                    } else {
                        a[l] + w[l] * m[l]
                    };
                }
            }
        }
        for (c, (a, row)) in acc.iter().zip(&rows).enumerate() {
            let mut sum = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
            for k in whole..n_bins {
                sum = sum + row[k] * p[k].sqrt();
            }
            o[c] = sum.widen();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `chroma_filter` as librosa computes it, every one of the `n_fft` columns.
    fn chroma_filter_all_columns(
        sr: f64,
        n_fft: usize,
        n_chroma: usize,
        tuning: f64,
    ) -> Array2<f64> {
        let nc = n_chroma as f64;
        let step = sr / n_fft as f64;
        let mut frqbins: Vec<f64> = vec![0.0];
        frqbins.extend((1..n_fft).map(|i| nc * hz_to_octs(i as f64 * step, tuning, n_chroma)));
        frqbins[0] = frqbins[1] - 1.5 * nc;
        let mut binwidth: Vec<f64> = frqbins.windows(2).map(|w| (w[1] - w[0]).max(1.0)).collect();
        binwidth.push(1.0);
        let half = (nc / 2.0).round();
        let mut wts = Array2::<f64>::zeros((n_chroma, n_fft));
        for (f, (&bin, &width)) in frqbins.iter().zip(&binwidth).enumerate() {
            for c in 0..n_chroma {
                let d = (bin - c as f64 + half + 10.0 * nc).rem_euclid(nc) - half;
                wts[[c, f]] = (-0.5 * (2.0 * d / width).powi(2)).exp();
            }
        }
        for (f, &bin) in frqbins.iter().enumerate() {
            let mut column = wts.column_mut(f);
            let norm = column.iter().map(|w| w * w).sum::<f64>().powf(0.5);
            let norm = if norm < TINY { 1.0 } else { norm };
            let octave_weight = (-0.5 * ((bin / nc - 5.0) / 2.0).powi(2)).exp();
            column.mapv_inplace(|w| w / norm * octave_weight);
        }
        let roll = 3 * (n_chroma / 12);
        Array2::from_shape_fn((n_chroma, n_fft / 2 + 1), |(c, f)| {
            f64::from(wts[[(c + roll) % n_chroma, f]] as f32)
        })
    }

    #[test]
    fn filter_of_the_kept_columns_is_librosas() {
        for (sr, n_fft, n_chroma, tuning) in [
            (22050.0, 2048, 12, 0.0),
            (48000.0, 2048, 12, -0.23),
            (16000.0, 512, 24, 0.41),
            (8000.0, 16, 12, 0.1),
        ] {
            let a = chroma_filter(sr, n_fft, n_chroma, tuning);
            let b = chroma_filter_all_columns(sr, n_fft, n_chroma, tuning);
            assert_eq!(a.dim(), b.dim());
            assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
        }
    }

    #[test]
    fn filter_rows_peak_at_their_pitch_class() {
        let (sr, n_fft) = (22050.0, 4096);
        let fb = chroma_filter(sr, n_fft, 12, 0.0);
        // A4 = 440 Hz -> pitch class 9 (C-based), C5 = 523.25 Hz -> 0.
        for (hz, class) in [(440.0, 9), (523.251, 0), (392.0, 7)] {
            let bin = (hz / (sr / n_fft as f64)).round() as usize;
            let col = fb.column(bin);
            let argmax = (0..12).max_by(|&a, &b| col[a].total_cmp(&col[b])).unwrap();
            assert_eq!(argmax, class, "{hz} Hz");
        }
    }

    #[test]
    fn silent_frames_stay_zero() {
        let mag = Array2::<f64>::zeros((3, 1025));
        let fb = chroma_filter(22050.0, 2048, 12, 0.0);
        let c = chroma_frames(mag.view(), &fb);
        assert!(c.iter().all(|&v| v == 0.0));
    }

    /// A power spectrogram of a few harmonic tones and a little deterministic noise.
    pub(super) fn power_of_tones<T: Real>(sr: f64, n_fft: usize) -> Array2<T> {
        let y: Vec<f32> = (0..40_000)
            .map(|i| {
                let t = i as f64 / sr;
                let tone = [220.0 * 1.0116, 330.0, 441.0]
                    .iter()
                    .map(|f| (2.0 * std::f64::consts::PI * f * t).sin())
                    .sum::<f64>();
                (0.2 * tone + 0.01 * ((i * 7919 % 1000) as f64 / 1000.0 - 0.5)) as f32
            })
            .collect();
        crate::features::stft::Stft::<T>::new(n_fft, 512).power(&y)
    }

    #[test]
    fn chroma_from_power_is_chroma_of_the_magnitudes() {
        let (sr, n_fft) = (22050.0, 2048);
        let fb = chroma_filter(sr, n_fft, 12, 0.1);
        let fb32 = fb.mapv(|w| w as f32);
        let p32 = power_of_tones::<f32>(sr, n_fft);
        let p64 = power_of_tones::<f64>(sr, n_fft);
        let cases: [(Array2<f64>, Array2<f64>, f64); 2] = [
            (
                chroma_frames_from_power(p32.view(), &fb32),
                chroma_frames(p32.mapv(f32::sqrt).view(), &fb32),
                1e-6,
            ),
            (
                chroma_frames_from_power(p64.view(), &fb),
                chroma_frames(p64.mapv(f64::sqrt).view(), &fb),
                0.0,
            ),
        ];
        for (a, b, tol) in cases {
            assert_eq!(a.dim(), b.dim());
            // Normalised frames: every value is in [0, 1], each frame's maximum is 1.
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() <= tol, "{x} vs {y}");
            }
        }
        // The kernel without fused multiply-adds (CPUs without FMA) agrees too.
        let mut plain = Array2::<f64>::zeros((p32.nrows(), 12));
        chroma12::<f32, false>(p32.view(), &fb32, &mut plain);
        let plain = normalised(plain);
        let b = chroma_frames(p32.mapv(f32::sqrt).view(), &fb32);
        assert!(plain.iter().zip(&b).all(|(x, y)| (x - y).abs() <= 1e-6));
        // Another number of chroma takes the matrix product.
        let fb24 = chroma_filter(sr, n_fft, 24, 0.0);
        let a = chroma_frames_from_power(p64.view(), &fb24);
        let b = chroma_frames(p64.mapv(f64::sqrt).view(), &fb24);
        assert_eq!(a, b);
    }
}
