//! The schemas of the tables the pipeline writes, and their typed rows. Column names and types
//! here are a public contract (README "Outputs"): people read these files in pandas and DuckDB.

use anyhow::{anyhow, Context, Result};
use polars::prelude::{Column, DataFrame, NamedFrom, Series};

use crate::audio::Header;
use crate::corpus::{Emotion, Intensity, Labels, Modality, Statement, VocalChannel};

/// Whether a scanned file can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Name parsed and header read.
    Ok,
    /// The file name is not `MM-VV-EE-II-SS-RR-AA`.
    BadName,
    /// The file (or a path on the way to it) could not be read as audio.
    Unreadable,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::BadName => "bad_name",
            Status::Unreadable => "unreadable",
        }
    }

    pub fn from_label(s: &str) -> Option<Status> {
        [Status::Ok, Status::BadName, Status::Unreadable]
            .into_iter()
            .find(|st| st.label() == s)
    }
}

/// One row of `manifest.parquet`: one audio file (or unreadable path) under the corpus root.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestRow {
    /// Relative to the corpus root, `/`-separated. The key of every table.
    pub path: String,
    pub status: Status,
    /// One line saying what is wrong; `None` when status is ok.
    pub error: Option<String>,
    pub labels: Option<Labels>,
    pub header: Option<Header>,
    pub size_bytes: Option<u64>,
}

/// Label columns shared by the manifest and the features table, in order.
pub const LABEL_COLUMNS: &[&str] = &[
    "modality",
    "vocal_channel",
    "emotion",
    "intensity",
    "statement",
    "repetition",
    "actor",
    "gender",
];

fn label_columns<'a>(labels: impl Iterator<Item = Option<&'a Labels>> + Clone) -> Vec<Column> {
    let text = |name: &str, f: fn(&Labels) -> &'static str| {
        Column::new(
            name.into(),
            labels
                .clone()
                .map(|l| l.map(f))
                .collect::<Vec<Option<&str>>>(),
        )
    };
    vec![
        text("modality", |l| l.modality.label()),
        text("vocal_channel", |l| l.vocal_channel.label()),
        text("emotion", |l| l.emotion.label()),
        text("intensity", |l| l.intensity.label()),
        text("statement", |l| l.statement.label()),
        Column::new(
            "repetition".into(),
            labels
                .clone()
                .map(|l| l.map(|l| i32::from(l.repetition)))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "actor".into(),
            labels
                .clone()
                .map(|l| l.map(|l| i32::from(l.actor)))
                .collect::<Vec<_>>(),
        ),
        text("gender", |l| l.gender().label()),
    ]
}

/// `manifest.parquet` columns: `path`, `status`, `error`, the label columns, then
/// `sample_rate`, `channels`, `bits_per_sample`, `sample_format`, `n_samples` (per channel), `duration_s`,
/// `size_bytes` (nullable where unknown).
pub fn manifest_frame(rows: &[ManifestRow]) -> Result<DataFrame> {
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
    columns.extend(label_columns(rows.iter().map(|r| r.labels.as_ref())));
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

fn str_col<'a>(df: &'a DataFrame, name: &str) -> Result<Vec<Option<&'a str>>> {
    Ok(df
        .column(name)
        .with_context(|| format!("missing column {name}"))?
        .str()
        .with_context(|| format!("column {name} is not text"))?
        .iter()
        .collect())
}

fn i64_col(df: &DataFrame, name: &str) -> Result<Vec<Option<i64>>> {
    let col = df
        .column(name)
        .with_context(|| format!("missing column {name}"))?
        .cast(&polars::prelude::DataType::Int64)?;
    Ok(col.i64()?.iter().collect())
}

/// The label columns of a frame, read once; [`LabelColumns::at`] gives a row's labels.
struct LabelColumns<'a> {
    modality: Vec<Option<&'a str>>,
    vocal: Vec<Option<&'a str>>,
    emotion: Vec<Option<&'a str>>,
    intensity: Vec<Option<&'a str>>,
    statement: Vec<Option<&'a str>>,
    repetition: Vec<Option<i64>>,
    actor: Vec<Option<i64>>,
}

impl<'a> LabelColumns<'a> {
    fn read(df: &'a DataFrame) -> Result<LabelColumns<'a>> {
        Ok(LabelColumns {
            modality: str_col(df, "modality")?,
            vocal: str_col(df, "vocal_channel")?,
            emotion: str_col(df, "emotion")?,
            intensity: str_col(df, "intensity")?,
            statement: str_col(df, "statement")?,
            repetition: i64_col(df, "repetition")?,
            actor: i64_col(df, "actor")?,
        })
    }

    /// Row `i`'s labels; `None` when any is null (a manifest row whose name did not parse).
    fn at(&self, i: usize) -> Result<Option<Labels>> {
        let (Some(m), Some(v), Some(e), Some(it), Some(s), Some(r), Some(a)) = (
            self.modality[i],
            self.vocal[i],
            self.emotion[i],
            self.intensity[i],
            self.statement[i],
            self.repetition[i],
            self.actor[i],
        ) else {
            return Ok(None);
        };
        Ok(Some(Labels {
            modality: Modality::from_label(m).ok_or_else(|| anyhow!("bad modality {m}"))?,
            vocal_channel: VocalChannel::from_label(v)
                .ok_or_else(|| anyhow!("bad vocal_channel {v}"))?,
            emotion: Emotion::from_label(e).ok_or_else(|| anyhow!("bad emotion {e}"))?,
            intensity: Intensity::from_label(it).ok_or_else(|| anyhow!("bad intensity {it}"))?,
            statement: Statement::from_label(s).ok_or_else(|| anyhow!("bad statement {s}"))?,
            repetition: u8::try_from(r)?,
            actor: u8::try_from(a)?,
        }))
    }
}

/// Reads the rows back from a manifest frame (the inverse of [`manifest_frame`]).
pub fn manifest_rows(df: &DataFrame) -> Result<Vec<ManifestRow>> {
    let path = str_col(df, "path")?;
    let status = str_col(df, "status")?;
    let error = str_col(df, "error")?;
    let label_columns = LabelColumns::read(df)?;
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

/// `features.parquet` columns: `path`, the label columns, `sample_rate`, `duration_s`,
/// `n_stft_frames`, `tuning`, then (when `segmented`: one row per segment) `segment`,
/// `segment_start_s` and `segment_end_s`, then one `Float64` column per feature
/// (`feature_names`).
pub fn features_frame(
    rows: &[FeatureRow],
    feature_names: &[String],
    segmented: bool,
) -> Result<DataFrame> {
    let mut columns = vec![Column::new(
        "path".into(),
        rows.iter().map(|r| r.path.as_str()).collect::<Vec<_>>(),
    )];
    columns.extend(label_columns(rows.iter().map(|r| Some(&r.labels))));
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
pub fn feature_rows(df: &DataFrame, feature_names: &[String]) -> Result<Vec<FeatureRow>> {
    let n = df.height();
    let path = str_col(df, "path")?;
    let label_columns = LabelColumns::read(df)?;
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
    pub actors: Vec<u8>,
    /// For augmented rows, the file each was made from; `None` for a features table.
    pub source_paths: Option<Vec<String>>,
    /// `(n_rows, feature_names.len())`.
    pub x: ndarray::Array2<f64>,
}

/// The `vocal_channel` column of a features, segments or augmented table.
pub fn vocal_channels(df: &DataFrame) -> Result<Vec<VocalChannel>> {
    str_col(df, "vocal_channel")?
        .into_iter()
        .map(|c| {
            c.and_then(VocalChannel::from_label)
                .ok_or_else(|| anyhow!("bad vocal_channel {c:?}"))
        })
        .collect()
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
            e.and_then(Emotion::from_label)
                .ok_or_else(|| anyhow!("bad emotion {e:?}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let actors = i64_col(df, "actor")?
        .into_iter()
        .map(|a| {
            a.and_then(|a| u8::try_from(a).ok())
                .ok_or_else(|| anyhow!("bad actor {a:?}"))
        })
        .collect::<Result<Vec<_>>>()?;
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
        actors,
        source_paths,
        x,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_rows_read_back_what_features_frame_wrote() {
        let labels = Labels::parse("03-01-06-01-02-01-12.wav").unwrap();
        let names: Vec<String> = vec!["a_mean_00".into(), "a_mean_01".into()];
        let rows = vec![
            FeatureRow {
                path: "Actor_12/03-01-06-01-02-01-12.wav".into(),
                labels,
                sample_rate: 48000,
                duration_s: 3.5,
                n_frames: 329,
                tuning: -0.125,
                segment: None,
                values: vec![1.0 / 3.0, -1e-300],
            },
            FeatureRow {
                path: "x.wav".into(),
                labels: Labels { actor: 7, ..labels },
                sample_rate: 8000,
                duration_s: 0.25,
                n_frames: 4,
                tuning: 0.0,
                segment: None,
                values: vec![f64::MAX, 0.0],
            },
        ];
        let df = features_frame(&rows, &names, false).unwrap();
        assert_eq!(feature_rows(&df, &names).unwrap(), rows);
        let missing = feature_rows(&df, &["b_mean_00".to_string()]).unwrap_err();
        assert!(missing.to_string().contains("b_mean_00"), "{missing}");
        // A segment table: three more columns, read back too; a row without a segment cannot
        // go into one.
        assert!(features_frame(&rows, &names, true).is_err());
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
        let df = features_frame(&segmented, &names, true).unwrap();
        assert_eq!(
            df.width(),
            features_frame(&rows, &names, false).unwrap().width() + 3
        );
        assert_eq!(feature_rows(&df, &names).unwrap(), segmented);
    }
}
