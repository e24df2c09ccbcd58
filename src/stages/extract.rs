//! extract: decode every usable file of the manifest and compute its pooled features, files in
//! parallel, into `features.parquet` (one row per file, one named column per feature value).

use std::path::Path;

use anyhow::{Context, Result};
use rayon::prelude::*;

use super::{Paths, Settings, Skipped};
use crate::audio;
use crate::data::parquet;
use crate::features::ExtractorCache;
use crate::progress::Progress;
use crate::tables::{self, FeatureRow, ManifestRow, Status};

pub fn run(paths: &Paths, settings: &Settings) -> Result<Vec<Skipped>> {
    let manifest_path = paths.manifest();
    let manifest = parquet::read(&manifest_path)
        .and_then(|df| tables::manifest_rows(&df))
        .with_context(|| format!("extract: cannot use {}", manifest_path.display()))?;
    let mut skipped = super::manifest_skips(&manifest);
    let usable: Vec<&ManifestRow> = manifest.iter().filter(|r| r.status == Status::Ok).collect();
    log::info!(
        "extract: {} usable files of {}",
        usable.len(),
        manifest.len()
    );

    let params = &settings.config.features;
    let extractors = ExtractorCache::new(params);
    let progress = Progress::new("extract", usable.len(), settings.progress);
    let results: Vec<Result<FeatureRow, Skipped>> = usable
        .par_iter()
        .map(|row| {
            let abs = paths.corpus_root.join(&row.path);
            let result = extract_file(row, &abs, &extractors, settings).map_err(|error| {
                progress.suspend(|| log::warn!("extract: skipped {}: {error}", abs.display()));
                Skipped {
                    stage: "extract",
                    path: row.path.clone(),
                    error,
                }
            });
            progress.inc();
            result
        })
        .collect();
    progress.finish();

    let mut rows = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Ok(row) => rows.push(row),
            Err(s) => skipped.push(s),
        }
    }
    let names = params.feature_names();
    let mut df = tables::features_frame(&rows, &names)?;
    parquet::write(&paths.features(), &mut df)
        .with_context(|| format!("extract: cannot write {}", paths.features().display()))?;
    log::info!(
        "extract: wrote {} ({} files x {} features, {} skipped)",
        paths.features().display(),
        rows.len(),
        names.len(),
        skipped.len()
    );
    Ok(skipped)
}

/// Decodes and featurises one file; the error is one line for the log and `errors.csv`.
fn extract_file(
    row: &ManifestRow,
    abs: &Path,
    extractors: &ExtractorCache,
    settings: &Settings,
) -> Result<FeatureRow, String> {
    let labels = row.labels.ok_or("no labels in the manifest")?;
    let decoded = audio::load(abs, settings.config.audio.sample_rate).map_err(|e| e.to_string())?;
    let duration_s = decoded.duration_s();
    let extractor = extractors.get(decoded.sample_rate);
    let features = extractor
        .extract(&decoded.samples)
        .map_err(|e| e.to_string())?;
    Ok(FeatureRow {
        path: row.path.clone(),
        labels,
        sample_rate: decoded.sample_rate,
        duration_s,
        n_frames: features.n_frames,
        tuning: features.tuning,
        values: features.values,
    })
}
