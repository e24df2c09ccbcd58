//! augment: waveform-augmented copies of corpus files, featurised like the originals, into
//! `augmented.parquet`. Copies are made per *source file*, independently of any split; the train
//! stage lets a training set use only copies whose `source_path` is in that training set, so
//! augmentation never leaks a test file into training.

use std::collections::{BTreeMap, HashSet};

use anyhow::{Context, Result};
use polars::prelude::Column;
use rand::Rng;
use rayon::prelude::*;

use super::{Paths, Settings, Skipped};
use crate::audio;
use crate::augment;
use crate::config::AugmentClasses;
use crate::corpus::Emotion;
use crate::data::parquet;
use crate::features::{ExtractorCache, SegmentScale};
use crate::progress::Progress;
use crate::tables::{self, FeatureRow, LabelSchema, ManifestRow, Status};

/// A copy's rows: its `augmented.parquet` row and, per segment scale, its segment rows.
type AugRows = (AugRow, Vec<Vec<AugRow>>);

/// One augmented row: the features row (its `path` is `<source>#aug<copy>`) and its provenance.
struct AugRow {
    row: FeatureRow,
    source_path: String,
    augmentation: String,
    params: String,
}

pub fn run(paths: &Paths, settings: &Settings) -> Result<Vec<Skipped>> {
    let cfg = &settings.config.augment;
    let manifest = parquet::read(&paths.manifest())
        .and_then(|df| tables::manifest_rows(&df, &paths.schema))
        .with_context(|| format!("augment: cannot use {}", paths.manifest().display()))?;
    // Only files extract could use: a file it could not decode fails here the same way (and
    // would be reported twice), and train uses copies of featurised files only.
    let featurised: HashSet<String> = parquet::read_columns(&paths.features(), &["path"])
        .and_then(|df| {
            Ok(df
                .column("path")?
                .str()?
                .iter()
                .flatten()
                .map(String::from)
                .collect())
        })
        .with_context(|| format!("augment: cannot use {}", paths.features().display()))?;
    let usable: Vec<&ManifestRow> = manifest
        .iter()
        .filter(|r| r.status == Status::Ok && r.labels.is_some() && featurised.contains(&r.path))
        .collect();
    let chosen: Vec<&ManifestRow> = if !cfg.enabled || cfg.copies == 0 {
        Vec::new()
    } else {
        match cfg.classes {
            AugmentClasses::All => usable.clone(),
            AugmentClasses::Minority => {
                let mut counts: BTreeMap<Emotion, usize> = BTreeMap::new();
                for r in &usable {
                    *counts
                        .entry(r.labels.as_ref().expect("filtered").emotion.clone())
                        .or_default() += 1;
                }
                let largest = counts.values().copied().max().unwrap_or(0);
                usable
                    .iter()
                    .copied()
                    .filter(|r| counts[&r.labels.as_ref().expect("filtered").emotion] < largest)
                    .collect()
            }
        }
    };
    let jobs: Vec<(&ManifestRow, u32)> = chosen
        .iter()
        .flat_map(|&r| (0..cfg.copies).map(move |c| (r, c)))
        .collect();
    log::info!(
        "augment: {} copies of {} files ({:?} classes)",
        jobs.len(),
        chosen.len(),
        cfg.classes
    );
    let extractors = ExtractorCache::new(&settings.config.features);
    let config = &settings.config;
    // Every segment scale (`[features]`' own, then the models'), each with its table.
    let scales = config.segment_scales();
    let progress = Progress::new("augment", jobs.len(), settings.progress);
    let results: Vec<Result<AugRows, Skipped>> = jobs
        .par_iter()
        .map(|&(row, copy)| {
            let abs = paths
                .audio_file(&row.corpus, &row.path)
                .unwrap_or_else(|_| row.path.clone().into());
            let result =
                augment_file(row, copy, &abs, &extractors, &scales, settings).map_err(|error| {
                    progress.suspend(|| log::warn!("augment: skipped {}: {error}", abs.display()));
                    Skipped {
                        stage: "augment",
                        path: row.path.clone(),
                        error,
                    }
                });
            progress.inc();
            result
        })
        .collect();
    progress.finish();
    let mut rows = Vec::new();
    let mut segment_rows: Vec<Vec<AugRow>> = scales.iter().map(|_| Vec::new()).collect();
    let mut skipped = Vec::new();
    for r in results {
        match r {
            Ok((whole, segments)) => {
                rows.push(whole);
                for (all, of_file) in segment_rows.iter_mut().zip(segments) {
                    all.extend(of_file);
                }
            }
            Err(s) => skipped.push(s),
        }
    }
    skipped.dedup_by(|a, b| a.path == b.path);
    let names = config.features.feature_names();
    let mut written = Vec::new();
    // The segment tables first, so that augmented.parquet is the last to change.
    for (scale, rows) in scales.iter().zip(&segment_rows) {
        let path = paths.segment_tables(config, scale).1;
        write_table(&path, rows, &paths.schema, &names, true)?;
        log::info!(
            "augment: wrote {} ({} segments, {scale})",
            path.display(),
            rows.len()
        );
        written.push(path);
    }
    write_table(&paths.augmented(), &rows, &paths.schema, &names, false)?;
    log::info!(
        "augment: wrote {} ({} rows)",
        paths.augmented().display(),
        rows.len()
    );
    super::remove_stale_segment_tables(paths, &written, true)?;
    Ok(skipped)
}

/// `augmented.parquet` (or, `segmented`, `augmented_segments.parquet`): the features columns
/// with `source_path`, `augmentation` and `augmentation_params` after `path`.
fn write_table(
    path: &std::path::Path,
    rows: &[AugRow],
    schema: &LabelSchema,
    names: &[String],
    segmented: bool,
) -> Result<()> {
    let feature_rows: Vec<FeatureRow> = rows.iter().map(|r| r.row.clone()).collect();
    let mut df = tables::features_frame(&feature_rows, schema, names, segmented)?;
    df.insert_column(
        1,
        Column::new(
            "source_path".into(),
            rows.iter()
                .map(|r| r.source_path.as_str())
                .collect::<Vec<_>>(),
        ),
    )?;
    df.insert_column(
        2,
        Column::new(
            "augmentation".into(),
            rows.iter()
                .map(|r| r.augmentation.as_str())
                .collect::<Vec<_>>(),
        ),
    )?;
    df.insert_column(
        3,
        Column::new(
            "augmentation_params".into(),
            rows.iter().map(|r| r.params.as_str()).collect::<Vec<_>>(),
        ),
    )?;
    parquet::write(path, &mut df)
        .with_context(|| format!("augment: cannot write {}", path.display()))
}

fn augment_file(
    row: &ManifestRow,
    copy: u32,
    abs: &std::path::Path,
    extractors: &ExtractorCache,
    scales: &[SegmentScale],
    settings: &Settings,
) -> Result<AugRows, String> {
    let cfg = &settings.config.augment;
    let labels = row.labels.clone().ok_or("no labels in the manifest")?;
    let decoded = audio::load(abs, &settings.config.audio.limits()).map_err(|e| e.to_string())?;
    let mut rng = augment::rng_for(cfg.seed, &row.path, copy);
    let spec = &cfg.transforms[rng.random_range(0..cfg.transforms.len())];
    let (samples, applied) = augment::augment(
        std::slice::from_ref(spec),
        &decoded.samples,
        decoded.sample_rate,
        &mut rng,
    );
    let (whole, segments) = extractors
        .get(decoded.sample_rate)
        .extract_scales(&samples, scales)
        .map_err(|e| e.to_string())?;
    let transform = &applied[0];
    let (whole, segments) = super::extract::file_rows(
        &format!("{}#aug{copy}", row.path),
        labels,
        decoded.sample_rate,
        samples.len() as f64 / f64::from(decoded.sample_rate),
        whole,
        segments,
    );
    let with_provenance = |r: FeatureRow| AugRow {
        row: r,
        source_path: row.path.clone(),
        augmentation: transform.name().to_string(),
        params: transform.params(),
    };
    Ok((
        with_provenance(whole),
        segments
            .into_iter()
            .map(|rows| rows.into_iter().map(with_provenance).collect())
            .collect(),
    ))
}
