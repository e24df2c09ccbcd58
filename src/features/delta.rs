//! Delta features, as `librosa.feature.delta(data, width=9, order=k, axis=-1, mode="interp")`
//! computes them: `scipy.signal.savgol_filter(data, 9, polyorder=k, deriv=k, mode="interp")`
//! along time.
//!
//! A Savitzky-Golay filter fits a polynomial of degree `polyorder` by least squares to the
//! `window` samples around each point and returns the `deriv`-th derivative of the fit there.
//! Every output is therefore a fixed linear combination of `window` inputs:
//! - interior points (`half <= i < n - half`, `half = window / 2`): the window centred on `i`
//!   (`scipy.ndimage.convolve1d(x, savgol_coeffs(...))`; its zero padding is never used since
//!   the edges are overwritten);
//! - `mode="interp"` edges: the first `half` outputs come from one polynomial fitted to the first
//!   `window` samples, evaluated at positions `0..half`; the last `half` from the last `window`
//!   samples (`scipy.signal._savitzky_golay._fit_edges_polyfit`).
//!
//! The weights are computed once, from the normal equations in coordinates centred on the
//! window (well conditioned for the small windows used here).

use ndarray::{Array2, ArrayView2};

/// A planned Savitzky-Golay filter with `mode="interp"`.
#[derive(Debug, Clone)]
pub struct Savgol {
    window: usize,
    /// Weights on `x[i - half ..= i + half]` for an interior output `i`.
    interior: Vec<f64>,
    /// `head[i]`: weights on `x[0..window]` for output `i < half`.
    head: Vec<Vec<f64>>,
    /// `tail[j]`: weights on `x[n - window..n]` for output `n - half + j`.
    tail: Vec<Vec<f64>>,
}

/// Least-squares weights `w` such that `sum_j w[j] x[j]` is the `deriv`-th derivative at `pos`
/// of the degree-`polyorder` polynomial fitted to `x[0..window]` at abscissae `0..window`
/// (`scipy.signal.savgol_coeffs(window, polyorder, deriv, pos=pos, use="dot")`).
pub fn savgol_weights(window: usize, polyorder: usize, deriv: usize, pos: f64) -> Vec<f64> {
    assert!(polyorder < window, "polyorder must be less than window");
    if deriv > polyorder {
        return vec![0.0; window];
    }
    let m = polyorder + 1;
    let centre = (window - 1) as f64 / 2.0;
    // Design matrix A[j][k] = (j - centre)^k; Gram matrix G = A^T A.
    let a: Vec<Vec<f64>> = (0..window)
        .map(|j| {
            let u = j as f64 - centre;
            (0..m).map(|k| u.powi(k as i32)).collect()
        })
        .collect();
    let mut g = vec![vec![0.0; m]; m];
    for row in &a {
        for r in 0..m {
            for c in 0..m {
                g[r][c] += row[r] * row[c];
            }
        }
    }
    // d^deriv/du^deriv of u^k at u = pos - centre.
    let u = pos - centre;
    let mut rhs: Vec<f64> = (0..m)
        .map(|k| {
            if k < deriv {
                0.0
            } else {
                let falling: f64 = ((k - deriv + 1)..=k).map(|f| f as f64).product();
                falling * u.powi((k - deriv) as i32)
            }
        })
        .collect();
    solve_in_place(&mut g, &mut rhs);
    a.iter()
        .map(|row| row.iter().zip(&rhs).map(|(x, z)| x * z).sum())
        .collect()
}

/// Solves `g z = b` by Gaussian elimination with partial pivoting; `b` becomes `z`.
fn solve_in_place(g: &mut [Vec<f64>], b: &mut [f64]) {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| g[i][col].abs().total_cmp(&g[j][col].abs()))
            .expect("non-empty");
        g.swap(col, pivot);
        b.swap(col, pivot);
        for r in col + 1..n {
            let f = g[r][col] / g[col][col];
            let (upper, lower) = g.split_at_mut(r);
            for (x, p) in lower[0][col..].iter_mut().zip(&upper[col][col..]) {
                *x -= f * p;
            }
            b[r] -= f * b[col];
        }
    }
    for col in (0..n).rev() {
        let mut s = b[col];
        for c in col + 1..n {
            s -= g[col][c] * b[c];
        }
        b[col] = s / g[col][col];
    }
}

impl Savgol {
    /// `window` odd and at least 3, `polyorder < window`.
    pub fn new(window: usize, polyorder: usize, deriv: usize) -> Savgol {
        assert!(
            window >= 3 && window % 2 == 1,
            "window must be odd and >= 3"
        );
        let half = window / 2;
        Savgol {
            window,
            interior: savgol_weights(window, polyorder, deriv, half as f64),
            head: (0..half)
                .map(|i| savgol_weights(window, polyorder, deriv, i as f64))
                .collect(),
            tail: (0..half)
                .map(|j| savgol_weights(window, polyorder, deriv, (window - half + j) as f64))
                .collect(),
        }
    }

    /// `librosa.feature.delta(data, order=k)` with its defaults: width 9, polyorder = deriv = k.
    pub fn delta(order: usize) -> Savgol {
        Savgol::new(9, order, order)
    }

    pub fn window(&self) -> usize {
        self.window
    }

    /// Filters every column of `x` (`(n_frames, dims)`) along the frames. `None` when there are
    /// fewer frames than the window (librosa raises `ParameterError` then).
    pub fn apply(&self, x: ArrayView2<'_, f64>) -> Option<Array2<f64>> {
        let n = x.nrows();
        if n < self.window {
            return None;
        }
        let half = self.window / 2;
        let mut out = Array2::<f64>::zeros(x.raw_dim());
        let mut combine = |i: usize, start: usize, weights: &[f64]| {
            let mut row = out.row_mut(i);
            for (k, &w) in weights.iter().enumerate() {
                row.scaled_add(w, &x.row(start + k));
            }
        };
        for (i, w) in self.head.iter().enumerate() {
            combine(i, 0, w);
        }
        for i in half..n - half {
            combine(i, i - half, &self.interior);
        }
        for (j, w) in self.tail.iter().enumerate() {
            combine(n - half + j, n - self.window, w);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(v: &[f64]) -> Array2<f64> {
        Array2::from_shape_vec((v.len(), 1), v.to_vec()).unwrap()
    }

    #[test]
    fn interior_weights_are_the_classic_ones() {
        // First derivative, linear fit, window 9: k / 60 for k = -4..4.
        let w = savgol_weights(9, 1, 1, 4.0);
        for (j, v) in w.iter().enumerate() {
            let k = j as f64 - 4.0;
            assert!((v - k / 60.0).abs() < 1e-16, "{j}: {v}");
        }
        // Second derivative, quadratic fit: 2 (k^2 - 20/3) / 308.
        let w = savgol_weights(9, 2, 2, 4.0);
        for (j, v) in w.iter().enumerate() {
            let k = j as f64 - 4.0;
            assert!(
                (v - 2.0 * (k * k - 20.0 / 3.0) / 308.0).abs() < 1e-16,
                "{j}: {v}"
            );
        }
        // Smoothing (deriv 0) weights sum to one; deriv > polyorder is all zeros.
        let s: f64 = savgol_weights(9, 2, 0, 1.0).iter().sum();
        assert!((s - 1.0).abs() < 1e-14);
        assert!(savgol_weights(9, 1, 2, 4.0).iter().all(|&v| v == 0.0));
    }

    #[test]
    fn delta_of_a_ramp_is_its_slope_everywhere() {
        let ramp: Vec<f64> = (0..20).map(|t| 3.0 - 0.25 * t as f64).collect();
        let d = Savgol::delta(1).apply(column(&ramp).view()).unwrap();
        for v in d.iter() {
            assert!((v + 0.25).abs() < 1e-14, "{v}");
        }
        let d2 = Savgol::delta(2).apply(column(&ramp).view()).unwrap();
        for v in d2.iter() {
            assert!(v.abs() < 1e-14, "{v}");
        }
    }

    #[test]
    fn delta2_of_a_parabola_is_twice_its_curvature_including_edges() {
        let p: Vec<f64> = (0..12)
            .map(|t| 0.5 * (t * t) as f64 - t as f64 + 2.0)
            .collect();
        let d2 = Savgol::delta(2).apply(column(&p).view()).unwrap();
        for v in d2.iter() {
            assert!((v - 1.0).abs() < 1e-12, "{v}");
        }
        // The first derivative of a parabola is exact only where the linear fit is centred.
        let d = Savgol::delta(1).apply(column(&p).view()).unwrap();
        assert!((d[[6, 0]] - (6.0 - 1.0)).abs() < 1e-12);
    }

    #[test]
    fn too_few_frames_is_refused() {
        assert!(Savgol::delta(1).apply(column(&[1.0; 8]).view()).is_none());
        assert!(Savgol::delta(1).apply(column(&[1.0; 9]).view()).is_some());
    }
}
