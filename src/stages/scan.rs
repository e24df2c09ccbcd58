//! scan: list every configured corpus (walk its tree, or read its manifest), read each file's
//! labels from its path (or row) by its corpus's kind and its audio header, and write
//! `manifest.parquet` with one row per audio file (bad ones included, with a reason).

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use rayon::prelude::*;

use super::{Paths, Settings, Skipped};
use crate::audio;
use crate::corpus::{Corpus, Listed};
use crate::data::parquet;
use crate::progress::Progress;
use crate::tables::{self, ManifestRow, Status};

pub fn run(paths: &Paths, settings: &Settings) -> Result<Vec<Skipped>> {
    let corpora = &paths.corpora;
    let mut listed: Vec<(&Corpus, Listed)> = Vec::new();
    let mut rows: Vec<ManifestRow> = Vec::new();
    for corpus in &corpora.corpora {
        let (files, problems) = corpus.list(&corpora.vocabulary).map_err(|e| {
            anyhow::anyhow!(
                "scan: {e}; unpack the corpus there (README, \"Data\"), or point its root \
                 (--data-root, data.root or [[corpora]] root) at it"
            )
        })?;
        log::info!(
            "scan: {} audio files in corpus {} ({}, {})",
            files.len(),
            corpus.name,
            corpus.kind(),
            corpus.root.display()
        );
        rows.extend(problems.into_iter().map(|p| ManifestRow {
            path: corpora.key(corpus, &p.path),
            corpus: corpus.name.clone(),
            status: Status::Unreadable,
            error: Some(p.message),
            labels: None,
            header: None,
            size_bytes: None,
        }));
        listed.extend(files.into_iter().map(|f| (corpus, f)));
    }
    if listed.is_empty() && rows.is_empty() {
        bail!("scan: no audio files (.wav, .flac) in any configured corpus");
    }
    let progress = Progress::new("scan", listed.len(), settings.progress);
    let limits = settings.config.audio.limits();
    rows.par_extend(listed.par_iter().map(|(corpus, f)| {
        let row = scan_file(corpora.key(corpus, &f.rel_path), &corpus.name, f, &limits);
        progress.inc();
        row
    }));
    progress.finish();
    rows.sort_by(|a, b| a.path.cmp(&b.path));
    if let Some(w) = rows.windows(2).find(|w| w[0].path == w[1].path) {
        bail!(
            "scan: two files have the key {:?} (corpora {} and {}); give the corpora distinct \
             roots",
            w[0].path,
            w[0].corpus,
            w[1].corpus
        );
    }
    log_classes(&rows);
    warn_mixed_rates(&rows, settings.config.audio.sample_rate);

    let skipped = super::manifest_skips(&rows);
    for (s, r) in skipped
        .iter()
        .zip(rows.iter().filter(|r| r.status != Status::Ok))
    {
        let file = corpora
            .resolve(&r.corpus, &r.path)
            .unwrap_or_else(|| s.path.clone().into());
        log::warn!("scan: skipped {}: {}", file.display(), s.error);
    }
    let mut df = tables::manifest_frame(&rows, &paths.schema)?;
    parquet::write(&paths.manifest(), &mut df)
        .with_context(|| format!("scan: cannot write {}", paths.manifest().display()))?;
    log::info!(
        "scan: wrote {} ({} files, {} usable)",
        paths.manifest().display(),
        rows.len(),
        rows.len() - skipped.len()
    );
    Ok(skipped)
}

/// One manifest row: labels from the path, facts from the header (checked against the
/// supported ranges and `limits`). Never fails: a problem becomes the row's status and one-line
/// error.
fn scan_file(key: String, corpus: &Arc<str>, f: &Listed, limits: &audio::Limits) -> ManifestRow {
    let mut row = ManifestRow {
        path: key,
        corpus: corpus.clone(),
        status: Status::Ok,
        error: None,
        labels: None,
        header: None,
        size_bytes: std::fs::metadata(&f.abs_path).ok().map(|m| m.len()),
    };
    match &f.labels {
        Ok(labels) => row.labels = Some(labels.clone()),
        Err(e) => {
            row.status = Status::BadName;
            row.error = Some(format!("bad file name: {e}"));
        }
    }
    if f.abs_path.as_os_str().is_empty() {
        return row;
    }
    if !f.abs_path.is_file() && row.status == Status::Ok {
        row.status = Status::Unreadable;
        row.error = Some(format!("no such file: {}", f.abs_path.display()));
        return row;
    }
    match audio::read_header_within(&f.abs_path, limits) {
        Ok(header) => row.header = Some(header),
        Err(e) => {
            if row.status == Status::Ok {
                row.status = if e.is_unsupported() {
                    Status::Unsupported
                } else {
                    Status::Unreadable
                };
                row.error = Some(e.to_string());
            }
        }
    }
    row
}

/// Logs the usable files per corpus and class, so a class only some corpora have is seen.
fn log_classes(rows: &[ManifestRow]) {
    let mut counts: BTreeMap<(&str, String), usize> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.status == Status::Ok) {
        if let Some(l) = &r.labels {
            *counts
                .entry((&r.corpus, l.emotion.label().to_string()))
                .or_default() += 1;
        }
    }
    let mut line = String::new();
    let mut current = "";
    for ((corpus, emotion), n) in &counts {
        if *corpus != current {
            if !line.is_empty() {
                log::info!("{line}");
            }
            line = format!("scan: corpus {corpus}:");
            current = corpus;
        }
        line.push_str(&format!(" {emotion} {n},"));
    }
    if !line.is_empty() {
        log::info!("{}", line.trim_end_matches(','));
    }
}

/// Warns once when the usable files have several sample rates and `audio.sample_rate` is
/// unset: features of different rates are not comparable.
fn warn_mixed_rates(rows: &[ManifestRow], resample_to: Option<u32>) {
    if resample_to.is_some() {
        return;
    }
    let mut rates: Vec<u32> = rows
        .iter()
        .filter(|r| r.status == Status::Ok)
        .filter_map(|r| r.header.as_ref().map(|h| h.sample_rate))
        .collect();
    rates.sort_unstable();
    rates.dedup();
    if rates.len() > 1 {
        log::warn!(
            "scan: the corpora mix sample rates ({} Hz) and audio.sample_rate is unset, so \
             features are computed at each file's own rate and are not comparable across \
             rates; set audio.sample_rate (e.g. 22050)",
            rates
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}
