//! `pipeline.toml`: the run's configuration. Every key has a default (so an empty file, or no
//! file, is a valid config); unknown keys, wrong types and impossible values are rejected
//! before any work starts, naming the key.
//!
//! One file per section the stages read: `corpora.rs` (`[[corpora]]`, `[labels]`),
//! `augment.rs` (`[augment]`), `train.rs` (`[train]`), `models.rs` (`[models]`), `evaluate.rs`
//! (`[evaluate]`); `[data]`, `[audio]` and `[run]` are here. `[features]` and `[split]` are the numeric modules' own parameter types
//! ([`FeatureParams`], [`SplitConfig`]), as are the models' hyperparameters: the configuration
//! gathers them, and the stages take the configuration.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub mod augment;
pub mod corpora;
pub mod evaluate;
pub mod models;
pub mod train;

use crate::corpus::Corpora;
use crate::features::{FeatureParams, SegmentScale};
use crate::split::SplitConfig;

pub use self::augment::{AugmentClasses, AugmentConfig};
pub use self::corpora::{CorpusConfig, LabelsConfig};
pub use self::evaluate::EvaluateConfig;
pub use self::models::{ModelKind, ModelsConfig};
pub use self::train::{AugmentedUse, TrainConfig};

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid config {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid config value {0}")]
    Value(String),
}

/// The whole configuration, one section per concern.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub data: DataConfig,
    /// The corpora read (`[[corpora]]`); none means `data.root` is one RAVDESS corpus.
    pub corpora: Vec<CorpusConfig>,
    /// How labels are named and which are kept.
    pub labels: LabelsConfig,
    pub audio: AudioConfig,
    pub features: FeatureParams,
    pub augment: AugmentConfig,
    pub split: SplitConfig,
    pub train: TrainConfig,
    pub models: ModelsConfig,
    /// The acceptance criteria reported for every protocol, model and fold.
    pub evaluate: EvaluateConfig,
    pub run: RunConfig,
}

/// Where inputs are read and outputs written. Relative paths are relative to the directory of
/// the config file (or the working directory when there is none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// The one RAVDESS corpus read when no `[[corpora]]` is given: its root, walked at any
    /// depth. Default `data/ravdess`.
    pub root: PathBuf,
    /// Folder for the tables (`manifest.parquet`, `features.parquet`, ...). Default `data`.
    pub out_dir: PathBuf,
    /// Folder for reports. Default `reports`.
    pub reports_dir: PathBuf,
    /// Rows per Parquet row group of `features.parquet` and `segments.parquet` (the last may be
    /// shorter). Default 2048: the writer keeps about 0.1 KB of footer per column chunk until
    /// the file is complete, and a row group's rows are held in memory until it is written.
    pub row_group_rows: usize,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            root: PathBuf::from("data/ravdess"),
            out_dir: PathBuf::from("data"),
            reports_dir: PathBuf::from("reports"),
            row_group_rows: 2048,
        }
    }
}

/// How audio is turned into a mono signal, and what one file may cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AudioConfig {
    /// Resample every file to this rate (Hz) before extracting features. Default: unset, i.e.
    /// each file at its native rate (as the original recipe: `soundfile.read`, no resampling).
    pub sample_rate: Option<u32>,
    /// Longest recording the stages and `predict` accept, in seconds; also the work budget
    /// ([`crate::audio::limits`]). Default 600. Left out of a written config (and so of model
    /// cards) when it is the default.
    #[serde(skip_serializing_if = "is_default_max_seconds")]
    pub max_seconds: f64,
}

impl Default for AudioConfig {
    fn default() -> Self {
        AudioConfig {
            sample_rate: None,
            max_seconds: crate::audio::Limits::DEFAULT_MAX_SECONDS,
        }
    }
}

fn is_default_max_seconds(v: &f64) -> bool {
    *v == crate::audio::Limits::DEFAULT_MAX_SECONDS
}

impl AudioConfig {
    /// The limits every input file is held to ([`crate::audio::Limits`]).
    pub fn limits(&self) -> crate::audio::Limits {
        crate::audio::Limits {
            max_seconds: self.max_seconds,
            analysis_rate: self.sample_rate,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Worker threads for per-file work. Default 0: one per core.
    pub threads: usize,
}

impl Config {
    /// Parses TOML text; `origin` names the source in error messages.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_path_buf(),
            message: e.to_string().trim().replace('\n', " "),
        })?;
        config.check()?;
        Ok(config)
    }

    /// Reads and checks a config file, resolving its relative paths against its directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Config::from_toml(&text, path)?;
        let base = path.parent().unwrap_or(Path::new(""));
        config.resolve_paths(base);
        Ok(config)
    }

    /// Reads `path` (or starts from the defaults when `None`), then applies `overrides`, each
    /// `dotted.key=VALUE` with VALUE in TOML syntax (`features.stats=["mean","std"]`,
    /// `models.mlp.alpha=0.01`; a bare word is taken as a string), then checks the result.
    /// Relative data paths are relative to the config file's folder.
    pub fn load_with_overrides(
        path: Option<&Path>,
        overrides: &[String],
    ) -> Result<Config, ConfigError> {
        let origin = path.unwrap_or(Path::new("<defaults>"));
        if overrides.is_empty() {
            return match path {
                Some(p) => Config::load(p),
                None => Ok(Config::default()),
            };
        }
        let text = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                path: p.to_path_buf(),
                source,
            })?,
            None => String::new(),
        };
        let parse_error = |message: String| ConfigError::Parse {
            path: origin.to_path_buf(),
            message: message.trim().replace('\n', " "),
        };
        let mut table: toml::Table =
            toml::from_str(&text).map_err(|e| parse_error(e.to_string()))?;
        for o in overrides {
            apply_override(&mut table, o)
                .map_err(|m| ConfigError::Value(format!("--set {o}: {m}")))?;
        }
        let mut config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| parse_error(format!("{e} (after --set overrides)")))?;
        config.check()?;
        if let Some(p) = path {
            config.resolve_paths(p.parent().unwrap_or(Path::new("")));
        }
        Ok(config)
    }

    /// Makes relative data paths relative to `base`.
    pub fn resolve_paths(&mut self, base: &Path) {
        for c in &mut self.corpora {
            c.resolve_paths(base);
        }
        for p in [
            &mut self.data.root,
            &mut self.data.out_dir,
            &mut self.data.reports_dir,
        ] {
            if p.is_relative() && !base.as_os_str().is_empty() {
                *p = base.join(&*p);
            }
        }
    }

    /// Rejects impossible values, naming the key.
    pub fn check(&self) -> Result<(), ConfigError> {
        let corpora = self.corpora()?;
        let names: Vec<&str> = corpora.corpora.iter().map(|c| &*c.name).collect();
        self.split
            .check_corpora(&names)
            .map_err(ConfigError::Value)?;
        self.features
            .check()
            .map_err(|e| ConfigError::Value(e.to_string()))?;
        self.augment.check().map_err(ConfigError::Value)?;
        self.split.check().map_err(ConfigError::Value)?;
        self.train.excluded().map_err(ConfigError::Value)?;
        self.train.channels().map_err(ConfigError::Value)?;
        self.models
            .check()
            .map_err(|e| ConfigError::Value(e.to_string()))?;
        evaluate::check(&self.evaluate).map_err(ConfigError::Value)?;
        if self.data.row_group_rows == 0 {
            return Err(ConfigError::Value(
                "data.row_group_rows: must be >= 1".to_string(),
            ));
        }
        if let Some(sr) = self.audio.sample_rate {
            let rates = crate::audio::limits::SAMPLE_RATES;
            if !rates.contains(&sr) {
                return Err(ConfigError::Value(format!(
                    "audio.sample_rate: must be in {}..={} Hz, got {sr}",
                    rates.start(),
                    rates.end()
                )));
            }
        }
        let max_seconds = self.audio.max_seconds;
        if !(max_seconds.is_finite() && max_seconds > 0.0 && max_seconds <= 86_400.0) {
            return Err(ConfigError::Value(format!(
                "audio.max_seconds: must be a number of seconds in (0, 86400], got {max_seconds}"
            )));
        }
        if self.run.threads > 1024 {
            return Err(ConfigError::Value(format!(
                "run.threads: must be <= 1024, got {}",
                self.run.threads
            )));
        }
        Ok(())
    }

    /// The run's corpora (`[[corpora]]`, or one RAVDESS corpus at `data.root`), checked.
    pub fn corpora(&self) -> Result<Corpora, ConfigError> {
        corpora::corpora(&self.corpora, &self.data.root, &self.labels).map_err(ConfigError::Value)
    }

    /// The rows a model of `kind` learns from: segments at its own scale
    /// (`[models.segments]`), else at `[features]`' (`segment_seconds`), else (`None`) one
    /// row per file.
    pub fn rows_of(&self, kind: ModelKind) -> Option<SegmentScale> {
        self.models
            .segments
            .get(&kind)
            .copied()
            .or_else(|| self.features.segment_scale())
    }

    /// Every segment scale a run extracts, each once: `[features]`' own first (when set), then
    /// those of the trained models in `[models.segments]`. A scale given for a model that is
    /// not trained is not extracted.
    pub fn segment_scales(&self) -> Vec<SegmentScale> {
        let mut scales: Vec<SegmentScale> = self.features.segment_scale().into_iter().collect();
        for kind in &self.models.train {
            if let Some(scale) = self.models.segments.get(kind) {
                if !scales.iter().any(|s| s.same_as(scale)) {
                    scales.push(*scale);
                }
            }
        }
        scales
    }

    /// The scales of [`Config::segment_scales`] that only models ask for (not `[features]`'
    /// own): what extraction makes beyond `[features]`, so what its fingerprints add.
    pub fn model_segment_scales(&self) -> Vec<SegmentScale> {
        let own = self.features.segment_scale();
        self.segment_scales()
            .into_iter()
            .filter(|s| !own.is_some_and(|o| o.same_as(s)))
            .collect()
    }

    /// The configuration a model of `kind` is saved with: this one, with `[features]` set to
    /// the rows it learned from ([`Config::rows_of`]), so that `predict` and `serve` extract
    /// the same rows.
    pub fn for_model(&self, kind: ModelKind) -> Config {
        Config {
            features: self.features.with_segment_scale(self.rows_of(kind)),
            ..self.clone()
        }
    }

    /// The config as TOML, recorded beside outputs so a run can be reproduced.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("config serialises")
    }
}

/// Sets `key.path=value` in a TOML table, creating intermediate tables.
fn apply_override(table: &mut toml::Table, assignment: &str) -> Result<(), String> {
    let (key, raw) = assignment
        .split_once('=')
        .ok_or("expected KEY=VALUE, e.g. features.stats=[\"mean\",\"std\"]")?;
    let value = match toml::from_str::<toml::Table>(&format!("v = {}", raw.trim())) {
        Ok(mut t) => t.remove("v").expect("parsed key"),
        Err(_) => toml::Value::String(raw.trim().to_string()),
    };
    let parts: Vec<&str> = key.trim().split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!("bad key {key:?}"));
    }
    let mut node = table;
    for part in &parts[..parts.len() - 1] {
        node = node
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| format!("{part} is not a section"))?;
    }
    node.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_with_their_own_segment_scale() {
        let toml = r#"
[features]
segment_seconds = 1.0
[models]
train = ["mlp", "svm", "logistic_regression"]
[models.segments]
mlp = { seconds = 0.2, hop_seconds = 0.2 }
logistic_regression = { seconds = 1.0, hop_seconds = 0.5 }
random_forest = { seconds = 0.3 }
"#;
        let c = Config::from_toml(toml, Path::new("x.toml")).unwrap();
        let own = c.features.segment_scale().unwrap();
        let fine = c.rows_of(ModelKind::Mlp).unwrap();
        assert_eq!((fine.seconds, fine.hop()), (0.2, 0.2));
        assert!(c.rows_of(ModelKind::Svm).unwrap().same_as(&own));
        // The same windows as [features]' own, spelled out: no second table.
        assert!(c
            .rows_of(ModelKind::LogisticRegression)
            .unwrap()
            .same_as(&own));
        // A model that is not trained adds no scale.
        let scales = c.segment_scales();
        assert_eq!(scales.len(), 2);
        assert!(scales[0].same_as(&own) && scales[1].same_as(&fine));
        assert_eq!(c.model_segment_scales(), [fine]);
        // A model's card carries its own scale in [features], nothing else changed.
        let card = c.for_model(ModelKind::Mlp);
        assert_eq!(card.features.segment_scale(), Some(fine));
        assert_eq!(card.features.families, c.features.families);
        assert_eq!(c.for_model(ModelKind::Svm), c);
        // It survives the TOML written beside outputs.
        assert_eq!(
            Config::from_toml(&c.to_toml(), Path::new("x.toml")).unwrap(),
            c
        );
        // Without [features] segments, the others learn from file rows.
        let files = Config::from_toml(
            "[models]\ntrain = [\"mlp\", \"svm\"]\n[models.segments]\nmlp = { seconds = 0.2 }\n",
            Path::new("x.toml"),
        )
        .unwrap();
        assert_eq!(files.rows_of(ModelKind::Svm), None);
        assert_eq!(files.segment_scales().len(), 1);
        assert_eq!(
            files.for_model(ModelKind::Mlp).features.segment_hop_seconds,
            None
        );
        // Bad scales name their key.
        for (bad, key) in [
            ("mlp = { seconds = 0.0 }", "models.segments.mlp.seconds"),
            (
                "svm = { seconds = 1.0, hop_seconds = -1.0 }",
                "models.segments.svm.hop_seconds",
            ),
        ] {
            let e = Config::from_toml(&format!("[models.segments]\n{bad}\n"), Path::new("x.toml"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(key), "{e}");
        }
        let e = Config::from_toml(
            "[models.segments]\nmlp = { second = 1 }\n",
            Path::new("x.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("second"), "{e}");
    }

    #[test]
    fn max_seconds_is_checked_and_left_out_when_default() {
        let c = Config::from_toml("[audio]\nmax_seconds = 30\n", Path::new("p.toml")).unwrap();
        assert_eq!(c.audio.limits().max_seconds, 30.0);
        for bad in ["0", "-1", "nan", "inf", "100000"] {
            let err = Config::from_toml(
                &format!("[audio]\nmax_seconds = {bad}\n"),
                Path::new("p.toml"),
            )
            .unwrap_err()
            .to_string();
            assert!(err.contains("audio.max_seconds"), "{bad}: {err}");
        }
        // The default is not written (model cards and fingerprints are what they were).
        let default = serde_json::to_string(&AudioConfig::default()).unwrap();
        assert_eq!(default, r#"{"sample_rate":null}"#);
    }

    #[test]
    fn ensemble_members_are_the_trained_ones() {
        let c = |toml: &str| Config::from_toml(toml, Path::new("x.toml")).unwrap();
        let both = c("[models]\ntrain = [\"mlp\", \"svm\"]\nensemble = [\"svm\", \"mlp\"]\n");
        assert_eq!(
            both.models.ensemble_members(),
            [ModelKind::Svm, ModelKind::Mlp]
        );
        // --set models.train=["svm"] on a config with an ensemble: no ensemble, not an error.
        let one = c("[models]\ntrain = [\"svm\"]\nensemble = [\"mlp\", \"svm\"]\n");
        assert!(one.models.ensemble_members().is_empty());
        let three = c("[models]\ntrain = [\"mlp\", \"svm\", \"random_forest\"]\n\
             ensemble = [\"mlp\", \"logistic_regression\", \"random_forest\"]\n");
        assert_eq!(
            three.models.ensemble_members(),
            [ModelKind::Mlp, ModelKind::RandomForest]
        );
        // A single member is a mistake.
        assert!(
            Config::from_toml("[models]\nensemble = [\"mlp\"]\n", Path::new("x.toml")).is_err()
        );
    }

    #[test]
    fn empty_config_is_the_defaults() {
        let c = Config::from_toml("", Path::new("x.toml")).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.features.n_mfcc, 40);
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let err = Config::from_toml("[features]\nn_mfc = 3\n", Path::new("p.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("n_mfc") && err.contains("p.toml"), "{err}");
        let err = Config::from_toml("[features]\nn_mfcc = \"forty\"\n", Path::new("p.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("n_mfcc"), "{err}");
        let err = Config::from_toml("[features]\nn_mfcc = 200\n", Path::new("p.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("features.n_mfcc"), "{err}");
        let err = Config::from_toml("[audio]\nsample_rate = 5\n", Path::new("p.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("audio.sample_rate"), "{err}");
        for (text, key) in [
            ("[models.svm]\nc = -1.0\n", "models.svm.c"),
            ("[models.svm]\ngamma = \"wide\"\n", "models.svm.gamma"),
            ("[models.svm]\ngamma = 0\n", "models.svm.gamma"),
            ("[models.svm]\ntol = 0.0\n", "models.svm.tol"),
            ("[models.svm]\nmax_iter = 0\n", "models.svm.max_iter"),
            ("[models.svm]\nkernel = \"linear\"\n", "kernel"),
        ] {
            let err = Config::from_toml(text, Path::new("p.toml"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
    }

    #[test]
    fn overrides_set_nested_keys_and_are_checked() {
        let sets = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let c = Config::load_with_overrides(
            None,
            &sets(&[
                "features.stats=[\"mean\", \"std\"]",
                "models.mlp.alpha=0.01",
                "data.root=corpus",
            ]),
        )
        .unwrap();
        assert_eq!(c.features.stats.len(), 2);
        assert_eq!(c.models.mlp.alpha, 0.01);
        assert_eq!(c.data.root, PathBuf::from("corpus"));
        let err = Config::load_with_overrides(None, &sets(&["features.n_mfcc=500"])).unwrap_err();
        assert!(err.to_string().contains("features.n_mfcc"), "{err}");
        let err = Config::load_with_overrides(None, &sets(&["features.n_mfc=5"])).unwrap_err();
        assert!(err.to_string().contains("n_mfc"), "{err}");
        assert!(Config::load_with_overrides(None, &sets(&["nokey"])).is_err());
        let c = Config::load_with_overrides(None, &sets(&["models.mlp.precision=f64"])).unwrap();
        assert_eq!(c.models.mlp.precision, crate::models::mlp::Precision::F64);
        let err =
            Config::load_with_overrides(None, &sets(&["models.mlp.precision=f16"])).unwrap_err();
        assert!(err.to_string().contains("models.mlp.precision"), "{err}");
        let err = Config::from_toml("[models.mlp]\nprecision = \"f16\"\n", Path::new("p.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("precision") && err.contains("f16"), "{err}");
        let c = Config::load_with_overrides(
            None,
            &sets(&["models.train=[\"svm\"]", "models.svm.gamma=0.01"]),
        )
        .unwrap();
        assert_eq!(c.models.svm.gamma, crate::models::svm::Gamma::Value(0.01));
        let err = Config::load_with_overrides(None, &sets(&["models.svm.gamma=wide"])).unwrap_err();
        assert!(err.to_string().contains("models.svm.gamma"), "{err}");
    }

    #[test]
    fn round_trips_through_toml() {
        let c = Config::default();
        assert_eq!(Config::from_toml(&c.to_toml(), Path::new("x")).unwrap(), c);
    }

    #[test]
    fn shipped_config_and_presets_are_valid() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let shipped = Config::load(&root.join("pipeline.toml")).unwrap();
        // MFCC with both deltas, chroma, log-mel, rms, zcr, 7 contrast bands and 4 shape values.
        assert_eq!(
            shipped.features.feature_names().len(),
            2 * (3 * 40 + 12 + 128 + 2 + 7 + 4)
        );
        // The original preset is the built-in default, paths apart.
        let mut original = Config::load(&root.join("presets/original.toml")).unwrap();
        original.data = DataConfig::default();
        assert_eq!(original, Config::default());
        // Per-speaker normalisation is on in the recommended config, off in the built-in one.
        assert!(shipped.train.speaker_normalization);
        assert!(!Config::default().train.speaker_normalization);
        // The file-level preset: the 360 per-file columns the releases before segments used.
        let fl = Config::load(&root.join("presets/file-level.toml")).unwrap();
        assert_eq!(fl.features.feature_names().len(), 2 * (40 + 12 + 128));
        assert_eq!(fl.features.segment_seconds, None);
    }
}
