//! extract: decode every usable file of the manifest and compute its pooled features, files in
//! parallel, into `features.parquet` (one row per file, one named column per feature value)
//! and, when `features.segment_seconds` is set, `segments.parquet` (one row per segment).
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
use polars::prelude::{Float64Chunked, IntoSeries};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::state::FileStamp;
use super::{Paths, Settings, Skipped};
use crate::audio;
use crate::config::Config;
use crate::corpus::Labels;
use crate::data::parquet;
use crate::features::{ExtractorCache, SegmentScale};
use crate::progress::Progress;
use crate::tables::{self, FeatureRow, LabelSchema, Status};

/// Parquet metadata key: the hash of what decides a row's values ([`extractor_id`]).
const META_EXTRACTOR: &str = "ser_pipeline.extractor";
/// Parquet metadata key: JSON `{path: [size_bytes, mtime_ns]}` of every row's file, as it was
/// before the row was computed.
const META_INPUTS: &str = "ser_pipeline.inputs";

/// Files per chunk: computed together, then appended row by row to each table's pending row
/// group ([`TableOut`]). A chunk's rows wait beside the pending row groups (as the workers'
/// rows; until the rows were copied into one buffer per table, then as frames too), so
/// smaller chunks lower the peak: 256 files (about 970
/// segment rows) rather than 512 lowered extract with `pipeline.toml` from 96-98 to 90-91 MB
/// (1x) and from 128-130 to 118-120 MB (10x); 128 rather than 256 (with the footer kept as
/// bytes) from 87-88 to 84-85 MB (1x) and from 103-105 to 96-98 MB (10x), with wall times
/// within about 1 % (run-to-run spread; 10x: 15.5-15.8 s -> 15.3-16.8 s).
const CHUNK: usize = 128;

pub fn run(paths: &Paths, settings: &Settings) -> Result<Vec<Skipped>> {
    let manifest_path = paths.manifest();
    let manifest = parquet::read_serial(&manifest_path)
        .and_then(|df| tables::manifest_rows(&df, &paths.schema))
        .with_context(|| format!("extract: cannot use {}", manifest_path.display()))?;
    let mut skipped = super::manifest_skips(&manifest);
    let n_manifest = manifest.len();
    // Only what extract needs of the usable rows is kept through the run, in a Vec of its own
    // size (`collect` would reuse the manifest's, about seven times larger).
    let mut usable: Vec<Input> =
        Vec::with_capacity(manifest.iter().filter(|r| r.status == Status::Ok).count());
    usable.extend(
        manifest
            .into_iter()
            .filter(|r| r.status == Status::Ok)
            .map(|r| Input {
                path: r.path.into_boxed_str(),
                corpus: r.corpus,
                labels: r.labels,
            }),
    );
    log::info!("extract: {} usable files of {n_manifest}", usable.len());

    let config = &settings.config;
    let params = &config.features;
    let names = params.feature_names();
    let extractor = extractor_id(config);
    // Every segment scale (`[features]`' own, then the models'), each with its table.
    let scales = config.segment_scales();
    let segment_paths: Vec<std::path::PathBuf> = scales
        .iter()
        .map(|s| paths.segment_tables(config, s).0)
        .collect();
    let mut previous = if settings.force {
        HashMap::new()
    } else {
        previous_rows(paths, &segment_paths, &extractor, &names)
    };
    // Stamped before decoding: a file changed during the run is recomputed by the next one.
    let stamps: Vec<Option<FileStamp>> = usable
        .iter()
        .map(|r| {
            paths
                .audio_file(&r.corpus, &r.path)
                .ok()
                .and_then(|f| FileStamp::of(&f))
        })
        .collect();
    // A file's old row is reused when its stamp and labels are unchanged; decided once here.
    let reuse: Vec<bool> = usable
        .iter()
        .zip(&stamps)
        .map(|(row, stamp)| {
            previous.get(&*row.path).is_some_and(|(old_stamp, old)| {
                stamp.as_ref() == Some(old_stamp) && row.labels.as_ref() == Some(&old.0.labels)
            })
        })
        .collect();
    let n_todo = reuse.iter().filter(|&&r| !r).count();
    let n_reused = usable.len() - n_todo;

    // Files go through in chunks; every `data.row_group_rows` rows of a table are written as
    // one row group, so the memory a run needs hardly grows with the corpus (the usable files'
    // paths and stamps, the writers' compressed footer entries and features.parquet's pending
    // rows until the corpus fills a row group do).
    let extractors = ExtractorCache::new(params);
    let progress = Progress::new("extract", n_todo, settings.progress);
    let row_group = config.data.row_group_rows;
    let schema = &paths.schema;
    let mut features_out = TableOut::create(&paths.features(), schema, &names, false, row_group)?;
    let mut segments_out = segment_paths
        .iter()
        .map(|p| TableOut::create(p, schema, &names, true, row_group))
        .collect::<Result<Vec<_>>>()?;
    for (chunk, chunk_reuse) in usable.chunks(CHUNK).zip(reuse.chunks(CHUNK)) {
        // Reused rows are taken out of the previous table first (in order), then the rest are
        // computed in parallel and merged back in manifest order.
        let reused: Vec<Option<FileRows>> = chunk
            .iter()
            .zip(chunk_reuse)
            .map(|(row, &reuse)| {
                reuse.then(|| previous.remove(&*row.path).expect("decided above").1)
            })
            .collect();
        let todo: Vec<&Input> = chunk
            .iter()
            .zip(&reused)
            .filter(|(_, r)| r.is_none())
            .map(|(row, _)| row)
            .collect();
        let computed: Vec<Result<FileRows, Skipped>> = todo
            .par_iter()
            .map(|row| {
                let abs = paths
                    .audio_file(&row.corpus, &row.path)
                    .unwrap_or_else(|_| row.path.to_string().into());
                let result =
                    extract_file(row, &abs, &extractors, &scales, settings).map_err(|error| {
                        progress
                            .suspend(|| log::warn!("extract: skipped {}: {error}", abs.display()));
                        Skipped {
                            stage: "extract",
                            path: row.path.to_string(),
                            error,
                        }
                    });
                progress.inc();
                result
            })
            .collect();
        // In manifest order, each file's rows go to the tables' pending rows (and are freed).
        let mut computed = computed.into_iter();
        for reused in reused {
            let result = match reused {
                Some(old) => Ok(old),
                None => computed.next().expect("one result per file to compute"),
            };
            match result {
                Ok((whole, segments)) => {
                    features_out.push(whole)?;
                    for (out, of_file) in segments_out.iter_mut().zip(segments) {
                        for row in of_file {
                            out.push(row)?;
                        }
                    }
                }
                Err(s) => skipped.push(s),
            }
        }
    }
    features_out.flush_all()?;
    for out in &mut segments_out {
        out.flush_all()?;
    }
    let n_rows = features_out.n_rows;
    let n_segments: Vec<usize> = segments_out.iter().map(|t| t.n_rows).collect();
    // The metadata of every table, made once the rows are written: the stamps of every usable
    // file (only those with a row in the table are ever read back).
    let inputs: BTreeMap<&str, (u64, u64)> = usable
        .iter()
        .zip(&stamps)
        .filter_map(|(row, stamp)| {
            Some((&*row.path, (stamp.as_ref()?.size, stamp.as_ref()?.mtime_ns)))
        })
        .collect();
    let metadata = [
        (META_EXTRACTOR.to_string(), extractor),
        (META_INPUTS.to_string(), serde_json::to_string(&inputs)?),
    ];
    drop(inputs);
    // Each segment table is complete (renamed into place) before features.parquet.
    for out in segments_out {
        out.out.finish(&metadata)?;
    }
    features_out.out.finish(&metadata)?;
    super::remove_stale_segment_tables(paths, &segment_paths, false)?;
    progress.finish();
    log::info!("extract: {n_reused} reused, {n_todo} computed");
    log::info!(
        "extract: wrote {} ({} files x {} features, {} skipped)",
        paths.features().display(),
        n_rows,
        names.len(),
        skipped.len()
    );
    for ((path, scale), n) in segment_paths.iter().zip(&scales).zip(&n_segments) {
        log::info!("extract: wrote {} ({n} segments, {scale})", path.display());
    }
    Ok(skipped)
}

/// What decides a row's values besides its file: the program version and the `[audio]` and
/// `[features]` sections.
fn extractor_id(config: &Config) -> String {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION"));
    // `audio.max_seconds` decides which files get a row, not a row's values.
    h.update(serde_json::json!({ "sample_rate": config.audio.sample_rate }).to_string());
    h.update(serde_json::to_string(&config.features).expect("config sections serialise"));
    // The models' own segment scales, when there are any.
    let scales = config.model_segment_scales();
    if !scales.is_empty() {
        h.update(serde_json::to_string(&scales).expect("scales serialise"));
    }
    crate::data::hex(&h.finalize())
}

/// A usable file of the manifest: what extract needs of its row (a manifest row takes about
/// three times the memory, kept through the run).
struct Input {
    path: Box<str>,
    corpus: std::sync::Arc<str>,
    labels: Option<Labels>,
}

/// A table's rows and the file stamps in its metadata.
type PreviousTable = (Vec<FeatureRow>, HashMap<String, (u64, u64)>);

/// A file's rows: its `features.parquet` row and, for each segment scale
/// ([`Config::segment_scales`]), its segment rows.
type FileRows = (FeatureRow, Vec<Vec<FeatureRow>>);

/// A table being written: its rows since the last row group (at most `data.row_group_rows`),
/// the feature values of all of them in one buffer, and its writer. The buffer is reserved
/// once and reused for every row group, so its memory is the same through the run, whatever
/// the corpus size or the order in which tables fill, and a row's values are copied into it
/// (and freed) as soon as the row is in manifest order; a full row group is written at once.
struct TableOut<'a> {
    out: parquet::BatchedWriter,
    schema: &'a LabelSchema,
    names: &'a [String],
    segmented: bool,
    rows_per_group: usize,
    /// The pending rows, their `values` moved into `values`.
    keys: Vec<FeatureRow>,
    /// The pending rows' feature values, row after row (`names.len()` each).
    values: Vec<f64>,
    /// Rows written or pending.
    n_rows: usize,
}

/// Rows of feature values reserved up front for a table's pending row group: larger row
/// groups grow the buffer as they fill.
const RESERVED_ROWS: usize = 8192;

/// Feature columns gathered from the row-major buffer at a time when a row group is written
/// (32 columns of 2048 rows: 512 KB).
const GATHER_COLUMNS: usize = 32;

impl<'a> TableOut<'a> {
    fn create(
        path: &Path,
        schema: &'a LabelSchema,
        names: &'a [String],
        segmented: bool,
        rows_per_group: usize,
    ) -> Result<TableOut<'a>> {
        let frame_schema = tables::features_frame(&[], schema, names, segmented)?
            .schema()
            .as_ref()
            .clone();
        let reserved = rows_per_group.min(RESERVED_ROWS);
        Ok(TableOut {
            out: parquet::BatchedWriter::create(path, &frame_schema)?,
            schema,
            names,
            segmented,
            rows_per_group,
            keys: Vec::with_capacity(reserved),
            values: Vec::with_capacity(reserved * names.len()),
            n_rows: 0,
        })
    }

    /// Adds a row, writing the row group when it is full.
    fn push(&mut self, mut row: FeatureRow) -> Result<()> {
        anyhow::ensure!(
            row.values.len() == self.names.len(),
            "{}: {} feature values, not {}",
            row.path,
            row.values.len(),
            self.names.len()
        );
        self.values.extend_from_slice(&row.values);
        row.values = Vec::new();
        self.keys.push(row);
        self.n_rows += 1;
        if self.keys.len() >= self.rows_per_group {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the pending rows as a row group (none when there are none).
    fn flush(&mut self) -> Result<()> {
        let n = self.keys.len();
        if n == 0 {
            return Ok(());
        }
        // The path, label and other columns, then the feature columns.
        let keys = tables::features_frame(&self.keys, self.schema, &[], self.segmented)?;
        let n_keys = keys.width();
        let width = self.names.len();
        let (names, values) = (self.names, &self.values);
        let mut gathered = std::collections::VecDeque::new();
        self.out.write_columns(n, &mut |i| {
            if i < n_keys {
                return Ok(keys.columns()[i].clone());
            }
            let j = i - n_keys;
            if gathered.is_empty() {
                // A block of columns, reading the buffer row by row.
                let end = (j + GATHER_COLUMNS).min(width);
                let mut block: Vec<Vec<f64>> = (j..end).map(|_| Vec::with_capacity(n)).collect();
                for row in values.chunks_exact(width) {
                    for (column, &v) in block.iter_mut().zip(&row[j..end]) {
                        column.push(v);
                    }
                }
                gathered.extend(block);
            }
            let column = gathered.pop_front().context("more columns than features")?;
            Ok(Float64Chunked::from_vec(names[j].as_str().into(), column)
                .into_series()
                .into())
        })?;
        self.keys.clear();
        self.values.clear();
        Ok(())
    }

    /// Writes the last row group and frees the buffers.
    fn flush_all(&mut self) -> Result<()> {
        self.flush()?;
        self.keys = Vec::new();
        self.values = Vec::new();
        Ok(())
    }
}

/// The rows of the previous tables by file, with the stamp their file had, when the same
/// extractor made them: `features.parquet` and each table of `segment_paths` (a file without
/// rows in one of them is recomputed). Empty (everything is recomputed) otherwise, saying why.
fn previous_rows(
    paths: &Paths,
    segment_paths: &[std::path::PathBuf],
    extractor: &str,
    names: &[String],
) -> HashMap<String, (FileStamp, FileRows)> {
    let path = paths.features();
    if !path.exists() {
        return HashMap::new();
    }
    type ByFile = HashMap<String, (FileStamp, FileRows)>;
    let read = |path: &Path| -> Result<Option<PreviousTable>> {
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
        Ok(Some((
            tables::feature_rows(&df, &paths.schema, names)?,
            inputs,
        )))
    };
    let previous = || -> Result<Option<ByFile>> {
        let Some((rows, inputs)) = read(&path)? else {
            return Ok(None);
        };
        let mut by_file: ByFile = HashMap::new();
        for row in rows {
            let Some(&(size, mtime_ns)) = inputs.get(&row.path) else {
                continue;
            };
            by_file.insert(
                row.path.clone(),
                (
                    FileStamp { size, mtime_ns },
                    (row, vec![Vec::new(); segment_paths.len()]),
                ),
            );
        }
        for (k, segments_path) in segment_paths.iter().enumerate() {
            let Some((rows, _)) = read(segments_path)? else {
                return Ok(None);
            };
            for row in rows {
                if let Some((_, (_, segments))) = by_file.get_mut(&row.path) {
                    segments[k].push(row);
                }
            }
        }
        by_file.retain(|_, (_, (_, segments))| segments.iter().all(|s| !s.is_empty()));
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
            log::warn!("extract: cannot reuse the previous tables ({e:#}); recomputing every file");
            HashMap::new()
        }
    }
}

/// Decodes and featurises one file, with its segments at each of `scales`; the error is one
/// line for the log and `errors.csv` (a file over `audio.max_seconds` or the work budget, or
/// with no voice, is one: [`audio::load`]).
fn extract_file(
    row: &Input,
    abs: &Path,
    extractors: &ExtractorCache,
    scales: &[SegmentScale],
    settings: &Settings,
) -> Result<FileRows, String> {
    let labels = row.labels.clone().ok_or("no labels in the manifest")?;
    let decoded = audio::load(abs, &settings.config.audio.limits()).map_err(|e| e.to_string())?;
    let duration_s = decoded.duration_s();
    let extractor = extractors.get(decoded.sample_rate);
    let (whole, segments) = extractor
        .extract_scales(&decoded.samples, scales)
        .map_err(|e| e.to_string())?;
    Ok(file_rows(
        &row.path,
        labels,
        decoded.sample_rate,
        duration_s,
        whole,
        segments,
    ))
}

/// The table rows of one file's features ([`Extractor::extract_scales`]): its row, and for
/// each scale one row per segment (numbered in time order, with its span in seconds).
///
/// [`Extractor::extract_scales`]: crate::features::Extractor::extract_scales
pub(crate) fn file_rows(
    path: &str,
    labels: crate::corpus::Labels,
    sample_rate: u32,
    duration_s: f64,
    whole: crate::features::Features,
    scales: Vec<Vec<crate::features::Features>>,
) -> FileRows {
    let sr = f64::from(sample_rate);
    let row = |f: crate::features::Features, segment: Option<tables::SegmentSpan>| FeatureRow {
        path: path.to_string(),
        labels: labels.clone(),
        sample_rate,
        duration_s,
        n_frames: f.n_frames,
        tuning: f.tuning,
        segment,
        values: f.values,
    };
    let segment_rows = scales
        .into_iter()
        .map(|segments| {
            segments
                .into_iter()
                .enumerate()
                .map(|(i, f)| {
                    let span = tables::SegmentSpan {
                        index: i as u32,
                        start_s: f.span.0 as f64 / sr,
                        end_s: f.span.1 as f64 / sr,
                    };
                    row(f, Some(span))
                })
                .collect()
        })
        .collect();
    (row(whole, None), segment_rows)
}
