//! An RBF-kernel support vector classifier with scikit-learn `SVC(kernel="rbf")` semantics
//! (libsvm's C-SVC), written here: one binary SVM per pair of classes (one-vs-one, as libsvm
//! and scikit-learn), each solved exactly by SMO with libsvm's second-order working-set
//! selection (WSS3, Fan, Chen & Lin 2005) over the pair's precomputed kernel matrix.
//!
//! Why not smartcore's `svm::svc::SVC`: it is an online LaSVM-style solver (a fixed number of
//! passes, not run to a KKT tolerance) with a `HashMap` kernel cache, and its prediction
//! allocates per support vector. On 1000 synthetic standardised rows x 360 features, 8 classes
//! (`speed_probe_against_smartcore`, ignored test), smartcore's one-vs-one `MultiClassSVC` took
//! 22.5 s to fit and 15.3 s to predict its training rows; this solver fits in 0.03 s. Ours
//! follows libsvm's iterations, so its decision values match scikit-learn's to about 1e-7
//! (`tests/svm_parity.rs`). Each pair's kernel matrix is computed whole, so there is no kernel
//! cache policy and no shrinking. The cost is memory quadratic in the largest pair's rows
//! (8 l^2 bytes, twice that with probabilities): 11.5 MB at l = 1,200, about a pair of RAVDESS
//! classes' training rows in 1 s segments; tens of thousands of rows per pair would need a
//! real kernel cache.
//!
//! Decision and probabilities:
//! - [`Svm::decision_ovo`]: the pairwise decision values, `(n, k(k-1)/2)` in the order (0,1),
//!   (0,2), ..., (k-2,k-1); positive means the first class of the pair (scikit-learn's
//!   `decision_function_shape="ovo"`).
//! - [`Svm::decision_function`]: scikit-learn's `decision_function_shape="ovr"` shape: each
//!   class's one-vs-one votes plus its summed confidences squashed into (-1/3, 1/3), so the
//!   votes decide and the confidences only break vote ties.
//! - `predict_proba`: the softmax of that decision. It is **not** calibrated (no Platt scaling,
//!   no pairwise coupling), but its argmax is the decision's argmax, which is scikit-learn's
//!   `SVC.predict` except on vote ties, where scikit-learn takes the first tied class and this
//!   takes the more confident one (scikit-learn's `break_ties=True`).
//!
//! The files: `params.rs` ([`SvmParams`] and its checks), `kernel.rs` (the RBF kernel and its
//! width, [`Gamma`]), `fit.rs` (one binary SVM per pair of classes, in scikit-learn's layout),
//! `smo.rs` (libsvm's SMO solver), `probability.rs` (Platt scaling and pairwise coupling, for
//! `probability = true`), `model.rs` (the fitted [`Svm`] and its decision functions),
//! `persist.rs` (safetensors), and `tests.rs` (whole fits).

mod fit;
mod kernel;
mod model;
mod params;
mod persist;
mod probability;
mod smo;
#[cfg(test)]
mod tests;

pub use self::kernel::Gamma;
pub use self::model::Svm;
pub use self::params::SvmParams;
