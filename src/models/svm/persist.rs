//! Saving and loading an [`Svm`]: safetensors, the support vectors, coefficients, intercepts,
//! gamma and (with probabilities) the Platt sigmoids.

use std::collections::HashMap;

use ndarray::Array2;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use super::model::Svm;

impl Svm {
    /// Safetensors, float64 little-endian: `support_vectors` `(n_sv, n_features)`,
    /// `dual_coef` `(n_classes-1, n_sv)`, `intercept` `(n_pairs,)`, `n_support` `(n_classes,)`
    /// (int64), `gamma` `(1,)`; metadata names the kernel and the multi-class scheme.
    pub fn to_safetensors(&self) -> Vec<u8> {
        let f64s = |it: &mut dyn Iterator<Item = &f64>| -> Vec<u8> {
            it.flat_map(|v| v.to_le_bytes()).collect()
        };
        let sv = f64s(&mut self.support_vectors.iter());
        let dc = f64s(&mut self.dual_coef.iter());
        let ic = f64s(&mut self.intercept.iter());
        let gm = self.gamma.to_le_bytes().to_vec();
        let pa = f64s(&mut self.prob_a.iter());
        let pb = f64s(&mut self.prob_b.iter());
        let ns: Vec<u8> = self
            .n_support
            .iter()
            .flat_map(|&n| (n as i64).to_le_bytes())
            .collect();
        fn view(dtype: Dtype, shape: Vec<usize>, data: &[u8]) -> TensorView<'_> {
            TensorView::new(dtype, shape, data).expect("shape matches data")
        }
        let tensors = vec![
            (
                "support_vectors",
                view(Dtype::F64, self.support_vectors.shape().to_vec(), &sv),
            ),
            (
                "dual_coef",
                view(Dtype::F64, self.dual_coef.shape().to_vec(), &dc),
            ),
            (
                "intercept",
                view(Dtype::F64, vec![self.intercept.len()], &ic),
            ),
            (
                "n_support",
                view(Dtype::I64, vec![self.n_support.len()], &ns),
            ),
            ("gamma", view(Dtype::F64, vec![1], &gm)),
        ];
        let mut tensors = tensors;
        if !self.prob_a.is_empty() {
            tensors.push(("prob_a", view(Dtype::F64, vec![self.prob_a.len()], &pa)));
            tensors.push(("prob_b", view(Dtype::F64, vec![self.prob_b.len()], &pb)));
        }
        let metadata = HashMap::from([
            ("format".to_string(), "ser-pipeline.svm".to_string()),
            ("kernel".to_string(), "rbf".to_string()),
            ("multiclass".to_string(), "ovo".to_string()),
            (
                "probability".to_string(),
                if self.prob_a.is_empty() {
                    "softmax of the ovr-shaped decision function (uncalibrated)"
                } else {
                    "Platt-scaled pairwise probabilities (prob_a, prob_b), coupled (libsvm -b 1)"
                }
                .to_string(),
            ),
        ]);
        crate::models::canonical_safetensors(
            safetensors::serialize(tensors, Some(metadata)).expect("in-memory serialisation"),
        )
    }

    /// Reads a model written by [`Svm::to_safetensors`], checking shapes against each other.
    pub fn from_safetensors(bytes: &[u8]) -> Result<Svm, String> {
        let file = SafeTensors::deserialize(bytes).map_err(|e| e.to_string())?;
        let read = |name: &str, dtype: Dtype| -> Result<(Vec<usize>, Vec<[u8; 8]>), String> {
            let t = file.tensor(name).map_err(|e| format!("{name}: {e}"))?;
            if t.dtype() != dtype {
                return Err(format!("{name}: dtype {:?}, expected {dtype:?}", t.dtype()));
            }
            let words = t
                .data()
                .chunks_exact(8)
                .map(|c| c.try_into().expect("8 bytes"))
                .collect();
            Ok((t.shape().to_vec(), words))
        };
        let floats = |name: &str| -> Result<(Vec<usize>, Vec<f64>), String> {
            let (shape, words) = read(name, Dtype::F64)?;
            let v: Vec<f64> = words.into_iter().map(f64::from_le_bytes).collect();
            if let Some(x) = v.iter().find(|x| !x.is_finite()) {
                return Err(format!("{name}: non-finite value {x}"));
            }
            Ok((shape, v))
        };
        let (sv_shape, sv) = floats("support_vectors")?;
        let (dc_shape, dc) = floats("dual_coef")?;
        let (_, intercept) = floats("intercept")?;
        let (_, gamma) = floats("gamma")?;
        let (_, ns) = read("n_support", Dtype::I64)?;
        let n_support: Vec<usize> = ns
            .into_iter()
            .map(|w| usize::try_from(i64::from_le_bytes(w)).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?;
        let k = n_support.len();
        let n_sv: usize = n_support.iter().sum();
        if sv_shape.len() != 2 || sv_shape[0] != n_sv {
            return Err(format!(
                "support_vectors: shape {sv_shape:?}, expected ({n_sv}, n_features)"
            ));
        }
        if k < 2 || dc_shape != [k - 1, n_sv] {
            return Err(format!(
                "dual_coef: shape {dc_shape:?}, expected ({}, {n_sv})",
                k.saturating_sub(1)
            ));
        }
        if intercept.len() != k * (k - 1) / 2 {
            return Err(format!(
                "intercept: {} values, expected {}",
                intercept.len(),
                k * (k - 1) / 2
            ));
        }
        if gamma.len() != 1 || gamma[0] <= 0.0 {
            return Err(format!("gamma: expected one value > 0, got {gamma:?}"));
        }
        let (prob_a, prob_b) = if file.names().contains(&"prob_a") {
            let (_, a) = floats("prob_a")?;
            let (_, b) = floats("prob_b")?;
            if a.len() != intercept.len() || b.len() != intercept.len() {
                return Err(format!(
                    "prob_a, prob_b: {} and {} values, expected {}",
                    a.len(),
                    b.len(),
                    intercept.len()
                ));
            }
            (a, b)
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(Svm {
            gamma: gamma[0],
            support_vectors: Array2::from_shape_vec((sv_shape[0], sv_shape[1]), sv)
                .map_err(|e| e.to_string())?,
            n_support,
            dual_coef: Array2::from_shape_vec((dc_shape[0], dc_shape[1]), dc)
                .map_err(|e| e.to_string())?,
            intercept,
            prob_a,
            prob_b,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::svm::tests::rings;
    use crate::models::svm::{Gamma, SvmParams};
    use crate::models::Classifier;

    #[test]
    fn saves_and_loads_to_identical_predictions() {
        let (x, y) = rings(30, 6);
        let (xt, _) = rings(20, 7);
        let svm = SvmParams {
            gamma: Gamma::Value(0.7),
            ..Default::default()
        }
        .fit(x.view(), &y, 3)
        .unwrap();
        let bytes = svm.to_safetensors();
        assert_eq!(bytes, svm.to_safetensors(), "same model, same bytes");
        let back = Svm::from_safetensors(&bytes).unwrap();
        assert_eq!(back, svm);
        assert_eq!(back.predict_proba(xt.view()), svm.predict_proba(xt.view()));
        assert!(Svm::from_safetensors(&bytes[..bytes.len() - 8]).is_err());
    }
}
