//! Assembling the data a run learns from: the feature rows of the configured vocal channels and
//! classes, grouped by recording, per-speaker normalisation, and each training part's rows with
//! the augmented copies of its own recordings (never a copy of a test recording).

use std::collections::{BTreeMap, HashSet};

use anyhow::{anyhow, bail, Context, Result};
use ndarray::{Array2, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::config::{AugmentedUse, Config, ModelKind};
use crate::corpus::ravdess::VocalChannel;
use crate::corpus::Emotion;
use crate::data::parquet;
use crate::features::SegmentScale;
use crate::preprocess::{LabelEncoder, Scaler, SpeakerNorm};
use crate::split::Groups;
use crate::stages::Paths;
use crate::tables::{self, FeatureTable};

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
    /// With `train.speaker_normalization`: each speaker's statistics, and each table row's
    /// speaker (`corpus/speaker`), to judge test recordings as lone clips
    /// ([`Dataset::lone_rows`]).
    pub speaker_norm: Option<(SpeakerNorm, Vec<std::sync::Arc<str>>)>,
    /// Recordings per corpus and class before any class was left out, and whether the class
    /// is trained on (`reports/classes.csv`).
    pub class_counts: Vec<ClassCount>,
}

/// One line of `reports/classes.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassCount {
    pub corpus: std::sync::Arc<str>,
    pub emotion: Emotion,
    pub recordings: usize,
    pub used: bool,
}

/// The recordings of a [`Dataset`], in table order: each one's path, class, speaker, sex and
/// corpus, and rows (contiguous in the table: one, or one per segment).
pub struct Recordings {
    pub paths: Vec<String>,
    pub y: Vec<usize>,
    /// What the protocols group by: speakers (`corpus/speaker`), sexes, corpora.
    pub groups: Groups,
    pub rows: Vec<std::ops::Range<usize>>,
}

impl Recordings {
    /// Groups consecutive rows of the same path; fails when a path's rows are not together.
    fn of(table: &FeatureTable, y: &[usize]) -> Result<Recordings> {
        let mut files = Recordings {
            paths: Vec::new(),
            y: Vec::new(),
            groups: Groups::default(),
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
            files.groups.speakers.push(table.speakers[start].clone());
            files.groups.genders.push(table.genders[start]);
            files.groups.corpora.push(table.corpora[start].clone());
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
        let mut excluded = config.train.excluded().map_err(|e| anyhow!(e))?;
        let kept = config.labels.kept().map_err(|e| anyhow!(e))?;
        if !kept.is_empty() {
            excluded.extend(table.emotions.iter().filter(|e| !kept.contains(e)).cloned());
        }
        let encoder = LabelEncoder::fit(table.emotions.iter().cloned(), &excluded);
        let class_counts = class_counts(&table, &encoder);
        if encoder.len() < 2 {
            bail!(
                "train: {} has {} class(es) after exclusions; need at least 2",
                rows_path.display(),
                encoder.len()
            );
        }
        let keep: Vec<usize> = (0..table.paths.len())
            .filter(|&i| encoder.encode(&table.emotions[i]).is_some())
            .collect();
        let table = select(table, &keep);
        let y: Vec<usize> = table
            .emotions
            .iter()
            .map(|e| encoder.encode(e).expect("kept rows have known classes"))
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
                    .filter(|&i| encoder.encode(&aug.emotions[i]).is_some())
                    .collect();
                let aug = select(aug, &keep);
                let y_aug = aug
                    .emotions
                    .iter()
                    .map(|e| encoder.encode(e).expect("kept rows have known classes"))
                    .collect();
                Some((aug, y_aug))
            } else {
                None
            };
        let mut speaker_population = None;
        let mut speaker_norm = None;
        if config.train.speaker_normalization {
            let keys = norm_keys(&table);
            let norms = SpeakerNorm::fit(table.x.view(), &keys);
            norms.apply(&mut table.x, &keys).map_err(|e| anyhow!(e))?;
            if let Some((aug, _)) = &mut augmented {
                let keys = norm_keys(aug);
                norms.apply(&mut aug.x, &keys).map_err(|e| anyhow!(e))?;
            }
            speaker_population = Some(norms.population());
            speaker_norm = Some((norms, keys));
        }
        Ok(Dataset {
            encoder,
            table,
            y,
            speaker_population,
            speaker_norm,
            class_counts,
            files,
            augmented,
            augmented_use: config.train.augmented,
        })
    }

    /// The rows of the `test` recordings standardised as lone clips, as `predict` and `serve`
    /// standardise a clip of an unknown speaker: each row's own speaker's standardisation
    /// undone, then the average statistics ([`SpeakerNorm::population_of`]) of the speakers of
    /// the `train` recordings applied. `None` without per-speaker normalisation, and when a
    /// test recording's speaker is among the training speakers (its own statistics are then
    /// known).
    pub fn lone_rows(&self, train: &[usize], test: &[usize]) -> Option<Array2<f64>> {
        let (norms, keys) = self.speaker_norm.as_ref()?;
        let trained: HashSet<&str> = self
            .files
            .rows_of(train)
            .into_iter()
            .map(|r| &*keys[r])
            .collect();
        let rows = self.files.rows_of(test);
        if rows.iter().any(|&r| trained.contains(&*keys[r])) {
            return None;
        }
        let population = norms.population_of(|s| trained.contains(&**s));
        let mut x = self.table.x.select(Axis(0), &rows);
        for (mut row, &r) in x.rows_mut().into_iter().zip(&rows) {
            let own = norms
                .scaler(&keys[r])
                .expect("every row's speaker was fitted");
            own.inverse_row(row.view_mut());
            population.transform_row(row);
        }
        Some(x)
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

/// Recordings per corpus and class of `t`, in corpus then class order.
fn class_counts(t: &FeatureTable, encoder: &LabelEncoder) -> Vec<ClassCount> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut counts: BTreeMap<(&str, &Emotion), usize> = BTreeMap::new();
    for i in 0..t.paths.len() {
        if seen.insert(t.paths[i].as_str()) {
            *counts.entry((&*t.corpora[i], &t.emotions[i])).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .map(|((corpus, emotion), recordings)| ClassCount {
            corpus: corpus.into(),
            emotion: emotion.clone(),
            recordings,
            used: encoder.encode(emotion).is_some(),
        })
        .collect()
}

/// Whose statistics standardise each row: its speaker (`corpus/speaker`), or, in a corpus
/// without speakers, the corpus as a whole (`corpus/*`).
fn norm_keys(t: &FeatureTable) -> Vec<std::sync::Arc<str>> {
    t.speakers
        .iter()
        .zip(&t.corpora)
        .map(|(s, c)| s.clone().unwrap_or_else(|| format!("{c}/*").into()))
        .collect()
}

/// The rows of `t` (read from `df`) whose `vocal_channel` is one of `channels`; rows without
/// a vocal channel (corpora other than RAVDESS) are kept.
fn in_channels(
    t: FeatureTable,
    df: &polars::prelude::DataFrame,
    channels: &[VocalChannel],
) -> Result<FeatureTable> {
    let of_row = tables::vocal_channels(df)?;
    let keep: Vec<usize> = (0..t.paths.len())
        .filter(|&i| match &of_row[i] {
            Some(c) => VocalChannel::from_label(c).is_some_and(|c| channels.contains(&c)),
            None => true,
        })
        .collect();
    Ok(select(t, &keep))
}

/// The table's rows `rows`, in that order; the table itself when that is every row.
fn select(t: FeatureTable, rows: &[usize]) -> FeatureTable {
    if rows.len() == t.paths.len() && rows.iter().enumerate().all(|(i, &r)| i == r) {
        return t;
    }
    FeatureTable {
        paths: rows.iter().map(|&i| t.paths[i].clone()).collect(),
        emotions: rows.iter().map(|&i| t.emotions[i].clone()).collect(),
        corpora: rows.iter().map(|&i| t.corpora[i].clone()).collect(),
        speakers: rows.iter().map(|&i| t.speakers[i].clone()).collect(),
        genders: rows.iter().map(|&i| t.genders[i]).collect(),
        source_paths: t
            .source_paths
            .as_ref()
            .map(|s| rows.iter().map(|&i| s[i].clone()).collect()),
        x: t.x.select(Axis(0), rows),
    }
}

/// The datasets of a run: `[features]`' rows first, then one per other segment scale of
/// `[models.segments]`, every one of the same recordings in the same order; and which one each
/// model learns from.
pub(super) struct Datasets {
    pub(super) sets: Vec<Dataset>,
    pub(super) of_model: BTreeMap<ModelKind, usize>,
}

impl Datasets {
    pub(super) fn load(paths: &Paths, config: &Config) -> Result<Datasets> {
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
