//! The network's arithmetic in the training precision `T` ([`Real`]: `f32` or `f64`): the
//! forward pass ([`forward`]: ReLU hidden layers, optional inverted dropout, softmax or logistic
//! output), the backward pass into a batch's gradients ([`Workspace::forward_backward`]), the
//! weights being trained ([`Net`]), and the matrix products, split into column blocks on a rayon
//! pool without changing any value's arithmetic.

use ndarray::linalg::general_mat_mul;
use ndarray::LinalgScalar;
use ndarray::{s, Array1, Array2, ArrayView2, ArrayViewMut2, Axis};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::model::Mlp;

/// The float type training runs in: `f32` or `f64` ([`Precision`]).
pub(in crate::models) trait Real:
    LinalgScalar + num_traits::Float + num_traits::NumAssign + Send + Sync + std::fmt::Debug
{
    /// `v` rounded to this type.
    fn cast(v: f64) -> Self;
    /// This value as f64 (exact).
    fn widen(self) -> f64;
}

impl Real for f32 {
    fn cast(v: f64) -> f32 {
        v as f32
    }
    fn widen(self) -> f64 {
        f64::from(self)
    }
}

impl Real for f64 {
    fn cast(v: f64) -> f64 {
        v
    }
    fn widen(self) -> f64 {
        self
    }
}

/// The class an output row predicts: the first maximum of a softmax row, or for one logistic
/// unit `p` class 1 when `p > 1 - p` (as `argmax([1 - p, p])`).
pub(super) fn predicted_class<T: Real>(row: &[T]) -> usize {
    if let [p] = row {
        return usize::from(*p > T::one() - *p);
    }
    let mut best = 0;
    for (j, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = j;
        }
    }
    best
}

/// Softmax of one row in place (scikit-learn's `inplace_softmax`).
pub(in crate::models) fn softmax_row<T: Real>(row: &mut [T]) {
    let max = row.iter().copied().fold(T::neg_infinity(), T::max);
    let mut sum = T::zero();
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in row.iter_mut() {
        *v /= sum;
    }
}

fn logistic<T: Real>(z: T) -> T {
    T::one() / (T::one() + (-z).exp())
}

/// Products below this many multiply-adds are not split further.
const PAR_MIN_WORK: usize = 1 << 20;

/// Column blocks are not split below this width.
const PAR_MIN_COLS: usize = 64;

/// `c = a · b`. On a pool of more than one thread, large products are split into column blocks of
/// `b` and `c` (halving recursively while a block has at least `2 * PAR_MIN_COLS` columns and
/// `2 * PAR_MIN_WORK` multiply-adds) that run on rayon's pool. This changes no output element's
/// arithmetic: matrixmultiply blocks only the shared dimension `k` for each element's sum, so the
/// result is bit-identical to one `general_mat_mul` for any number of threads (tested).
fn matmul<T: Real>(a: ArrayView2<'_, T>, b: ArrayView2<'_, T>, c: ArrayViewMut2<'_, T>) {
    if rayon::current_num_threads() > 1 {
        matmul_blocks(a, b, c);
    } else {
        let mut c = c;
        general_mat_mul(T::one(), &a, &b, T::zero(), &mut c);
    }
}

fn matmul_blocks<T: Real>(a: ArrayView2<'_, T>, b: ArrayView2<'_, T>, mut c: ArrayViewMut2<'_, T>) {
    let n = c.ncols();
    if n < 2 * PAR_MIN_COLS || a.nrows() * a.ncols() * n < 2 * PAR_MIN_WORK {
        general_mat_mul(T::one(), &a, &b, T::zero(), &mut c);
        return;
    }
    // Split at a multiple of 8 columns (the micro-kernels' width) near the middle.
    let mid = (n / 2).div_ceil(8) * 8;
    let (b1, b2) = b.split_at(Axis(1), mid);
    let (c1, c2) = c.split_at(Axis(1), mid);
    rayon::join(|| matmul_blocks(a, b1, c1), || matmul_blocks(a, b2, c2));
}

/// Rows of a standard-layout 2-D view as slices.
fn rows_mut<'a, T>(a: &'a mut ArrayViewMut2<'_, T>) -> impl Iterator<Item = &'a mut [T]> {
    let w = a.ncols();
    a.as_slice_mut()
        .expect("standard layout")
        .chunks_exact_mut(w.max(1))
}

/// Forward pass of the rows of `x` through the layers `weights`, `biases` into `acts` (one
/// buffer per layer with at least `x.nrows()` rows; the first `x.nrows()` are written): ReLU
/// hidden layers, with inverted dropout when given, then softmax, or the logistic function for
/// a single output unit.
pub(super) fn forward<T: Real>(
    weights: &[Array2<T>],
    biases: &[Array1<T>],
    x: ArrayView2<'_, T>,
    acts: &mut [Array2<T>],
    mut dropout: Option<(f64, &mut ChaCha8Rng)>,
) {
    let bn = x.nrows();
    let last = weights.len() - 1;
    let scale = T::cast(dropout.as_ref().map_or(1.0, |(p, _)| 1.0 / (1.0 - p)));
    for i in 0..weights.len() {
        let (done, rest) = acts.split_at_mut(i);
        let input = if i == 0 {
            x
        } else {
            done[i - 1].slice(s![..bn, ..])
        };
        let mut out = rest[0].slice_mut(s![..bn, ..]);
        matmul(input, weights[i].view(), out.view_mut());
        let bias = biases[i].as_slice().expect("contiguous");
        for row in rows_mut(&mut out) {
            if i < last {
                match dropout.as_mut() {
                    None => {
                        for (v, &b) in row.iter_mut().zip(bias) {
                            *v = (*v + b).max(T::zero());
                        }
                    }
                    Some((p, rng)) => {
                        for (v, &b) in row.iter_mut().zip(bias) {
                            let keep = rng.random::<f64>() >= *p;
                            *v = if keep {
                                (*v + b).max(T::zero()) * scale
                            } else {
                                T::zero()
                            };
                        }
                    }
                }
            } else {
                for (v, &b) in row.iter_mut().zip(bias) {
                    *v += b;
                }
                if row.len() > 1 {
                    softmax_row(row);
                } else {
                    row[0] = logistic(row[0]);
                }
            }
        }
    }
}

/// Weights and biases in the training precision `T`, laid out as [`Mlp`]'s.
#[derive(Debug, Clone)]
pub(super) struct Net<T> {
    pub(super) weights: Vec<Array2<T>>,
    pub(super) biases: Vec<Array1<T>>,
}

impl<T: Real> Net<T> {
    pub(super) fn from_mlp(m: &Mlp) -> Net<T> {
        Net {
            weights: m.weights.iter().map(|w| w.mapv(T::cast)).collect(),
            biases: m.biases.iter().map(|b| b.mapv(T::cast)).collect(),
        }
    }

    /// The f64 model (exact: every `T` value is an f64 value).
    pub(super) fn to_mlp(&self) -> Mlp {
        Mlp {
            weights: self.weights.iter().map(|w| w.mapv(T::widen)).collect(),
            biases: self.biases.iter().map(|b| b.mapv(T::widen)).collect(),
        }
    }

    fn n_features(&self) -> usize {
        self.weights[0].nrows()
    }

    pub(super) fn sum_sq_weights(&self) -> f64 {
        self.weights
            .iter()
            .map(|w| sum_of_squares(w.as_slice().expect("contiguous")))
            .sum()
    }

    pub(super) fn assign(&mut self, other: &Net<T>) {
        for (a, b) in self.weights.iter_mut().zip(&other.weights) {
            a.assign(b);
        }
        for (a, b) in self.biases.iter_mut().zip(&other.biases) {
            a.assign(b);
        }
    }
}

/// Sum of squares in f64 with eight independent partial sums (vectorisable, fixed order).
pub(super) fn sum_of_squares<T: Real>(values: &[T]) -> f64 {
    let mut lanes = [0.0f64; 8];
    let chunks = values.chunks_exact(8);
    let tail: f64 = chunks
        .remainder()
        .iter()
        .map(|v| v.widen() * v.widen())
        .sum();
    for chunk in chunks {
        for (l, v) in lanes.iter_mut().zip(chunk) {
            let v = v.widen();
            *l += v * v;
        }
    }
    lanes.iter().sum::<f64>() + tail
}

/// Per-batch buffers, allocated once for the largest batch.
pub(super) struct Workspace<T> {
    /// The batch's input rows.
    pub(super) xb: Array2<T>,
    /// `acts[i]`: output of layer `i` (after its activation).
    acts: Vec<Array2<T>>,
    /// `deltas[i]`: gradient of the summed loss with respect to layer `i`'s pre-activation.
    deltas: Vec<Array2<T>>,
    /// `grad_w[i] = input_i^T deltas[i]` (unscaled: no L2 term, no division by the batch).
    pub(super) grad_w: Vec<Array2<T>>,
    /// `grad_b[i] = sum over rows of deltas[i]` (unscaled).
    pub(super) grad_b: Vec<Array1<T>>,
}

impl<T: Real> Workspace<T> {
    pub(super) fn new(net: &Net<T>, batch: usize) -> Workspace<T> {
        let outs: Vec<usize> = net.weights.iter().map(|w| w.ncols()).collect();
        Workspace {
            xb: Array2::zeros((batch, net.n_features())),
            acts: outs.iter().map(|&o| Array2::zeros((batch, o))).collect(),
            deltas: outs.iter().map(|&o| Array2::zeros((batch, o))).collect(),
            grad_w: net
                .weights
                .iter()
                .map(|w| Array2::zeros(w.raw_dim()))
                .collect(),
            grad_b: net
                .biases
                .iter()
                .map(|b| Array1::zeros(b.raw_dim()))
                .collect(),
        }
    }

    /// Forward and backward pass over the first `bn` rows of `xb`; fills `grad_w`, `grad_b` and
    /// returns the batch loss (mean cross-entropy plus `alpha / (2 bn) * sum_sq`), summed in f64.
    pub(super) fn forward_backward(
        &mut self,
        net: &Net<T>,
        bn: usize,
        y: &[usize],
        alpha: f64,
        sum_sq: f64,
        dropout: Option<(f64, &mut ChaCha8Rng)>,
    ) -> f64 {
        let n_layers = net.weights.len();
        let last = n_layers - 1;
        let scale = T::cast(dropout.as_ref().map_or(1.0, |(p, _)| 1.0 / (1.0 - p)));
        forward(
            &net.weights,
            &net.biases,
            self.xb.slice(s![..bn, ..]),
            &mut self.acts,
            dropout,
        );

        // Loss and output delta (probability minus one-hot target). Probabilities are clipped to
        // `[eps, 1 - eps]` with the machine epsilon of `T`, as scikit-learn's `log_loss` does.
        let eps = T::epsilon();
        let mut data_loss = 0.0;
        {
            let probs = self.acts[last].slice(s![..bn, ..]);
            let mut delta = self.deltas[last].slice_mut(s![..bn, ..]);
            delta.assign(&probs);
            for (row, &t) in rows_mut(&mut delta).zip(y) {
                if row.len() == 1 {
                    let p = row[0].max(eps).min(T::one() - eps);
                    let target = t as f64;
                    let (log_p, log_q) = (p.ln().widen(), (T::one() - p).ln().widen());
                    data_loss -= target * log_p + (1.0 - target) * log_q;
                    row[0] -= T::cast(target);
                } else {
                    data_loss -= row[t].max(eps).min(T::one() - eps).ln().widen();
                    row[t] -= T::one();
                }
            }
        }
        let loss = data_loss / bn as f64 + 0.5 * alpha * sum_sq / bn as f64;

        // Backward.
        for i in (0..n_layers).rev() {
            let input = if i == 0 {
                self.xb.slice(s![..bn, ..])
            } else {
                self.acts[i - 1].slice(s![..bn, ..])
            };
            let (lower, upper) = self.deltas.split_at_mut(i);
            let delta = upper[0].slice(s![..bn, ..]);
            matmul(input.t(), delta, self.grad_w[i].view_mut());
            let gb = self.grad_b[i].as_slice_mut().expect("contiguous");
            gb.fill(T::zero());
            for row in delta
                .as_slice()
                .expect("standard layout")
                .chunks_exact(gb.len())
            {
                for (g, &d) in gb.iter_mut().zip(row) {
                    *g += d;
                }
            }
            if i > 0 {
                let mut below = lower[i - 1].slice_mut(s![..bn, ..]);
                matmul(delta, net.weights[i].t(), below.view_mut());
                let acts = self.acts[i - 1].slice(s![..bn, ..]);
                let acts = acts.as_slice().expect("standard layout");
                let below = below.as_slice_mut().expect("standard layout");
                // Unconditional stores (a select, not a branch), so the loops vectorise.
                if scale == T::one() {
                    for (d, &a) in below.iter_mut().zip(acts) {
                        *d = if a <= T::zero() { T::zero() } else { *d };
                    }
                } else {
                    for (d, &a) in below.iter_mut().zip(acts) {
                        *d = if a > T::zero() { *d * scale } else { T::zero() };
                    }
                }
            }
        }
        loss
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::mlp::fit::output_width;
    use crate::models::mlp::tests::normals;
    use rand::SeedableRng;

    /// Loss and gradients (with the L2 term, divided by the batch) at `net`.
    fn loss_and_grad(
        net: &Mlp,
        x: ArrayView2<'_, f64>,
        y: &[usize],
        alpha: f64,
        dropout: Option<(f64, u64)>,
    ) -> (f64, Vec<Array2<f64>>, Vec<Array1<f64>>) {
        let n = x.nrows();
        let net64 = Net::<f64>::from_mlp(net);
        let mut ws = Workspace::new(&net64, n);
        ws.xb.assign(&x);
        let mut rng = dropout.map(|(_, seed)| ChaCha8Rng::seed_from_u64(seed));
        let drop = dropout.map(|(p, _)| (p, rng.as_mut().unwrap()));
        let loss = ws.forward_backward(&net64, n, y, alpha, net64.sum_sq_weights(), drop);
        let gw = ws
            .grad_w
            .iter()
            .zip(&net.weights)
            .map(|(g, w)| (g + &(w * alpha)) / n as f64)
            .collect();
        let gb = ws.grad_b.iter().map(|g| g / n as f64).collect();
        (loss, gw, gb)
    }

    fn gradient_check(n_classes: usize, dropout: Option<(f64, u64)>) -> f64 {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (n, d) = (9, 5);
        let x = Array2::from_shape_vec((n, d), normals(&mut rng, n * d)).unwrap();
        let y: Vec<usize> = (0..n).map(|i| i % n_classes).collect();
        let net = Mlp::glorot(&[d, 4, 3, output_width(n_classes)], &mut rng);
        let alpha = 0.3;
        let (_, gw, gb) = loss_and_grad(&net, x.view(), &y, alpha, dropout);
        let h = 1e-5;
        let mut worst: f64 = 0.0;
        let mut compare = |analytic: f64, perturbed: &dyn Fn(f64) -> Mlp| {
            let plus = loss_and_grad(&perturbed(h), x.view(), &y, alpha, dropout).0;
            let minus = loss_and_grad(&perturbed(-h), x.view(), &y, alpha, dropout).0;
            let numeric = (plus - minus) / (2.0 * h);
            let rel = (analytic - numeric).abs() / (analytic.abs() + numeric.abs()).max(1e-6);
            worst = worst.max(rel);
        };
        for l in 0..net.weights.len() {
            for ((r, c), &g) in gw[l].indexed_iter() {
                compare(g, &|dh| {
                    let mut m = net.clone();
                    m.weights[l][[r, c]] += dh;
                    m
                });
            }
            for (j, &g) in gb[l].indexed_iter() {
                compare(g, &|dh| {
                    let mut m = net.clone();
                    m.biases[l][j] += dh;
                    m
                });
            }
        }
        worst
    }

    #[test]
    fn gradients_match_central_differences() {
        for (n_classes, dropout) in [(3, None), (2, None), (4, Some((0.3, 11)))] {
            let worst = gradient_check(n_classes, dropout);
            assert!(
                worst < 1e-6,
                "{n_classes} classes, dropout {dropout:?}: max relative error {worst:e}"
            );
        }
    }

    #[test]
    fn split_products_are_bit_identical() {
        fn check<T: Real>() {
            let mut rng = ChaCha8Rng::seed_from_u64(13);
            let (m, k, n) = (64, 300, 520);
            let mut random = |r, c| {
                Array2::from_shape_vec((r, c), normals(&mut rng, r * c))
                    .unwrap()
                    .mapv(T::cast)
            };
            let (a, b, d) = (random(m, k), random(k, n), random(m, n));
            let same = |u: &Array2<T>, v: &Array2<T>| {
                u.iter()
                    .zip(v.iter())
                    .all(|(p, q)| p.widen().to_bits() == q.widen().to_bits())
            };
            let mut whole = Array2::zeros((m, n));
            general_mat_mul(T::one(), &a, &b, T::zero(), &mut whole);
            let mut blocks = Array2::from_elem((m, n), T::nan());
            matmul_blocks(a.view(), b.view(), blocks.view_mut());
            assert!(same(&whole, &blocks));
            // A transposed operand, as in the backward pass: (k, m) x (m, n).
            let mut whole = Array2::zeros((k, n));
            general_mat_mul(T::one(), &a.t(), &d, T::zero(), &mut whole);
            let mut blocks = Array2::from_elem((k, n), T::nan());
            matmul_blocks(a.t(), d.view(), blocks.view_mut());
            assert!(same(&whole, &blocks));
        }
        check::<f32>();
        check::<f64>();
    }
}
