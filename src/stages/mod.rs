//! The pipeline's stages: thin orchestration of `corpus`, `audio`, `features` and `data`.
//!
//! Each stage reads its inputs from disk and writes its outputs atomically, so it can run alone
//! and a killed run never leaves a half-written table. A stage first runs the upstream stages
//! whose outputs are missing (or all of them under `--force`).

pub mod augment;
pub mod evaluate;
pub mod extract;
pub mod scan;
mod state;
pub mod train;

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::config::Config;
use crate::corpus::Corpora;
use crate::features::SegmentScale;
use crate::progress;
use crate::tables::LabelSchema;

/// A stage of the pipeline, in run order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    Scan,
    Extract,
    Augment,
    Train,
    Evaluate,
}

impl Stage {
    pub const ALL: &'static [Stage] = &[
        Stage::Scan,
        Stage::Extract,
        Stage::Augment,
        Stage::Train,
        Stage::Evaluate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Scan => "scan",
            Stage::Extract => "extract",
            Stage::Augment => "augment",
            Stage::Train => "train",
            Stage::Evaluate => "evaluate",
        }
    }

    /// The files whose presence means the stage has run (with segment rows configured, the
    /// segment tables too).
    fn outputs(self, paths: &Paths, config: &Config) -> Vec<PathBuf> {
        let tables = |augmented: bool| -> Vec<PathBuf> {
            let scales = config.segment_scales();
            let segments = scales.iter().map(|s| {
                let (corpus, copies) = paths.segment_tables(config, s);
                if augmented {
                    copies
                } else {
                    corpus
                }
            });
            let whole = if augmented {
                paths.augmented()
            } else {
                paths.features()
            };
            std::iter::once(whole).chain(segments).collect()
        };
        match self {
            Stage::Scan => vec![paths.manifest()],
            Stage::Extract => tables(false),
            Stage::Augment => tables(true),
            Stage::Train => vec![paths.predictions()],
            Stage::Evaluate => vec![paths.reports_dir.join("metrics.csv")],
        }
    }
}

/// Where every table lives, derived from the config.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The corpora read, and where each one's files are.
    pub corpora: Corpora,
    /// The label columns of every table, from the corpora's kinds.
    pub schema: LabelSchema,
    pub out_dir: PathBuf,
    pub reports_dir: PathBuf,
}

impl Paths {
    pub fn new(config: &Config) -> Result<Paths> {
        let corpora = config.corpora()?;
        Ok(Paths {
            schema: LabelSchema::of(&corpora)?,
            corpora,
            out_dir: config.data.out_dir.clone(),
            reports_dir: config.data.reports_dir.clone(),
        })
    }

    /// The audio file of a table row.
    pub fn audio_file(&self, corpus: &str, path: &str) -> Result<PathBuf> {
        self.corpora.resolve(corpus, path).with_context(|| {
            format!("{path}: corpus {corpus:?} is not configured (rerun the scan stage)")
        })
    }
    pub fn manifest(&self) -> PathBuf {
        self.out_dir.join("manifest.parquet")
    }
    pub fn features(&self) -> PathBuf {
        self.out_dir.join("features.parquet")
    }
    pub fn augmented(&self) -> PathBuf {
        self.out_dir.join("augmented.parquet")
    }
    /// One row per segment of each file, when `features.segment_seconds` is set.
    pub fn segments(&self) -> PathBuf {
        self.out_dir.join("segments.parquet")
    }
    /// One row per segment of each augmented copy, when `features.segment_seconds` is set.
    pub fn augmented_segments(&self) -> PathBuf {
        self.out_dir.join("augmented_segments.parquet")
    }
    /// The tables of segment rows at `scale`, of the corpus and of its augmented copies:
    /// `segments.parquet` and `augmented_segments.parquet` at `[features]`' own scale,
    /// `segments_<tag>.parquet` and `augmented_segments_<tag>.parquet` at another (a model's,
    /// `[models.segments]`; the tag is [`SegmentScale::tag`], e.g. `0.2s_hop_0.2s`).
    pub fn segment_tables(&self, config: &Config, scale: &SegmentScale) -> (PathBuf, PathBuf) {
        if config
            .features
            .segment_scale()
            .is_some_and(|own| own.same_as(scale))
        {
            return (self.segments(), self.augmented_segments());
        }
        let tag = scale.tag();
        (
            self.out_dir.join(format!("segments_{tag}.parquet")),
            self.out_dir
                .join(format!("augmented_segments_{tag}.parquet")),
        )
    }
    /// The tables of the rows a model learns from ([`Config::rows_of`]): segment rows at a
    /// scale, or (`None`) `features.parquet` and `augmented.parquet`.
    pub fn row_tables(&self, config: &Config, rows: Option<&SegmentScale>) -> (PathBuf, PathBuf) {
        match rows {
            Some(scale) => self.segment_tables(config, scale),
            None => (self.features(), self.augmented()),
        }
    }
    pub fn predictions(&self) -> PathBuf {
        self.out_dir.join("predictions.parquet")
    }
    pub fn splits(&self) -> PathBuf {
        self.out_dir.join("splits.parquet")
    }
    pub fn models_dir(&self) -> PathBuf {
        self.out_dir.join("models")
    }
    /// Every file a run could not use: `stage`, `path`, `error`.
    pub fn errors(&self) -> PathBuf {
        self.out_dir.join("errors.csv")
    }
}

/// Removes segment tables of scales no longer configured (`segments*.parquet`, or with
/// `augmented` `augmented_segments*.parquet`, in the output folder, except `keep`): a table of
/// an earlier configuration would only mislead.
fn remove_stale_segment_tables(paths: &Paths, keep: &[PathBuf], augmented: bool) -> Result<()> {
    let prefix = if augmented {
        "augmented_segments"
    } else {
        "segments"
    };
    let Ok(entries) = std::fs::read_dir(&paths.out_dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = name == format!("{prefix}.parquet")
            || (name.starts_with(&format!("{prefix}_")) && name.ends_with("s.parquet"));
        let path = entry.path();
        if ours && !keep.contains(&path) {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
            log::info!("removed {} (a scale no longer configured)", path.display());
        }
    }
    Ok(())
}

/// How a run is carried out.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config: Config,
    pub force: bool,
    pub progress: progress::Mode,
}

/// A file a stage could not use, and why (one line).
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    pub stage: &'static str,
    pub path: String,
    pub error: String,
}

/// The manifest's unusable files, as the scan stage reports them (`<status>: <reason>`).
pub(crate) fn manifest_skips(rows: &[crate::tables::ManifestRow]) -> Vec<Skipped> {
    rows.iter()
        .filter(|r| r.status != crate::tables::Status::Ok)
        .map(|r| Skipped {
            stage: "scan",
            path: r.path.clone(),
            error: format!(
                "{}: {}",
                r.status.label(),
                r.error.as_deref().unwrap_or("unknown")
            ),
        })
        .collect()
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Summary {
    pub stages_run: Vec<&'static str>,
    /// Wall seconds per stage run, in order.
    pub durations: Vec<(&'static str, f64)>,
    pub skipped: Vec<Skipped>,
}

/// Runs `targets` (and the upstream stages whose outputs are missing), in order.
pub fn run(targets: &[Stage], settings: &Settings) -> Result<Summary> {
    let paths = Paths::new(&settings.config)?;
    remove_stale_temps(&paths);
    let last = targets.iter().copied().max().unwrap_or(Stage::Scan);
    let mut summary = Summary::default();
    for &stage in Stage::ALL.iter().filter(|&&s| s <= last) {
        let fingerprint = state::fingerprint(stage, &paths, &settings.config);
        let recorded = state::read(&paths, stage);
        let skipped = match recorded {
            Some(rec)
                if !settings.force
                    && rec.fingerprint == fingerprint
                    && stage
                        .outputs(&paths, &settings.config)
                        .iter()
                        .all(|p| p.exists()) =>
            {
                log::info!(
                    "{}: up to date (inputs and settings unchanged; --force recomputes)",
                    stage.name()
                );
                rec.skipped()
            }
            _ => {
                let started = std::time::Instant::now();
                let skipped = match stage {
                    Stage::Scan => scan::run(&paths, settings)?,
                    Stage::Extract => extract::run(&paths, settings)?,
                    Stage::Augment => augment::run(&paths, settings)?,
                    Stage::Train => train::run(&paths, settings).map(|()| Vec::new())?,
                    Stage::Evaluate => evaluate::run(&paths, settings).map(|()| Vec::new())?,
                };
                let seconds = started.elapsed().as_secs_f64();
                log::info!("{}: done in {seconds:.1} s", stage.name());
                summary.stages_run.push(stage.name());
                summary.durations.push((stage.name(), seconds));
                // Recorded after the outputs are in place, from the inputs as they were before:
                // anything changed meanwhile makes the next run redo the stage.
                state::write(&paths, stage, &fingerprint, &skipped)?;
                skipped
            }
        };
        // A later stage re-reports what an earlier one skipped; keep the latest word per file.
        summary
            .skipped
            .retain(|s| !skipped.iter().any(|n| n.path == s.path));
        summary.skipped.extend(skipped);
    }
    Ok(summary)
}

/// Removes the temporary files of atomic writes that killed runs left in the output folders
/// (`<out_dir>`, `.state/`, `models/<model>/`, `<reports_dir>`, `<protocol>/<model>/`); files of
/// a live writer are left alone, and the corpus is never entered.
fn remove_stale_temps(paths: &Paths) {
    let mut removed = Vec::new();
    for root in [&paths.out_dir, &paths.reports_dir] {
        let dirs = walkdir::WalkDir::new(root)
            .max_depth(2)
            .into_iter()
            .filter_entry(|e| {
                e.file_type().is_dir() && !paths.corpora.corpora.iter().any(|c| e.path() == c.root)
            })
            .flatten();
        for dir in dirs {
            removed.extend(crate::data::remove_stale_temps(
                dir.path(),
                crate::lock::process_alive,
            ));
        }
    }
    if !removed.is_empty() {
        log::info!(
            "removed {} temporary file(s) a killed run left behind (first: {})",
            removed.len(),
            removed[0].display()
        );
    }
}

/// Writes `reports/run.json`: what ran, when, how long, on what config, with what result.
pub fn write_run_record(
    paths: &Paths,
    config: &Config,
    summary: &Summary,
    started: std::time::SystemTime,
    exit_code: u8,
) -> Result<()> {
    let secs = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    };
    let toml = config.to_toml();
    let config_hash = crate::data::sha256_hex(toml.as_bytes());
    let record = serde_json::json!({
        "program": "ser-pipeline",
        "version": env!("CARGO_PKG_VERSION"),
        "started_unix_s": secs(started),
        "finished_unix_s": secs(std::time::SystemTime::now()),
        "exit_code": exit_code,
        "stages": summary.durations.iter().map(|(name, s)| serde_json::json!({
            "stage": name, "seconds": s })).collect::<Vec<_>>(),
        "skipped": summary.skipped.len(),
        "skipped_files": summary.skipped.iter().map(|s| serde_json::json!({
            "stage": s.stage, "path": s.path, "error": s.error })).collect::<Vec<_>>(),
        "threads": rayon::current_num_threads(),
        "config_sha256": config_hash,
        "config": config,
    });
    crate::data::write_text_atomic(
        &paths.reports_dir.join("run.json"),
        &serde_json::to_string_pretty(&record)?,
    )
}

/// Writes `errors.csv` (`stage`, `path`, `error`), sorted by path; written even when empty so a
/// scheduler can always read it.
pub fn write_errors(paths: &Paths, skipped: &[Skipped]) -> Result<()> {
    let mut rows: Vec<&Skipped> = skipped.iter().collect();
    rows.sort_by(|a, b| a.path.cmp(&b.path));
    crate::data::csv::write(
        &paths.errors(),
        &["stage", "path", "error"],
        rows.iter()
            .map(|s| [s.stage, s.path.as_str(), s.error.as_str()]),
    )
}
