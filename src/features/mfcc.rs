//! Decibels and the DCT behind MFCCs: `librosa.power_to_db` (ref 1.0, amin 1e-10, top_db 80)
//! and `scipy.fft.dct(type=2, norm="ortho")`, which `librosa.feature.mfcc` applies along the mel
//! axis before keeping the first `n_mfcc` coefficients.

use ndarray::Array2;

/// `librosa.power_to_db(S, ref=1.0, amin=amin, top_db=top_db)` in place, over the whole matrix:
/// `10 log10(max(amin, S))`, then floored at `max - top_db` (the maximum over every value).
pub fn power_to_db_inplace(s: &mut Array2<f64>, amin: f64, top_db: Option<f64>) {
    // ref = 1.0 contributes 10 log10(max(amin, 1)) = 0. 10 log10(x) as ln(x) 10 / ln(10): glibc's
    // log10 is its ln plus a wrapper that cost as much again; the two differ by an ulp or two.
    const DB_PER_NEPER: f64 = 10.0 / std::f64::consts::LN_10;
    s.mapv_inplace(|v| v.max(amin).ln() * DB_PER_NEPER);
    if let Some(top_db) = top_db {
        let max = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let floor = max - top_db;
        s.mapv_inplace(|v| v.max(floor));
    }
}

/// An orthonormal DCT-II keeping the first `n_out` of `n_in` coefficients.
#[derive(Debug, Clone)]
pub struct Dct {
    /// `(n_out, n_in)` basis, row `k` scaled by `sqrt(1/n)` for `k = 0`, `sqrt(2/n)` otherwise.
    basis: Array2<f64>,
}

impl Dct {
    pub fn ortho(n_in: usize, n_out: usize) -> Dct {
        let n = n_in as f64;
        let basis = Array2::from_shape_fn((n_out, n_in), |(k, i)| {
            let scale = if k == 0 {
                (1.0 / n).sqrt()
            } else {
                (2.0 / n).sqrt()
            };
            scale * (std::f64::consts::PI * k as f64 * (2 * i + 1) as f64 / (2.0 * n)).cos()
        });
        Dct { basis }
    }

    /// Transforms every row of `x` (`(n_frames, n_in)` -> `(n_frames, n_out)`).
    pub fn apply_rows(&self, x: &Array2<f64>) -> Array2<f64> {
        x.dot(&self.basis.t())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn db_floor_is_top_db_below_the_max() {
        let mut s = array![[1.0, 1e-3], [1e-12, 0.0]];
        power_to_db_inplace(&mut s, 1e-10, Some(80.0));
        let expected = array![[0.0, -30.0], [-80.0, -80.0]];
        assert!(
            s.iter().zip(&expected).all(|(a, b)| (a - b).abs() < 1e-12),
            "{s}"
        );
        // The floor is exactly top_db below the maximum.
        assert_eq!(s[[1, 1]], s[[0, 0]] - 80.0);
        let mut s = array![[1e-12]];
        power_to_db_inplace(&mut s, 1e-10, None);
        assert!((s[[0, 0]] + 100.0).abs() < 1e-12);
    }

    #[test]
    fn dct_is_orthonormal() {
        let dct = Dct::ortho(16, 16);
        let g = dct.basis.dot(&dct.basis.t());
        for ((i, j), v) in g.indexed_iter() {
            let expected = if i == j { 1.0 } else { 0.0 };
            assert!((v - expected).abs() < 1e-12);
        }
        // A constant input has energy only in coefficient 0: sqrt(n) * c.
        let x = Array2::from_elem((1, 16), 2.0);
        let y = dct.apply_rows(&x);
        assert!((y[[0, 0]] - 8.0).abs() < 1e-12);
        assert!(y.iter().skip(1).all(|v| v.abs() < 1e-12));
    }
}
