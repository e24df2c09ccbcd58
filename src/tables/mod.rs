//! The schemas of the tables the pipeline writes, and their typed rows. Column names and types
//! here are a public contract (docs/outputs.md): people read these files in pandas and DuckDB.
//! The label columns all tables share are in [`labels`].

mod labels;

use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use polars::prelude::{Column, DataFrame, NamedFrom, Series};

use crate::audio::Header;
use crate::corpus::{speaker_key, Emotion, Extra, ExtraColumn, Gender, Labels};

use self::labels::{i64_col, label_columns, str_col, LabelColumns};
pub use self::labels::{LabelSchema, CORE_LABEL_COLUMNS};

/// Whether a scanned file can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Name parsed and header read.
    Ok,
    /// The file's path (or manifest row) does not follow its corpus's convention, or its label
    /// is not a known emotion name.
    BadName,
    /// The file (or a path on the way to it) could not be read as audio.
    Unreadable,
    /// The header was read, but a value is outside the supported ranges, or the file is longer
    /// than `audio.max_seconds` or over the work budget ([`crate::audio::limits`]).
    Unsupported,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::BadName => "bad_name",
            Status::Unreadable => "unreadable",
            Status::Unsupported => "unsupported",
        }
    }

    pub fn from_label(s: &str) -> Option<Status> {
        [
            Status::Ok,
            Status::BadName,
            Status::Unreadable,
            Status::Unsupported,
        ]
        .into_iter()
        .find(|st| st.label() == s)
    }
}

/// One row of `manifest.parquet`: one audio file (or unreadable path) of a corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestRow {
    /// Relative to the corpus root, `/`-separated (prefixed with the corpus name when several
    /// corpora are configured). The key of every table.
    pub path: String,
    /// The configured corpus the file belongs to.
    pub corpus: Arc<str>,
    pub status: Status,
    /// One line saying what is wrong; `None` when status is ok.
    pub error: Option<String>,
    pub labels: Option<Labels>,
    pub header: Option<Header>,
    pub size_bytes: Option<u64>,
}

/// `manifest.parquet` columns: `path`, `status`, `error`, the label columns ([`LabelSchema`]), then
/// `sample_rate`, `channels`, `bits_per_sample`, `sample_format`, `n_samples` (per channel), `duration_s`,
/// `size_bytes` (nullable where unknown).
pub fn manifest_frame(rows: &[ManifestRow], schema: &LabelSchema) -> Result<DataFrame> {
    let mut columns = vec![
        Column::new(
            "path".into(),
            rows.iter().map(|r| r.path.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "status".into(),
            rows.iter().map(|r| r.status.label()).collect::<Vec<_>>(),
        ),
        Column::new(
            "error".into(),
            rows.iter().map(|r| r.error.as_deref()).collect::<Vec<_>>(),
        ),
    ];
    // The schema's columns, then any other a manifest corpus passes through (as text, in the
    // order first met), which only this table carries.
    let mut full = schema.clone();
    for l in rows.iter().filter_map(|r| r.labels.as_ref()) {
        for (name, value) in &l.extras {
            if let Extra::Text(_) = value {
                let known = CORE_LABEL_COLUMNS.contains(&name.as_str())
                    || full.extras.iter().any(|c| c.name == *name);
                if !known {
                    full.extras.push(ExtraColumn::text(name));
                }
            }
        }
    }
    columns.extend(label_columns(
        &full,
        rows.iter().map(|r| &*r.corpus),
        rows.iter().map(|r| r.labels.as_ref()),
    ));
    let h = |f: fn(&Header) -> Option<i64>| {
        rows.iter()
            .map(|r| r.header.as_ref().and_then(f))
            .collect::<Vec<_>>()
    };
    columns.extend([
        Column::new("sample_rate".into(), h(|h| Some(i64::from(h.sample_rate)))),
        Column::new("channels".into(), h(|h| Some(i64::from(h.channels)))),
        Column::new(
            "bits_per_sample".into(),
            h(|h| h.bits_per_sample.map(i64::from)),
        ),
        Column::new(
            "sample_format".into(),
            rows.iter()
                .map(|r| r.header.as_ref().and_then(|h| h.sample_format.clone()))
                .collect::<Vec<_>>(),
        ),
        Column::new("n_samples".into(), h(|h| h.n_frames.map(|n| n as i64))),
        Column::new(
            "duration_s".into(),
            rows.iter()
                .map(|r| r.header.as_ref().and_then(Header::duration_s))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "size_bytes".into(),
            rows.iter()
                .map(|r| r.size_bytes.map(|s| s as i64))
                .collect::<Vec<_>>(),
        ),
    ]);
    Ok(DataFrame::new(rows.len(), columns)?)
}

/// Reads the rows back from a manifest frame (the inverse of [`manifest_frame`]).
pub fn manifest_rows(df: &DataFrame, schema: &LabelSchema) -> Result<Vec<ManifestRow>> {
    let path = str_col(df, "path")?;
    let status = str_col(df, "status")?;
    let error = str_col(df, "error")?;
    let label_columns = LabelColumns::read(df, schema)?;
    let sample_rate = i64_col(df, "sample_rate")?;
    let channels = i64_col(df, "channels")?;
    let bits = i64_col(df, "bits_per_sample")?;
    let format = str_col(df, "sample_format")?;
    let n_frames = i64_col(df, "n_samples")?;
    let size = i64_col(df, "size_bytes")?;
    (0..df.height())
        .map(|i| {
            let labels = label_columns.at(i)?;
            let header = match (sample_rate[i], channels[i]) {
                (Some(sr), Some(ch)) => Some(Header {
                    sample_rate: u32::try_from(sr)?,
                    channels: u16::try_from(ch)?,
                    bits_per_sample: bits[i].map(u32::try_from).transpose()?,
                    sample_format: format[i].map(str::to_string),
                    n_frames: n_frames[i].map(u64::try_from).transpose()?,
                }),
                _ => None,
            };
            let path = path[i].ok_or_else(|| anyhow!("row {i}: path is null"))?;
            let status_label = status[i].unwrap_or("");
            Ok(ManifestRow {
                path: path.to_string(),
                corpus: Arc::from(label_columns.corpus(i)?),
                status: Status::from_label(status_label)
                    .ok_or_else(|| anyhow!("row {i}: unknown status {status_label:?}"))?,
                error: error[i].map(str::to_string),
                labels,
                header,
                size_bytes: size[i].map(u64::try_from).transpose()?,
            })
        })
        .collect::<Result<Vec<_>>>()
        .context("manifest.parquet does not have the expected schema; rerun the scan stage")
}

/// One row of `features.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureRow {
    pub path: String,
    pub labels: Labels,
    /// Rate the features were computed at (native, or the configured resampling rate).
    pub sample_rate: u32,
    pub duration_s: f64,
    pub n_frames: usize,
    /// Chroma tuning estimate, in fractions of a chroma bin.
    pub tuning: f64,
    /// Which segment of the file the row pools, when `features.segment_seconds` is set.
    pub segment: Option<SegmentSpan>,
    pub values: Vec<f64>,
}

/// A segment's place in its file: `segment` (0, 1, ... in time order), and the seconds from
/// the start of the file its frames span.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegmentSpan {
    pub index: u32,
    pub start_s: f64,
    pub end_s: f64,
}

/// `features.parquet` columns: `path`, the label columns ([`LabelSchema`]), `sample_rate`, `duration_s`,
/// `n_stft_frames`, `tuning`, then (when `segmented`: one row per segment) `segment`,
/// `segment_start_s` and `segment_end_s`, then one `Float64` column per feature
/// (`feature_names`).
pub fn features_frame(
    rows: &[FeatureRow],
    schema: &LabelSchema,
    feature_names: &[String],
    segmented: bool,
) -> Result<DataFrame> {
    let mut columns = vec![Column::new(
        "path".into(),
        rows.iter().map(|r| r.path.as_str()).collect::<Vec<_>>(),
    )];
    columns.extend(label_columns(
        schema,
        rows.iter().map(|r| &*r.labels.corpus),
        rows.iter().map(|r| Some(&r.labels)),
    ));
    columns.extend([
        Column::new(
            "sample_rate".into(),
            rows.iter()
                .map(|r| i64::from(r.sample_rate))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "duration_s".into(),
            rows.iter().map(|r| r.duration_s).collect::<Vec<_>>(),
        ),
        Column::new(
            "n_stft_frames".into(),
            rows.iter().map(|r| r.n_frames as i64).collect::<Vec<_>>(),
        ),
        Column::new(
            "tuning".into(),
            rows.iter().map(|r| r.tuning).collect::<Vec<_>>(),
        ),
    ]);
    if segmented {
        let span = |r: &FeatureRow| {
            r.segment
                .ok_or_else(|| anyhow!("{}: a row without a segment in a segment table", r.path))
        };
        let spans = rows.iter().map(span).collect::<Result<Vec<_>>>()?;
        columns.extend([
            Column::new(
                "segment".into(),
                spans.iter().map(|s| i64::from(s.index)).collect::<Vec<_>>(),
            ),
            Column::new(
                "segment_start_s".into(),
                spans.iter().map(|s| s.start_s).collect::<Vec<_>>(),
            ),
            Column::new(
                "segment_end_s".into(),
                spans.iter().map(|s| s.end_s).collect::<Vec<_>>(),
            ),
        ]);
    }
    for (j, name) in feature_names.iter().enumerate() {
        let values: Vec<f64> = rows.iter().map(|r| r.values[j]).collect();
        columns.push(Series::new(name.as_str().into(), values).into());
    }
    Ok(DataFrame::new(rows.len(), columns)?)
}

fn f64_col(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>> {
    Ok(df
        .column(name)
        .with_context(|| format!("missing column {name}"))?
        .f64()
        .with_context(|| format!("column {name} is not float64"))?
        .iter()
        .collect())
}

/// Reads the rows back from a features frame (the inverse of [`features_frame`]), the feature
/// values in `feature_names` order. Fails, naming the column, on a missing column or a null.
pub fn feature_rows(
    df: &DataFrame,
    schema: &LabelSchema,
    feature_names: &[String],
) -> Result<Vec<FeatureRow>> {
    let n = df.height();
    let path = str_col(df, "path")?;
    let label_columns = LabelColumns::read(df, schema)?;
    let sample_rate = i64_col(df, "sample_rate")?;
    let duration_s = f64_col(df, "duration_s")?;
    let n_frames = i64_col(df, "n_stft_frames")?;
    let tuning = f64_col(df, "tuning")?;
    let segments = match df.column("segment") {
        Ok(_) => Some((
            i64_col(df, "segment")?,
            f64_col(df, "segment_start_s")?,
            f64_col(df, "segment_end_s")?,
        )),
        Err(_) => None,
    };
    let mut values = vec![Vec::with_capacity(feature_names.len()); n];
    for name in feature_names {
        for (i, v) in f64_col(df, name)?.into_iter().enumerate() {
            values[i].push(v.ok_or_else(|| anyhow!("column {name} has a null in row {i}"))?);
        }
    }
    let null = |i: usize, col: &str| anyhow!("row {i}: {col} is null");
    values
        .into_iter()
        .enumerate()
        .map(|(i, values)| {
            Ok(FeatureRow {
                path: path[i].ok_or_else(|| null(i, "path"))?.to_string(),
                labels: label_columns.at(i)?.ok_or_else(|| null(i, "a label"))?,
                sample_rate: u32::try_from(sample_rate[i].ok_or_else(|| null(i, "sample_rate"))?)?,
                duration_s: duration_s[i].ok_or_else(|| null(i, "duration_s"))?,
                n_frames: usize::try_from(n_frames[i].ok_or_else(|| null(i, "n_stft_frames"))?)?,
                tuning: tuning[i].ok_or_else(|| null(i, "tuning"))?,
                segment: match &segments {
                    Some((index, start, end)) => Some(SegmentSpan {
                        index: u32::try_from(index[i].ok_or_else(|| null(i, "segment"))?)?,
                        start_s: start[i].ok_or_else(|| null(i, "segment_start_s"))?,
                        end_s: end[i].ok_or_else(|| null(i, "segment_end_s"))?,
                    }),
                    None => None,
                },
                values,
            })
        })
        .collect()
}

/// The training view of `features.parquet` (or `augmented.parquet`): keys, the labels models
/// need, and the feature matrix in the requested column order.
#[derive(Debug, Clone)]
pub struct FeatureTable {
    pub paths: Vec<String>,
    pub emotions: Vec<Emotion>,
    /// Each row's corpus.
    pub corpora: Vec<Arc<str>>,
    /// Each row's speaker, as `corpus/speaker` (unique across corpora); `None` when the corpus
    /// does not say.
    pub speakers: Vec<Option<Arc<str>>>,
    pub genders: Vec<Option<Gender>>,
    /// For augmented rows, the file each was made from; `None` for a features table.
    pub source_paths: Option<Vec<String>>,
    /// `(n_rows, feature_names.len())`.
    pub x: ndarray::Array2<f64>,
}

/// The `vocal_channel` column of a features, segments or augmented table (`None` in rows of a
/// corpus without one, and for every row when no corpus has the column).
pub fn vocal_channels(df: &DataFrame) -> Result<Vec<Option<String>>> {
    if df.column("vocal_channel").is_err() {
        return Ok(vec![None; df.height()]);
    }
    Ok(str_col(df, "vocal_channel")?
        .into_iter()
        .map(|c| c.map(str::to_string))
        .collect())
}

/// Reads the columns a model needs. Fails, naming the column, when one is missing or null, so
/// a features table made with another configuration is not silently misread.
pub fn feature_table(df: &DataFrame, feature_names: &[String]) -> Result<FeatureTable> {
    let n = df.height();
    let paths = str_col(df, "path")?
        .into_iter()
        .map(|p| p.map(str::to_string).ok_or_else(|| anyhow!("null path")))
        .collect::<Result<Vec<_>>>()?;
    let emotions = str_col(df, "emotion")?
        .into_iter()
        .map(|e| {
            e.ok_or_else(|| anyhow!("null emotion"))
                .and_then(|e| Emotion::new(e).map_err(|m| anyhow!("bad emotion: {m}")))
        })
        .collect::<Result<Vec<_>>>()?;
    // One shared string per corpus and per speaker.
    let mut interned: std::collections::HashMap<String, Arc<str>> = Default::default();
    let mut intern = |s: String| -> Arc<str> {
        interned
            .entry(s)
            .or_insert_with_key(|k| Arc::from(k.as_str()))
            .clone()
    };
    let corpus_col = str_col(df, "corpus")?;
    let corpora = corpus_col
        .iter()
        .map(|c| {
            c.map(|c| intern(c.to_string()))
                .ok_or_else(|| anyhow!("null corpus"))
        })
        .collect::<Result<Vec<_>>>()?;
    let speakers = str_col(df, "speaker")?
        .into_iter()
        .zip(&corpus_col)
        .map(|(s, c)| s.map(|s| intern(speaker_key(c.unwrap_or(""), s))))
        .collect();
    let genders = str_col(df, "gender")?
        .into_iter()
        .map(|g| g.and_then(Gender::from_label))
        .collect();
    let source_paths = match df.column("source_path") {
        Ok(_) => Some(
            str_col(df, "source_path")?
                .into_iter()
                .map(|p| {
                    p.map(str::to_string)
                        .ok_or_else(|| anyhow!("null source_path"))
                })
                .collect::<Result<Vec<_>>>()?,
        ),
        Err(_) => None,
    };
    let mut x = ndarray::Array2::<f64>::zeros((n, feature_names.len()));
    for (j, name) in feature_names.iter().enumerate() {
        let col = df
            .column(name)
            .with_context(|| {
                format!("missing feature column {name}; rerun extract with this config")
            })?
            .f64()
            .with_context(|| format!("feature column {name} is not float64"))?;
        for (i, v) in col.iter().enumerate() {
            x[[i, j]] = v.ok_or_else(|| anyhow!("feature column {name} has a null in row {i}"))?;
        }
    }
    Ok(FeatureTable {
        paths,
        emotions,
        corpora,
        speakers,
        genders,
        source_paths,
        x,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_rows_read_back_what_features_frame_wrote() {
        use crate::corpus::{ravdess::Ravdess, CorpusKind, Vocabulary};
        let corpus: Arc<str> = Arc::from("ravdess");
        let parse = |name: &str| {
            Ravdess
                .parse(name, &Vocabulary::default())
                .unwrap()
                .into_labels(&corpus)
        };
        let schema = LabelSchema {
            extras: Ravdess.extra_columns(),
        };
        let labels = parse("03-01-06-01-02-01-12.wav");
        let names: Vec<String> = vec!["a_mean_00".into(), "a_mean_01".into()];
        let rows = vec![
            FeatureRow {
                path: "Actor_12/03-01-06-01-02-01-12.wav".into(),
                labels: labels.clone(),
                sample_rate: 48000,
                duration_s: 3.5,
                n_frames: 329,
                tuning: -0.125,
                segment: None,
                values: vec![1.0 / 3.0, -1e-300],
            },
            FeatureRow {
                path: "x.wav".into(),
                labels: Labels {
                    speaker: None,
                    gender: None,
                    extras: vec![("actor".into(), Extra::Int(7))],
                    ..labels.clone()
                },
                sample_rate: 8000,
                duration_s: 0.25,
                n_frames: 4,
                tuning: 0.0,
                segment: None,
                values: vec![f64::MAX, 0.0],
            },
        ];
        let df = features_frame(&rows, &schema, &names, false).unwrap();
        assert_eq!(feature_rows(&df, &schema, &names).unwrap(), rows);
        let missing = feature_rows(&df, &schema, &["b_mean_00".to_string()]).unwrap_err();
        assert!(missing.to_string().contains("b_mean_00"), "{missing}");
        // A segment table: three more columns, read back too; a row without a segment cannot
        // go into one.
        assert!(features_frame(&rows, &schema, &names, true).is_err());
        let segmented: Vec<FeatureRow> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| FeatureRow {
                segment: Some(SegmentSpan {
                    index: i as u32,
                    start_s: 0.5 * i as f64,
                    end_s: 1.0 + 0.5 * i as f64,
                }),
                ..r.clone()
            })
            .collect();
        let df = features_frame(&segmented, &schema, &names, true).unwrap();
        assert_eq!(
            df.width(),
            features_frame(&rows, &schema, &names, false)
                .unwrap()
                .width()
                + 3
        );
        assert_eq!(feature_rows(&df, &schema, &names).unwrap(), segmented);
    }
}
