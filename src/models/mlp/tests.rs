//! Tests of whole fits ([`MlpParams::fit`]): accuracy, precision, determinism, threads, early
//! stopping, and scikit-learn's trajectory and accuracy on its fixtures; and the data helpers
//! the other files' tests share.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

use super::fit::{gather_rows, output_width};
use super::network::{Net, Real};
use super::validation::{stratified_split, Scorer};
use super::*;
use crate::models::Classifier;

/// Standard normal draws (Box-Muller), deterministic for a seed.
pub(super) fn normals(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let u1: f64 = 1.0 - rng.random::<f64>();
            let u2: f64 = rng.random();
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        })
        .collect()
}

/// `n` rows around `k` centres drawn from `N(0, spread^2)` in `d` dimensions, unit noise.
pub(super) fn blobs(
    n: usize,
    d: usize,
    k: usize,
    spread: f64,
    seed: u64,
) -> (Array2<f64>, Vec<usize>, Array2<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let centres = Array2::from_shape_vec((k, d), normals(&mut rng, k * d)).unwrap() * spread;
    let (x, y) = sample_blobs(&centres, n, &mut rng);
    (x, y, centres)
}

fn sample_blobs(
    centres: &Array2<f64>,
    n: usize,
    rng: &mut ChaCha8Rng,
) -> (Array2<f64>, Vec<usize>) {
    let (k, d) = centres.dim();
    let y: Vec<usize> = (0..n).map(|i| i % k).collect();
    let noise = Array2::from_shape_vec((n, d), normals(rng, n * d)).unwrap();
    let x = Array2::from_shape_fn((n, d), |(r, c)| centres[[y[r], c]] + noise[[r, c]]);
    (x, y)
}

pub(super) fn small_params() -> MlpParams {
    MlpParams {
        hidden_layers: vec![32, 16],
        ..MlpParams::default()
    }
}

use crate::models::accuracy as accuracy_of;

#[test]
fn separates_gaussian_blobs() {
    // Well separated centres: with only 40 validation rows, early stopping (as scikit-learn's)
    // can stop a harder problem while the model is still underfit.
    let (x, y, centres) = blobs(400, 10, 4, 3.0, 0);
    let mut rng = ChaCha8Rng::seed_from_u64(1000);
    let (x_test, y_test) = sample_blobs(&centres, 400, &mut rng);
    let fitted = small_params().fit(x.view(), &y, 4).unwrap();
    let acc = accuracy_of(&fitted.model, x_test.view(), &y_test);
    assert!(acc >= 0.95, "held-out accuracy {acc}");
    let proba = fitted.model.predict_proba(x_test.view());
    for row in proba.rows() {
        assert!((row.sum() - 1.0).abs() < 1e-12);
    }
}

/// f32 training follows f64 training from the same (rounded) weights, split and batches:
/// the first epochs' losses agree to float32 rounding, and over seeds both reach the same
/// held-out accuracy on a problem that is not trivially separable.
#[test]
fn f32_and_f64_fits_reach_the_same_accuracy() {
    let (x, y, centres) = blobs(600, 12, 4, 0.8, 21);
    let mut rng = ChaCha8Rng::seed_from_u64(2100);
    let (x_test, y_test) = sample_blobs(&centres, 2000, &mut rng);
    let mut mean = [0.0; 2];
    let seeds = [1, 2, 3, 4, 5];
    for seed in seeds {
        let fit = |precision| {
            MlpParams {
                seed,
                precision,
                ..small_params()
            }
            .fit(x.view(), &y, 4)
            .unwrap()
        };
        let (single, double) = (fit(Precision::F32), fit(Precision::F64));
        for (a, b) in single.history.iter().zip(&double.history).take(3) {
            let rel = (a.loss - b.loss).abs() / b.loss;
            assert!(
                rel < 1e-4,
                "seed {seed} epoch {}: rel diff {rel:e}",
                a.epoch
            );
        }
        mean[0] += accuracy_of(&single.model, x_test.view(), &y_test) / seeds.len() as f64;
        mean[1] += accuracy_of(&double.model, x_test.view(), &y_test) / seeds.len() as f64;
    }
    eprintln!(
        "held-out accuracy over seeds: f32 {:.4}, f64 {:.4}",
        mean[0], mean[1]
    );
    assert!(
        mean[1] > 0.7 && mean[1] < 0.99,
        "problem too easy or too hard: {mean:?}"
    );
    assert!(
        (mean[0] - mean[1]).abs() <= 0.01,
        "f32 {:.4} vs f64 {:.4}",
        mean[0],
        mean[1]
    );
}

#[test]
fn two_classes_use_one_logistic_unit() {
    let (x, y, centres) = blobs(200, 6, 2, 1.5, 5);
    let fitted = small_params().fit(x.view(), &y, 2).unwrap();
    assert_eq!(fitted.model.layer_sizes(), vec![6, 32, 16, 1]);
    assert_eq!(fitted.model.n_classes(), 2);
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let (x_test, y_test) = sample_blobs(&centres, 200, &mut rng);
    let proba = fitted.model.predict_proba(x_test.view());
    assert_eq!(proba.ncols(), 2);
    for row in proba.rows() {
        assert!((row.sum() - 1.0).abs() < 1e-12);
    }
    assert!(accuracy_of(&fitted.model, x_test.view(), &y_test) >= 0.9);
}

#[test]
fn fits_are_deterministic_per_seed() {
    let (x, y, _) = blobs(300, 8, 3, 1.0, 2);
    let mut models = Vec::new();
    for precision in [Precision::F32, Precision::F64] {
        let params = MlpParams {
            max_iter: 15,
            dropout: 0.2,
            precision,
            ..small_params()
        };
        let a = params.fit(x.view(), &y, 3).unwrap();
        // An owned matrix (freed by the fit once copied) fits the same model as a view.
        let b = params.fit_grouped(x.clone(), &y, 3, None).unwrap();
        let pa = a.model.predict_proba(x.view());
        let pb = b.model.predict_proba(x.view());
        assert!(pa
            .iter()
            .zip(pb.iter())
            .all(|(u, v)| u.to_bits() == v.to_bits()));
        assert_eq!(a.history, b.history);
        assert_eq!(a.model, b.model);

        let c = MlpParams { seed: 43, ..params }
            .fit(x.view(), &y, 3)
            .unwrap();
        assert_ne!(a.model.weights()[0], c.model.weights()[0]);
        models.push(a.model);
    }
    // f32 weights are f32 values stored as f64; the f64 fit's are not.
    assert!(models[0].weights()[0]
        .iter()
        .all(|&w| f64::from(w as f32) == w));
    assert_ne!(models[0], models[1]);
}

#[test]
fn fits_do_not_depend_on_the_thread_count() {
    // Large enough that products and Adam updates are split into parallel blocks.
    let (x, y, _) = blobs(200, 256, 3, 0.3, 12);
    for precision in [Precision::F32, Precision::F64] {
        let params = MlpParams {
            hidden_layers: vec![256, 192],
            max_iter: 3,
            precision,
            ..MlpParams::default()
        };
        let fit_with = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| params.fit(x.view(), &y, 3).unwrap())
        };
        let (one, three) = (fit_with(1), fit_with(3));
        assert_eq!(one.model, three.model, "{precision:?}");
        assert_eq!(one.history, three.history, "{precision:?}");
    }
}

#[test]
fn early_stopping_restores_the_best_weights() {
    let (x, y, _) = blobs(400, 10, 4, 0.6, 4);
    for precision in [Precision::F32, Precision::F64] {
        let params = MlpParams {
            max_iter: 500,
            precision,
            ..small_params()
        };
        let fitted = params.fit(x.view(), &y, 4).unwrap();
        let h = &fitted.history;
        assert!(fitted.stopped_early);
        assert!(h.len() < params.max_iter);
        assert!(h.len() <= fitted.best_epoch + params.n_iter_no_change + 1);
        assert!(h
            .iter()
            .enumerate()
            .all(|(i, e)| e.epoch == i + 1 && e.validation_accuracy.is_some()));
        let best = h
            .iter()
            .map(|e| e.validation_accuracy.unwrap())
            .fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(h[fitted.best_epoch - 1].validation_accuracy, Some(best));
        assert!(
            fitted.best_epoch < h.len(),
            "{precision:?}: the last epoch should not be the best on this problem"
        );

        // Recompute the validation split as `fit` draws it and score the returned model on
        // it, in the training precision.
        let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
        let mut sizes = vec![10];
        sizes.extend(&params.hidden_layers);
        sizes.push(4);
        let _ = Mlp::glorot(&sizes, &mut rng);
        let (train, val) = stratified_split(&y, 4, params.validation_fraction, &mut rng).unwrap();
        assert_eq!((train.len(), val.len()), (360, 40));
        let y_val: Vec<usize> = val.iter().map(|&i| y[i]).collect();
        let score = match precision {
            Precision::F32 => validation_score::<f32>(&fitted.model, x.view(), &val, &y_val),
            Precision::F64 => {
                let x_val = x.select(Axis(0), &val);
                assert_eq!(accuracy_of(&fitted.model, x_val.view(), &y_val), best);
                validation_score::<f64>(&fitted.model, x.view(), &val, &y_val)
            }
        };
        assert_eq!(score, best, "{precision:?}");
    }
}

/// Accuracy of `model` on rows `rows` of `x` as training scores it, in precision `T`.
fn validation_score<T: Real>(
    model: &Mlp,
    x: ArrayView2<'_, f64>,
    rows: &[usize],
    y: &[usize],
) -> f64 {
    let net = Net::<T>::from_mlp(model);
    let x = gather_rows::<T>(x, rows);
    Scorer::new(&net, x.view(), y).accuracy(&net)
}

#[test]
fn without_early_stopping_stops_on_training_loss() {
    let (x, y, _) = blobs(200, 6, 3, 2.0, 8);
    let params = MlpParams {
        early_stopping: false,
        max_iter: 400,
        ..small_params()
    };
    let fitted = params.fit(x.view(), &y, 3).unwrap();
    let h = &fitted.history;
    assert!(h.iter().all(|e| e.validation_accuracy.is_none()));
    assert_eq!(fitted.best_epoch, h.len());
    assert!(fitted.stopped_early, "ran all {} epochs", h.len());
    // Each of the last n_iter_no_change + 1 losses did not beat the best before it by tol.
    for j in h.len() - params.n_iter_no_change - 1..h.len() {
        let best_before = h[..j].iter().map(|e| e.loss).fold(f64::INFINITY, f64::min);
        assert!(h[j].loss > best_before - params.tol, "epoch {}", j + 1);
    }
}

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/sklearn_mlp/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e} (see tools/reference/sklearn_mlp.py)"))
}

fn to_array(rows: &[Vec<f64>]) -> Array2<f64> {
    let (n, d) = (rows.len(), rows[0].len());
    Array2::from_shape_vec((n, d), rows.concat()).unwrap()
}

#[derive(Deserialize)]
struct TrajectoryCase {
    name: String,
    n_classes: usize,
    hidden_layers: Vec<usize>,
    alpha: f64,
    batch_size: usize,
    epochs: usize,
    x: Vec<Vec<f64>>,
    y: Vec<usize>,
    init_weights: Vec<Vec<Vec<f64>>>,
    init_biases: Vec<Vec<f64>>,
    loss_curve: Vec<f64>,
    final_proba: Vec<Vec<f64>>,
}

/// From scikit-learn's own initial weights, without shuffling or early stopping (so no
/// random draw is involved), training follows scikit-learn's path: same loss every epoch and
/// the same final probabilities, up to floating-point summation order.
#[test]
fn follows_sklearn_trajectory_from_the_same_weights() {
    #[derive(Deserialize)]
    struct File {
        cases: Vec<TrajectoryCase>,
    }
    let file: File = serde_json::from_str(&fixture("trajectory.json")).unwrap();
    assert_eq!(file.cases.len(), 2);
    for case in file.cases {
        let x = to_array(&case.x);
        let init = Mlp {
            weights: case.init_weights.iter().map(|w| to_array(w)).collect(),
            biases: case
                .init_biases
                .iter()
                .map(|b| Array1::from_vec(b.clone()))
                .collect(),
        };
        let params = MlpParams {
            hidden_layers: case.hidden_layers.clone(),
            alpha: case.alpha,
            batch_size: case.batch_size,
            max_iter: case.epochs,
            n_iter_no_change: case.epochs + 1,
            shuffle: false,
            early_stopping: false,
            precision: Precision::F64,
            ..MlpParams::default()
        };
        let mut sizes = vec![x.ncols()];
        sizes.extend(&case.hidden_layers);
        sizes.push(output_width(case.n_classes));
        assert_eq!(init.layer_sizes(), sizes, "{}", case.name);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let fitted = params.train(
            Net::<f64>::from_mlp(&init),
            x.view(),
            &case.y,
            None,
            &mut rng,
        );
        assert_eq!(fitted.history.len(), case.epochs);
        let mut worst_loss: f64 = 0.0;
        for (ours, theirs) in fitted.history.iter().zip(&case.loss_curve) {
            worst_loss = worst_loss.max((ours.loss - theirs).abs() / theirs.abs());
        }
        let proba = fitted.model.predict_proba(x.view());
        let expected = to_array(&case.final_proba);
        let worst_proba = (&proba - &expected)
            .mapv(f64::abs)
            .fold(0.0f64, |a, &b| a.max(b));
        eprintln!(
            "{}: loss rel err {worst_loss:e}, proba abs err {worst_proba:e}",
            case.name
        );
        assert!(
            worst_loss < 1e-9,
            "{}: loss curve differs by {worst_loss:e}",
            case.name
        );
        assert!(
            worst_proba < 1e-9,
            "{}: probabilities differ by {worst_proba:e}",
            case.name
        );
    }
}

/// On a fixed 8-class problem, the default recipe (adam, early stopping) reaches
/// scikit-learn's test accuracy: mean over the same 20 seeds within 3 points.
#[test]
fn matches_sklearn_accuracy_on_a_fixed_problem() {
    #[derive(Deserialize)]
    struct File {
        n_classes: usize,
        hidden_layers: Vec<usize>,
        seeds: Vec<u64>,
        x_train: Vec<Vec<f64>>,
        y_train: Vec<usize>,
        x_test: Vec<Vec<f64>>,
        y_test: Vec<usize>,
        sklearn_mean_accuracy: f64,
    }
    let f: File = serde_json::from_str(&fixture("accuracy.json")).unwrap();
    let (x, x_test) = (to_array(&f.x_train), to_array(&f.x_test));
    // scikit-learn trained in float64 (the fixture's input); both our precisions are held to
    // the same 3-point bound.
    for precision in [Precision::F32, Precision::F64] {
        let accuracies: Vec<f64> = f
            .seeds
            .iter()
            .map(|&seed| {
                let params = MlpParams {
                    hidden_layers: f.hidden_layers.clone(),
                    seed,
                    precision,
                    ..MlpParams::default()
                };
                let fitted = params.fit(x.view(), &f.y_train, f.n_classes).unwrap();
                accuracy_of(&fitted.model, x_test.view(), &f.y_test)
            })
            .collect();
        let mean = accuracies.iter().sum::<f64>() / accuracies.len() as f64;
        eprintln!(
            "ours ({precision:?}) {mean:.4} {accuracies:?}, scikit-learn {:.4}",
            f.sklearn_mean_accuracy
        );
        assert!(
            (mean - f.sklearn_mean_accuracy).abs() <= 0.03,
            "{precision:?}: mean accuracy {mean:.4} vs scikit-learn {:.4}",
            f.sklearn_mean_accuracy
        );
    }
}

/// Prints the time of one fit of the pipeline's size (not a pass/fail check):
/// `cargo test --release --lib models::mlp::tests::timing -- --ignored --nocapture`.
#[test]
#[ignore]
fn timing_1000x180_512_256_128() {
    let (x, y, _) = blobs(1000, 180, 8, 0.3, 10);
    for precision in [Precision::F32, Precision::F64] {
        for early_stopping in [false, true] {
            let params = MlpParams {
                max_iter: 50,
                n_iter_no_change: 1000,
                early_stopping,
                precision,
                ..MlpParams::default()
            };
            let start = std::time::Instant::now();
            let fitted = params.fit(x.view(), &y, 8).unwrap();
            let secs = start.elapsed().as_secs_f64();
            println!(
                "MLP fit 1000x180, hidden [512, 256, 128], {precision:?}, early_stopping {early_stopping}: {} epochs in {secs:.3} s ({:.1} ms/epoch), final loss {:.4}",
                fitted.history.len(),
                secs * 1e3 / fitted.history.len() as f64,
                fitted.history.last().unwrap().loss
            );
        }
    }
}
