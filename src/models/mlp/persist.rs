//! Saving and loading an [`Mlp`]: safetensors, one float64 tensor per layer's weights and
//! biases.

use std::collections::HashMap;

use ndarray::{Array1, Array2};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use super::model::Mlp;
use super::MlpError;

impl Mlp {
    /// Serialises as safetensors: `layers.{i}.weight` `(in, out)` and `layers.{i}.bias` `(out,)`,
    /// float64, little-endian; metadata names the activations.
    pub fn to_safetensors(&self) -> Vec<u8> {
        let mut buffers = Vec::with_capacity(2 * self.weights.len());
        for (i, (w, b)) in self.weights.iter().zip(&self.biases).enumerate() {
            let bytes = |it: &mut dyn Iterator<Item = &f64>| -> Vec<u8> {
                it.flat_map(|v| v.to_le_bytes()).collect()
            };
            buffers.push((
                format!("layers.{i}.weight"),
                vec![w.nrows(), w.ncols()],
                bytes(&mut w.iter()),
            ));
            buffers.push((
                format!("layers.{i}.bias"),
                vec![b.len()],
                bytes(&mut b.iter()),
            ));
        }
        let views: Vec<(String, TensorView<'_>)> = buffers
            .iter()
            .map(|(name, shape, data)| {
                let view =
                    TensorView::new(Dtype::F64, shape.clone(), data).expect("shape matches data");
                (name.clone(), view)
            })
            .collect();
        let output = if self.n_classes() == 2 {
            "logistic"
        } else {
            "softmax"
        };
        let metadata = HashMap::from([
            ("format".to_string(), "ser-pipeline.mlp".to_string()),
            ("hidden_activation".to_string(), "relu".to_string()),
            ("output_activation".to_string(), output.to_string()),
            ("n_layers".to_string(), self.weights.len().to_string()),
        ]);
        crate::models::canonical_safetensors(
            safetensors::serialize(views, Some(metadata)).expect("in-memory serialisation"),
        )
    }

    /// Reads a model written by [`Mlp::to_safetensors`] (or any file with the same tensors).
    pub fn from_safetensors(bytes: &[u8]) -> Result<Mlp, MlpError> {
        let err = |m: String| MlpError::Format(m);
        let file = SafeTensors::deserialize(bytes).map_err(|e| err(e.to_string()))?;
        let read = |name: &str, ndim: usize| -> Result<(Vec<usize>, Vec<f64>), MlpError> {
            let t = file.tensor(name).map_err(|e| err(format!("{name}: {e}")))?;
            if t.dtype() != Dtype::F64 {
                return Err(err(format!("{name}: dtype {:?}, expected F64", t.dtype())));
            }
            if t.shape().len() != ndim {
                return Err(err(format!(
                    "{name}: shape {:?}, expected {ndim} dimensions",
                    t.shape()
                )));
            }
            let values: Vec<f64> = t
                .data()
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect();
            if let Some(v) = values.iter().find(|v| !v.is_finite()) {
                return Err(err(format!("{name}: non-finite value {v}")));
            }
            Ok((t.shape().to_vec(), values))
        };
        let names = file.names();
        let n_layers = (0..)
            .take_while(|i| names.contains(&format!("layers.{i}.weight").as_str()))
            .count();
        if n_layers == 0 {
            return Err(err("no tensor layers.0.weight".into()));
        }
        if file.len() != 2 * n_layers {
            return Err(err(format!(
                "{} tensors, expected {} (layers.{{0..{n_layers}}}.weight and .bias)",
                file.len(),
                2 * n_layers
            )));
        }
        let mut weights = Vec::with_capacity(n_layers);
        let mut biases = Vec::with_capacity(n_layers);
        for i in 0..n_layers {
            let (shape, w) = read(&format!("layers.{i}.weight"), 2)?;
            let (bshape, b) = read(&format!("layers.{i}.bias"), 1)?;
            if shape.contains(&0) {
                return Err(err(format!("layers.{i}.weight: empty shape {shape:?}")));
            }
            if bshape[0] != shape[1] {
                return Err(err(format!(
                    "layers.{i}: bias length {} != weight columns {}",
                    bshape[0], shape[1]
                )));
            }
            if let Some(prev) = weights.last().map(|w: &Array2<f64>| w.ncols()) {
                if prev != shape[0] {
                    return Err(err(format!(
                        "layers.{i}: {} inputs, previous layer has {prev} outputs",
                        shape[0]
                    )));
                }
            }
            weights.push(Array2::from_shape_vec((shape[0], shape[1]), w).expect("shape checked"));
            biases.push(Array1::from_vec(b));
        }
        Ok(Mlp { weights, biases })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::mlp::tests::{blobs, small_params};
    use crate::models::mlp::MlpParams;
    use crate::models::Classifier;

    #[test]
    fn safetensors_round_trip() {
        let (x, y, _) = blobs(120, 7, 3, 1.0, 9);
        let params = MlpParams {
            max_iter: 5,
            ..small_params()
        };
        let model = params.fit(x.view(), &y, 3).unwrap().model;
        let bytes = model.to_safetensors();
        // The same model is the same bytes, whatever order the metadata map iterates in.
        for _ in 0..20 {
            assert!(model.to_safetensors() == bytes);
        }
        let back = Mlp::from_safetensors(&bytes).unwrap();
        assert_eq!(back, model);
        assert_eq!(back.layer_sizes(), vec![7, 32, 16, 3]);
        let (p, q) = (model.predict_proba(x.view()), back.predict_proba(x.view()));
        assert!(p
            .iter()
            .zip(q.iter())
            .all(|(u, v)| u.to_bits() == v.to_bits()));

        let file = SafeTensors::deserialize(&bytes).unwrap();
        let mut names = file.names();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "layers.0.bias",
                "layers.0.weight",
                "layers.1.bias",
                "layers.1.weight",
                "layers.2.bias",
                "layers.2.weight"
            ]
        );
        let w1 = file.tensor("layers.1.weight").unwrap();
        assert_eq!((w1.dtype(), w1.shape()), (Dtype::F64, &[32usize, 16][..]));

        assert!(matches!(
            Mlp::from_safetensors(b"not a file"),
            Err(MlpError::Format(_))
        ));
        // A missing bias or an inconsistent chain of shapes is refused.
        let w = TensorView::new(Dtype::F64, vec![2, 3], &[0u8; 48]).unwrap();
        let only_weight = safetensors::serialize([("layers.0.weight", w.clone())], None).unwrap();
        assert!(matches!(
            Mlp::from_safetensors(&only_weight),
            Err(MlpError::Format(_))
        ));
        let b = TensorView::new(Dtype::F64, vec![3], &[0u8; 24]).unwrap();
        let chain = safetensors::serialize(
            [
                ("layers.0.weight", w.clone()),
                ("layers.0.bias", b.clone()),
                ("layers.1.weight", w),
                ("layers.1.bias", b),
            ],
            None,
        )
        .unwrap();
        assert!(matches!(
            Mlp::from_safetensors(&chain),
            Err(MlpError::Format(_))
        ));
    }
}
