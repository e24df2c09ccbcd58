//! The `GET /api/model` answer, built once at start-up: the model card's facts, the serving
//! limits, and the model's evaluation rows (`fold == "mean"`) from the `metrics.csv` of the run
//! that trained it.

use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};

use crate::config::Config;
use crate::models::ModelCard;
use crate::predict::Predictor;

pub(super) fn model_info(
    predictor: &Predictor,
    metrics: Vec<Value>,
    metrics_path: Option<&Path>,
    metrics_error: Option<String>,
    max_body: usize,
    max_duration_s: f64,
) -> Value {
    let card = predictor.card();
    // The configured families, in column order, with their column counts (names such as
    // `log_mel` or `mfcc_delta` have underscores, so the columns' first word would not do).
    let params = &card.config.features;
    let groups: Vec<(String, usize)> = params
        .families
        .iter()
        .map(|&f| (f.name().to_owned(), params.dims(f) * params.stats.len()))
        .collect();
    // An ensemble's members share the features and the run; each has its own rows.
    let members: Vec<Value> = if predictor.model == "ensemble" {
        predictor
            .cards()
            .map(|c| {
                json!({
                    "model": c.model,
                    "segment_seconds": c.config.features.segment_seconds,
                    "segment_hop_seconds": c.config.features.segment_scale().map(|s| s.hop()),
                    "n_train": c.n_train,
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    json!({
        "model": predictor.model,
        "members": members,
        "version": card.version,
        "dir": predictor.dir.display().to_string(),
        "labels": card.labels,
        "n_features": card.feature_names.len(),
        "feature_names": card.feature_names,
        "feature_groups": groups
            .iter()
            .map(|(name, count)| json!({ "name": name, "count": count }))
            .collect::<Vec<_>>(),
        "n_train": card.n_train,
        "n_augmented": card.n_augmented,
        "sample_rate": card.config.audio.sample_rate,
        "needs_speaker_groups": predictor.needs_speaker_groups(),
        "speaker_normalization": predictor.speaker_normalised(),
        "metrics": metrics,
        "metrics_source": metrics_path.map(|p| shown_path(p).display().to_string()),
        "metrics_error": metrics_error,
        "limits": {
            "max_upload_bytes": max_body,
            "max_duration_s": max_duration_s,
        },
    })
}

/// `path` relative to the working directory when it is inside it.
fn shown_path(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}

/// `metrics.csv` of the run that trained the model: `config.data.reports_dir` as saved in the
/// card. A relative folder is relative to where the pipeline ran, which is found from the model
/// folder (`<base>/<out_dir>/models/<name>`), else taken to be the working directory.
pub(super) fn find_metrics(card: &ModelCard<Config>, model_dir: &Path) -> Option<PathBuf> {
    let reports = &card.config.data.reports_dir;
    let mut candidates = Vec::new();
    if reports.is_absolute() {
        candidates.push(reports.join("metrics.csv"));
    } else {
        if let Some(base) = run_base(model_dir, &card.config.data.out_dir) {
            candidates.push(base.join(reports).join("metrics.csv"));
        }
        candidates.push(reports.join("metrics.csv"));
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// The folder the pipeline ran in, if `model_dir` is `<base>/<out_dir>/models/<name>`.
fn run_base(model_dir: &Path, out_dir: &Path) -> Option<PathBuf> {
    let models = std::path::absolute(model_dir).ok()?.parent()?.to_path_buf();
    if models.file_name()? != "models" {
        return None;
    }
    let out = models.parent()?;
    if out_dir.is_absolute() {
        return None;
    }
    let parts: Vec<&std::ffi::OsStr> = out_dir
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| match c {
            Component::Normal(s) => Some(s),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let mut base = out.to_path_buf();
    for part in parts.iter().rev() {
        if base.file_name()? != *part {
            return None;
        }
        base.pop();
    }
    Some(base)
}

/// The `fold == "mean"` rows of `model`, every other column kept (numbers as numbers, empty as
/// null).
pub(super) fn read_metrics(path: &Path, model: &str) -> Result<Vec<Value>> {
    let mut reader = csv::Reader::from_path(path)
        .with_context(|| format!("cannot read metrics {}", path.display()))?;
    let headers = reader
        .headers()
        .with_context(|| format!("cannot read metrics {}", path.display()))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(model_col), Some(fold_col)) = (col("model"), col("fold")) else {
        bail!("metrics {}: no `model` and `fold` columns", path.display());
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("cannot read metrics {}", path.display()))?;
        if record.get(model_col) != Some(model) || record.get(fold_col) != Some("mean") {
            continue;
        }
        let mut row = Map::new();
        for (i, (name, value)) in headers.iter().zip(record.iter()).enumerate() {
            if i == model_col || i == fold_col {
                continue;
            }
            row.insert(name.to_owned(), cell(name, value));
        }
        rows.push(Value::Object(row));
    }
    Ok(rows)
}

fn cell(name: &str, value: &str) -> Value {
    if value.is_empty() {
        return Value::Null;
    }
    if matches!(name, "protocol" | "weakest_class" | "classes") {
        return json!(value);
    }
    match value {
        "true" => return json!(true),
        "false" => return json!(false),
        _ => {}
    }
    if let Ok(n) = value.parse::<i64>() {
        return json!(n);
    }
    match value.parse::<f64>() {
        Ok(x) if x.is_finite() => json!(x),
        _ => json!(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_base_strips_out_dir_and_models() {
        let base = std::path::absolute("ws").unwrap();
        assert_eq!(
            run_base(&base.join("out/models/mlp"), Path::new("out")),
            Some(base.clone())
        );
        assert_eq!(
            run_base(&base.join("a/b/models/mlp"), Path::new("./a/b")),
            Some(base.clone())
        );
        assert_eq!(
            run_base(&base.join("data/models/mlp"), Path::new("out")),
            None
        );
        assert_eq!(run_base(&base.join("data/mlp"), Path::new("data")), None);
    }

    #[test]
    fn metrics_keep_the_mean_rows_of_one_model() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.csv");
        std::fs::write(
            &path,
            "protocol,model,fold,n_test,accuracy,accuracy_std,weakest_class,all_pass\n\
             random,mlp,1,10,0.5,,sad,false\n\
             random,mlp,mean,10,0.5,0.01,sad,false\n\
             random,logistic_regression,mean,10,0.4,0.02,calm,false\n",
        )
        .unwrap();
        let rows = read_metrics(&path, "mlp").unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["protocol"], "random");
        assert_eq!(rows[0]["n_test"], 10);
        assert_eq!(rows[0]["accuracy"], 0.5);
        assert_eq!(rows[0]["weakest_class"], "sad");
        assert_eq!(rows[0]["all_pass"], false);
        assert!(rows[0].get("model").is_none());
    }
}
