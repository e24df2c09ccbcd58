//! train: for every split of every protocol, and every configured model, fit on the training
//! part only (balancing with augmented copies of *training* files, scaling fitted on training
//! rows, early stopping on a slice of the training part) and predict the test part. Then fit
//! each model once on every usable row and save it for `predict` / `serve`.
//!
//! Writes `predictions.parquet` (one row per test file, protocol, fold and model),
//! `splits.parquet` (which rows trained and tested where), the final models under
//! `models/<model>/`, and the MLP's training curves under `reports/<protocol>/mlp/`.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use ndarray::{Array2, Axis};
use polars::prelude::{Column, DataFrame};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Paths, Settings};
use crate::config::Config;
use crate::corpus::{Emotion, VocalChannel};
use crate::data::{self, parquet};
use crate::features::SegmentScale;
use crate::models::mlp::MlpParams;
use crate::models::smart::{ForestParams, KnnParams, LogisticParams};
use crate::models::svm::SvmParams;
use crate::models::{Classifier, Epoch, ParamError};
use crate::preprocess::{LabelEncoder, Scaler, SpeakerNorm};
use crate::split::Split;
use crate::tables::{self, FeatureTable};

/// A model family the pipeline trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// The hand-written ndarray MLP (scikit-learn `MLPClassifier` semantics).
    Mlp,
    /// smartcore's random forest.
    RandomForest,
    /// smartcore's multinomial logistic regression.
    LogisticRegression,
    /// The RBF-kernel SVM (scikit-learn `SVC` semantics, one-vs-one).
    Svm,
    /// smartcore's k nearest neighbours.
    Knn,
}

impl ModelKind {
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Mlp => "mlp",
            ModelKind::RandomForest => "random_forest",
            ModelKind::LogisticRegression => "logistic_regression",
            ModelKind::Svm => "svm",
            ModelKind::Knn => "knn",
        }
    }
}

/// `[models]`: which models to train, and each one's hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelsConfig {
    /// Any of `"mlp"`, `"random_forest"`, `"logistic_regression"`, `"svm"`, `"knn"`. Default the
    /// first three (the original recipe; `svm` and `knn` are opt-in).
    pub train: Vec<ModelKind>,
    pub mlp: MlpParams,
    pub random_forest: ForestParams,
    pub logistic_regression: LogisticParams,
    pub svm: SvmParams,
    pub knn: KnnParams,
    /// Also report an `ensemble` model: the mean of these models' class probabilities on each
    /// split ([`ModelsConfig::ensemble_members`]: those of them that are trained; with fewer
    /// than two, no ensemble, and a warning). Default none.
    pub ensemble: Vec<ModelKind>,
    /// Segment rows of another scale for some models, e.g. `mlp = { seconds = 0.2,
    /// hop_seconds = 0.2 }`: the model trains, is tested and is saved on windows of that
    /// scale, extracted beside `[features]`' own rows from the same frames (its own tables,
    /// [`Paths::segment_tables`]); a test recording is still judged as a whole, so such a model
    /// joins `ensemble` like any other. A model not listed learns from `[features]`' rows.
    /// Default none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub segments: BTreeMap<ModelKind, SegmentScale>,
}

impl Default for ModelsConfig {
    fn default() -> Self {
        ModelsConfig {
            train: vec![
                ModelKind::Mlp,
                ModelKind::RandomForest,
                ModelKind::LogisticRegression,
            ],
            mlp: MlpParams::default(),
            random_forest: ForestParams::default(),
            logistic_regression: LogisticParams::default(),
            svm: SvmParams::default(),
            knn: KnnParams::default(),
            ensemble: Vec::new(),
            segments: BTreeMap::new(),
        }
    }
}

impl ModelsConfig {
    /// The members of `ensemble` that are trained (`train`), in `ensemble` order, once each;
    /// none when fewer than two are.
    pub fn ensemble_members(&self) -> Vec<ModelKind> {
        let mut members: Vec<ModelKind> = Vec::new();
        for m in &self.ensemble {
            if self.train.contains(m) && !members.contains(m) {
                members.push(*m);
            }
        }
        if members.len() < 2 {
            members.clear();
        }
        members
    }

    pub fn check(&self) -> Result<(), ParamError> {
        if self.train.is_empty() {
            return Err(ParamError::new(
                "models.train",
                "must list at least one model",
            ));
        }
        if self.ensemble.len() == 1 {
            return Err(ParamError::new(
                "models.ensemble",
                "needs at least two members (or none)",
            ));
        }
        for (kind, scale) in &self.segments {
            scale.check().map_err(|(field, message)| {
                ParamError::new(format!("models.segments.{}.{field}", kind.name()), message)
            })?;
        }
        let prefix = |e: ParamError| ParamError::new(format!("models.{}", e.key), e.message);
        self.mlp.check().map_err(prefix)?;
        self.random_forest.check()?;
        self.logistic_regression.check()?;
        self.svm.check()?;
        self.knn.check()?;
        Ok(())
    }
}

/// How training sets use augmented copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AugmentedUse {
    None,
    Balance,
    All,
}

/// `[train]`: what the training sets are made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Emotions left out of training *and* testing (the original project's trick of dropping a
    /// hard class). Default none; reports say when it is on.
    pub exclude_classes: Vec<String>,
    /// How a training set uses the augmented copies of its own files (`augmented.parquet`):
    /// `balance` (default) adds copies to every class with fewer training rows than the
    /// largest, up to its size; `all` adds every copy; `none` adds nothing.
    pub augmented: AugmentedUse,
    /// Seed for choosing which augmented copies balance a training set. Default 42.
    pub seed: u64,
    /// Standardise every feature per speaker (actor) before anything else: each actor's rows
    /// are centred and scaled by that actor's own mean and standard deviation. Uses no labels,
    /// so it is legitimate at test time too, given several recordings of the test speaker.
    /// Default false.
    pub speaker_normalization: bool,
    /// Which recordings train and test, by RAVDESS vocal channel: `"speech"`, `"song"` or
    /// both (default both: every recording extracted). The song archive (`download --song`)
    /// unzips into the same actor folders as the speech archive.
    pub vocal_channels: Vec<String>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            exclude_classes: Vec::new(),
            augmented: AugmentedUse::Balance,
            seed: 42,
            speaker_normalization: false,
            vocal_channels: vec!["speech".into(), "song".into()],
        }
    }
}

impl TrainConfig {
    pub fn excluded(&self) -> Result<Vec<Emotion>, String> {
        self.exclude_classes
            .iter()
            .map(|l| {
                Emotion::from_label(l).ok_or_else(|| {
                    format!(
                        "train.exclude_classes: {l:?} is not an emotion (neutral, calm, happy, sad, angry, fearful, disgust, surprised)"
                    )
                })
            })
            .collect()
    }

    /// `vocal_channels`, checked: at least one, each `speech` or `song`.
    pub fn channels(&self) -> Result<Vec<VocalChannel>, String> {
        if self.vocal_channels.is_empty() {
            return Err("train.vocal_channels: name at least one of speech, song".into());
        }
        self.vocal_channels
            .iter()
            .map(|c| {
                VocalChannel::from_label(c).ok_or_else(|| {
                    format!("train.vocal_channels: {c:?} is not a vocal channel (speech, song)")
                })
            })
            .collect()
    }

    /// The one vocal channel `vocal_channels` keeps, or `None` when it keeps both (or is
    /// invalid, which [`Config::check`] rejects before any work).
    pub fn only_channel(&self) -> Option<VocalChannel> {
        let channels = self.channels().ok()?;
        let first = *channels.first()?;
        channels.iter().all(|&c| c == first).then_some(first)
    }
}

/// A fitted model of any kind.
pub enum Fitted {
    Mlp(crate::models::mlp::Mlp),
    Forest(crate::models::smart::Forest),
    Logistic(crate::models::smart::Logistic),
    Svm(crate::models::svm::Svm),
    Knn(crate::models::smart::Knn),
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

/// Fits one model on scaled rows; the MLP also returns its training curve.
/// `groups` (one per row, rows of a recording sharing one): the MLP's early stopping then holds
/// out whole recordings. `x` may be a view or owned: the MLP frees an owned `x` once it has
/// copied the rows in its training precision.
pub fn fit_model<'a>(
    kind: ModelKind,
    models: &ModelsConfig,
    x: impl Into<ndarray::CowArray<'a, f64, ndarray::Ix2>>,
    y: &[usize],
    n_classes: usize,
    groups: Option<&[usize]>,
) -> Result<(Fitted, Vec<Epoch>)> {
    let x = x.into();
    Ok(match kind {
        ModelKind::Mlp => {
            let fitted = models.mlp.fit_grouped(x, y, n_classes, groups)?;
            (Fitted::Mlp(fitted.model), fitted.history)
        }
        ModelKind::RandomForest => (
            Fitted::Forest(models.random_forest.fit(x.view(), y, n_classes)?),
            Vec::new(),
        ),
        ModelKind::LogisticRegression => (
            Fitted::Logistic(models.logistic_regression.fit(x.view(), y, n_classes)?),
            Vec::new(),
        ),
        ModelKind::Svm => (
            Fitted::Svm(models.svm.fit(x.view(), y, n_classes)?),
            Vec::new(),
        ),
        ModelKind::Knn => (
            Fitted::Knn(models.knn.fit(x.view(), y, n_classes)?),
            Vec::new(),
        ),
    })
}

/// The rows a run learns from: the features table (or the segments table when
/// `features.segment_seconds` is set), minus excluded classes, and the augmented rows (when
/// balancing) whose source is one of them. A row is a recording, or one of its segments;
/// splits are always of recordings ([`Recordings`]), so a recording's segments never fall on
/// both sides.
pub struct Dataset {
    pub encoder: LabelEncoder,
    pub table: FeatureTable,
    pub y: Vec<usize>,
    pub files: Recordings,
    pub augmented: Option<(FeatureTable, Vec<usize>)>,
    pub augmented_use: AugmentedUse,
    /// With `train.speaker_normalization`: the statistics a speaker of unknown statistics is
    /// standardised with at prediction time ([`SpeakerNorm::population`] of the corpus's).
    pub speaker_population: Option<Scaler>,
}

/// The recordings of a [`Dataset`], in table order: each one's path, class, actor and rows
/// (contiguous in the table: one, or one per segment).
pub struct Recordings {
    pub paths: Vec<String>,
    pub y: Vec<usize>,
    pub actors: Vec<u8>,
    pub rows: Vec<std::ops::Range<usize>>,
}

impl Recordings {
    /// Groups consecutive rows of the same path; fails when a path's rows are not together.
    fn of(table: &FeatureTable, y: &[usize]) -> Result<Recordings> {
        let mut files = Recordings {
            paths: Vec::new(),
            y: Vec::new(),
            actors: Vec::new(),
            rows: Vec::new(),
        };
        let mut seen = HashSet::new();
        let mut start = 0;
        for i in 1..=table.paths.len() {
            if i < table.paths.len() && table.paths[i] == table.paths[start] {
                continue;
            }
            let path = &table.paths[start];
            if !seen.insert(path.as_str()) {
                bail!("the rows of {path} are not consecutive; rerun extract");
            }
            files.paths.push(path.clone());
            files.y.push(y[start]);
            files.actors.push(table.actors[start]);
            files.rows.push(start..i);
            start = i;
        }
        Ok(files)
    }

    /// The table rows of these recordings, in order.
    pub fn rows_of(&self, files: &[usize]) -> Vec<usize> {
        files.iter().flat_map(|&f| self.rows[f].clone()).collect()
    }

    /// For the rows [`Recordings::rows_of`] lists, each recording's range within that list.
    pub fn groups_of(&self, files: &[usize]) -> Vec<std::ops::Range<usize>> {
        let mut at = 0;
        files
            .iter()
            .map(|&f| {
                let n = self.rows[f].len();
                at += n;
                at - n..at
            })
            .collect()
    }
}

impl Dataset {
    /// The rows of `[features]` (segments when `segment_seconds` is set, else files).
    pub fn load(paths: &Paths, config: &Config) -> Result<Dataset> {
        Dataset::load_rows(paths, config, config.features.segment_scale().as_ref())
    }

    /// Segment rows at `rows`, or (`None`) one row per file ([`Paths::row_tables`]).
    pub fn load_rows(
        paths: &Paths,
        config: &Config,
        rows: Option<&SegmentScale>,
    ) -> Result<Dataset> {
        let names = config.features.feature_names();
        let (rows_path, augmented_path) = paths.row_tables(config, rows);
        let channels = config.train.channels().map_err(|e| anyhow!(e))?;
        let df = parquet::read(&rows_path)?;
        let table = tables::feature_table(&df, &names)
            .and_then(|t| in_channels(t, &df, &channels))
            .with_context(|| format!("cannot use {}", rows_path.display()))?;
        drop(df);
        if table.paths.is_empty() {
            bail!(
                "train: {} has no rows of train.vocal_channels ({})",
                rows_path.display(),
                config.train.vocal_channels.join(", ")
            );
        }
        let excluded = config.train.excluded().map_err(|e| anyhow!(e))?;
        let encoder = LabelEncoder::fit(table.emotions.iter().copied(), &excluded);
        if encoder.len() < 2 {
            bail!(
                "train: {} has {} class(es) after exclusions; need at least 2",
                rows_path.display(),
                encoder.len()
            );
        }
        let keep: Vec<usize> = (0..table.paths.len())
            .filter(|&i| encoder.encode(table.emotions[i]).is_some())
            .collect();
        let table = select(table, &keep);
        let y: Vec<usize> = table
            .emotions
            .iter()
            .map(|&e| encoder.encode(e).expect("kept rows have known classes"))
            .collect();
        let files = Recordings::of(&table, &y)
            .with_context(|| format!("cannot use {}", rows_path.display()))?;
        let mut table = table;
        let mut augmented =
            if config.train.augmented != AugmentedUse::None && augmented_path.exists() {
                let df = parquet::read(&augmented_path)?;
                let aug = tables::feature_table(&df, &names)
                    .and_then(|t| in_channels(t, &df, &channels))
                    .with_context(|| format!("cannot use {}", augmented_path.display()))?;
                drop(df);
                let keep: Vec<usize> = (0..aug.paths.len())
                    .filter(|&i| encoder.encode(aug.emotions[i]).is_some())
                    .collect();
                let aug = select(aug, &keep);
                let y_aug = aug
                    .emotions
                    .iter()
                    .map(|&e| encoder.encode(e).expect("kept rows have known classes"))
                    .collect();
                Some((aug, y_aug))
            } else {
                None
            };
        let mut speaker_population = None;
        if config.train.speaker_normalization {
            let norms = SpeakerNorm::fit(table.x.view(), &table.actors);
            norms
                .apply(&mut table.x, &table.actors)
                .map_err(|e| anyhow!(e))?;
            if let Some((aug, _)) = &mut augmented {
                norms
                    .apply(&mut aug.x, &aug.actors)
                    .map_err(|e| anyhow!(e))?;
            }
            speaker_population = Some(norms.population());
        }
        Ok(Dataset {
            encoder,
            table,
            y,
            speaker_population,
            files,
            augmented,
            augmented_use: config.train.augmented,
        })
    }

    /// Augmented rows that may join the training part `train` (recordings; an augmented row's
    /// source file must be one of them), chosen to bring every class's training rows up to the
    /// largest class's count. Never a row made from a file outside `train`.
    pub fn augmented_rows(&self, train: &[usize], seed: u64) -> Vec<usize> {
        let Some((aug, y_aug)) = &self.augmented else {
            return Vec::new();
        };
        let sources = aug
            .source_paths
            .as_ref()
            .expect("augmented rows have sources");
        let in_train: HashSet<&str> = train
            .iter()
            .map(|&f| self.files.paths[f].as_str())
            .collect();
        let mut counts = vec![0usize; self.encoder.len()];
        for &f in train {
            counts[self.files.y[f]] += self.files.rows[f].len();
        }
        let target = counts.iter().copied().max().unwrap_or(0);
        let mut candidates: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (j, source) in sources.iter().enumerate() {
            if in_train.contains(source.as_str()) {
                candidates.entry(y_aug[j]).or_default().push(j);
            }
        }
        if self.augmented_use == AugmentedUse::All {
            let mut all: Vec<usize> = candidates.into_values().flatten().collect();
            all.sort_unstable();
            return all;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut chosen = Vec::new();
        for (class, mut rows) in candidates {
            rows.shuffle(&mut rng);
            let need = target.saturating_sub(counts[class]);
            chosen.extend(rows.into_iter().take(need));
        }
        chosen.sort_unstable();
        chosen
    }

    /// Which recording each row of [`Dataset::training_set`]`(train, extra)` belongs to, when
    /// rows are segments (an augmented row counts as its source recording's); `None` with one
    /// row per recording, so that fits see the rows as scikit-learn does.
    pub fn training_groups(&self, train: &[usize], extra: &[usize]) -> Option<Vec<usize>> {
        if self.files.rows.iter().all(|r| r.len() == 1) {
            return None;
        }
        let mut groups: Vec<usize> = train
            .iter()
            .flat_map(|&f| std::iter::repeat_n(f, self.files.rows[f].len()))
            .collect();
        if let Some((aug, _)) = &self.augmented {
            let sources = aug
                .source_paths
                .as_ref()
                .expect("augmented rows have sources");
            let file_of: std::collections::HashMap<&str, usize> = self
                .files
                .paths
                .iter()
                .enumerate()
                .map(|(f, p)| (p.as_str(), f))
                .collect();
            groups.extend(extra.iter().map(|&j| file_of[sources[j].as_str()]));
        }
        Some(groups)
    }

    /// Training matrix and labels for a split: the rows of its training recordings plus
    /// `extra` augmented rows.
    pub fn training_set(&self, train: &[usize], extra: &[usize]) -> (Array2<f64>, Vec<usize>) {
        let train = &self.files.rows_of(train);
        let mut y: Vec<usize> = train.iter().map(|&i| self.y[i]).collect();
        let mut sources: Vec<ndarray::ArrayView1<'_, f64>> =
            train.iter().map(|&i| self.table.x.row(i)).collect();
        if let Some((aug, y_aug)) = &self.augmented {
            y.extend(extra.iter().map(|&j| y_aug[j]));
            sources.extend(extra.iter().map(|&j| aug.x.row(j)));
        }
        // One matrix, filled row by row (no intermediate copies: segment rows are many).
        let mut x = Array2::zeros((sources.len(), self.table.x.ncols()));
        for (mut to, from) in x.rows_mut().into_iter().zip(sources) {
            to.assign(&from);
        }
        (x, y)
    }
}

/// The table's rows `rows`, in that order; the table itself when that is every row.
/// The rows of `t` (read from `df`) whose `vocal_channel` is one of `channels`.
fn in_channels(
    t: FeatureTable,
    df: &polars::prelude::DataFrame,
    channels: &[VocalChannel],
) -> Result<FeatureTable> {
    let of_row = tables::vocal_channels(df)?;
    let keep: Vec<usize> = (0..t.paths.len())
        .filter(|&i| channels.contains(&of_row[i]))
        .collect();
    Ok(select(t, &keep))
}

fn select(t: FeatureTable, rows: &[usize]) -> FeatureTable {
    if rows.len() == t.paths.len() && rows.iter().enumerate().all(|(i, &r)| i == r) {
        return t;
    }
    FeatureTable {
        paths: rows.iter().map(|&i| t.paths[i].clone()).collect(),
        emotions: rows.iter().map(|&i| t.emotions[i]).collect(),
        actors: rows.iter().map(|&i| t.actors[i]).collect(),
        source_paths: t
            .source_paths
            .as_ref()
            .map(|s| rows.iter().map(|&i| s[i].clone()).collect()),
        x: t.x.select(Axis(0), rows),
    }
}

/// The outcome of one (split, model) job.
struct JobResult {
    split: usize,
    /// A [`ModelKind`] name, or `ensemble`.
    model: &'static str,
    predicted: Vec<usize>,
    proba: Array2<f64>,
    history: Vec<Epoch>,
    n_train: usize,
    n_augmented: usize,
    fit_seconds: f64,
}

/// The datasets of a run: `[features]`' rows first, then one per other segment scale of
/// `[models.segments]`, every one of the same recordings in the same order; and which one each
/// model learns from.
struct Datasets {
    sets: Vec<Dataset>,
    of_model: BTreeMap<ModelKind, usize>,
}

impl Datasets {
    fn load(paths: &Paths, config: &Config) -> Result<Datasets> {
        let main = Dataset::load(paths, config)?;
        let mut scales: Vec<Option<SegmentScale>> = vec![config.features.segment_scale()];
        let mut sets = vec![main];
        let mut of_model = BTreeMap::new();
        for &kind in &config.models.train {
            let rows = config.rows_of(kind);
            let same = |s: &Option<SegmentScale>| match (s, &rows) {
                (None, None) => true,
                (Some(a), Some(b)) => a.same_as(b),
                _ => false,
            };
            let at = match scales.iter().position(same) {
                Some(at) => at,
                None => {
                    let ds = Dataset::load_rows(paths, config, rows.as_ref())?;
                    if ds.files.paths != sets[0].files.paths {
                        bail!(
                            "train: the {} rows of {} are not of the same recordings as {}; \
                             rerun extract",
                            kind.name(),
                            paths.row_tables(config, rows.as_ref()).0.display(),
                            paths.row_tables(config, scales[0].as_ref()).0.display()
                        );
                    }
                    scales.push(rows);
                    sets.push(ds);
                    sets.len() - 1
                }
            };
            of_model.insert(kind, at);
        }
        Ok(Datasets { sets, of_model })
    }
}

pub fn run(paths: &Paths, settings: &Settings) -> Result<()> {
    let config = &settings.config;
    let datasets = Datasets::load(paths, config)?;
    let ds = &datasets.sets[0];
    let splits = config
        .split
        .splits(&ds.files.y, &ds.files.actors)
        .map_err(|e| anyhow!("train: {e}"))?;
    let labels = ds.encoder.labels();
    log::info!(
        "train: {} recordings ({} rows), {} classes ({}), {} augmented rows available, {} splits \
         x {} models",
        ds.files.paths.len(),
        ds.y.len(),
        labels.len(),
        labels.join(", "),
        ds.augmented.as_ref().map_or(0, |(a, _)| a.paths.len()),
        splits.len(),
        config.models.train.len()
    );
    for (&kind, &at) in &datasets.of_model {
        if at > 0 {
            let other = &datasets.sets[at];
            log::info!(
                "train: {} learns from {} rows ({})",
                kind.name(),
                other.y.len(),
                config
                    .rows_of(kind)
                    .map_or("files".to_string(), |s| s.to_string())
            );
        }
    }
    if let Some(only) = config.train.only_channel() {
        log::info!("train: {only} recordings only (train.vocal_channels)");
    }
    if !config.train.exclude_classes.is_empty() {
        log::warn!(
            "train: classes excluded from training and testing: {}",
            config.train.exclude_classes.join(", ")
        );
    }

    // Which augmented copies join each training part: chosen once per split and dataset,
    // shared by every model of that dataset (and, for the first, by splits.parquet).
    let extras: Vec<Vec<Vec<usize>>> = datasets
        .sets
        .iter()
        .map(|d| {
            splits
                .iter()
                .map(|s| d.augmented_rows(&s.train, config.train.seed))
                .collect()
        })
        .collect();
    let jobs: Vec<(usize, ModelKind)> = (0..splits.len())
        .flat_map(|s| config.models.train.iter().map(move |&m| (s, m)))
        .collect();
    let mut results: Vec<JobResult> = jobs
        .par_iter()
        .map(|&(s, kind)| {
            let at = datasets.of_model[&kind];
            run_job(
                &datasets.sets[at],
                &splits[s],
                &extras[at][s],
                s,
                kind,
                config,
            )
        })
        .collect::<Result<_>>()?;
    let members = config.models.ensemble_members();
    if !members.is_empty() {
        let ensembles: Vec<JobResult> = (0..splits.len())
            .map(|s| ensemble(&results, s, &members))
            .collect();
        results.extend(ensembles);
    } else if !config.models.ensemble.is_empty() {
        log::warn!(
            "train: no ensemble: fewer than two of models.ensemble ({}) are in models.train",
            config
                .models
                .ensemble
                .iter()
                .map(|m| m.name())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    write_predictions(paths, ds, &splits, &results, &labels)?;
    write_splits(paths, ds, &splits, &extras[0])?;
    write_curves(paths, &splits, &results)?;
    write_fits(paths, &splits, &results)?;
    save_final_models(paths, &datasets, config)?;
    Ok(())
}

fn run_job(
    ds: &Dataset,
    split: &Split,
    extra: &[usize],
    index: usize,
    kind: ModelKind,
    config: &Config,
) -> Result<JobResult> {
    let (x_train, y_train) = ds.training_set(&split.train, extra);
    let groups = ds.training_groups(&split.train, extra);
    let scaler = Scaler::fit(x_train.view());
    let mut x_train = x_train;
    scaler.transform_in_place(&mut x_train);
    let mut x_test = ds.table.x.select(Axis(0), &ds.files.rows_of(&split.test));
    scaler.transform_in_place(&mut x_test);
    let started = std::time::Instant::now();
    let (model, history) = fit_model(
        kind,
        &config.models,
        x_train,
        &y_train,
        ds.encoder.len(),
        groups.as_deref(),
    )
    .with_context(|| {
        format!(
            "train: {} on {} {}",
            kind.name(),
            split.protocol,
            split.fold
        )
    })?;
    let fit_seconds = started.elapsed().as_secs_f64();
    // One row per test recording: its segments' probabilities pooled, or its own row.
    let proba = crate::models::pool_log_proba(
        model.classifier().predict_proba(x_test.view()).view(),
        &ds.files.groups_of(&split.test),
    );
    let predicted = crate::models::argmax_rows(proba.view());
    log::info!(
        "train: {} {} {}: {} train rows (+{} augmented), {} test recordings, {:.1} s",
        split.protocol,
        split.fold,
        kind.name(),
        y_train.len() - extra.len(),
        extra.len(),
        split.test.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(JobResult {
        split: index,
        model: kind.name(),
        predicted,
        proba,
        history,
        n_train: y_train.len() - extra.len(),
        n_augmented: extra.len(),
        fit_seconds,
    })
}

/// The mean of the members' class probabilities on split `split`.
fn ensemble(results: &[JobResult], split: usize, members: &[ModelKind]) -> JobResult {
    let parts: Vec<&JobResult> = results
        .iter()
        .filter(|r| r.split == split && members.iter().any(|m| m.name() == r.model))
        .collect();
    let mut proba = parts[0].proba.clone();
    for p in &parts[1..] {
        proba += &p.proba;
    }
    proba /= parts.len() as f64;
    JobResult {
        split,
        model: "ensemble",
        predicted: crate::models::argmax_rows(proba.view()),
        proba,
        history: Vec::new(),
        n_train: parts[0].n_train,
        n_augmented: parts[0].n_augmented,
        fit_seconds: parts.iter().map(|p| p.fit_seconds).sum(),
    }
}

/// `predictions.parquet`: `path`, `protocol`, `fold`, `model`, `actor`, `true`, `predicted`,
/// then `prob_<class>` per class.
fn write_predictions(
    paths: &Paths,
    ds: &Dataset,
    splits: &[Split],
    results: &[JobResult],
    labels: &[String],
) -> Result<()> {
    let mut path = Vec::new();
    let mut protocol = Vec::new();
    let mut fold = Vec::new();
    let mut model = Vec::new();
    let mut actor = Vec::new();
    let mut truth = Vec::new();
    let mut predicted = Vec::new();
    let mut probs: Vec<Vec<f64>> = vec![Vec::new(); labels.len()];
    for r in results {
        let split = &splits[r.split];
        for (k, &i) in split.test.iter().enumerate() {
            path.push(ds.files.paths[i].clone());
            protocol.push(split.protocol);
            fold.push(split.fold.clone());
            model.push(r.model);
            actor.push(i32::from(ds.files.actors[i]));
            truth.push(labels[ds.files.y[i]].clone());
            predicted.push(labels[r.predicted[k]].clone());
            for (c, p) in probs.iter_mut().enumerate() {
                p.push(r.proba[[k, c]]);
            }
        }
    }
    let n = path.len();
    let mut columns = vec![
        Column::new("path".into(), path),
        Column::new("protocol".into(), protocol),
        Column::new("fold".into(), fold),
        Column::new("model".into(), model),
        Column::new("actor".into(), actor),
        Column::new("true".into(), truth),
        Column::new("predicted".into(), predicted),
    ];
    for (label, p) in labels.iter().zip(probs) {
        columns.push(Column::new(format!("prob_{label}").into(), p));
    }
    let mut df = DataFrame::new(n, columns)?;
    parquet::write(&paths.predictions(), &mut df)?;
    log::info!("train: wrote {} ({n} rows)", paths.predictions().display());
    Ok(())
}

/// `splits.parquet`: `path`, `protocol`, `fold`, `part` (`train`, `test`, or
/// `train_augmented` for augmented rows, whose `source_path` is then set).
fn write_splits(
    paths: &Paths,
    ds: &Dataset,
    splits: &[Split],
    extras: &[Vec<usize>],
) -> Result<()> {
    let (mut path, mut source, mut protocol, mut fold, mut part) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (s, extra) in splits.iter().zip(extras) {
        for (rows, name) in [(&s.train, "train"), (&s.test, "test")] {
            for &i in rows {
                path.push(ds.files.paths[i].clone());
                source.push(None::<String>);
                protocol.push(s.protocol);
                fold.push(s.fold.clone());
                part.push(name);
            }
        }
        if let Some((aug, _)) = &ds.augmented {
            let sources = aug
                .source_paths
                .as_ref()
                .expect("augmented rows have sources");
            // One line per augmented recording, however many segment rows it gave.
            let mut listed = HashSet::new();
            for &j in extra {
                if !listed.insert(aug.paths[j].as_str()) {
                    continue;
                }
                path.push(aug.paths[j].clone());
                source.push(Some(sources[j].clone()));
                protocol.push(s.protocol);
                fold.push(s.fold.clone());
                part.push("train_augmented");
            }
        }
    }
    let n = path.len();
    let mut df = DataFrame::new(
        n,
        vec![
            Column::new("path".into(), path),
            Column::new("source_path".into(), source),
            Column::new("protocol".into(), protocol),
            Column::new("fold".into(), fold),
            Column::new("part".into(), part),
        ],
    )?;
    parquet::write(&paths.splits(), &mut df)
}

/// `reports/fits.csv`: one row per fit with its size, epochs and wall time (single-threaded
/// fits; several run at once, one per worker thread).
fn write_fits(paths: &Paths, splits: &[Split], results: &[JobResult]) -> Result<()> {
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            let s = &splits[r.split];
            vec![
                s.protocol.to_string(),
                s.fold.clone(),
                r.model.to_string(),
                r.n_train.to_string(),
                r.n_augmented.to_string(),
                r.history.len().to_string(),
                format!("{:.3}", r.fit_seconds),
            ]
        })
        .collect();
    data::csv::write(
        &paths.reports_dir.join("fits.csv"),
        &[
            "protocol",
            "fold",
            "model",
            "n_train",
            "n_augmented",
            "epochs",
            "fit_seconds",
        ],
        &rows,
    )
}

fn write_curves(paths: &Paths, splits: &[Split], results: &[JobResult]) -> Result<()> {
    for r in results.iter().filter(|r| !r.history.is_empty()) {
        let split = &splits[r.split];
        let dir = paths.reports_dir.join(split.protocol).join(r.model);
        let points: Vec<crate::report::EpochPoint> = r
            .history
            .iter()
            .map(|e| (e.epoch, e.loss, e.validation_accuracy))
            .collect();
        crate::report::training_curve_csv(
            &dir.join(format!("training_curve_{}.csv", split.fold)),
            &points,
        )?;
        crate::report::training_curve_svg(
            &dir.join(format!("training_curve_{}.svg", split.fold)),
            &points,
            &format!(
                "{} {} {} (+{} augmented rows)",
                r.model, split.protocol, split.fold, r.n_augmented
            ),
        )?;
    }
    Ok(())
}

/// The saved form of a final model: everything `predict` needs besides the weights.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelCard {
    /// `mlp`, `random_forest`, `logistic_regression`, `svm` or `knn`.
    pub model: String,
    /// Class names in output order.
    pub labels: Vec<String>,
    /// Input columns in order (`features.parquet` names).
    pub feature_names: Vec<String>,
    pub scaler: Scaler,
    /// With `train.speaker_normalization`: the per-feature statistics that standardise a
    /// speaker whose own are unknown (a lone clip, or fewer than
    /// [`crate::predict::MIN_SPEAKER_RECORDINGS`] recordings): the mean of the training
    /// speakers' means and the root mean square of their standard deviations. Absent from
    /// models saved before it existed, which then refuse such clips.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker_population: Option<Scaler>,
    /// Rows trained on (original, augmented).
    pub n_train: usize,
    pub n_augmented: usize,
    /// The whole configuration the model was made with (features section included, so
    /// `predict` extracts the same features), its `[features]` segment keys set to the rows
    /// this model learned from ([`Config::for_model`]).
    pub config: Config,
    pub version: String,
}

/// Fits each model on every usable row (plus balancing copies) and saves it under
/// `models/<model>/`: `model.json` (the [`ModelCard`]) and `model.safetensors` (weights, or the
/// SVM's support vectors and coefficients; for
/// the random forest, which smartcore cannot export, no weights file is written).
fn save_final_models(paths: &Paths, datasets: &Datasets, config: &Config) -> Result<()> {
    // Each dataset's training matrix is made and scaled once, for the models that learn from it.
    let mut fitted: Vec<(ModelKind, Fitted, &Dataset, Scaler, usize, usize)> = Vec::new();
    for (at, ds) in datasets.sets.iter().enumerate() {
        let kinds: Vec<ModelKind> = config
            .models
            .train
            .iter()
            .copied()
            .filter(|k| datasets.of_model[k] == at)
            .collect();
        if kinds.is_empty() {
            continue;
        }
        let all: Vec<usize> = (0..ds.files.paths.len()).collect();
        let extra = ds.augmented_rows(&all, config.train.seed);
        let (x, y) = ds.training_set(&all, &extra);
        let groups = ds.training_groups(&all, &extra);
        let scaler = Scaler::fit(x.view());
        let mut xs = x;
        scaler.transform_in_place(&mut xs);
        let n_classes = ds.encoder.len();
        let models: Vec<(ModelKind, Fitted)> = match kinds[..] {
            // The only model of these rows may free them (the MLP does, once copied).
            [kind] => {
                let (m, _) = fit_model(kind, &config.models, xs, &y, n_classes, groups.as_deref())?;
                vec![(kind, m)]
            }
            _ => kinds
                .par_iter()
                .map(|&kind| {
                    fit_model(
                        kind,
                        &config.models,
                        xs.view(),
                        &y,
                        n_classes,
                        groups.as_deref(),
                    )
                    .map(|(m, _)| (kind, m))
                })
                .collect::<Result<_>>()?,
        };
        for (kind, model) in models {
            fitted.push((
                kind,
                model,
                ds,
                scaler.clone(),
                y.len() - extra.len(),
                extra.len(),
            ));
        }
    }
    for (kind, model, ds, scaler, n_train, n_augmented) in fitted {
        let dir = paths.models_dir().join(kind.name());
        let card = ModelCard {
            model: kind.name().to_string(),
            labels: ds.encoder.labels(),
            feature_names: config.features.feature_names(),
            scaler,
            speaker_population: ds.speaker_population.clone(),
            n_train,
            n_augmented,
            config: config.for_model(kind),
            version: env!("CARGO_PKG_VERSION").to_string(),
        };
        // Tensors go to model.safetensors; the forest's trees are not tensors, so they go to
        // model.forest.json. Only the file of this kind is left in the folder.
        let (file, bytes) = match &model {
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
            &serde_json::to_string_pretty(&card)?,
        )?;
        log::info!("train: saved {}", dir.display());
    }
    save_ensemble(paths, datasets, config)
}

/// `models/ensemble/model.json` ([`crate::predict::EnsembleCard`]) when `models.ensemble` has
/// trained members: their folder names and the hashes of the cards just saved, so that
/// `predict` and `serve` can use the ensemble the reports evaluate. Without one, a stale
/// ensemble folder is removed.
fn save_ensemble(paths: &Paths, datasets: &Datasets, config: &Config) -> Result<()> {
    let dir = paths.models_dir().join("ensemble");
    let members = config.models.ensemble_members();
    if members.is_empty() {
        if dir.join("model.json").exists() {
            std::fs::remove_file(dir.join("model.json"))
                .with_context(|| format!("cannot remove {}", dir.join("model.json").display()))?;
            log::info!("train: removed {} (no ensemble configured)", dir.display());
        }
        return Ok(());
    }
    let mut hashes = Vec::new();
    for m in &members {
        let card = paths.models_dir().join(m.name()).join("model.json");
        let bytes =
            std::fs::read(&card).with_context(|| format!("cannot read {}", card.display()))?;
        hashes.push(crate::data::sha256_hex(&bytes));
    }
    let card = crate::predict::EnsembleCard {
        model: "ensemble".to_string(),
        members: members.iter().map(|m| m.name().to_string()).collect(),
        member_cards_sha256: hashes,
        labels: datasets.sets[0].encoder.labels(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    };
    data::write_text_atomic(
        &dir.join("model.json"),
        &serde_json::to_string_pretty(&card)?,
    )?;
    log::info!("train: saved {}", dir.display());
    Ok(())
}

fn logistic_safetensors(m: &crate::models::smart::Logistic) -> Result<Vec<u8>> {
    use safetensors::tensor::{Dtype, TensorView};
    let w: Vec<u8> = m.weights.iter().flat_map(|v| v.to_le_bytes()).collect();
    let b: Vec<u8> = m.bias.iter().flat_map(|v| v.to_le_bytes()).collect();
    let (p, k) = m.weights.dim();
    let tensors = vec![
        ("weight", TensorView::new(Dtype::F64, vec![p, k], &w)?),
        ("bias", TensorView::new(Dtype::F64, vec![k], &b)?),
    ];
    Ok(crate::models::canonical_safetensors(
        safetensors::serialize(tensors, None)?,
    ))
}

/// Reads a saved model directory back.
pub fn load_model(dir: &Path) -> Result<(ModelCard, Box<dyn Classifier>)> {
    let card: ModelCard = serde_json::from_str(
        &std::fs::read_to_string(dir.join("model.json"))
            .with_context(|| format!("cannot read {}", dir.join("model.json").display()))?,
    )
    .with_context(|| format!("{} is not a model card", dir.join("model.json").display()))?;
    if card.model == "random_forest" {
        let path = dir.join("model.forest.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let forest = crate::models::smart::Forest::from_json(&text)
            .with_context(|| format!("{} is not a saved forest", path.display()))?;
        return Ok((card, Box::new(forest)));
    }
    let bytes = std::fs::read(dir.join("model.safetensors"))
        .with_context(|| format!("cannot read {}", dir.join("model.safetensors").display()))?;
    let model: Box<dyn Classifier> = match card.model.as_str() {
        "mlp" => Box::new(crate::models::mlp::Mlp::from_safetensors(&bytes)?),
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
            Box::new(crate::models::smart::Logistic {
                weights: Array2::from_shape_vec((shape[0], shape[1]), f64s(w.data()))?,
                bias: f64s(b.data()),
            })
        }
        "svm" => Box::new(
            crate::models::svm::Svm::from_safetensors(&bytes)
                .map_err(|e| anyhow!("{}: {e}", dir.join("model.safetensors").display()))?,
        ),
        "knn" => Box::new(
            crate::models::smart::Knn::from_safetensors(
                &bytes,
                &card.config.models.knn,
                card.labels.len(),
            )
            .map_err(|e| anyhow!("{}: {e}", dir.join("model.safetensors").display()))?,
        ),
        other => bail!("{}: cannot load a {other} model", dir.display()),
    };
    Ok((card, model))
}

/// Which classes (and, when only one is, which vocal channel) are in play, for reports:
/// `all`, `excluded: calm`, `all; speech only`.
pub fn classes_note(config: &Config) -> String {
    let excluded: BTreeSet<&str> = config
        .train
        .exclude_classes
        .iter()
        .map(String::as_str)
        .collect();
    let classes = if excluded.is_empty() {
        "all".into()
    } else {
        format!(
            "excluded: {}",
            excluded.into_iter().collect::<Vec<_>>().join(" ")
        )
    };
    match config.train.only_channel() {
        Some(only) => format!("{classes}; {only} only"),
        None => classes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_channel_is_the_one_channel_kept() {
        let with = |channels: &[&str]| TrainConfig {
            vocal_channels: channels.iter().map(|c| c.to_string()).collect(),
            ..TrainConfig::default()
        };
        assert_eq!(TrainConfig::default().only_channel(), None);
        assert_eq!(with(&["song", "speech"]).only_channel(), None);
        assert_eq!(with(&["song"]).only_channel(), Some(VocalChannel::Song));
        assert_eq!(
            with(&["speech", "speech"]).only_channel(),
            Some(VocalChannel::Speech)
        );
        assert_eq!(with(&["opera"]).only_channel(), None);
        assert!(with(&[]).channels().is_err());
    }
}
