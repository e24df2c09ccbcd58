//! Calibrated probabilities (`probability = true`, libsvm's `-b 1`): 5-fold cross-validated
//! decision values of each pair's training rows ([`SvmParams::cross_validated_decisions`]), a
//! Platt sigmoid fitted to them ([`sigmoid_train`]), and at prediction the pairwise
//! probabilities coupled into class probabilities ([`multiclass_probability`]).

use ndarray::{Array2, ArrayView2};

use super::model::Svm;
use super::params::SvmParams;
use super::smo::solve_c_svc;

impl SvmParams {
    /// libsvm's `svm_binary_svc_probability` decision values: the pair's rows (labels
    /// `signs`, signed kernel `q`, row-major `l x l`) shuffled and cut into 5 folds; each
    /// fold's decision values come from a solve on the other four (a fold whose training part
    /// has one label only gets +-1).
    pub(super) fn cross_validated_decisions(
        &self,
        q: &[f64],
        signs: &[f64],
        max_iter: u64,
        seed: u64,
    ) -> Vec<f64> {
        use rand::seq::SliceRandom;
        use rand::SeedableRng;
        const FOLDS: usize = 5;
        let l = signs.len();
        let mut perm: Vec<usize> = (0..l).collect();
        perm.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
        let mut dec = vec![0.0; l];
        for f in 0..FOLDS {
            let (begin, end) = (f * l / FOLDS, (f + 1) * l / FOLDS);
            let train: Vec<usize> = perm[..begin].iter().chain(&perm[end..]).copied().collect();
            let held = &perm[begin..end];
            let ys: Vec<f64> = train.iter().map(|&a| signs[a]).collect();
            let positives = ys.iter().filter(|&&v| v > 0.0).count();
            if positives == 0 || positives == ys.len() {
                let v = if ys.is_empty() {
                    0.0
                } else if positives > 0 {
                    1.0
                } else {
                    -1.0
                };
                held.iter().for_each(|&h| dec[h] = v);
                continue;
            }
            let m = train.len();
            let mut sub = vec![0.0; m * m];
            for (a, &ra) in train.iter().enumerate() {
                let row = &q[ra * l..(ra + 1) * l];
                for (dst, &rb) in sub[a * m..(a + 1) * m].iter_mut().zip(&train) {
                    *dst = row[rb];
                }
            }
            let sol = solve_c_svc(&sub, &ys, self.c, self.tol, max_iter);
            // q[h][t] = s_h s_t K(h, t), so alpha_t s_t K(h, t) = s_h alpha_t q[h][t].
            let support: Vec<(usize, f64)> = train
                .iter()
                .zip(&sol.alpha)
                .filter(|(_, &a)| a > 0.0)
                .map(|(&t, &a)| (t, a))
                .collect();
            for &h in held {
                let row = &q[h * l..(h + 1) * l];
                let sum: f64 = support.iter().map(|&(t, a)| a * row[t]).sum();
                dec[h] = signs[h] * sum - sol.rho;
            }
        }
        dec
    }
}

/// libsvm's `sigmoid_train` (Platt scaling with Lin, Lin & Weng's Newton method): `A`, `B` of
/// `P(+1 | f) = 1 / (1 + exp(A f + B))` fitted to decision values `dec` with labels `signs`
/// (+1 / -1), using Platt's regularised targets.
pub(super) fn sigmoid_train(dec: &[f64], signs: &[f64]) -> (f64, f64) {
    let prior1 = signs.iter().filter(|&&s| s > 0.0).count() as f64;
    let prior0 = signs.len() as f64 - prior1;
    let (max_iter, min_step, sigma, eps) = (100, 1e-10, 1e-12, 1e-5);
    let hi = (prior1 + 1.0) / (prior1 + 2.0);
    let lo = 1.0 / (prior0 + 2.0);
    let t: Vec<f64> = signs
        .iter()
        .map(|&s| if s > 0.0 { hi } else { lo })
        .collect();
    let objective = |a: f64, b: f64| -> f64 {
        dec.iter()
            .zip(&t)
            .map(|(&d, &ti)| {
                let f = d * a + b;
                if f >= 0.0 {
                    ti * f + (-f).exp().ln_1p()
                } else {
                    (ti - 1.0) * f + f.exp().ln_1p()
                }
            })
            .sum()
    };
    let (mut a, mut b) = (0.0, ((prior0 + 1.0) / (prior1 + 1.0)).ln());
    let mut fval = objective(a, b);
    for _ in 0..max_iter {
        let (mut h11, mut h22, mut h21, mut g1, mut g2) = (sigma, sigma, 0.0, 0.0, 0.0);
        for (&d, &ti) in dec.iter().zip(&t) {
            let f = d * a + b;
            let (p, q) = if f >= 0.0 {
                let e = (-f).exp();
                (e / (1.0 + e), 1.0 / (1.0 + e))
            } else {
                let e = f.exp();
                (1.0 / (1.0 + e), e / (1.0 + e))
            };
            let d2 = p * q;
            h11 += d * d * d2;
            h22 += d2;
            h21 += d * d2;
            let d1 = ti - p;
            g1 += d * d1;
            g2 += d1;
        }
        if g1.abs() < eps && g2.abs() < eps {
            break;
        }
        let det = h11 * h22 - h21 * h21;
        let da = -(h22 * g1 - h21 * g2) / det;
        let db = -(-h21 * g1 + h11 * g2) / det;
        let gd = g1 * da + g2 * db;
        let mut step = 1.0;
        while step >= min_step {
            let (na, nb) = (a + step * da, b + step * db);
            let nf = objective(na, nb);
            if nf < fval + 1e-4 * step * gd {
                (a, b, fval) = (na, nb, nf);
                break;
            }
            step /= 2.0;
        }
        if step < min_step {
            log::debug!("svm: line search failed in the probability sigmoid fit");
            break;
        }
    }
    (a, b)
}

/// libsvm's `sigmoid_predict`: `1 / (1 + exp(A f + B))`, evaluated without cancellation.
fn sigmoid_predict(f: f64, a: f64, b: f64) -> f64 {
    let z = f * a + b;
    if z >= 0.0 {
        let e = (-z).exp();
        e / (1.0 + e)
    } else {
        1.0 / (1.0 + z.exp())
    }
}

/// libsvm's `multiclass_probability` (Wu, Lin & Weng 2004, method 2): class probabilities `p`
/// from pairwise ones, `r[i][j]` = P(i | i or j) (row-major `k x k`).
fn multiclass_probability(k: usize, r: &[f64]) -> Vec<f64> {
    let mut q = vec![0.0; k * k];
    for t in 0..k {
        for j in 0..k {
            if j != t {
                q[t * k + t] += r[j * k + t] * r[j * k + t];
                q[t * k + j] = -r[j * k + t] * r[t * k + j];
            }
        }
    }
    let mut p = vec![1.0 / k as f64; k];
    let mut qp = vec![0.0; k];
    let eps = 0.005 / k as f64;
    for _ in 0..100.max(k) {
        let mut pqp = 0.0;
        for t in 0..k {
            qp[t] = (0..k).map(|j| q[t * k + j] * p[j]).sum();
            pqp += p[t] * qp[t];
        }
        let max_error = qp.iter().map(|v| (v - pqp).abs()).fold(0.0, f64::max);
        if max_error < eps {
            break;
        }
        for t in 0..k {
            let diff = (-qp[t] + pqp) / q[t * k + t];
            p[t] += diff;
            pqp = (pqp + diff * (diff * q[t * k + t] + 2.0 * qp[t])) / (1.0 + diff) / (1.0 + diff);
            for j in 0..k {
                qp[j] = (qp[j] + diff * q[t * k + j]) / (1.0 + diff);
                p[j] /= 1.0 + diff;
            }
        }
    }
    p
}

impl Svm {
    /// libsvm's `svm_predict_probability`: each pair's decision value through its sigmoid,
    /// clipped to `[1e-7, 1 - 1e-7]`, then coupled into class probabilities.
    pub(super) fn calibrated_proba(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        const MIN_PROB: f64 = 1e-7;
        let k = self.n_classes();
        let ovo = self.decision_ovo(x);
        let mut out = Array2::zeros((x.nrows(), k));
        let mut r = vec![0.0; k * k];
        for (row, mut o) in ovo.rows().into_iter().zip(out.rows_mut()) {
            let mut p = 0;
            for i in 0..k {
                for j in i + 1..k {
                    let v = sigmoid_predict(row[p], self.prob_a[p], self.prob_b[p])
                        .clamp(MIN_PROB, 1.0 - MIN_PROB);
                    r[i * k + j] = v;
                    r[j * k + i] = 1.0 - v;
                    p += 1;
                }
            }
            let probs = if k == 2 {
                vec![r[1], r[k]]
            } else {
                multiclass_probability(k, &r)
            };
            o.assign(&ndarray::ArrayView1::from(&probs));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::svm::tests::rings;
    use crate::models::Classifier;
    use rand::{Rng, SeedableRng};

    #[test]
    fn coupling_recovers_probabilities_that_are_consistent_pairwise() {
        // r_ij = p_i / (p_i + p_j) is exactly consistent: method 2 returns p (to its eps).
        let p = [0.5, 0.2, 0.15, 0.1, 0.05];
        let k = p.len();
        let mut r = vec![0.0; k * k];
        for i in 0..k {
            for j in 0..k {
                if i != j {
                    r[i * k + j] = p[i] / (p[i] + p[j]);
                }
            }
        }
        let got = multiclass_probability(k, &r);
        assert!((got.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{got:?}");
        for (a, b) in got.iter().zip(p) {
            // libsvm stops when |Qp - pQp| < 0.005 / k: a few 1e-3 of the answer.
            assert!((a - b).abs() < 5e-3, "{got:?}");
        }
    }

    #[test]
    fn platt_scaling_recovers_a_known_sigmoid() {
        // Labels drawn with P(+1 | f) = 1 / (1 + exp(-2 f + 0.5)) over many decision values:
        // the fit lands near A = -2, B = 0.5 (Platt's targets shrink it slightly).
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let n = 20_000;
        let dec: Vec<f64> = (0..n).map(|_| rng.random_range(-3.0..3.0)).collect();
        let signs: Vec<f64> = dec
            .iter()
            .map(|&f| {
                if rng.random::<f64>() < sigmoid_predict(f, -2.0, 0.5) {
                    1.0
                } else {
                    -1.0
                }
            })
            .collect();
        let (a, b) = sigmoid_train(&dec, &signs);
        assert!(
            (a + 2.0).abs() < 0.1 && (b - 0.5).abs() < 0.1,
            "A {a}, B {b}"
        );
        // Separable values: Platt's targets (3/4 and 1/4 for two rows each) keep it finite.
        // By symmetry B = 0, and the optimal A zeroes the gradient
        // (3/4 - P(+1 | 1)) + 2 (3/4 - P(+1 | 2)), which P falls in: found by bisection.
        let (a, b) = sigmoid_train(&[-2.0, -1.0, 1.0, 2.0], &[-1.0, -1.0, 1.0, 1.0]);
        let gradient = |a: f64| {
            (0.75 - sigmoid_predict(1.0, a, 0.0)) + 2.0 * (0.75 - sigmoid_predict(2.0, a, 0.0))
        };
        let (mut lo, mut hi) = (-10.0, 0.0);
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            // The gradient grows with A: negative at steep (very negative) A, positive at 0.
            if gradient(mid) < 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        assert!(b.abs() < 1e-9, "B {b}");
        assert!((a - lo).abs() < 1e-4, "A {a}, optimum {lo}");
    }

    #[test]
    fn calibrated_probabilities_sum_to_one_save_and_load() {
        let (x, y) = rings(30, 3);
        let params = SvmParams {
            probability: true,
            ..SvmParams::default()
        };
        let svm = params.fit(x.view(), &y, 3).unwrap();
        assert_eq!(svm.prob_a.len(), 3);
        assert!(svm.prob_a.iter().all(|&a| a < 0.0), "{:?}", svm.prob_a);
        let p = svm.predict_proba(x.view());
        for row in p.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-9, "{row}");
        }
        // The rings separate: the calibrated argmax is right on nearly every training row.
        let hits = crate::models::argmax_rows(p.view())
            .iter()
            .zip(&y)
            .filter(|(a, b)| a == b)
            .count();
        assert!(hits as f64 >= 0.9 * y.len() as f64, "{hits}");
        // Deterministic for a seed, and the sigmoids survive a save.
        assert_eq!(params.fit(x.view(), &y, 3).unwrap(), svm);
        let back = Svm::from_safetensors(&svm.to_safetensors()).unwrap();
        assert_eq!(back, svm);
        assert_eq!(back.predict_proba(x.view()), p);
    }
}
