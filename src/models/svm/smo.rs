//! libsvm's SMO solver for one binary C-SVC ([`solve_c_svc`]): second-order working-set
//! selection (WSS3, Fan, Chen & Lin 2005), the analytic two-variable update clipped to the box,
//! and the intercept `rho`.

/// libsvm's `TAU`: the curvature used when a pair's is not positive.
const TAU: f64 = 1e-12;

/// The outcome of one binary solve.
pub(super) struct Solution {
    /// `alpha_i` in `[0, C]`.
    pub(super) alpha: Vec<f64>,
    pub(super) rho: f64,
    pub(super) iterations: u64,
    pub(super) converged: bool,
}

/// libsvm's `Solver::Solve` for C-SVC without shrinking: minimise
/// `0.5 a'Qa - sum(a)` subject to `y'a = 0`, `0 <= a <= C`, where `q` is the row-major
/// `y_i y_j K_ij`; stops when the maximal KKT violation is below `eps`.
pub(super) fn solve_c_svc(q: &[f64], y: &[f64], c: f64, eps: f64, max_iter: u64) -> Solution {
    let l = y.len();
    let mut alpha = vec![0.0; l];
    // The gradient Q a - 1, at a = 0.
    let mut g = vec![-1.0; l];
    let qd: Vec<f64> = (0..l).map(|i| q[i * l + i]).collect();
    let upper = |a: f64| a >= c;
    let lower = |a: f64| a <= 0.0;
    let mut iterations = 0;
    let mut converged = false;
    while iterations < max_iter {
        // Working set selection 3: i maximises the violation, j the second-order decrease.
        let mut gmax = f64::NEG_INFINITY;
        let mut gmax2 = f64::NEG_INFINITY;
        let mut gmax_idx = None;
        for t in 0..l {
            if y[t] > 0.0 {
                if !upper(alpha[t]) && -g[t] >= gmax {
                    gmax = -g[t];
                    gmax_idx = Some(t);
                }
            } else if !lower(alpha[t]) && g[t] >= gmax {
                gmax = g[t];
                gmax_idx = Some(t);
            }
        }
        let mut gmin_idx = None;
        let mut obj_diff_min = f64::INFINITY;
        if let Some(i) = gmax_idx {
            let q_i = &q[i * l..(i + 1) * l];
            for jj in 0..l {
                let (grad_diff, quad_coef) = if y[jj] > 0.0 {
                    if lower(alpha[jj]) {
                        continue;
                    }
                    gmax2 = gmax2.max(g[jj]);
                    (gmax + g[jj], qd[i] + qd[jj] - 2.0 * y[i] * q_i[jj])
                } else {
                    if upper(alpha[jj]) {
                        continue;
                    }
                    gmax2 = gmax2.max(-g[jj]);
                    (gmax - g[jj], qd[i] + qd[jj] + 2.0 * y[i] * q_i[jj])
                };
                if grad_diff > 0.0 {
                    let curvature = if quad_coef > 0.0 { quad_coef } else { TAU };
                    let obj_diff = -(grad_diff * grad_diff) / curvature;
                    if obj_diff <= obj_diff_min {
                        gmin_idx = Some(jj);
                        obj_diff_min = obj_diff;
                    }
                }
            }
        }
        let (i, j) = match (gmax_idx, gmin_idx) {
            (Some(i), Some(j)) if gmax + gmax2 >= eps => (i, j),
            _ => {
                converged = true;
                break;
            }
        };
        iterations += 1;

        // The analytic two-variable update, clipped to the box (libsvm's, verbatim).
        let q_i = &q[i * l..(i + 1) * l];
        let q_j = &q[j * l..(j + 1) * l];
        let (old_i, old_j) = (alpha[i], alpha[j]);
        if y[i] != y[j] {
            let raw = qd[i] + qd[j] + 2.0 * q_i[j];
            let quad = if raw <= 0.0 { TAU } else { raw };
            let delta = (-g[i] - g[j]) / quad;
            let diff = alpha[i] - alpha[j];
            alpha[i] += delta;
            alpha[j] += delta;
            if diff > 0.0 {
                if alpha[j] < 0.0 {
                    alpha[j] = 0.0;
                    alpha[i] = diff;
                }
            } else if alpha[i] < 0.0 {
                alpha[i] = 0.0;
                alpha[j] = -diff;
            }
            if diff > 0.0 {
                // C_i - C_j = 0: both bounds are C.
                if alpha[i] > c {
                    alpha[i] = c;
                    alpha[j] = c - diff;
                }
            } else if alpha[j] > c {
                alpha[j] = c;
                alpha[i] = c + diff;
            }
        } else {
            let raw = qd[i] + qd[j] - 2.0 * q_i[j];
            let quad = if raw <= 0.0 { TAU } else { raw };
            let delta = (g[i] - g[j]) / quad;
            let sum = alpha[i] + alpha[j];
            alpha[i] -= delta;
            alpha[j] += delta;
            if sum > c {
                if alpha[i] > c {
                    alpha[i] = c;
                    alpha[j] = sum - c;
                }
            } else if alpha[j] < 0.0 {
                alpha[j] = 0.0;
                alpha[i] = sum;
            }
            if sum > c {
                if alpha[j] > c {
                    alpha[j] = c;
                    alpha[i] = sum - c;
                }
            } else if alpha[i] < 0.0 {
                alpha[i] = 0.0;
                alpha[j] = sum;
            }
        }
        let (di, dj) = (alpha[i] - old_i, alpha[j] - old_j);
        for (k, gk) in g.iter_mut().enumerate() {
            *gk += q_i[k] * di + q_j[k] * dj;
        }
    }

    // rho: the mean of y_i G_i over free vectors, else the middle of the feasible interval.
    let (mut ub, mut lb) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut n_free, mut sum_free) = (0usize, 0.0);
    for t in 0..l {
        let yg = y[t] * g[t];
        if upper(alpha[t]) {
            if y[t] < 0.0 {
                ub = ub.min(yg);
            } else {
                lb = lb.max(yg);
            }
        } else if lower(alpha[t]) {
            if y[t] > 0.0 {
                ub = ub.min(yg);
            } else {
                lb = lb.max(yg);
            }
        } else {
            n_free += 1;
            sum_free += yg;
        }
    }
    let rho = if n_free > 0 {
        sum_free / n_free as f64
    } else {
        (ub + lb) / 2.0
    };
    Solution {
        alpha,
        rho,
        iterations,
        converged,
    }
}

#[cfg(test)]
mod tests {
    use crate::models::svm::tests::rings;
    use crate::models::svm::SvmParams;

    #[test]
    fn the_dual_solution_is_feasible_and_optimal_to_tol() {
        let (x, y) = rings(25, 4);
        let params = SvmParams {
            c: 2.0,
            ..Default::default()
        };
        let svm = params.fit(x.view(), &y, 3).unwrap();
        // Each pair's coefficients a_i y_i sum to 0 and lie in [-C, C].
        let mut start = [0; 4];
        for c in 0..3 {
            start[c + 1] = start[c] + svm.n_support[c];
        }
        for (i, j) in [(0, 1), (0, 2), (1, 2)] {
            let sum: f64 = (start[i]..start[i + 1])
                .map(|t| svm.dual_coef[[j - 1, t]])
                .chain((start[j]..start[j + 1]).map(|t| svm.dual_coef[[i, t]]))
                .sum();
            assert!(sum.abs() < 1e-9, "pair ({i},{j}): sum {sum}");
        }
        assert!(svm.dual_coef.iter().all(|v| v.abs() <= 2.0 + 1e-12));
        // Training rows of a pair lie on the right side of the margin up to tol, unless they
        // are bounded support vectors (a = C).
        let ovo = svm.decision_ovo(x.view());
        let mut violations = 0;
        for (r, &c) in y.iter().enumerate() {
            let mut p = 0;
            for i in 0..3 {
                for j in i + 1..3 {
                    if c == i && ovo[[r, p]] < 1.0 - 1e-2 || c == j && ovo[[r, p]] > -1.0 + 1e-2 {
                        violations += 1;
                    }
                    p += 1;
                }
            }
        }
        let bounded = svm.dual_coef.iter().filter(|v| v.abs() >= 2.0).count();
        assert!(violations <= bounded, "{violations} > {bounded}");
    }
}
