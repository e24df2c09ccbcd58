//! Tests of whole fits: ring data a linear model cannot separate, probabilities that agree
//! with the decision, determinism, and a timing probe against smartcore.

use ndarray::Array2;
use rand::{Rng, SeedableRng};

use super::*;
use crate::models::Classifier;

/// Three concentric rings (radii 1, 2, 3, noise +-0.25) in 2-D: no linear model separates
/// them.
pub(super) fn rings(n_per: usize, seed: u64) -> (Array2<f64>, Vec<usize>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut x = Array2::zeros((3 * n_per, 2));
    let mut y = Vec::new();
    for i in 0..3 * n_per {
        let c = i % 3;
        let r = (c + 1) as f64 + rng.random_range(-0.25..0.25);
        let t = rng.random_range(0.0..std::f64::consts::TAU);
        x[[i, 0]] = r * t.cos();
        x[[i, 1]] = r * t.sin();
        y.push(c);
    }
    (x, y)
}

#[test]
fn separates_concentric_rings_a_linear_model_cannot() {
    let (x, y) = rings(60, 1);
    let (xt, yt) = rings(40, 2);
    let svm = SvmParams::default().fit(x.view(), &y, 3).unwrap();
    let acc = crate::models::accuracy(&svm, xt.view(), &yt);
    assert!(acc >= 0.95, "svm accuracy {acc}");
    let linear = crate::models::smart::LogisticParams::default()
        .fit(x.view(), &y, 3)
        .unwrap();
    let lin = crate::models::accuracy(&linear, xt.view(), &yt);
    assert!(lin < 0.7, "logistic regression accuracy {lin}");
}

#[test]
fn probabilities_sum_to_one_and_agree_with_the_decision() {
    let (x, y) = rings(30, 3);
    let svm = SvmParams::default().fit(x.view(), &y, 3).unwrap();
    let p = svm.predict_proba(x.view());
    for row in p.rows() {
        assert!((row.sum() - 1.0).abs() < 1e-12);
    }
    let d = svm.decision_function(x.view());
    assert_eq!(
        crate::models::argmax_rows(p.view()),
        crate::models::argmax_rows(d.view())
    );
    // Votes dominate: the decision's integer part is the vote count, which sums to k(k-1)/2.
    for row in d.rows() {
        let votes: f64 = row.iter().map(|v| v.round()).sum();
        assert_eq!(votes, 3.0);
    }
}

#[test]
fn is_deterministic() {
    let (x, y) = rings(30, 5);
    let fit = || SvmParams::default().fit(x.view(), &y, 3).unwrap();
    assert_eq!(fit(), fit());
}

/// A timing probe against smartcore's `MultiClassSVC` (not part of the suite; run with
/// `--ignored --nocapture`).
#[test]
#[ignore]
fn speed_probe_against_smartcore() {
    use smartcore::linalg::basic::matrix::DenseMatrix;
    use smartcore::svm::svc::{MultiClassSVC, SVCParameters};
    use smartcore::svm::Kernels;
    let (n, d, k) = (1000, 360, 8);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let centres: Vec<Vec<f64>> = (0..k)
        .map(|_| (0..d).map(|_| rng.random_range(-0.3..0.3)).collect())
        .collect();
    let mut x = Array2::zeros((n, d));
    let y: Vec<usize> = (0..n).map(|i| i % k).collect();
    for i in 0..n {
        for j in 0..d {
            x[[i, j]] = centres[y[i]][j] + rng.random_range(-1.0..1.0);
        }
    }
    let x = crate::preprocess::Scaler::fit(x.view()).transform(x.view());
    let t = std::time::Instant::now();
    let ours = SvmParams::default().fit(x.view(), &y, k).unwrap();
    let ours_fit = t.elapsed().as_secs_f64();
    let ours_acc = crate::models::accuracy(&ours, x.view(), &y);
    let gamma = Gamma::Scale.resolve(x.view());
    let dm = DenseMatrix::new(n, d, x.iter().copied().collect(), false).unwrap();
    let yi: Vec<i32> = y.iter().map(|&c| c as i32).collect();
    let params = SVCParameters::default()
        .with_c(10.0)
        .with_kernel(Kernels::rbf().with_gamma(gamma));
    let t = std::time::Instant::now();
    let theirs = MultiClassSVC::fit(&dm, &yi, &params).unwrap();
    let fit = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let p = theirs.predict(&dm).unwrap();
    let pred = t.elapsed().as_secs_f64();
    let acc = p.iter().zip(&yi).filter(|(a, b)| **a as i32 == **b).count() as f64 / n as f64;
    eprintln!(
        "ours: fit {ours_fit:.2} s, train acc {ours_acc:.3}; smartcore: fit {fit:.2} s, \
         predict {pred:.2} s, train acc {acc:.3}"
    );
}
