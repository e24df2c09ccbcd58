//! Frames as vector lanes: sixteen spectrogram rows transposed so that one bin of sixteen
//! frames is two eight-lane vectors. A filterbank product over such a block runs every band's
//! sum for sixteen frames at once, in independent lanes (each weight loaded once for all),
//! instead of one latency-bound sum per band and frame; and each frame's sum keeps the order it
//! had frame by frame.

/// Frames per block.
pub const LANES: usize = 16;

/// Rows transposed together: one AVX register of `f32`.
const TILE: usize = 8;

/// `out[f * LANES + offset + t] = rows[t][f]` for `f` in `0..n` and `t` in `0..8`: eight rows
/// into their lanes of a bin-major block. Every row must hold at least `n` values, `out`
/// exactly `LANES * n`, and `offset` be 0 or 8. Only copies, so every path gives the same
/// values.
pub fn transpose(rows: &[&[f32]; TILE], n: usize, out: &mut [f32], offset: usize) {
    assert_eq!(out.len(), LANES * n, "one block of n bins");
    assert!(offset + TILE <= LANES, "lanes inside the block");
    assert!(rows.iter().all(|r| r.len() >= n), "every row holds n bins");
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above); the lengths are checked above.
        unsafe { transpose_avx2(rows, n, out, offset) };
        return;
    }
    transpose_portable(rows, 0, n, out, offset);
}

/// [`transpose`] of bins `from..n`, one value at a time.
#[inline(always)]
fn transpose_portable(
    rows: &[&[f32]; TILE],
    from: usize,
    n: usize,
    out: &mut [f32],
    offset: usize,
) {
    for f in from..n {
        for (t, row) in rows.iter().enumerate() {
            out[f * LANES + offset + t] = row[f];
        }
    }
}

/// [`transpose`] in 8x8 tiles of AVX registers (unpack, shuffle, swap of 128-bit halves), the
/// last `n % 8` bins one at a time.
///
/// # Safety
/// The CPU must support AVX2; every row must hold `n` values, `out` `LANES * n`, and
/// `offset + 8 <= LANES`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn transpose_avx2(rows: &[&[f32]; TILE], n: usize, out: &mut [f32], offset: usize) {
    use std::arch::x86_64::*;
    let whole = n / 8 * 8;
    let dst = out.as_mut_ptr().wrapping_add(offset);
    for f in (0..whole).step_by(8) {
        let mut r = [_mm256_setzero_ps(); 8];
        for (v, row) in r.iter_mut().zip(rows) {
            // SAFETY: f + 8 <= n <= every row's length.
            *v = unsafe { _mm256_loadu_ps(row.as_ptr().add(f)) };
        }
        let t0 = _mm256_unpacklo_ps(r[0], r[1]);
        let t1 = _mm256_unpackhi_ps(r[0], r[1]);
        let t2 = _mm256_unpacklo_ps(r[2], r[3]);
        let t3 = _mm256_unpackhi_ps(r[2], r[3]);
        let t4 = _mm256_unpacklo_ps(r[4], r[5]);
        let t5 = _mm256_unpackhi_ps(r[4], r[5]);
        let t6 = _mm256_unpacklo_ps(r[6], r[7]);
        let t7 = _mm256_unpackhi_ps(r[6], r[7]);
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        let columns = [
            _mm256_permute2f128_ps::<0x20>(u0, u4),
            _mm256_permute2f128_ps::<0x20>(u1, u5),
            _mm256_permute2f128_ps::<0x20>(u2, u6),
            _mm256_permute2f128_ps::<0x20>(u3, u7),
            _mm256_permute2f128_ps::<0x31>(u0, u4),
            _mm256_permute2f128_ps::<0x31>(u1, u5),
            _mm256_permute2f128_ps::<0x31>(u2, u6),
            _mm256_permute2f128_ps::<0x31>(u3, u7),
        ];
        for (i, c) in columns.into_iter().enumerate() {
            // SAFETY: (f + i) * LANES + offset + 8 <= LANES * n = out.len().
            unsafe { _mm256_storeu_ps(dst.add((f + i) * LANES), c) };
        }
    }
    transpose_portable(rows, whole, n, out, offset);
}

/// A block buffer for a row-major `(n_rows, n)` matrix given as one slice, filled
/// [`LANES`] rows at a time by [`Blocks::load`]. (A loop over blocks rather than a function
/// taking a closure: closures are not compiled with their caller's target features.)
pub struct Blocks {
    n: usize,
    zeros: Vec<f32>,
    block: Vec<f32>,
}

impl Blocks {
    /// A buffer for rows of `n` values.
    pub fn new(n: usize) -> Blocks {
        Blocks {
            n,
            zeros: vec![0.0; n],
            block: vec![0.0; LANES * n],
        }
    }

    /// Transposes rows `first..first + LANES` of `matrix` into the block (see [`transpose`]),
    /// rows past the end as zeros; returns the block and how many rows were real.
    #[inline(always)]
    pub fn load(&mut self, matrix: &[f32], first: usize) -> (&mut [f32], usize) {
        let n = self.n;
        assert!(n > 0 && matrix.len().is_multiple_of(n), "whole rows");
        let valid = (matrix.len() / n).saturating_sub(first).min(LANES);
        for offset in (0..LANES).step_by(TILE) {
            let rows: [&[f32]; TILE] = std::array::from_fn(|t| {
                if offset + t < valid {
                    &matrix[(first + offset + t) * n..(first + offset + t + 1) * n]
                } else {
                    &self.zeros[..]
                }
            });
            transpose(&rows, n, &mut self.block, offset);
        }
        (&mut self.block, valid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposes_every_bin_of_every_row() {
        for n in [1, 7, 8, 9, 16, 1025] {
            let data: Vec<Vec<f32>> = (0..TILE)
                .map(|t| (0..n).map(|f| (t * 10_000 + f) as f32).collect())
                .collect();
            let rows: [&[f32]; TILE] = std::array::from_fn(|t| &data[t][..]);
            for offset in [0, 8] {
                let mut out = vec![-1.0; LANES * n];
                transpose(&rows, n, &mut out, offset);
                let mut portable = vec![-1.0; LANES * n];
                transpose_portable(&rows, 0, n, &mut portable, offset);
                for f in 0..n {
                    for t in 0..LANES {
                        let want = if (offset..offset + TILE).contains(&t) {
                            data[t - offset][f]
                        } else {
                            -1.0
                        };
                        assert_eq!(out[f * LANES + t], want, "n {n} bin {f} lane {t}");
                    }
                }
                assert_eq!(out, portable);
            }
        }
    }

    #[test]
    fn blocks_cover_every_row_and_pad_with_zeros() {
        let n = 5;
        let matrix: Vec<f32> = (0..37 * n).map(|i| i as f32 + 1.0).collect();
        let mut seen = Vec::new();
        let mut blocks = Blocks::new(n);
        for first in (0..37).step_by(LANES) {
            let (block, valid) = blocks.load(&matrix, first);
            seen.push((first, valid));
            for f in 0..n {
                for t in 0..LANES {
                    let want = if t < valid {
                        matrix[(first + t) * n + f]
                    } else {
                        0.0
                    };
                    assert_eq!(block[f * LANES + t], want);
                }
            }
        }
        assert_eq!(seen, [(0, 16), (16, 16), (32, 5)]);
    }
}
