//! scan: walk the corpus root, parse every file name into labels, read every audio header, and
//! write `manifest.parquet` with one row per audio file (bad ones included, with a reason).

use anyhow::{bail, Context, Result};
use rayon::prelude::*;

use super::{Paths, Settings, Skipped};
use crate::audio;
use crate::corpus::{self, Labels};
use crate::data::parquet;
use crate::progress::Progress;
use crate::tables::{self, ManifestRow, Status};

pub fn run(paths: &Paths, settings: &Settings) -> Result<Vec<Skipped>> {
    let root = &paths.corpus_root;
    if !root.is_dir() {
        bail!(
            "scan: corpus root {} is not a folder; unpack RAVDESS there (see README, \"Data\"), \
             or point --data-root / data.root at it",
            root.display()
        );
    }
    let (found, problems) = corpus::walk(root);
    log::info!("scan: {} audio files under {}", found.len(), root.display());
    let progress = Progress::new("scan", found.len(), settings.progress);
    let mut rows: Vec<ManifestRow> = found
        .par_iter()
        .map(|f| {
            let row = scan_file(&f.rel_path, &f.abs_path);
            progress.inc();
            row
        })
        .collect();
    progress.finish();
    rows.extend(problems.into_iter().map(|p| ManifestRow {
        path: p.path,
        status: Status::Unreadable,
        error: Some(p.message),
        labels: None,
        header: None,
        size_bytes: None,
    }));
    rows.sort_by(|a, b| a.path.cmp(&b.path));

    let skipped = super::manifest_skips(&rows);
    for s in &skipped {
        log::warn!(
            "scan: skipped {}: {}",
            root.join(&s.path).display(),
            s.error
        );
    }
    let mut df = tables::manifest_frame(&rows)?;
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

/// One manifest row: labels from the name, facts from the header. Never fails: a problem
/// becomes the row's status and one-line error.
fn scan_file(rel_path: &str, abs_path: &std::path::Path) -> ManifestRow {
    let size_bytes = std::fs::metadata(abs_path).ok().map(|m| m.len());
    let file_name = rel_path.rsplit('/').next().unwrap_or(rel_path);
    let mut row = ManifestRow {
        path: rel_path.to_string(),
        status: Status::Ok,
        error: None,
        labels: None,
        header: None,
        size_bytes,
    };
    match Labels::parse(file_name) {
        Ok(labels) => row.labels = Some(labels),
        Err(e) => {
            row.status = Status::BadName;
            row.error = Some(format!("bad file name: {e}"));
        }
    }
    match audio::read_header(abs_path) {
        Ok(header) => row.header = Some(header),
        Err(e) => {
            if row.status == Status::Ok {
                row.status = Status::Unreadable;
                row.error = Some(e.to_string());
            }
        }
    }
    row
}
