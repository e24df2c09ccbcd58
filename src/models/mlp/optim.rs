//! scikit-learn's `AdamOptimizer` ([`Adam`]): the moments and the step count `t` (counting
//! batches), the bias-corrected step size `lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)` of each
//! update, and the element-wise update itself ([`AdamStep`]), in fixed chunks that run in
//! parallel on a pool of several threads.

use ndarray::{Array1, Array2};
use rayon::prelude::*;

use super::network::{sum_of_squares, Net, Real, Workspace};
use super::params::MlpParams;

/// Weight matrices of at least twice this many elements are updated in parallel chunks.
const ADAM_CHUNK: usize = 1 << 15;

/// Matching chunks of parameters, their gradient and Adam's two moments.
type AdamChunk<'a, T> = ((&'a mut [T], &'a [T]), (&'a mut [T], &'a mut [T]));

/// The coefficients of one Adam update.
struct AdamStep<T> {
    beta_1: T,
    beta_2: T,
    epsilon: T,
    /// The bias-corrected step size of this update.
    lr: T,
    /// Rows in the batch.
    n: T,
}

impl<T: Real> AdamStep<T> {
    /// Updates `params` from the unscaled batch gradient `raw`: `g = (raw + alpha * param) / n`,
    /// then scikit-learn's moment updates and `param += -lr * m / (sqrt(v) + eps)`.
    ///
    /// Element-wise with no reduction, so the loop vectorises; on x86-64 CPUs with AVX it runs
    /// twice as wide (the default target has only SSE2, and the two divisions and the square
    /// root per element bound this loop). Additions, multiplications, divisions and square roots
    /// are correctly rounded at any width and are never fused, so both paths give bit-identical
    /// results (tested).
    fn apply(&self, params: &mut [T], raw: &[T], m: &mut [T], v: &mut [T], alpha: T) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU supports AVX, checked just above.
            unsafe { self.apply_avx(params, raw, m, v, alpha) };
            return;
        }
        self.apply_portable(params, raw, m, v, alpha);
    }

    /// [`AdamStep::apply_portable`] compiled for AVX.
    ///
    /// # Safety
    /// The CPU must support AVX.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx")]
    unsafe fn apply_avx(&self, params: &mut [T], raw: &[T], m: &mut [T], v: &mut [T], alpha: T) {
        self.apply_portable(params, raw, m, v, alpha);
    }

    #[inline(always)]
    fn apply_portable(&self, params: &mut [T], raw: &[T], m: &mut [T], v: &mut [T], alpha: T) {
        let len = params.len();
        let (raw, m, v) = (&raw[..len], &mut m[..len], &mut v[..len]);
        let (b1, b2, eps, lr, n) = (self.beta_1, self.beta_2, self.epsilon, self.lr, self.n);
        for i in 0..len {
            let g = (raw[i] + alpha * params[i]) / n;
            m[i] = b1 * m[i] + (T::one() - b1) * g;
            v[i] = b2 * v[i] + (T::one() - b2) * (g * g);
            params[i] += -lr * m[i] / (v[i].sqrt() + eps);
        }
    }

    /// [`AdamStep::apply`] then the sum of squares of the updated `params`: over the whole slice
    /// when it is small, else over fixed chunks of [`ADAM_CHUNK`] (updated in parallel on a pool
    /// of several threads) whose sums are added in order, so the result does not depend on the
    /// thread count.
    fn apply_sum_sq(&self, params: &mut [T], raw: &[T], m: &mut [T], v: &mut [T], alpha: T) -> f64 {
        if params.len() < 2 * ADAM_CHUNK {
            self.apply(params, raw, m, v, alpha);
            return sum_of_squares(params);
        }
        let chunk = |((w, g), (m, v)): AdamChunk<'_, T>| {
            self.apply(w, g, m, v, alpha);
            sum_of_squares(w)
        };
        if rayon::current_num_threads() > 1 {
            let sums: Vec<f64> = params
                .par_chunks_mut(ADAM_CHUNK)
                .zip(raw.par_chunks(ADAM_CHUNK))
                .zip(
                    m.par_chunks_mut(ADAM_CHUNK)
                        .zip(v.par_chunks_mut(ADAM_CHUNK)),
                )
                .map(chunk)
                .collect();
            sums.iter().sum()
        } else {
            params
                .chunks_mut(ADAM_CHUNK)
                .zip(raw.chunks(ADAM_CHUNK))
                .zip(m.chunks_mut(ADAM_CHUNK).zip(v.chunks_mut(ADAM_CHUNK)))
                .map(chunk)
                .sum()
        }
    }
}

/// scikit-learn's `AdamOptimizer` state.
pub(super) struct Adam<T> {
    t: u64,
    m_w: Vec<Array2<T>>,
    v_w: Vec<Array2<T>>,
    m_b: Vec<Array1<T>>,
    v_b: Vec<Array1<T>>,
}

impl<T: Real> Adam<T> {
    pub(super) fn new(net: &Net<T>) -> Adam<T> {
        let zeros_w = || -> Vec<Array2<T>> {
            net.weights
                .iter()
                .map(|w| Array2::zeros(w.raw_dim()))
                .collect()
        };
        let zeros_b = || -> Vec<Array1<T>> {
            net.biases
                .iter()
                .map(|b| Array1::zeros(b.raw_dim()))
                .collect()
        };
        Adam {
            t: 0,
            m_w: zeros_w(),
            v_w: zeros_w(),
            m_b: zeros_b(),
            v_b: zeros_b(),
        }
    }

    /// One update from the workspace's unscaled gradients of a batch of `bn` rows; returns the
    /// sum of squared weights after the update (the next batch's L2 term).
    pub(super) fn step(
        &mut self,
        net: &mut Net<T>,
        ws: &Workspace<T>,
        bn: usize,
        p: &MlpParams,
    ) -> f64 {
        self.t += 1;
        let t = self.t as f64;
        let lr = p.learning_rate * (1.0 - p.beta_2.powf(t)).sqrt() / (1.0 - p.beta_1.powf(t));
        let c = AdamStep {
            beta_1: T::cast(p.beta_1),
            beta_2: T::cast(p.beta_2),
            epsilon: T::cast(p.epsilon),
            lr: T::cast(lr),
            n: T::cast(bn as f64),
        };
        let alpha = T::cast(p.alpha);
        let mut sum_sq = 0.0;
        for i in 0..net.weights.len() {
            sum_sq += c.apply_sum_sq(
                net.weights[i].as_slice_mut().expect("contiguous"),
                ws.grad_w[i].as_slice().expect("contiguous"),
                self.m_w[i].as_slice_mut().expect("contiguous"),
                self.v_w[i].as_slice_mut().expect("contiguous"),
                alpha,
            );
            c.apply(
                net.biases[i].as_slice_mut().expect("contiguous"),
                ws.grad_b[i].as_slice().expect("contiguous"),
                self.m_b[i].as_slice_mut().expect("contiguous"),
                self.v_b[i].as_slice_mut().expect("contiguous"),
                T::zero(),
            );
        }
        sum_sq
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::mlp::tests::normals;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn adam_update_is_the_same_at_every_vector_width() {
        fn check<T: Real>() {
            let mut rng = ChaCha8Rng::seed_from_u64(17);
            // Not a multiple of any vector width, so the scalar tail runs too.
            let len = 1003;
            let mut random = |scale: f64| -> Vec<T> {
                normals(&mut rng, len)
                    .into_iter()
                    .map(|v| T::cast(v * scale))
                    .collect()
            };
            let (params, raw, m) = (random(0.1), random(1.0), random(0.01));
            let v: Vec<T> = random(1e-3).into_iter().map(|x| x * x).collect();
            let step = AdamStep {
                beta_1: T::cast(0.9),
                beta_2: T::cast(0.999),
                epsilon: T::cast(1e-8),
                lr: T::cast(1e-3),
                n: T::cast(64.0),
            };
            let alpha = T::cast(1e-4);
            let (mut p1, mut m1, mut v1) = (params.clone(), m.clone(), v.clone());
            step.apply(&mut p1, &raw, &mut m1, &mut v1, alpha);
            let (mut p2, mut m2, mut v2) = (params, m, v);
            step.apply_portable(&mut p2, &raw, &mut m2, &mut v2, alpha);
            let bits = |x: &[T]| x.iter().map(|v| v.widen().to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&p1), bits(&p2));
            assert_eq!(bits(&m1), bits(&m2));
            assert_eq!(bits(&v1), bits(&v2));
        }
        check::<f32>();
        check::<f64>();
    }
}
