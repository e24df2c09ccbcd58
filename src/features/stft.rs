//! Short-time Fourier transform, as `librosa.stft` computes it with its defaults:
//! periodic Hann window of `n_fft` samples, `center=True` with `pad_mode="constant"`
//! (zero padding of `n_fft / 2` on both sides), frames every `hop_length` samples, in `f64` or
//! `f32` ([`Real`]).
//!
//! A real frame of `n_fft` samples is transformed as `n_fft / 2` complex samples (even samples
//! as real parts, odd as imaginary) by rustfft, and the two interleaved half-length spectra are
//! then separated and recombined into the power spectrum in one pass (`power_from_half`) —
//! the same algorithm as the `realfft` crate, with its post-processing fused with `|X|^2` so
//! the complex spectrum is never stored, and written so the compiler vectorises it.

use std::mem::MaybeUninit;
use std::sync::Arc;

use ndarray::Array2;
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use super::real::Real;

/// A planned STFT for one `n_fft` / `hop_length`, computing in `T`. Cheap to share between
/// threads.
#[derive(Clone)]
pub struct Stft<T: Real = f64> {
    n_fft: usize,
    hop_length: usize,
    /// [`hann_periodic`], rounded to `T`.
    window: Vec<T>,
    /// Complex FFT of `n_fft / 2` points.
    fft: Arc<dyn Fft<T>>,
    /// `exp(-2 pi i k / n_fft)` for `k` in `0..=n_fft / 4`, real and imaginary parts apart.
    twiddle_re: Vec<T>,
    twiddle_im: Vec<T>,
}

/// `scipy.signal.get_window("hann", n, fftbins=True)`, evaluated the way scipy does
/// (`0.5 + 0.5 cos(x)` over `linspace(-pi, pi, n + 1)[:-1]`) so the values agree to the last bit.
pub fn hann_periodic(n: usize) -> Vec<f64> {
    let step = 2.0 * std::f64::consts::PI / n as f64;
    (0..n)
        .map(|i| {
            let x = i as f64 * step + -std::f64::consts::PI;
            0.5 + 0.5 * x.cos()
        })
        .collect()
}

impl<T: Real> Stft<T> {
    /// `n_fft` must be even and at least 2, `hop_length` at least 1 (checked by the caller's
    /// parameter validation).
    pub fn new(n_fft: usize, hop_length: usize) -> Stft<T> {
        let fft = FftPlanner::<T>::new().plan_fft_forward(n_fft / 2);
        let angle = |k: usize| -2.0 * std::f64::consts::PI * k as f64 / n_fft as f64;
        Stft {
            n_fft,
            hop_length,
            window: hann_periodic(n_fft).into_iter().map(T::narrow).collect(),
            fft,
            twiddle_re: (0..=n_fft / 4).map(|k| T::narrow(angle(k).cos())).collect(),
            twiddle_im: (0..=n_fft / 4).map(|k| T::narrow(angle(k).sin())).collect(),
        }
    }

    pub fn n_fft(&self) -> usize {
        self.n_fft
    }

    /// Frequency bins per frame: `1 + n_fft / 2`.
    pub fn n_bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Frames librosa produces for `n_samples` with `center=True`: `1 + n_samples / hop`.
    pub fn n_frames(&self, n_samples: usize) -> usize {
        1 + n_samples / self.hop_length
    }

    /// Power spectrogram `|STFT|^2`, shape `(n_frames, n_bins)` (frame-major, unlike librosa's
    /// `(n_bins, n_frames)`, so each frame is one contiguous row).
    pub fn power(&self, y: &[f32]) -> Array2<T> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { self.power_avx(y) };
        }
        self.power_portable(y)
    }

    /// [`Stft::power_portable`] compiled for AVX2: the windowing, the spectrum separation and
    /// `|X|^2` run eight `f32` (four `f64`) lanes wide instead of SSE2's four (two). Only
    /// multiplications and additions, never fused, so the bits are the same (tested).
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn power_avx(&self, y: &[f32]) -> Array2<T> {
        self.power_portable(y)
    }

    #[inline(always)]
    fn power_portable(&self, y: &[f32]) -> Array2<T> {
        let n_frames = self.n_frames(y.len());
        let n_bins = self.n_bins();
        let half = (self.n_fft / 2) as isize;
        // Every value is written below (power_from_half writes bins 0..=n_fft/2), so the
        // array is not zeroed first.
        let mut out = Array2::<T>::uninit((n_frames, n_bins));
        let zero = Complex::new(T::zero(), T::zero());
        let mut frame = vec![zero; self.n_fft / 2];
        let mut spectrum = vec![zero; self.n_fft / 2];
        let mut scratch = vec![zero; self.fft.get_outofplace_scratch_len()];
        let pairs = self.window.chunks_exact(2);
        let mut lanes: [Vec<T>; 6] =
            std::array::from_fn(|_| vec![T::zero(); (self.n_fft / 2 - 1) / 2]);
        for (t, mut row) in out.rows_mut().into_iter().enumerate() {
            let start = (t * self.hop_length) as isize - half;
            if start >= 0 && start as usize + self.n_fft <= y.len() {
                // Interior frame: no padding to check.
                let src = &y[start as usize..start as usize + self.n_fft];
                for ((slot, w), v) in frame.iter_mut().zip(pairs.clone()).zip(src.chunks_exact(2)) {
                    *slot = Complex::new(T::lift(v[0]) * w[0], T::lift(v[1]) * w[1]);
                }
            } else {
                let at = |k: usize| {
                    let idx = start + k as isize;
                    if idx >= 0 && (idx as usize) < y.len() {
                        T::lift(y[idx as usize]) * self.window[k]
                    } else {
                        T::zero()
                    }
                };
                for (n, slot) in frame.iter_mut().enumerate() {
                    *slot = Complex::new(at(2 * n), at(2 * n + 1));
                }
            }
            self.fft
                .process_outofplace_with_scratch(&mut frame, &mut spectrum, &mut scratch);
            let row = row.as_slice_mut().expect("fresh arrays are contiguous");
            power_from_half(
                &spectrum,
                &self.twiddle_re,
                &self.twiddle_im,
                row,
                &mut lanes,
            );
        }
        // SAFETY: power_from_half initialised every element of every row.
        unsafe { out.assume_init() }
    }
}

/// `|X[k]|^2` for `k` in `0..=m` of a real signal `x` of `2m` samples, from `z`, the `m`-point
/// DFT of `x[2n] + i x[2n+1]`, and the twiddles `exp(-2 pi i k / 2m)` for `k` in `0..=m/2`.
///
/// With `E[k] = (z[k] + conj z[m-k]) / 2` (the spectrum of the even samples) and
/// `O[k] = (z[k] - conj z[m-k]) / 2i` (of the odd ones), `X[k] = E[k] + W^k O[k]` and
/// `X[m-k] = conj(E[k] - W^k O[k])`: each step computes a bin and its mirror.
#[inline(always)]
fn power_from_half<T: Real>(
    z: &[Complex<T>],
    tw_re: &[T],
    tw_im: &[T],
    out: &mut [MaybeUninit<T>],
    scratch: &mut [Vec<T>; 6],
) {
    assert_eq!(out.len(), z.len() + 1, "one output per bin");
    let m = z.len();
    let pairs = (m - 1) / 2; // k = 1..=pairs, mirrored by m - k
    let (dc, nyquist) = (z[0].re + z[0].im, z[0].re - z[0].im);
    out[0].write(dc * dc);
    out[m].write(nyquist * nyquist);
    if m.is_multiple_of(2) {
        // k = m/2 is its own mirror: X[m/2] = conj z[m/2].
        let c = z[m / 2];
        out[m / 2].write(c.re * c.re + c.im * c.im);
    }
    let half = T::narrow(0.5);
    // Structure of arrays, so the arithmetic below runs in full vector lanes: a = z[k] and
    // b = z[m - k] for k = 1..=pairs, and the mirrored powers in ascending k.
    // (Deinterleaving and reversing in one loop does not vectorise; each alone does.)
    // Each is `pairs` long, and every value is overwritten before it is read.
    let [ar, ai, br, bi, mirror, tmp] = scratch;
    for ((r, i), c) in ar.iter_mut().zip(ai.iter_mut()).zip(&z[1..=pairs]) {
        (*r, *i) = (c.re, c.im);
    }
    for ((r, i), c) in tmp.iter_mut().zip(mirror.iter_mut()).zip(&z[m - pairs..]) {
        (*r, *i) = (c.re, c.im);
    }
    for ((r, i), (&tr, &ti)) in br
        .iter_mut()
        .zip(bi.iter_mut())
        .zip(tmp.iter().rev().zip(mirror.iter().rev()))
    {
        (*r, *i) = (tr, ti);
    }
    // Every slice exactly `pairs` long, so the loop has no bounds checks.
    let lo = &mut out[1..=pairs];
    let (wr, wi) = (&tw_re[1..=pairs], &tw_im[1..=pairs]);
    let (ar, ai, br, bi) = (&ar[..pairs], &ai[..pairs], &br[..pairs], &bi[..pairs]);
    let mirror = &mut mirror[..pairs];
    for k in 0..pairs {
        let e_re = half * (ar[k] + br[k]);
        let e_im = half * (ai[k] - bi[k]);
        let o_re = half * (ai[k] + bi[k]);
        let o_im = half * (br[k] - ar[k]);
        let t_re = wr[k] * o_re - wi[k] * o_im;
        let t_im = wr[k] * o_im + wi[k] * o_re;
        let (s_re, s_im) = (e_re + t_re, e_im + t_im);
        let (d_re, d_im) = (e_re - t_re, e_im - t_im);
        lo[k].write(s_re * s_re + s_im * s_im);
        mirror[k] = d_re * d_re + d_im * d_im;
    }
    for (p, &v) in out[m - pairs..m].iter_mut().rev().zip(mirror.iter()) {
        p.write(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hann_is_periodic_and_symmetric() {
        let w = hann_periodic(8);
        assert!(w[0].abs() < 1e-15);
        assert!((w[4] - 1.0).abs() < 1e-15);
        for i in 1..8 {
            assert!((w[i] - w[8 - i]).abs() < 1e-15);
        }
    }

    #[test]
    fn frame_count_matches_librosa_centering() {
        let stft = Stft::<f64>::new(2048, 512);
        assert_eq!(stft.n_frames(0), 1);
        assert_eq!(stft.n_frames(511), 1);
        assert_eq!(stft.n_frames(512), 2);
        assert_eq!(stft.n_frames(22050), 44);
    }

    #[test]
    fn impulse_spectrum_is_flat() {
        // An impulse at a frame centre sees window value 1 there, so |X(f)| = 1 at every bin.
        let n_fft = 64;
        let stft = Stft::<f64>::new(n_fft, 16);
        let mut y = vec![0.0f32; 256];
        y[128] = 1.0;
        let p = stft.power(&y);
        let t = 128 / 16;
        for &v in p.row(t) {
            assert!((v - 1.0).abs() < 1e-12, "{v}");
        }
    }

    /// The direct `O(n^2)` DFT of one windowed frame, for comparison.
    fn naive_power(frame: &[f64]) -> Vec<f64> {
        let n = frame.len();
        (0..=n / 2)
            .map(|k| {
                let (mut re, mut im) = (0.0, 0.0);
                for (j, &x) in frame.iter().enumerate() {
                    let a = -2.0 * std::f64::consts::PI * ((k * j) % n) as f64 / n as f64;
                    re += x * a.cos();
                    im += x * a.sin();
                }
                re * re + im * im
            })
            .collect()
    }

    #[test]
    fn power_is_the_direct_dft_for_even_and_odd_half_lengths() {
        // n_fft / 2 odd (6, 10) and even (4, 8, 64, 2048), and the smallest, 2.
        for n_fft in [2, 4, 6, 8, 10, 64, 2048] {
            let hop = (n_fft / 4).max(1);
            let y: Vec<f32> = (0..3 * n_fft + 5)
                .map(|i| ((i as f32) * 0.37).sin() + 0.5 * ((i * i) as f32 * 0.011).cos())
                .collect();
            let stft = Stft::<f64>::new(n_fft, hop);
            let p = stft.power(&y);
            let window = hann_periodic(n_fft);
            for t in 0..stft.n_frames(y.len()) {
                let frame: Vec<f64> = (0..n_fft)
                    .map(|k| {
                        let idx = (t * hop + k) as isize - (n_fft / 2) as isize;
                        if idx >= 0 && (idx as usize) < y.len() {
                            f64::from(y[idx as usize]) * window[k]
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let want = naive_power(&frame);
                let scale = want.iter().copied().fold(1e-300, f64::max);
                for (k, (&got, &w)) in p.row(t).iter().zip(&want).enumerate() {
                    assert!(
                        (got - w).abs() <= 1e-12 * scale,
                        "n_fft {n_fft} frame {t} bin {k}: {got} vs {w}"
                    );
                }
            }
        }
    }

    #[test]
    fn wide_and_portable_paths_agree_bit_for_bit() {
        let stft = Stft::<f64>::new(512, 128);
        let y: Vec<f32> = (0..5000)
            .map(|i| ((i as f32) * 0.013).sin() * 0.5)
            .collect();
        let a = stft.power(&y);
        let b = stft.power_portable(&y);
        assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
    }

    #[test]
    fn float32_power_is_float64_power_to_single_precision() {
        let y: Vec<f32> = (0..20000)
            .map(|i| ((i as f32) * 0.021).sin() * 0.3 + ((i as f32) * 0.0007).cos() * 0.1)
            .collect();
        let a = Stft::<f64>::new(2048, 512).power(&y);
        let b = Stft::<f32>::new(2048, 512).power(&y);
        assert_eq!(a.dim(), b.dim());
        // FFT round-off is relative to a frame's energy, not to each bin's.
        for (ra, rb) in a.rows().into_iter().zip(b.rows()) {
            let scale = ra.iter().copied().fold(0.0, f64::max);
            for (&x, &y) in ra.iter().zip(rb) {
                assert!((x - f64::from(y)).abs() <= 1e-5 * scale, "{x} vs {y}");
            }
        }
    }

    #[test]
    fn sine_peaks_at_its_bin() {
        let (n_fft, sr) = (1024, 8000.0);
        let stft = Stft::<f64>::new(n_fft, 256);
        let f = 1000.0; // exactly bin 128
        let y: Vec<f32> = (0..8000)
            .map(|i| (2.0 * std::f64::consts::PI * f * i as f64 / sr).sin() as f32)
            .collect();
        let p = stft.power(&y);
        let row = p.row(10);
        let argmax = row
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert_eq!(argmax, 128);
        // Parseval with a Hann window: peak magnitude = A * sum(w) / 2 = n_fft / 4.
        let peak = row[128].sqrt();
        assert!((peak - n_fft as f64 / 4.0).abs() / peak < 1e-4, "{peak}");
    }
}
