//! Chroma from a magnitude spectrogram, as `librosa.feature.chroma_stft(S=|stft|, sr=sr)`:
//! tuning estimated from the spectrogram (`librosa.estimate_tuning` over `librosa.piptrack`),
//! the chroma filterbank of `librosa.filters.chroma` (centre octave 5, octave width 2, starting
//! at C, weights as `float32`), and each frame scaled to a maximum of 1 (`norm=np.inf`).

use ndarray::{Array2, ArrayView2};

use super::mel::{fft_frequencies, linspace};
use super::real::Real;

/// `numpy.finfo(float64).tiny`: librosa's threshold below which a norm counts as zero.
const TINY: f64 = f64::MIN_POSITIVE;

/// `librosa.hz_to_octs`: octaves above C0 (A440 / 16, shifted by `tuning` fractions of a bin).
fn hz_to_octs(hz: f64, tuning: f64, bins_per_octave: usize) -> f64 {
    let a440 = 440.0 * 2.0f64.powf(tuning / bins_per_octave as f64);
    (hz / (a440 / 16.0)).log2()
}

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

/// A chroma filterbank without its negligible weights, for [`chroma_frames_sparse`]: for each
/// chroma, the runs of consecutive bins whose weight is kept, as `(first bin, weights)`.
///
/// A weight is dropped when it is below [`SparseChroma::RELATIVE`] times the largest weight of
/// its bin (librosa's weights fall off as `exp(-2 d^2)` in semitones `d` from the bin's pitch,
/// so above ~180 Hz about half of each bin's twelve are below 1e-9 of its largest). Every term
/// is non-negative, so each dropped term is at most `RELATIVE` times its bin's largest term,
/// and the bins' largest terms add up to at most the sum of all chroma, at most `n_chroma`
/// times the frame's maximum: a normalised chroma value moves by at most
/// `n_chroma * RELATIVE` (1.2e-8 for 12), below float32 rounding.
#[derive(Debug, Clone)]
pub struct SparseChroma {
    n_bins: usize,
    rows: Vec<Vec<(usize, Vec<f32>)>>,
}

impl SparseChroma {
    /// Weights below this fraction of their bin's largest are dropped.
    pub const RELATIVE: f64 = 1e-9;

    /// The kept weights of `filter` (`(n_chroma, n_bins)`, see [`chroma_filter`]), as `f32`.
    pub fn new(filter: &Array2<f64>) -> SparseChroma {
        let n_bins = filter.ncols();
        let bin_max: Vec<f64> = filter
            .columns()
            .into_iter()
            .map(|c| c.iter().copied().fold(0.0, f64::max))
            .collect();
        let rows = filter
            .rows()
            .into_iter()
            .map(|row| {
                let keep = |f: usize| row[f] != 0.0 && row[f] >= Self::RELATIVE * bin_max[f];
                let mut runs = Vec::new();
                let mut f = 0;
                while f < n_bins {
                    if !keep(f) {
                        f += 1;
                        continue;
                    }
                    let start = f;
                    while f < n_bins && keep(f) {
                        f += 1;
                    }
                    let weights = (start..f).map(|k| row[k] as f32).collect();
                    runs.push((start, weights));
                }
                runs
            })
            .collect();
        SparseChroma { n_bins, rows }
    }

    /// Chroma (rows of the filterbank).
    pub fn n_chroma(&self) -> usize {
        self.rows.len()
    }

    /// Bins (columns of the filterbank).
    pub fn n_bins(&self) -> usize {
        self.n_bins
    }

    /// Weights kept, of `n_chroma * n_bins`.
    pub fn kept(&self) -> usize {
        self.rows
            .iter()
            .flat_map(|runs| runs.iter().map(|(_, w)| w.len()))
            .sum()
    }
}

/// Chroma frames `(n_frames, n_chroma)` from an `f32` power spectrogram through a
/// [`SparseChroma`] filterbank: sixteen frames at a time, transposed so that each bin's sixteen
/// magnitudes (square roots taken on the way) are vector lanes ([`super::block`]), each chroma's
/// sum in four partial sums over its runs (fused multiply-adds where the CPU has them); then
/// normalised as [`chroma_frames`]. Agrees with [`chroma_frames`] over the whole filterbank to
/// float32 rounding (tested).
pub fn chroma_frames_sparse(power: ArrayView2<'_, f32>, bank: &SparseChroma) -> Array2<f64> {
    assert_eq!(power.ncols(), bank.n_bins, "one filter column per bin");
    let mut out = Array2::<f64>::zeros((power.nrows(), bank.rows.len()));
    if power.nrows() == 0 {
        return out;
    }
    let contiguous = power.as_standard_layout();
    let matrix = contiguous.as_slice().expect("standard layout");
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        unsafe { sparse_blocks_fma(matrix, bank, &mut out) };
        return normalised(out);
    }
    sparse_blocks::<false>(matrix, bank, &mut out);
    normalised(out)
}

/// [`sparse_blocks`] compiled for AVX2 with fused multiply-adds.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn sparse_blocks_fma(matrix: &[f32], bank: &SparseChroma, out: &mut Array2<f64>) {
    sparse_blocks::<true>(matrix, bank, out);
}

/// `out[t, c] = sum over kept (c, k) of weight * sqrt(power[t, k])`, sixteen frames at a time.
#[inline(always)]
fn sparse_blocks<const FMA: bool>(matrix: &[f32], bank: &SparseChroma, out: &mut Array2<f64>) {
    use super::block::{Blocks, LANES};
    let n_rows = out.nrows();
    let out = out.as_slice_mut().expect("fresh arrays are contiguous");
    let mut blocks = Blocks::new(bank.n_bins);
    for first in (0..n_rows).step_by(LANES) {
        let (block, valid) = blocks.load(matrix, first);
        sparse_block::<FMA>(bank, block, first, valid, out);
    }
}

/// [`chroma_frames_sparse`]'s sums (not normalised) for a block of sixteen frames of `f32` power,
/// transposed so that each bin's sixteen values are vector lanes ([`super::block`]), into rows
/// `first..first + valid` of `out` (row-major, `n_chroma` wide). Takes the block's square roots
/// in place.
#[inline(always)]
pub fn sparse_block<const FMA: bool>(
    bank: &SparseChroma,
    block: &mut [f32],
    first: usize,
    valid: usize,
    out: &mut [f64],
) {
    use super::block::LANES;
    assert_eq!(block.len(), LANES * bank.n_bins, "one block of every bin");
    let n_chroma = bank.rows.len();
    for v in block.iter_mut() {
        *v = v.sqrt();
    }
    for (c, runs) in bank.rows.iter().enumerate() {
        let mut acc = [[0.0f32; LANES]; 4];
        for (start, w) in runs {
            let s = &block[start * LANES..(start + w.len()) * LANES];
            let (mut wc, mut sc) = (w.chunks_exact(4), s.chunks_exact(4 * LANES));
            for (a, b) in (&mut wc).zip(&mut sc) {
                for (j, lane) in acc.iter_mut().enumerate() {
                    let b = &b[j * LANES..(j + 1) * LANES];
                    for t in 0..LANES {
                        lane[t] = if FMA {
                            a[j].mul_add(b[t], lane[t])
                        } else {
                            lane[t] + a[j] * b[t]
                        };
                    }
                }
            }
            for (&a, b) in wc
                .remainder()
                .iter()
                .zip(sc.remainder().chunks_exact(LANES))
            {
                let lane = &mut acc[0];
                for t in 0..LANES {
                    lane[t] = if FMA {
                        a.mul_add(b[t], lane[t])
                    } else {
                        lane[t] + a * b[t]
                    };
                }
            }
        }
        for t in 0..valid {
            let sum = (acc[0][t] + acc[1][t]) + (acc[2][t] + acc[3][t]);
            out[(first + t) * n_chroma + c] = f64::from(sum);
        }
    }
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

    #[test]
    fn sparse_chroma_is_the_whole_filterbank_to_rounding() {
        let (sr, n_fft) = (22050.0, 2048);
        for tuning in [0.0, 0.1, -0.37] {
            let fb = chroma_filter(sr, n_fft, 12, tuning);
            let sparse = SparseChroma::new(&fb);
            // About half the weights are dropped.
            let total = fb.len();
            assert!(
                sparse.kept() < total * 6 / 10,
                "{} of {total}",
                sparse.kept()
            );
            assert!(
                sparse.kept() > total * 4 / 10,
                "{} of {total}",
                sparse.kept()
            );
            let fb32 = fb.mapv(|w| w as f32);
            let p32 = power_of_tones::<f32>(sr, n_fft);
            // Frames in whole blocks of sixteen, and a padded block.
            for rows in [p32.nrows(), 16, 21] {
                let p = p32.slice(ndarray::s![..rows, ..]);
                let a = chroma_frames_sparse(p, &sparse);
                let b = chroma_frames(p.mapv(f32::sqrt).view(), &fb32);
                let c = chroma_frames(p.mapv(|v| f64::from(v).sqrt()).view(), &fb);
                assert_eq!(a.dim(), b.dim());
                for ((x, y), z) in a.iter().zip(&b).zip(&c) {
                    assert!((x - y).abs() <= 1e-6, "{x} vs {y}");
                    assert!((x - z).abs() <= 1e-6, "{x} vs {z} (f64)");
                }
            }
            // The kernel without fused multiply-adds agrees too.
            let matrix = p32.as_slice().unwrap();
            let mut plain = Array2::<f64>::zeros((p32.nrows(), 12));
            sparse_blocks::<false>(matrix, &sparse, &mut plain);
            let plain = normalised(plain);
            let a = chroma_frames_sparse(p32.view(), &sparse);
            assert!(plain.iter().zip(&a).all(|(x, y)| (x - y).abs() <= 1e-6));
        }
        // Silent frames stay zero.
        let fb = chroma_filter(sr, n_fft, 12, 0.0);
        let silent = Array2::<f32>::zeros((3, 1025));
        let c = chroma_frames_sparse(silent.view(), &SparseChroma::new(&fb));
        assert!(c.iter().all(|&v| v == 0.0));
    }

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
    fn pitch_tuning_finds_a_known_deviation() {
        // Tones 20 cents sharp of A4 and E5: residual 0.2 of a semitone.
        let sharp = |hz: f64| hz * 2f64.powf(0.2 / 12.0);
        let freqs = vec![sharp(440.0), sharp(440.0), sharp(659.255), 300.0];
        let t = pitch_tuning(&freqs, 0.01, 12);
        assert!((t - 0.2).abs() < 0.011, "{t}");
        assert_eq!(pitch_tuning(&[], 0.01, 12), 0.0);
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
    fn power_of_tones<T: Real>(sr: f64, n_fft: usize) -> Array2<T> {
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
