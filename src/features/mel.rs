//! Mel scale and mel filterbank, as `librosa.filters.mel` with its defaults: Slaney's mel scale
//! (`htk=False`), Slaney area normalisation (`norm="slaney"`), `fmin=0`, `fmax=sr/2`, weights
//! stored as `float32` (librosa's `dtype` default, so we round the same way).

use super::real::Real;

/// Slaney mel scale: linear below 1 kHz, logarithmic above (`librosa.hz_to_mel(htk=False)`).
pub fn hz_to_mel(hz: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    if hz >= MIN_LOG_HZ {
        min_log_mel + (hz / MIN_LOG_HZ).ln() / logstep
    } else {
        hz / F_SP
    }
}

/// Inverse of [`hz_to_mel`] (`librosa.mel_to_hz(htk=False)`).
pub fn mel_to_hz(mel: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    if mel >= min_log_mel {
        MIN_LOG_HZ * (logstep * (mel - min_log_mel)).exp()
    } else {
        F_SP * mel
    }
}

/// `numpy.linspace(start, stop, n)` evaluated as numpy does (`i * step + start`, last = stop).
pub fn linspace(start: f64, stop: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![start];
    }
    let step = (stop - start) / (n - 1) as f64;
    let mut v: Vec<f64> = (0..n).map(|i| i as f64 * step + start).collect();
    if let Some(last) = v.last_mut() {
        *last = stop;
    }
    v
}

/// Centre frequency of each rfft bin (`librosa.fft_frequencies`, i.e. `numpy.fft.rfftfreq`).
pub fn fft_frequencies(sample_rate: f64, n_fft: usize) -> Vec<f64> {
    let d = 1.0 / sample_rate;
    let val = 1.0 / (n_fft as f64 * d);
    (0..=n_fft / 2).map(|i| i as f64 * val).collect()
}

/// `n` frequencies evenly spaced on the mel scale from `fmin` to `fmax` (`librosa.mel_frequencies`).
pub fn mel_frequencies(n: usize, fmin: f64, fmax: f64) -> Vec<f64> {
    linspace(hz_to_mel(fmin), hz_to_mel(fmax), n)
        .into_iter()
        .map(mel_to_hz)
        .collect()
}

/// A mel filterbank stored sparsely: each band is a contiguous run of non-zero weights (exact
/// `f32` values, as librosa stores them).
#[derive(Debug, Clone)]
pub struct MelBank {
    n_bins: usize,
    bands: Vec<(usize, Vec<f32>)>,
}

impl MelBank {
    /// `librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)`.
    pub fn slaney(sample_rate: f64, n_fft: usize, n_mels: usize, fmin: f64, fmax: f64) -> MelBank {
        let fftfreqs = fft_frequencies(sample_rate, n_fft);
        let mel_f = mel_frequencies(n_mels + 2, fmin, fmax);
        let fdiff: Vec<f64> = mel_f.windows(2).map(|w| w[1] - w[0]).collect();
        let bands = (0..n_mels)
            .map(|i| {
                let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
                let weights: Vec<f32> = fftfreqs
                    .iter()
                    .map(|&f| {
                        let lower = -(mel_f[i] - f) / fdiff[i];
                        let upper = (mel_f[i + 2] - f) / fdiff[i + 1];
                        // librosa writes into a float32 array, then scales in place.
                        let w = f64::from(lower.min(upper).max(0.0) as f32);
                        (w * enorm) as f32
                    })
                    .collect();
                let first = weights.iter().position(|&w| w != 0.0);
                match first {
                    Some(start) => {
                        let end = weights.iter().rposition(|&w| w != 0.0).unwrap_or(start) + 1;
                        (start, weights[start..end].to_vec())
                    }
                    None => (0, Vec::new()),
                }
            })
            .collect();
        MelBank {
            n_bins: fftfreqs.len(),
            bands,
        }
    }

    pub fn n_mels(&self) -> usize {
        self.bands.len()
    }

    pub fn n_bins(&self) -> usize {
        self.n_bins
    }

    /// `out[m] = sum_f weights[m, f] * spectrum[f]` for one frame, computed in `T`: four
    /// partial sums over bins `4i + j`, added pairwise, then the last `len % 4` bins in order
    /// (independent sums the CPU can overlap, where one running sum waits on every addition).
    pub fn apply<T: Real>(&self, spectrum: &[T], out: &mut [f64]) {
        debug_assert_eq!(spectrum.len(), self.n_bins);
        for (o, (start, w)) in out.iter_mut().zip(&self.bands) {
            let s = &spectrum[*start..*start + w.len()];
            let mut lanes = [T::zero(); 4];
            let (mut wc, mut sc) = (w.chunks_exact(4), s.chunks_exact(4));
            for (a, b) in (&mut wc).zip(&mut sc) {
                for j in 0..4 {
                    lanes[j] = lanes[j] + T::lift(a[j]) * b[j];
                }
            }
            let mut sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
            for (&a, &b) in wc.remainder().iter().zip(sc.remainder()) {
                sum = sum + T::lift(a) * b;
            }
            *o = sum.widen();
        }
    }

    /// [`MelBank::apply`] to every frame: `(n_frames, n_bins)` power -> `(n_frames, n_mels)`.
    /// In `f32`, sixteen frames at a time (see [`MelBank::apply_blocks`]): the same values.
    pub fn apply_rows<T: Real>(&self, power: &ndarray::Array2<T>) -> ndarray::Array2<f64> {
        if let (Some(p), Some(slice)) = (T::as_f32(power.view()), power.as_slice()) {
            if !slice.is_empty() && p.ncols() == self.n_bins {
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2, checked just above.
                    return unsafe { self.apply_blocks_avx2(p) };
                }
                return self.apply_blocks(p);
            }
        }
        self.apply_rows_one_by_one(power)
    }

    /// [`MelBank::apply_blocks`] compiled for AVX2 (sixteen frames in two registers).
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn apply_blocks_avx2(
        &self,
        power: ndarray::ArrayView2<'_, f32>,
    ) -> ndarray::Array2<f64> {
        self.apply_blocks(power)
    }

    /// [`MelBank::apply`] to every frame of a contiguous `f32` power spectrogram, on blocks of
    /// sixteen frames (see [`MelBank::apply_block`]).
    #[inline(always)]
    fn apply_blocks(&self, power: ndarray::ArrayView2<'_, f32>) -> ndarray::Array2<f64> {
        use super::block::{Blocks, LANES};
        let mut mel = ndarray::Array2::<f64>::zeros((power.nrows(), self.n_mels()));
        let out = mel.as_slice_mut().expect("fresh arrays are contiguous");
        let matrix = power.to_slice().expect("checked contiguous");
        let mut blocks = Blocks::new(self.n_bins);
        for first in (0..power.nrows()).step_by(LANES) {
            let (block, valid) = blocks.load(matrix, first);
            self.apply_block(block, first, valid, out);
        }
        mel
    }

    /// [`MelBank::apply`] to a block of sixteen frames of `f32` power transposed so that each
    /// bin's sixteen values are vector lanes ([`super::block`]), into rows
    /// `first..first + valid` of `out` (row-major, `n_mels` wide). Every band's four partial
    /// sums, their pairwise total and the last `len % 4` bins are added in
    /// [`MelBank::apply`]'s order, in each lane, so the values are the same bits (tested); the
    /// lanes make the sums independent, so they overlap, and each weight is loaded once for
    /// sixteen frames.
    #[inline(always)]
    pub fn apply_block(&self, block: &[f32], first: usize, valid: usize, out: &mut [f64]) {
        use super::block::LANES;
        let n_mels = self.n_mels();
        assert_eq!(block.len(), LANES * self.n_bins, "one block of every bin");
        for (m, (start, w)) in self.bands.iter().enumerate() {
            let s = &block[start * LANES..(start + w.len()) * LANES];
            let mut lanes = [[0.0f32; LANES]; 4];
            let (mut wc, mut sc) = (w.chunks_exact(4), s.chunks_exact(4 * LANES));
            for (a, b) in (&mut wc).zip(&mut sc) {
                for (j, lane) in lanes.iter_mut().enumerate() {
                    let b = &b[j * LANES..(j + 1) * LANES];
                    for t in 0..LANES {
                        lane[t] += a[j] * b[t];
                    }
                }
            }
            let mut sum: [f32; LANES] =
                std::array::from_fn(|t| (lanes[0][t] + lanes[1][t]) + (lanes[2][t] + lanes[3][t]));
            for (&a, b) in wc
                .remainder()
                .iter()
                .zip(sc.remainder().chunks_exact(LANES))
            {
                for t in 0..LANES {
                    sum[t] += a * b[t];
                }
            }
            for (t, &v) in sum.iter().enumerate().take(valid) {
                out[(first + t) * n_mels + m] = f64::from(v);
            }
        }
    }

    /// [`MelBank::apply`] to every frame, one frame at a time (any `T`, any layout).
    fn apply_rows_one_by_one<T: Real>(&self, power: &ndarray::Array2<T>) -> ndarray::Array2<f64> {
        let mut mel = ndarray::Array2::<f64>::zeros((power.nrows(), self.n_mels()));
        for (p, mut m) in power.rows().into_iter().zip(mel.rows_mut()) {
            self.apply(
                p.as_slice().expect("contiguous rows"),
                m.as_slice_mut().expect("contiguous rows"),
            );
        }
        mel
    }

    /// The weight of bin `f` in band `m` (zero outside the band's run).
    pub fn weight(&self, m: usize, f: usize) -> f64 {
        let (start, w) = &self.bands[m];
        if f >= *start && f < start + w.len() {
            f64::from(w[f - start])
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mel_scale_round_trips_and_is_linear_below_1k() {
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((hz_to_mel(200.0) - 3.0).abs() < 1e-12);
        for hz in [0.0, 60.0, 999.0, 1000.0, 4000.0, 11025.0, 24000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9 * hz.max(1.0));
        }
    }

    #[test]
    fn slaney_bands_have_unit_area_in_hz() {
        // Slaney normalisation makes each triangle's area (weight x Hz) about 1 for bands
        // wide enough to be sampled by many bins.
        let (sr, n_fft) = (22050.0, 8192);
        let bank = MelBank::slaney(sr, n_fft, 40, 0.0, sr / 2.0);
        let df = sr / n_fft as f64;
        for m in 5..40 {
            let area: f64 = (0..bank.n_bins()).map(|f| bank.weight(m, f) * df).sum();
            assert!((area - 1.0).abs() < 0.02, "band {m}: {area}");
        }
    }

    #[test]
    fn frames_in_blocks_are_frame_by_frame_bit_for_bit() {
        let (sr, n_fft) = (22050.0, 2048);
        let bank = MelBank::slaney(sr, n_fft, 128, 0.0, sr / 2.0);
        // 16k + 3 frames: whole blocks and a padded one; values over many orders of magnitude.
        for n_frames in [1, 16, 35] {
            let power = ndarray::Array2::from_shape_fn((n_frames, n_fft / 2 + 1), |(t, f)| {
                let x = ((t * 7919 + f * 104_729) % 10_007) as f32 / 10_007.0;
                x * x * 10f32.powi((f % 13) as i32 - 8)
            });
            let a = bank.apply_rows(&power);
            let b = bank.apply_rows_one_by_one(&power);
            let c = bank.apply_blocks(power.view());
            assert_eq!(a.dim(), (n_frames, 128));
            for ((x, y), z) in a.iter().zip(&b).zip(&c) {
                assert_eq!(x.to_bits(), y.to_bits());
                assert_eq!(z.to_bits(), y.to_bits());
            }
        }
    }

    #[test]
    fn linspace_matches_numpy_endpoints() {
        let v = linspace(-0.5, 0.5, 101);
        assert_eq!(v[0], -0.5);
        assert_eq!(v[100], 0.5);
        assert_eq!(v[50], 50.0 * 0.01 - 0.5);
    }
}
