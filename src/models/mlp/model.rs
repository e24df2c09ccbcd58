//! The fitted [`Mlp`]: its layers, their Glorot-uniform initialisation, and `predict_proba`.

use ndarray::{Array1, Array2, ArrayView2};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::network::forward;
use crate::models::Classifier;

/// A fitted multi-layer perceptron: ReLU hidden layers, softmax (or, for two classes, logistic)
/// output.
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    /// `weights[i]`: `(in, out)` of layer `i`, applied as `x.dot(w) + b`.
    pub(super) weights: Vec<Array2<f64>>,
    pub(super) biases: Vec<Array1<f64>>,
}

impl Mlp {
    /// Glorot-uniform weights and biases for layer widths `sizes` (input first), drawn layer by
    /// layer, weights (row-major) before biases, as scikit-learn's `_init_coef`.
    pub(super) fn glorot(sizes: &[usize], rng: &mut ChaCha8Rng) -> Mlp {
        let mut weights = Vec::with_capacity(sizes.len() - 1);
        let mut biases = Vec::with_capacity(sizes.len() - 1);
        for pair in sizes.windows(2) {
            let (fan_in, fan_out) = (pair[0], pair[1]);
            let bound = (6.0 / (fan_in + fan_out) as f64).sqrt();
            weights.push(Array2::from_shape_simple_fn((fan_in, fan_out), || {
                rng.random_range(-bound..bound)
            }));
            biases.push(Array1::from_shape_simple_fn(fan_out, || {
                rng.random_range(-bound..bound)
            }));
        }
        Mlp { weights, biases }
    }

    /// Widths of all layers: inputs, each hidden layer, outputs (1 for a two-class model).
    pub fn layer_sizes(&self) -> Vec<usize> {
        let mut sizes = vec![self.weights[0].nrows()];
        sizes.extend(self.weights.iter().map(|w| w.ncols()));
        sizes
    }

    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.weights[0].nrows()
    }

    /// Number of classes (columns of `predict_proba`).
    pub fn n_classes(&self) -> usize {
        let out = self.weights.last().expect("at least one layer").ncols();
        if out == 1 {
            2
        } else {
            out
        }
    }

    /// Weight matrices, `(in, out)` per layer.
    pub fn weights(&self) -> &[Array2<f64>] {
        &self.weights
    }

    /// Bias vectors per layer.
    pub fn biases(&self) -> &[Array1<f64>] {
        &self.biases
    }
}

impl Classifier for Mlp {
    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        assert_eq!(
            x.ncols(),
            self.n_features(),
            "the MLP was trained on {} features, got {}",
            self.n_features(),
            x.ncols()
        );
        let mut acts: Vec<Array2<f64>> = self
            .weights
            .iter()
            .map(|w| Array2::zeros((x.nrows(), w.ncols())))
            .collect();
        forward(&self.weights, &self.biases, x, &mut acts, None);
        let a = acts.pop().expect("at least one layer");
        if a.ncols() == 1 {
            let mut out = Array2::zeros((a.nrows(), 2));
            for (r, &v) in a.column(0).iter().enumerate() {
                out[[r, 0]] = 1.0 - v;
                out[[r, 1]] = v;
            }
            out
        } else {
            a
        }
    }
}
