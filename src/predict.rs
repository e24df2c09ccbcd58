//! Using a saved model: decode a recording, extract the features the model was trained on, scale
//! them as in training, and return the class probabilities. Shared by `predict` and `serve`.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use ndarray::{Array2, Axis};
use serde::Serialize;

use crate::audio::{self, Audio};
use crate::config::Config;
use crate::features::ExtractorCache;
use crate::models::{load_model, Classifier, EnsembleCard, ModelCard};
use crate::preprocess::{Scaler, SpeakerNorm};

/// A loaded model, ready to predict: one saved model, or an ensemble of several
/// ([`EnsembleCard`]), whose probabilities for a recording are the mean of its members'.
pub struct Predictor {
    /// The saved model's folder.
    pub dir: std::path::PathBuf,
    /// `mlp`, `svm`, ... or `ensemble`.
    pub model: String,
    /// Class names in output order.
    pub labels: Vec<String>,
    members: Vec<Member>,
}

/// One saved model of a [`Predictor`].
struct Member {
    card: ModelCard<Config>,
    dir: std::path::PathBuf,
    model: Box<dyn Classifier>,
    extractors: ExtractorCache,
}

/// The model folders `predict` and `serve` look for under `data/models/` when no `--model` is
/// given, in this order: the ensemble (the recommended config's most accurate model), the SVM
/// (ahead of the MLP in the README's measurements), the MLP, then smartcore's three (well behind
/// both).
pub const DEFAULT_MODELS: [&str; 6] = [
    "ensemble",
    "svm",
    "mlp",
    "logistic_regression",
    "random_forest",
    "knn",
];

/// The first folder of [`DEFAULT_MODELS`] under `models_dir` that holds a `model.json`: the
/// model `predict` and `serve` use without `--model`. The error lists what was looked for.
pub fn default_model_dir(models_dir: &Path) -> Result<std::path::PathBuf> {
    DEFAULT_MODELS
        .iter()
        .map(|m| models_dir.join(m))
        .find(|dir| dir.join("model.json").is_file())
        .ok_or_else(|| {
            anyhow!(
                "no trained model in {} (looked for model.json in {}); run `ser-pipeline run` \
                 first, or name one with --model DIR",
                models_dir.display(),
                DEFAULT_MODELS.join(", ")
            )
        })
}

/// With a model trained with per-speaker normalisation, a speaker is standardised on their own
/// statistics when one `predict` call has at least this many of their recordings (RAVDESS
/// actors, by file name); otherwise on [`ModelCard::speaker_population`]. RAVDESS has 60 per
/// actor; 8 is one per emotion on average, a judgement (not tuned on any result).
pub const MIN_SPEAKER_RECORDINGS: usize = 8;

/// Which statistics standardised a recording's speaker (models trained with per-speaker
/// normalisation only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpeakerStatistics {
    /// The speaker's own, from their recordings in the same call.
    Own,
    /// The training speakers' average ([`ModelCard::speaker_population`]).
    Population,
}

/// One recording's prediction.
#[derive(Debug, Clone, Serialize)]
pub struct Prediction {
    pub emotion: String,
    /// Class -> probability, in the model's label order.
    pub probabilities: Vec<(String, f64)>,
    pub duration_s: f64,
    /// Only for a model trained with per-speaker normalisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speaker_statistics: Option<SpeakerStatistics>,
}

impl Member {
    fn load(dir: &Path) -> Result<Member> {
        let (card, model) = load_model::<Config>(dir)?;
        Ok(Member {
            extractors: ExtractorCache::new(&card.config.features),
            card,
            dir: dir.to_path_buf(),
            model,
        })
    }

    fn speaker_normalised(&self) -> bool {
        self.card.config.train.speaker_normalization
    }

    /// The rate this model analyses a recording of `rate` Hz at (its config's
    /// `audio.sample_rate`, or the recording's own).
    fn rate_for(&self, rate: u32) -> u32 {
        self.card.config.audio.sample_rate.unwrap_or(rate)
    }

    /// The model's input rows from pooled features (one row, or one per segment).
    fn rows(&self, pooled: &[crate::features::Features]) -> Result<Array2<f64>> {
        let width = self.card.feature_names.len();
        let mut x = Array2::zeros((pooled.len(), width));
        for (mut row, f) in x.rows_mut().into_iter().zip(pooled) {
            if f.values.len() != width {
                bail!("the model expects {width} features, got {}", f.values.len());
            }
            row.assign(&ndarray::ArrayView1::from(f.values.as_slice()));
        }
        Ok(x)
    }

    /// [`Predictor::predict_rows`] for this model.
    fn predict_rows(&self, mut x: Array2<f64>, speakers: &[Option<u32>]) -> Result<Array2<f64>> {
        if x.ncols() != self.card.feature_names.len() {
            bail!(
                "the model expects {} features, got {}",
                self.card.feature_names.len(),
                x.ncols()
            );
        }
        if self.speaker_normalised() {
            let named: Vec<usize> = (0..x.nrows()).filter(|&i| speakers[i].is_some()).collect();
            if !named.is_empty() {
                let ids: Vec<u32> = named.iter().map(|&i| speakers[i].expect("named")).collect();
                let mut rows = x.select(Axis(0), &named);
                let norm = SpeakerNorm::fit(rows.view(), &ids);
                norm.apply(&mut rows, &ids).map_err(anyhow::Error::msg)?;
                for (k, &i) in named.iter().enumerate() {
                    x.row_mut(i).assign(&rows.row(k));
                }
            }
            if named.len() < x.nrows() {
                let population = self.population()?;
                for (row, speaker) in x.rows_mut().into_iter().zip(speakers) {
                    if speaker.is_none() {
                        population.transform_row(row);
                    }
                }
            }
        }
        self.card.scaler.transform_in_place(&mut x);
        Ok(self.model.predict_proba(x.view()))
    }

    /// The statistics of a speaker whose own are unknown, or why there are none.
    fn population(&self) -> Result<&Scaler> {
        self.card.speaker_population.as_ref().ok_or_else(|| {
            anyhow!(
                "model {} standardises features per speaker and was saved without the statistics \
                 of an unknown speaker (retrain it to judge lone clips); give `ser-pipeline \
                 predict` at least {MIN_SPEAKER_RECORDINGS} recordings of each speaker (RAVDESS \
                 file names)",
                self.dir.display()
            )
        })
    }
}

impl Predictor {
    /// Loads the model saved in `dir`: a model's `model.json` and weights, or an ensemble's
    /// `model.json` ([`EnsembleCard`]) and its members from the folders beside `dir`.
    pub fn load(dir: &Path) -> Result<Predictor> {
        let card_path = dir.join("model.json");
        let text = std::fs::read_to_string(&card_path)
            .with_context(|| format!("cannot read {}", card_path.display()))?;
        let kind: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a model card", card_path.display()))?;
        if kind["model"] != "ensemble" {
            let member = Member::load(dir)?;
            return Ok(Predictor {
                dir: dir.to_path_buf(),
                model: member.card.model.clone(),
                labels: member.card.labels.clone(),
                members: vec![member],
            });
        }
        let card: EnsembleCard = serde_json::from_str(&text)
            .with_context(|| format!("{} is not an ensemble card", card_path.display()))?;
        let parent = dir.parent().unwrap_or(Path::new("."));
        let mut members = Vec::new();
        for (name, sha) in card.members.iter().zip(&card.member_cards_sha256) {
            let member_dir = parent.join(name);
            let bytes = std::fs::read(member_dir.join("model.json")).with_context(|| {
                format!(
                    "ensemble {}: cannot read its member {}",
                    dir.display(),
                    member_dir.join("model.json").display()
                )
            })?;
            if &crate::data::sha256_hex(&bytes) != sha {
                bail!(
                    "ensemble {}: its member {} was saved by another run; retrain them together",
                    dir.display(),
                    member_dir.display()
                );
            }
            let member = Member::load(&member_dir)?;
            if member.card.labels != card.labels {
                bail!(
                    "ensemble {}: member {} has other classes",
                    dir.display(),
                    member_dir.display()
                );
            }
            members.push(member);
        }
        if members.len() < 2 || members.len() != card.member_cards_sha256.len() {
            bail!(
                "ensemble {}: needs two members or more, each with its card's hash",
                dir.display()
            );
        }
        Ok(Predictor {
            dir: dir.to_path_buf(),
            model: card.model,
            labels: card.labels,
            members,
        })
    }

    /// The saved cards: one, or an ensemble's members', in its order.
    pub fn cards(&self) -> impl Iterator<Item = &ModelCard<Config>> {
        self.members.iter().map(|m| &m.card)
    }

    /// The first (or only) model's card: what the models of an ensemble share (features,
    /// labels, the run's config) is read from it.
    pub fn card(&self) -> &ModelCard<Config> {
        &self.members[0].card
    }

    /// Whether the model (any member) was trained with per-speaker normalisation.
    pub fn speaker_normalised(&self) -> bool {
        self.members.iter().any(Member::speaker_normalised)
    }

    /// Whether the model cannot judge a lone clip: trained with per-speaker normalisation, and
    /// saved without the statistics of an unknown speaker (models made before they existed).
    pub fn needs_speaker_groups(&self) -> bool {
        self.members
            .iter()
            .any(|m| m.speaker_normalised() && m.card.speaker_population.is_none())
    }

    /// Each model's input rows for one decoded recording ([`Predictor::cards`] order): one row,
    /// or one per segment of the model's scale.
    pub fn features(&self, audio: &Audio) -> Result<Vec<Array2<f64>>> {
        // Resampled once per rate the models ask for (an ensemble's members share theirs).
        let rates: Vec<u32> = self
            .members
            .iter()
            .map(|m| m.rate_for(audio.sample_rate))
            .collect();
        let mut copies: Vec<Audio> = Vec::new();
        for &rate in &rates {
            if rate != audio.sample_rate && !copies.iter().any(|a| a.sample_rate == rate) {
                copies.push(audio::resample(audio.clone(), rate)?);
            }
        }
        let at = |rate: u32| {
            copies
                .iter()
                .find(|a| a.sample_rate == rate)
                .unwrap_or(audio)
        };
        // Members that differ only in their segment scale share one pass over the frames
        // (`extract_scales`: each scale's rows equal its own pass's).
        let mut rows: Vec<Option<Array2<f64>>> = vec![None; self.members.len()];
        for (i, m) in self.members.iter().enumerate() {
            if rows[i].is_some() {
                continue;
            }
            let audio = at(rates[i]);
            let extractor = m.extractors.get(audio.sample_rate);
            let params = &m.card.config.features;
            let Some(scale) = params.segment_scale() else {
                rows[i] = Some(m.rows(&[extractor.extract(&audio.samples)?])?);
                continue;
            };
            let unscaled = params.with_segment_scale(None);
            let group: Vec<usize> = (i..self.members.len())
                .filter(|&j| {
                    let other = &self.members[j].card.config.features;
                    rows[j].is_none()
                        && rates[j] == rates[i]
                        && other.segment_scale().is_some()
                        && other.with_segment_scale(None) == unscaled
                })
                .collect();
            let scales: Vec<crate::features::SegmentScale> = group
                .iter()
                .map(|&j| {
                    self.members[j]
                        .card
                        .config
                        .features
                        .segment_scale()
                        .unwrap_or(scale)
                })
                .collect();
            let (_, pooled) = extractor.extract_scales(&audio.samples, &scales)?;
            for (&j, segments) in group.iter().zip(&pooled) {
                rows[j] = Some(self.members[j].rows(segments)?);
            }
        }
        Ok(rows.into_iter().map(|r| r.expect("every member")).collect())
    }

    /// Probabilities per recording. `x[m]` holds model `m`'s rows of every recording, the rows
    /// of recording `r` at `groups[m][r]`; `speakers[m]` names each row's speaker (see below).
    /// Each model's rows of a recording are pooled (the normalised geometric mean of its
    /// segments' probabilities), then the models averaged.
    ///
    /// With a model trained with per-speaker normalisation, the rows of each named speaker are
    /// standardised on their own statistics (so a speaker needs many rows), and rows of no
    /// named speaker on the model's [`ModelCard::speaker_population`].
    pub fn predict_recordings(
        &self,
        x: Vec<Array2<f64>>,
        speakers: &[Vec<Option<u32>>],
        groups: &[Vec<std::ops::Range<usize>>],
    ) -> Result<Array2<f64>> {
        let mut mean: Option<Array2<f64>> = None;
        for (((member, x), speakers), groups) in
            self.members.iter().zip(x).zip(speakers).zip(groups)
        {
            let rows = member.predict_rows(x, speakers)?;
            let p = crate::models::pool_log_proba(rows.view(), groups);
            match &mut mean {
                Some(m) => *m += &p,
                None => mean = Some(p),
            }
        }
        let mut mean = mean.expect("at least one model");
        mean /= self.members.len() as f64;
        Ok(mean)
    }

    /// Turns a probability row into a [`Prediction`]; `own_speaker` says whether its speaker was
    /// standardised on their own statistics (ignored for other models).
    pub fn describe(
        &self,
        proba: ndarray::ArrayView1<'_, f64>,
        duration_s: f64,
        own_speaker: bool,
    ) -> Prediction {
        let mut best = 0;
        for (j, &p) in proba.iter().enumerate() {
            if p > proba[best] {
                best = j;
            }
        }
        Prediction {
            emotion: self.labels[best].clone(),
            probabilities: self
                .labels
                .iter()
                .cloned()
                .zip(proba.iter().copied())
                .collect(),
            duration_s,
            speaker_statistics: self.speaker_normalised().then_some(if own_speaker {
                SpeakerStatistics::Own
            } else {
                SpeakerStatistics::Population
            }),
        }
    }

    /// The limits a file to judge is held to ([`audio::Limits`]): the model's config's
    /// `audio.max_seconds`, and the highest rate its models analyse at (counted as the
    /// resampled work).
    pub fn audio_limits(&self) -> audio::Limits {
        audio::Limits {
            max_seconds: self.card().config.audio.max_seconds,
            analysis_rate: self
                .members
                .iter()
                .filter_map(|m| m.card.config.audio.sample_rate)
                .max(),
        }
    }

    /// Decodes and predicts one file on its own (a clip with no voice is an error).
    pub fn predict_file(&self, path: &Path) -> Result<Prediction> {
        let audio = audio::decode_speech(path, &self.audio_limits())
            .with_context(|| format!("{}", path.display()))?;
        self.predict_audio(audio)
    }

    /// Predicts one decoded recording on its own. A model trained with per-speaker
    /// normalisation standardises it with the training speakers' average statistics (its
    /// speaker's own are unknown); one saved without them refuses it, with an explanation.
    pub fn predict_audio(&self, audio: Audio) -> Result<Prediction> {
        for m in &self.members {
            if m.speaker_normalised() {
                m.population()?;
            }
        }
        let duration = audio.duration_s();
        let x = self.features(&audio)?;
        let speakers: Vec<Vec<Option<u32>>> = x.iter().map(|x| vec![None; x.nrows()]).collect();
        let groups: Vec<Vec<std::ops::Range<usize>>> = x
            .iter()
            .map(|x| std::iter::once(0..x.nrows()).collect())
            .collect();
        let p = self.predict_recordings(x, &speakers, &groups)?;
        Ok(self.describe(p.row(0), duration, false))
    }
}

/// One input's outcome in a batch.
#[derive(Debug, Clone, Serialize)]
pub struct FileResult {
    pub path: String,
    #[serde(flatten)]
    pub prediction: Option<Prediction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Each file's speaker by a corpus kind's file-name convention (`kind`, else the kind that
/// reads the most of the names, [`crate::corpus::guess_kind`]), and the kind used; `None` for
/// a file the kind cannot read. Paths are read from the file name and its parent folders.
pub fn speakers_of(
    files: &[std::path::PathBuf],
    kind: Option<&'static dyn crate::corpus::CorpusKind>,
) -> (Option<&'static str>, Vec<Option<String>>) {
    let names: Vec<String> = files
        .iter()
        .map(|f| {
            let parts: Vec<String> = f
                .components()
                .rev()
                .take(3)
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            parts.into_iter().rev().collect::<Vec<_>>().join("/")
        })
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let Some(kind) = kind.or_else(|| crate::corpus::guess_kind(&refs)) else {
        return (None, vec![None; files.len()]);
    };
    let vocabulary = crate::corpus::Vocabulary::default();
    let speakers = refs
        .iter()
        .map(|n| kind.parse(n, &vocabulary).ok().and_then(|p| p.speaker))
        .collect();
    (Some(kind.name()), speakers)
}

/// Predicts every file; a file that cannot be read gets an error, the rest are predicted. With a
/// per-speaker-normalised model, the files of one speaker (`speakers[i]`, from
/// [`speakers_of`]) are standardised on that speaker's own statistics when there are at least
/// [`MIN_SPEAKER_RECORDINGS`] of them, and every other file on the training speakers' average
/// ([`ModelCard::speaker_population`]); with `population_only`, every file on the average.
pub fn predict_files(
    predictor: &Predictor,
    files: &[std::path::PathBuf],
    speakers: &[Option<String>],
    population_only: bool,
) -> Vec<FileResult> {
    use rayon::prelude::*;
    // Per file: each model's rows and the duration, or why it could not be read.
    type Extracted = Result<(Vec<Array2<f64>>, f64), String>;
    let limits = predictor.audio_limits();
    let extracted: Vec<Extracted> = files
        .par_iter()
        .map(|path| {
            let audio = audio::decode_speech(path, &limits).map_err(|e| e.to_string())?;
            let duration = audio.duration_s();
            let features = predictor.features(&audio).map_err(|e| format!("{e:#}"))?;
            Ok((features, duration))
        })
        .collect();
    let ok: Vec<usize> = (0..files.len()).filter(|&i| extracted[i].is_ok()).collect();
    // Each readable file's speaker, when it has enough recordings here to standardise on.
    let mut ids: std::collections::BTreeMap<&str, u32> = Default::default();
    let actors: Vec<Option<u32>> = ok
        .iter()
        .map(|&i| {
            let next = ids.len() as u32;
            speakers
                .get(i)
                .and_then(Option::as_deref)
                .map(|s| *ids.entry(s).or_insert(next))
        })
        .collect();
    let mut counts: std::collections::HashMap<u32, usize> = Default::default();
    for a in actors.iter().flatten() {
        *counts.entry(*a).or_default() += 1;
    }
    let file_speakers: Vec<Option<u32>> = actors
        .iter()
        .map(|a| a.filter(|a| !population_only && counts[a] >= MIN_SPEAKER_RECORDINGS))
        .collect();
    // Each model's rows of every recording (one, or one per segment), together, with their
    // speaker.
    let mut xs = Vec::new();
    let mut speakers = Vec::new();
    let mut groups = Vec::new();
    for (m, card) in predictor.cards().enumerate() {
        let mut x = Array2::zeros((0, card.feature_names.len()));
        let mut of_rows = Vec::new();
        let mut ranges = Vec::with_capacity(ok.len());
        for (&i, &speaker) in ok.iter().zip(&file_speakers) {
            let f = &extracted[i].as_ref().expect("filtered").0[m];
            ranges.push(x.nrows()..x.nrows() + f.nrows());
            of_rows.extend(std::iter::repeat_n(speaker, f.nrows()));
            x.append(Axis(0), f.view())
                .expect("rows of the model's width");
        }
        xs.push(x);
        speakers.push(of_rows);
        groups.push(ranges);
    }
    let proba = if ok.is_empty() {
        Ok(Array2::zeros((0, predictor.labels.len())))
    } else {
        predictor.predict_recordings(xs, &speakers, &groups)
    };
    let mut out = Vec::with_capacity(files.len());
    let mut k = 0;
    for (i, path) in files.iter().enumerate() {
        let path_text = path.display().to_string();
        match (&extracted[i], &proba) {
            (Ok((_, duration)), Ok(p)) => {
                out.push(FileResult {
                    path: path_text,
                    prediction: Some(predictor.describe(
                        p.row(k),
                        *duration,
                        file_speakers[k].is_some(),
                    )),
                    error: None,
                });
                k += 1;
            }
            (Ok(_), Err(e)) => out.push(FileResult {
                path: path_text,
                prediction: None,
                error: Some(format!("{e:#}")),
            }),
            (Err(e), _) => out.push(FileResult {
                path: path_text,
                prediction: None,
                error: Some(e.clone()),
            }),
        }
    }
    out
}
