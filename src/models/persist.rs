//! Saving and loading a model folder: `model.json` (the [`ModelCard`]) beside the weights,
//! `model.safetensors` (the MLP's, the logistic regression's and the SVM's tensors) or
//! `model.forest.json` (the random forest's trees, which are not tensors); and
//! `ensemble/model.json` (the [`EnsembleCard`]) naming saved models an ensemble averages.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use ndarray::Array2;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::card::{EnsembleCard, ModelCard};
use super::mlp::Mlp;
use super::smart::{Forest, Knn, KnnParams, Logistic};
use super::svm::Svm;
use super::Classifier;
use crate::data;

/// A fitted model of any kind.
pub enum Fitted {
    Mlp(Mlp),
    Forest(Forest),
    Logistic(Logistic),
    Svm(Svm),
    Knn(Knn),
}

impl Fitted {
    pub fn classifier(&self) -> &dyn Classifier {
        match self {
            Fitted::Mlp(m) => m,
            Fitted::Forest(m) => m,
            Fitted::Logistic(m) => m,
            Fitted::Svm(m) => m,
            Fitted::Knn(m) => m,
        }
    }
}

/// Saves `model` in `dir`: its weights (`model.safetensors`, or `model.forest.json` for the
/// forest), then `model.json` (`card`). Only the weights file of this kind is left in the folder.
pub fn save_model<C: Serialize>(dir: &Path, card: &ModelCard<C>, model: &Fitted) -> Result<()> {
    // Tensors go to model.safetensors; the forest's trees are not tensors, so they go to
    // model.forest.json.
    let (file, bytes) = match model {
        Fitted::Mlp(m) => ("model.safetensors", m.to_safetensors()),
        Fitted::Logistic(m) => ("model.safetensors", logistic_safetensors(m)?),
        Fitted::Svm(m) => ("model.safetensors", m.to_safetensors()),
        Fitted::Knn(m) => ("model.safetensors", m.to_safetensors()),
        Fitted::Forest(m) => ("model.forest.json", m.to_json()?.into_bytes()),
    };
    data::write_atomic(&dir.join(file), |f| {
        use std::io::Write;
        Ok(f.write_all(&bytes)?)
    })?;
    for stale in ["model.safetensors", "model.forest.json"] {
        if stale != file && dir.join(stale).exists() {
            std::fs::remove_file(dir.join(stale))
                .with_context(|| format!("cannot remove {}", dir.join(stale).display()))?;
        }
    }
    data::write_text_atomic(
        &dir.join("model.json"),
        &serde_json::to_string_pretty(card)?,
    )
}

/// Saves `models_dir/ensemble/model.json` ([`EnsembleCard`]): the `members`' folder names under
/// `models_dir` (saved just before) and the hashes of their cards, so that `predict` and `serve`
/// use the ensemble the reports evaluate and refuse a member retrained without it. Returns the
/// ensemble's folder.
pub fn save_ensemble(models_dir: &Path, members: &[&str], labels: Vec<String>) -> Result<PathBuf> {
    let dir = models_dir.join("ensemble");
    let mut hashes = Vec::new();
    for m in members {
        let card = models_dir.join(m).join("model.json");
        let bytes =
            std::fs::read(&card).with_context(|| format!("cannot read {}", card.display()))?;
        hashes.push(data::sha256_hex(&bytes));
    }
    let card = EnsembleCard {
        model: "ensemble".to_string(),
        members: members.iter().map(|m| m.to_string()).collect(),
        member_cards_sha256: hashes,
        labels,
        version: env!("CARGO_PKG_VERSION").to_string(),
    };
    data::write_text_atomic(
        &dir.join("model.json"),
        &serde_json::to_string_pretty(&card)?,
    )?;
    Ok(dir)
}

/// Removes a stale `models_dir/ensemble/model.json` (a run without an ensemble); returns the
/// ensemble's folder when there was one.
pub fn remove_ensemble(models_dir: &Path) -> Result<Option<PathBuf>> {
    let dir = models_dir.join("ensemble");
    if !dir.join("model.json").exists() {
        return Ok(None);
    }
    std::fs::remove_file(dir.join("model.json"))
        .with_context(|| format!("cannot remove {}", dir.join("model.json").display()))?;
    Ok(Some(dir))
}

fn logistic_safetensors(m: &Logistic) -> Result<Vec<u8>> {
    use safetensors::tensor::{Dtype, TensorView};
    let w: Vec<u8> = m.weights.iter().flat_map(|v| v.to_le_bytes()).collect();
    let b: Vec<u8> = m.bias.iter().flat_map(|v| v.to_le_bytes()).collect();
    let (p, k) = m.weights.dim();
    let tensors = vec![
        ("weight", TensorView::new(Dtype::F64, vec![p, k], &w)?),
        ("bias", TensorView::new(Dtype::F64, vec![k], &b)?),
    ];
    Ok(super::canonical_safetensors(safetensors::serialize(
        tensors, None,
    )?))
}

/// Reads a saved model directory back: its card (`C`: the configuration type it was saved
/// with) and the classifier.
pub fn load_model<C: DeserializeOwned>(dir: &Path) -> Result<(ModelCard<C>, Box<dyn Classifier>)> {
    let text = std::fs::read_to_string(dir.join("model.json"))
        .with_context(|| format!("cannot read {}", dir.join("model.json").display()))?;
    let card: ModelCard<C> = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a model card", dir.join("model.json").display()))?;
    if card.model == "random_forest" {
        let path = dir.join("model.forest.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let forest = Forest::from_json(&text)
            .with_context(|| format!("{} is not a saved forest", path.display()))?;
        return Ok((card, Box::new(forest)));
    }
    let bytes = std::fs::read(dir.join("model.safetensors"))
        .with_context(|| format!("cannot read {}", dir.join("model.safetensors").display()))?;
    let model: Box<dyn Classifier> = match card.model.as_str() {
        "mlp" => Box::new(Mlp::from_safetensors(&bytes)?),
        "logistic_regression" => {
            let st = safetensors::SafeTensors::deserialize(&bytes)?;
            let w = st.tensor("weight")?;
            let b = st.tensor("bias")?;
            let f64s = |d: &[u8]| -> Vec<f64> {
                d.chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                    .collect()
            };
            let shape = w.shape().to_vec();
            Box::new(Logistic {
                weights: Array2::from_shape_vec((shape[0], shape[1]), f64s(w.data()))?,
                bias: f64s(b.data()),
            })
        }
        "svm" => Box::new(
            Svm::from_safetensors(&bytes)
                .map_err(|e| anyhow!("{}: {e}", dir.join("model.safetensors").display()))?,
        ),
        "knn" => {
            // The k-NN's settings are the card's `config.models.knn`, read without knowing the
            // configuration type.
            let value: serde_json::Value = serde_json::from_str(&text)?;
            let params: KnnParams =
                serde_json::from_value(value["config"]["models"]["knn"].clone()).with_context(
                    || format!("{}: no config.models.knn", dir.join("model.json").display()),
                )?;
            Box::new(
                Knn::from_safetensors(&bytes, &params, card.labels.len())
                    .map_err(|e| anyhow!("{}: {e}", dir.join("model.safetensors").display()))?,
            )
        }
        other => bail!("{}: cannot load a {other} model", dir.display()),
    };
    Ok((card, model))
}
