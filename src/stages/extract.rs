//! extract: decode every usable file of the manifest and compute its pooled features, files in
//! parallel, into `features.parquet` (one row per file, one named column per feature value).
//!
//! Incremental per file: `features.parquet` carries in its Parquet metadata which extractor
//! made it (a hash of the program version and the `[audio]` and `[features]` sections) and the
//! size and modification time each row's file had. A rerun with the same extractor reuses the
//! rows of unchanged files, computes new and changed ones, and drops files no longer in the
//! manifest; `--force`, another extractor or an unreadable previous table recompute every file.
//! The rows are in manifest order either way, so the table equals a full recomputation's.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, Result};
use polars::prelude::DataFrame;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::state::FileStamp;
use super::{Paths, Settings, Skipped};
use crate::audio;
use crate::config::Config;
use crate::data::parquet;
use crate::features::ExtractorCache;
use crate::progress::Progress;
use crate::tables::{self, FeatureRow, ManifestRow, Status};

/// Parquet metadata key: the hash of what decides a row's values ([`extractor_id`]).
const META_EXTRACTOR: &str = "ser_pipeline.extractor";
/// Parquet metadata key: JSON `{path: [size_bytes, mtime_ns]}` of every row's file, as it was
/// before the row was computed.
const META_INPUTS: &str = "ser_pipeline.inputs";

/// Files per chunk: computed together, then appended to the pending row group
/// (`data.row_group_rows` rows each). The Parquet writer keeps a few KB of metadata per column
/// chunk until it writes the footer, so small row groups make memory grow with the corpus, and
/// large ones hold more rows at once.
const CHUNK: usize = 512;

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
    let names = params.feature_names();
    let extractor = extractor_id(&settings.config);
    let mut previous = if settings.force {
        HashMap::new()
    } else {
        previous_rows(&paths.features(), &extractor, &names)
    };
    // Stamped before decoding: a file changed during the run is recomputed by the next one.
    let stamps: Vec<Option<FileStamp>> = usable
        .iter()
        .map(|r| FileStamp::of(&paths.corpus_root.join(&r.path)))
        .collect();
    // A file's old row is reused when its stamp and labels are unchanged; decided once here.
    let reuse: Vec<bool> = usable
        .iter()
        .zip(&stamps)
        .map(|(row, stamp)| {
            previous.get(&row.path).is_some_and(|(old_stamp, old)| {
                stamp.as_ref() == Some(old_stamp)
                    && old.iter().all(|o| row.labels.as_ref() == Some(&o.labels))
            })
        })
        .collect();
    let n_todo = reuse.iter().filter(|&&r| !r).count();
    let n_reused = usable.len() - n_todo;
    // The stamps of every usable file; only those with a row in the table are ever read back.
    let inputs: BTreeMap<&str, (u64, u64)> = usable
        .iter()
        .zip(&stamps)
        .filter_map(|(row, stamp)| {
            Some((
                row.path.as_str(),
                (stamp.as_ref()?.size, stamp.as_ref()?.mtime_ns),
            ))
        })
        .collect();
    let metadata = vec![
        (META_EXTRACTOR.to_string(), extractor),
        (META_INPUTS.to_string(), serde_json::to_string(&inputs)?),
    ];

    // Files go through in chunks; every `data.row_group_rows` rows are written as one row group,
    // so the memory a run needs hardly grows with the corpus (the manifest and the writer's
    // footer do).
    let extractors = ExtractorCache::new(params);
    let progress = Progress::new("extract", n_todo, settings.progress);
    let segmented = params.segment_seconds.is_some();
    let schema = tables::features_frame(&[], &names, segmented)?
        .schema()
        .as_ref()
        .clone();
    let mut n_rows = 0;
    parquet::write_batched(&paths.features(), &schema, metadata, |sink| {
        let row_group = settings.config.data.row_group_rows;
        let mut pending: Option<DataFrame> = None;
        // Writes row groups of `row_group` rows from the pending rows (never empty), and the
        // shorter rest too when `all` (the end of the table).
        let mut flush = |pending: &mut Option<DataFrame>, all: bool| -> Result<()> {
            while let Some(df) = pending.take() {
                let height = df.height();
                if height < row_group && !all {
                    *pending = Some(df);
                    break;
                }
                let take = height.min(row_group);
                // One contiguous chunk per column: the writer makes a row group per chunk.
                let mut group = df.slice(0, take);
                group.rechunk_mut();
                sink(&group)?;
                *pending = (take < height).then(|| df.slice(take as i64, height - take));
            }
            Ok(())
        };
        for (chunk, chunk_reuse) in usable.chunks(CHUNK).zip(reuse.chunks(CHUNK)) {
            // Reused rows are taken out of the previous table first (in order), then the rest
            // are computed in parallel and merged back in manifest order.
            let reused: Vec<Option<Vec<FeatureRow>>> = chunk
                .iter()
                .zip(chunk_reuse)
                .map(|(row, &reuse)| {
                    reuse.then(|| previous.remove(&row.path).expect("decided above").1)
                })
                .collect();
            let todo: Vec<&ManifestRow> = chunk
                .iter()
                .zip(&reused)
                .filter(|(_, r)| r.is_none())
                .map(|(&row, _)| row)
                .collect();
            let computed: Vec<Result<Vec<FeatureRow>, Skipped>> = todo
                .par_iter()
                .map(|row| {
                    let abs = paths.corpus_root.join(&row.path);
                    let result = extract_file(row, &abs, &extractors, settings).map_err(|error| {
                        progress
                            .suspend(|| log::warn!("extract: skipped {}: {error}", abs.display()));
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
            let mut computed = computed.into_iter();
            let mut rows = Vec::with_capacity(chunk.len());
            for reused in reused {
                let result = match reused {
                    Some(old) => Ok(old),
                    None => computed.next().expect("one result per file to compute"),
                };
                match result {
                    Ok(features) => rows.extend(features),
                    Err(s) => skipped.push(s),
                }
            }
            if !rows.is_empty() {
                n_rows += rows.len();
                let df = tables::features_frame(&rows, &names, segmented)?;
                drop(rows);
                match &mut pending {
                    Some(p) => {
                        p.vstack_mut_owned(df)?;
                    }
                    None => pending = Some(df),
                }
                flush(&mut pending, false)?;
            }
        }
        flush(&mut pending, true)
    })
    .with_context(|| format!("extract: cannot write {}", paths.features().display()))?;
    progress.finish();
    log::info!("extract: {n_reused} reused, {n_todo} computed");
    log::info!(
        "extract: wrote {} ({} {} x {} features, {} skipped)",
        paths.features().display(),
        n_rows,
        if segmented { "segments" } else { "files" },
        names.len(),
        skipped.len()
    );
    Ok(skipped)
}

/// What decides a row's values besides its file: the program version and the `[audio]` and
/// `[features]` sections.
fn extractor_id(config: &Config) -> String {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION"));
    h.update(serde_json::to_string(&config.audio).expect("config sections serialise"));
    h.update(serde_json::to_string(&config.features).expect("config sections serialise"));
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The rows of the previous `features.parquet` by file (one, or one per segment), with the
/// stamp their file had, when the same extractor made it; empty (everything is recomputed)
/// otherwise, saying why.
fn previous_rows(
    path: &Path,
    extractor: &str,
    names: &[String],
) -> HashMap<String, (FileStamp, Vec<FeatureRow>)> {
    if !path.exists() {
        return HashMap::new();
    }
    type ByFile = HashMap<String, (FileStamp, Vec<FeatureRow>)>;
    let previous = || -> Result<Option<ByFile>> {
        let (df, metadata) = parquet::read_with_metadata(path)?;
        if metadata.get(META_EXTRACTOR).map(String::as_str) != Some(extractor) {
            return Ok(None);
        }
        let inputs: HashMap<String, (u64, u64)> = serde_json::from_str(
            metadata
                .get(META_INPUTS)
                .context("no file stamps in its metadata")?,
        )
        .context("unreadable file stamps in its metadata")?;
        let mut by_file: ByFile = HashMap::new();
        for row in tables::feature_rows(&df, names)? {
            let Some(&(size, mtime_ns)) = inputs.get(&row.path) else {
                continue;
            };
            by_file
                .entry(row.path.clone())
                .or_insert_with(|| (FileStamp { size, mtime_ns }, Vec::new()))
                .1
                .push(row);
        }
        Ok(Some(by_file))
    };
    match previous() {
        Ok(Some(rows)) => rows,
        Ok(None) => {
            log::info!(
                "extract: {} was made with other settings or another version; recomputing every file",
                path.display()
            );
            HashMap::new()
        }
        Err(e) => {
            log::warn!(
                "extract: cannot reuse {} ({e:#}); recomputing every file",
                path.display()
            );
            HashMap::new()
        }
    }
}

/// Decodes and featurises one file; the error is one line for the log and `errors.csv`.
fn extract_file(
    row: &ManifestRow,
    abs: &Path,
    extractors: &ExtractorCache,
    settings: &Settings,
) -> Result<Vec<FeatureRow>, String> {
    let labels = row.labels.ok_or("no labels in the manifest")?;
    let decoded = audio::load(abs, settings.config.audio.sample_rate).map_err(|e| e.to_string())?;
    let duration_s = decoded.duration_s();
    let extractor = extractors.get(decoded.sample_rate);
    let segments = extractor
        .extract_segments(&decoded.samples)
        .map_err(|e| e.to_string())?;
    Ok(file_rows(
        &row.path,
        labels,
        decoded.sample_rate,
        duration_s,
        settings.config.features.segment_seconds.is_some(),
        segments,
    ))
}

/// The table rows of one file's features ([`Extractor::extract_segments`]): one row, or one
/// per segment (numbered in time order, with its span in seconds) when `segmented`.
///
/// [`Extractor::extract_segments`]: crate::features::Extractor::extract_segments
pub(crate) fn file_rows(
    path: &str,
    labels: crate::corpus::Labels,
    sample_rate: u32,
    duration_s: f64,
    segmented: bool,
    segments: Vec<crate::features::Features>,
) -> Vec<FeatureRow> {
    let sr = f64::from(sample_rate);
    segments
        .into_iter()
        .enumerate()
        .map(|(i, f)| FeatureRow {
            path: path.to_string(),
            labels,
            sample_rate,
            duration_s,
            n_frames: f.n_frames,
            tuning: f.tuning,
            segment: segmented.then(|| tables::SegmentSpan {
                index: i as u32,
                start_s: f.span.0 as f64 / sr,
                end_s: f.span.1 as f64 / sr,
            }),
            values: f.values,
        })
        .collect()
}
