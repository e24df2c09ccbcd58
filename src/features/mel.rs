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
    pub fn apply_rows<T: Real>(&self, power: &ndarray::Array2<T>) -> ndarray::Array2<f64> {
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
    fn linspace_matches_numpy_endpoints() {
        let v = linspace(-0.5, 0.5, 101);
        assert_eq!(v[0], -0.5);
        assert_eq!(v[100], 0.5);
        assert_eq!(v[50], 50.0 * 0.01 - 0.5);
    }
}
