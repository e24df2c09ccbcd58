//! The chroma filterbank without its negligible weights ([`SparseChroma`]), for the `f32` front
//! end: sixteen frames at a time in vector lanes, square roots taken on the way.

use ndarray::{Array2, ArrayView2};

use super::normalised;

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

    /// The kept weights of `filter` (`(n_chroma, n_bins)`, see
    /// [`chroma_filter`](super::chroma_filter)), as `f32`.
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
/// magnitudes (square roots taken on the way) are vector lanes
/// ([`block`](crate::features::block)), each chroma's sum in four partial sums over its runs
/// (fused multiply-adds where the CPU has them); then normalised as
/// [`chroma_frames`](super::chroma_frames). Agrees with [`chroma_frames`](super::chroma_frames)
/// over the whole filterbank to float32 rounding (tested).
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
    use crate::features::block::{Blocks, LANES};
    let n_rows = out.nrows();
    let out = out.as_slice_mut().expect("fresh arrays are contiguous");
    let mut blocks = Blocks::new(bank.n_bins);
    for first in (0..n_rows).step_by(LANES) {
        let (block, valid) = blocks.load(matrix, first);
        sparse_block::<FMA>(bank, block, first, valid, out);
    }
}

/// [`chroma_frames_sparse`]'s sums (not normalised) for a block of sixteen frames of `f32` power,
/// transposed so that each bin's sixteen values are vector lanes
/// ([`block`](crate::features::block)), into rows `first..first + valid` of `out` (row-major,
/// `n_chroma` wide). Takes the block's square roots in place.
#[inline(always)]
pub fn sparse_block<const FMA: bool>(
    bank: &SparseChroma,
    block: &mut [f32],
    first: usize,
    valid: usize,
    out: &mut [f64],
) {
    use crate::features::block::LANES;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::chroma::tests::power_of_tones;
    use crate::features::chroma::{chroma_filter, chroma_frames};

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
}
