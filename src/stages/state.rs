//! What each stage was made from, so a rerun with nothing changed skips it (DVC-style).
//!
//! A stage's fingerprint hashes the program version, the config sections the stage reads, and
//! the size and modification time of its inputs: the corpus files (scan, extract, augment) and
//! the upstream tables. It is recorded in `<out_dir>/.state/<stage>.json` after the stage's
//! outputs are written, together with the files the stage skipped (so a skipped stage still
//! reports them and the exit code still says so).

use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Paths, Skipped, Stage};
use crate::config::Config;

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Record {
    pub fingerprint: String,
    /// `(stage, path, error)` of every file the stage skipped or passed on as skipped.
    skipped: Vec<(String, String, String)>,
}

impl Record {
    pub fn skipped(&self) -> Vec<Skipped> {
        self.skipped
            .iter()
            .map(|(stage, path, error)| Skipped {
                stage: Stage::ALL
                    .iter()
                    .map(|s| s.name())
                    .find(|n| n == stage)
                    .unwrap_or("scan"),
                path: path.clone(),
                error: error.clone(),
            })
            .collect()
    }
}

fn record_path(paths: &Paths, stage: Stage) -> std::path::PathBuf {
    paths
        .out_dir
        .join(".state")
        .join(format!("{}.json", stage.name()))
}

pub(super) fn read(paths: &Paths, stage: Stage) -> Option<Record> {
    let text = std::fs::read_to_string(record_path(paths, stage)).ok()?;
    serde_json::from_str(&text).ok()
}

pub(super) fn write(
    paths: &Paths,
    stage: Stage,
    fingerprint: &str,
    skipped: &[Skipped],
) -> Result<()> {
    let record = Record {
        fingerprint: fingerprint.to_string(),
        skipped: skipped
            .iter()
            .map(|s| (s.stage.to_string(), s.path.clone(), s.error.clone()))
            .collect(),
    };
    crate::data::write_text_atomic(
        &record_path(paths, stage),
        &serde_json::to_string_pretty(&record)?,
    )
}

/// A file's size and modification time: what "unchanged" means for an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct FileStamp {
    pub size: u64,
    /// Nanoseconds since the Unix epoch (0 when the file system gives none).
    pub mtime_ns: u64,
}

impl FileStamp {
    /// The stamp of the file at `path` (symlinks followed), `None` when it cannot be read.
    pub fn of(path: &Path) -> Option<FileStamp> {
        let m = std::fs::metadata(path).ok()?;
        let mtime_ns = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        Some(FileStamp {
            size: m.len(),
            mtime_ns,
        })
    }
}

/// Size and modification time (ns) of a file, or a marker when it is missing.
fn stamp(path: &Path) -> String {
    match FileStamp::of(path) {
        Some(s) => format!("{} {}", s.size, s.mtime_ns),
        None => "missing".into(),
    }
}

pub(super) fn fingerprint(stage: Stage, paths: &Paths, config: &Config) -> String {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION"));
    h.update(stage.name());
    fn section(h: &mut Sha256, v: &impl Serialize) {
        h.update(serde_json::to_string(v).expect("config sections serialise"));
    }
    section(&mut h, &config.data);
    section(&mut h, &config.corpora);
    section(&mut h, &config.labels);
    if stage == Stage::Scan && config.audio.max_seconds != crate::audio::Limits::DEFAULT_MAX_SECONDS
    {
        // Scan refuses files over `audio.max_seconds` (hashed when set, so a default run's
        // fingerprint is what it was before the key existed).
        section(&mut h, &config.audio.max_seconds);
    }
    if stage >= Stage::Extract {
        section(&mut h, &config.audio);
        section(&mut h, &config.features);
        // The models' own segment scales are extracted too.
        let scales = config.model_segment_scales();
        if !scales.is_empty() {
            section(&mut h, &scales);
        }
    }
    if stage >= Stage::Augment {
        section(&mut h, &config.augment);
    }
    if stage >= Stage::Train {
        section(&mut h, &config.split);
        section(&mut h, &config.train);
        section(&mut h, &config.models);
    }
    if stage >= Stage::Evaluate {
        section(&mut h, &config.evaluate);
    }
    if stage <= Stage::Augment {
        // The corpora as they are now: every audio file's path, size and modification time
        // (and a manifest's own).
        for corpus in &paths.corpora.corpora {
            h.update(&*corpus.name);
            if let crate::corpus::Layout::Manifest(file) = &corpus.layout {
                h.update(stamp(file));
            }
            match corpus.list(&paths.corpora.vocabulary) {
                Ok((listed, problems)) => {
                    for f in &listed {
                        h.update(&f.rel_path);
                        h.update(stamp(&f.abs_path));
                    }
                    for p in &problems {
                        h.update(&p.path);
                        h.update(&p.message);
                    }
                }
                Err(e) => h.update(e),
            }
        }
    }
    for upstream in Stage::ALL.iter().filter(|&&s| s < stage) {
        for output in upstream.outputs(paths, config) {
            h.update(stamp(&output));
        }
    }
    crate::data::hex(&h.finalize())
}
