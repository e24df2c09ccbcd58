//! Short-time Fourier transform, as `librosa.stft` computes it with its defaults:
//! periodic Hann window of `n_fft` samples, `center=True` with `pad_mode="constant"`
//! (zero padding of `n_fft / 2` on both sides), frames every `hop_length` samples, in `f64` or
//! `f32` ([`Real`]).

use std::sync::Arc;

use ndarray::Array2;
use realfft::{RealFftPlanner, RealToComplex};

use super::real::Real;

/// A planned STFT for one `n_fft` / `hop_length`, computing in `T`. Cheap to share between
/// threads.
#[derive(Clone)]
pub struct Stft<T: Real = f64> {
    n_fft: usize,
    hop_length: usize,
    /// [`hann_periodic`], rounded to `T`.
    window: Vec<T>,
    fft: Arc<dyn RealToComplex<T>>,
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
        let fft = RealFftPlanner::<T>::new().plan_fft_forward(n_fft);
        Stft {
            n_fft,
            hop_length,
            window: hann_periodic(n_fft).into_iter().map(T::narrow).collect(),
            fft,
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
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU supports AVX, checked just above.
            return unsafe { self.power_avx(y) };
        }
        self.power_portable(y)
    }

    /// [`Stft::power_portable`] compiled for AVX: the windowing and `|X|^2` loops run four lanes
    /// wide instead of SSE2's two. Only multiplications and additions, never fused, so the bits
    /// are the same (tested).
    ///
    /// # Safety
    /// The CPU must support AVX.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx")]
    unsafe fn power_avx(&self, y: &[f32]) -> Array2<T> {
        self.power_portable(y)
    }

    #[inline(always)]
    fn power_portable(&self, y: &[f32]) -> Array2<T> {
        let n_frames = self.n_frames(y.len());
        let n_bins = self.n_bins();
        let half = (self.n_fft / 2) as isize;
        let mut out = Array2::<T>::zeros((n_frames, n_bins));
        let mut frame = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        for (t, mut row) in out.rows_mut().into_iter().enumerate() {
            let start = (t * self.hop_length) as isize - half;
            if start >= 0 && start as usize + self.n_fft <= y.len() {
                // Interior frame: no padding to check.
                let src = &y[start as usize..start as usize + self.n_fft];
                for ((slot, &w), &v) in frame.iter_mut().zip(&self.window).zip(src) {
                    *slot = T::lift(v) * w;
                }
            } else {
                for (k, (slot, &w)) in frame.iter_mut().zip(&self.window).enumerate() {
                    let idx = start + k as isize;
                    *slot = if idx >= 0 && (idx as usize) < y.len() {
                        T::lift(y[idx as usize]) * w
                    } else {
                        T::zero()
                    };
                }
            }
            self.fft
                .process_with_scratch(&mut frame, &mut spectrum, &mut scratch)
                .expect("buffer lengths come from the plan");
            // Over slices, not ndarray's row iterator, so the loop vectorises.
            let row = row.as_slice_mut().expect("fresh arrays are contiguous");
            for (p, c) in row.iter_mut().zip(&spectrum) {
                *p = c.re * c.re + c.im * c.im;
            }
        }
        out
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
