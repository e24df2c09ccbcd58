//! Using a saved model: decode a recording, extract the features the model was trained on, scale
//! them as in training, and return the class probabilities. Shared by `predict` and `serve`.

use std::path::Path;

use anyhow::{bail, Context, Result};
use ndarray::{Array2, Axis};
use serde::Serialize;

use crate::audio::{self, Audio};
use crate::features::ExtractorCache;
use crate::models::Classifier;
use crate::preprocess::SpeakerNorm;
use crate::stages::train::{load_model, ModelCard};

/// A loaded model, ready to predict.
pub struct Predictor {
    pub card: ModelCard,
    pub dir: std::path::PathBuf,
    model: Box<dyn Classifier>,
    extractors: ExtractorCache,
}

/// One recording's prediction.
#[derive(Debug, Clone, Serialize)]
pub struct Prediction {
    pub emotion: String,
    /// Class -> probability, in the model's label order.
    pub probabilities: Vec<(String, f64)>,
    pub duration_s: f64,
}

impl Predictor {
    pub fn load(dir: &Path) -> Result<Predictor> {
        let (card, model) = load_model(dir)?;
        Ok(Predictor {
            extractors: ExtractorCache::new(&card.config.features),
            card,
            dir: dir.to_path_buf(),
            model,
        })
    }

    /// Whether the model needs several recordings per speaker (per-speaker normalisation).
    pub fn needs_speaker_groups(&self) -> bool {
        self.card.config.train.speaker_normalization
    }

    /// The model's input rows for one decoded recording (resampled first if the model's
    /// config asks): one row, or one per segment when the model was trained on segments.
    pub fn features(&self, audio: Audio) -> Result<Array2<f64>> {
        let audio = match self.card.config.audio.sample_rate {
            Some(rate) => audio::resample(audio, rate)?,
            None => audio,
        };
        let extractor = self.extractors.get(audio.sample_rate);
        let segments = extractor.extract_segments(&audio.samples)?;
        let width = self.card.feature_names.len();
        let mut x = Array2::zeros((segments.len(), width));
        for (mut row, f) in x.rows_mut().into_iter().zip(&segments) {
            if f.values.len() != width {
                bail!("the model expects {width} features, got {}", f.values.len());
            }
            row.assign(&ndarray::ArrayView1::from(f.values.as_slice()));
        }
        Ok(x)
    }

    /// Probabilities for feature rows; `speakers[i]` names row `i`'s speaker when the model was
    /// trained with per-speaker normalisation (each speaker's rows are then standardised on
    /// their own statistics, which needs several rows per speaker).
    pub fn predict_rows(&self, mut x: Array2<f64>, speakers: &[u32]) -> Result<Array2<f64>> {
        if x.ncols() != self.card.feature_names.len() {
            bail!(
                "the model expects {} features, got {}",
                self.card.feature_names.len(),
                x.ncols()
            );
        }
        if self.needs_speaker_groups() {
            let ids: Vec<u8> = speakers.iter().map(|&s| (s % 256) as u8).collect();
            let norm = SpeakerNorm::fit(x.view(), &ids);
            norm.apply(&mut x, &ids).map_err(anyhow::Error::msg)?;
        }
        let z = self.card.scaler.transform(x.view());
        Ok(self.model.predict_proba(z.view()))
    }

    /// Turns a probability row into a [`Prediction`].
    pub fn describe(&self, proba: ndarray::ArrayView1<'_, f64>, duration_s: f64) -> Prediction {
        let mut best = 0;
        for (j, &p) in proba.iter().enumerate() {
            if p > proba[best] {
                best = j;
            }
        }
        Prediction {
            emotion: self.card.labels[best].clone(),
            probabilities: self
                .card
                .labels
                .iter()
                .cloned()
                .zip(proba.iter().copied())
                .collect(),
            duration_s,
        }
    }

    /// Decodes and predicts one file on its own.
    pub fn predict_file(&self, path: &Path) -> Result<Prediction> {
        let audio = audio::decode(path).with_context(|| format!("{}", path.display()))?;
        self.predict_audio(audio)
    }

    /// Predicts one decoded recording on its own. A model trained with per-speaker
    /// normalisation cannot judge a lone clip (its speaker's statistics are unknown), so that is
    /// refused with an explanation.
    pub fn predict_audio(&self, audio: Audio) -> Result<Prediction> {
        if self.needs_speaker_groups() {
            bail!(
                "model {} standardises features per speaker and needs several recordings of the \
                 same speaker; use `ser-pipeline predict` on a folder of that speaker's files",
                self.dir.display()
            );
        }
        let duration = audio.duration_s();
        let x = self.features(audio)?;
        let n = x.nrows();
        let p = self.predict_rows(x, &vec![0; n])?;
        let p = crate::models::pool_log_proba(p.view(), std::slice::from_ref(&(0..n)));
        Ok(self.describe(p.row(0), duration))
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

/// Predicts every file; a file that cannot be read gets an error, the rest are predicted. With a
/// per-speaker-normalised model, files are grouped by the RAVDESS actor in their name (all
/// other files form one group).
pub fn predict_files(predictor: &Predictor, files: &[std::path::PathBuf]) -> Vec<FileResult> {
    use rayon::prelude::*;
    let extracted: Vec<Result<(Array2<f64>, f64), String>> = files
        .par_iter()
        .map(|path| {
            let audio = audio::decode(path).map_err(|e| e.to_string())?;
            let duration = audio.duration_s();
            let features = predictor.features(audio).map_err(|e| format!("{e:#}"))?;
            Ok((features, duration))
        })
        .collect();
    let ok: Vec<usize> = (0..files.len()).filter(|&i| extracted[i].is_ok()).collect();
    let width = predictor.card.feature_names.len();
    // Every recording's rows (one, or one per segment), together, with their speaker.
    let mut x = Array2::zeros((0, width));
    let mut speakers = Vec::new();
    let mut groups = Vec::with_capacity(ok.len());
    for &i in &ok {
        let (f, _) = extracted[i].as_ref().expect("filtered");
        let name = files[i].file_name().and_then(|n| n.to_str()).unwrap_or("");
        let speaker = crate::corpus::Labels::parse(name)
            .map(|l| u32::from(l.actor))
            .unwrap_or(0);
        groups.push(x.nrows()..x.nrows() + f.nrows());
        speakers.extend(std::iter::repeat_n(speaker, f.nrows()));
        x.append(Axis(0), f.view())
            .expect("rows of the model's width");
    }
    let proba = if ok.is_empty() {
        Ok(Array2::zeros((0, predictor.card.labels.len())))
    } else {
        predictor
            .predict_rows(x, &speakers)
            .map(|p| crate::models::pool_log_proba(p.view(), &groups))
    };
    let mut out = Vec::with_capacity(files.len());
    let mut k = 0;
    for (i, path) in files.iter().enumerate() {
        let path_text = path.display().to_string();
        match (&extracted[i], &proba) {
            (Ok((_, duration)), Ok(p)) => {
                out.push(FileResult {
                    path: path_text,
                    prediction: Some(predictor.describe(p.row(k), *duration)),
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
