//! The `manifest` kind: a CSV or Parquet file listing the recordings, one row each, with
//! columns `path` (relative to the manifest's folder, or absolute) and `emotion`, and optional
//! `speaker`, `gender` (`m`/`male`/`f`/`female`) and `split`. Other columns pass through to
//! `manifest.parquet` as text (as `manifest_<name>` where the name is one of the table's own,
//! e.g. `duration_s`). The emotion is read through the vocabulary, so an unmapped label
//! is an error naming the row's file and the label.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use polars::prelude::DataType;

use super::{Extra, ExtraColumn, Gender, NameError, Parsed, Vocabulary};

/// The columns the manifest kind gives meaning to.
pub const KNOWN_COLUMNS: &[&str] = &["path", "emotion", "speaker", "gender", "split"];

/// Columns of `manifest.parquet` itself: a manifest column of one of these names passes
/// through as `manifest_<name>`.
const RESERVED: &[&str] = &[
    "corpus",
    "status",
    "error",
    "sample_rate",
    "channels",
    "bits_per_sample",
    "sample_format",
    "n_samples",
    "duration_s",
    "size_bytes",
];

/// The kind's extra columns in every table: `split` (null where the manifest has none).
pub fn extra_columns() -> Vec<ExtraColumn> {
    vec![ExtraColumn::text("split")]
}

/// The convention quoted in errors.
pub fn convention(manifest: &Path) -> String {
    format!(
        "a manifest row of {} with a path and an emotion (columns path, emotion; optional \
         speaker, gender, split)",
        manifest.display()
    )
}

/// One row of a manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The row's path as the tables' key: relative to the manifest's folder (`/`-separated),
    /// or the absolute path when the file lies outside it.
    pub rel_path: String,
    pub abs_path: PathBuf,
    pub labels: Result<Parsed, NameError>,
}

/// Reads a manifest (`.csv`, or `.parquet`/`.pq`). Fails, naming the file, when it cannot be
/// read or lacks `path` or `emotion`; a bad row becomes an [`Entry`] with an error.
pub fn read(manifest: &Path, vocabulary: &Vocabulary) -> Result<Vec<Entry>, String> {
    let (header, rows) = read_cells(manifest)?;
    let column = |name: &str| header.iter().position(|h| h == name);
    let (Some(path_col), Some(emotion_col)) = (column("path"), column("emotion")) else {
        return Err(format!(
            "manifest {}: needs columns path and emotion, found {header:?}",
            manifest.display()
        ));
    };
    let (speaker_col, gender_col, split_col) =
        (column("speaker"), column("gender"), column("split"));
    let passthrough: Vec<usize> = (0..header.len())
        .filter(|&i| !KNOWN_COLUMNS.contains(&header[i].as_str()))
        .collect();
    let columns = Columns {
        header: &header,
        emotion: emotion_col,
        passthrough: &passthrough,
    };
    let folder = manifest.parent().unwrap_or(Path::new(""));
    let mut seen = HashSet::new();
    let mut entries = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let cell = |c: Option<usize>| {
            c.and_then(|c| row[c].as_deref())
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let line = i + 2; // 1-based, after the header
        let Some(path) = cell(Some(path_col)) else {
            entries.push(Entry {
                rel_path: format!("{}#row{line}", manifest.display()),
                abs_path: PathBuf::new(),
                labels: Err(NameError(format!(
                    "expected {}; row {line} has no path",
                    convention(manifest)
                ))),
            });
            continue;
        };
        let (rel_path, abs_path) = locate(folder, path);
        let labels = if !seen.insert(rel_path.clone()) {
            Err(NameError(format!(
                "{} lists {path:?} more than once (row {line})",
                manifest.display()
            )))
        } else {
            parse_row(manifest, line, path, &columns, row, vocabulary).and_then(|mut p| {
                if let Some(s) = cell(speaker_col) {
                    p.speaker = Some(s.to_string());
                }
                if let Some(g) = cell(gender_col) {
                    p.gender = Some(Gender::from_label(g).ok_or_else(|| {
                        NameError(format!(
                            "{} row {line} ({path}): gender {g:?} is not m/male/f/female",
                            manifest.display()
                        ))
                    })?);
                }
                if let Some(s) = cell(split_col) {
                    p.extras
                        .insert(0, ("split".into(), Extra::Text(s.to_string())));
                }
                Ok(p)
            })
        };
        entries.push(Entry {
            rel_path,
            abs_path,
            labels,
        });
    }
    Ok(entries)
}

/// Where a manifest's columns are.
struct Columns<'a> {
    header: &'a [String],
    emotion: usize,
    passthrough: &'a [usize],
}

fn parse_row(
    manifest: &Path,
    line: usize,
    path: &str,
    columns: &Columns,
    row: &[Option<String>],
    vocabulary: &Vocabulary,
) -> Result<Parsed, NameError> {
    let raw = row[columns.emotion].as_deref().map(str::trim).unwrap_or("");
    if raw.is_empty() {
        return Err(NameError(format!(
            "{} row {line} ({path}): no emotion",
            manifest.display()
        )));
    }
    let emotion = vocabulary.resolve(raw).ok_or_else(|| {
        NameError(format!(
            "{} row {line} ({path}): unmapped label {raw:?}: not a known emotion name; map it \
             with [labels] map = {{ {raw:?} = \"...\" }}",
            manifest.display()
        ))
    })?;
    let extras = columns
        .passthrough
        .iter()
        .filter_map(|&c| {
            row[c].as_ref().map(|v| {
                let name = &columns.header[c];
                let name = if RESERVED.contains(&name.as_str()) {
                    format!("manifest_{name}")
                } else {
                    name.clone()
                };
                (name, Extra::Text(v.clone()))
            })
        })
        .collect();
    Ok(Parsed {
        speaker: None,
        emotion,
        gender: None,
        extras,
    })
}

/// The tables' key and the file of a manifest path.
fn locate(folder: &Path, path: &str) -> (String, PathBuf) {
    let p = Path::new(path);
    if p.is_absolute() {
        let key = match p.strip_prefix(folder) {
            Ok(rel) if folder.is_absolute() => slash_path(rel),
            _ => slash_path(p),
        };
        return (key, p.to_path_buf());
    }
    let rel = slash_path(p);
    (rel.clone(), folder.join(p))
}

fn slash_path(p: &Path) -> String {
    let parts: Vec<String> = p
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let joined = parts.join("/");
    if p.is_absolute() {
        format!("/{}", joined.trim_start_matches('/'))
    } else {
        joined
    }
}

type Cells = (Vec<String>, Vec<Vec<Option<String>>>);

fn read_cells(manifest: &Path) -> Result<Cells, String> {
    let ext = manifest
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let fail =
        |e: &dyn std::fmt::Display| format!("cannot read manifest {}: {e}", manifest.display());
    match ext.as_deref() {
        Some("csv") => {
            let mut reader = csv::ReaderBuilder::new()
                .flexible(false)
                .from_path(manifest)
                .map_err(|e| fail(&e))?;
            let header: Vec<String> = reader
                .headers()
                .map_err(|e| fail(&e))?
                .iter()
                .map(|h| h.trim().to_string())
                .collect();
            let rows = reader
                .records()
                .map(|r| {
                    r.map(|r| r.iter().map(|c| Some(c.to_string())).collect())
                        .map_err(|e| fail(&e))
                })
                .collect::<Result<Vec<Vec<Option<String>>>, String>>()?;
            Ok((header, rows))
        }
        Some("parquet") | Some("pq") => {
            let df = crate::data::parquet::read_serial(manifest).map_err(|e| fail(&e))?;
            let header: Vec<String> = df
                .get_column_names()
                .iter()
                .map(|n| n.to_string())
                .collect();
            let mut columns = Vec::with_capacity(header.len());
            for c in df.columns() {
                let s = c.cast(&DataType::String).map_err(|e| fail(&e))?;
                let s = s.str().map_err(|e| fail(&e))?;
                columns.push(s.iter().map(|v| v.map(str::to_string)).collect::<Vec<_>>());
            }
            let rows = (0..df.height())
                .map(|i| columns.iter().map(|c| c[i].clone()).collect())
                .collect();
            Ok((header, rows))
        }
        _ => Err(format!(
            "manifest {}: expected a .csv or .parquet file",
            manifest.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_csv_manifest_with_passthrough_and_bad_rows() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("list.csv");
        std::fs::write(
            &m,
            "path,emotion,speaker,gender,split,session\n\
             clips/a.wav,Anger,s1,F,train,1\n\
             ./clips/b.wav,joy,s2,m,test,2\n\
             clips/c.wav,frustrated,s1,f,,1\n\
             clips/a.wav,sad,s1,f,,1\n\
             ,sad,s3,f,,1\n\
             clips/d.wav,sad,s3,x,,1\n",
        )
        .unwrap();
        let entries = read(&m, &Vocabulary::default()).unwrap();
        assert_eq!(entries.len(), 6);
        let a = entries[0].labels.as_ref().unwrap();
        assert_eq!(entries[0].rel_path, "clips/a.wav");
        assert_eq!(entries[0].abs_path, dir.path().join("clips/a.wav"));
        assert_eq!(a.emotion.label(), "angry");
        assert_eq!(a.speaker.as_deref(), Some("s1"));
        assert_eq!(a.gender, Some(Gender::Female));
        assert_eq!(
            a.extras,
            vec![
                ("split".to_string(), Extra::Text("train".into())),
                ("session".to_string(), Extra::Text("1".into()))
            ]
        );
        assert_eq!(entries[1].rel_path, "clips/b.wav");
        assert_eq!(entries[1].labels.as_ref().unwrap().emotion.label(), "happy");
        let err = |i: usize| entries[i].labels.as_ref().unwrap_err().to_string();
        assert!(
            err(2).contains("unmapped label \"frustrated\""),
            "{}",
            err(2)
        );
        assert!(err(2).contains("clips/c.wav"), "{}", err(2));
        assert!(err(3).contains("more than once"), "{}", err(3));
        assert!(err(4).contains("no path"), "{}", err(4));
        assert!(err(5).contains("gender \"x\""), "{}", err(5));
    }

    #[test]
    fn a_manifest_without_the_required_columns_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("list.csv");
        std::fs::write(&m, "file,label\na.wav,sad\n").unwrap();
        let err = read(&m, &Vocabulary::default()).unwrap_err();
        assert!(err.contains("needs columns path and emotion"), "{err}");
        assert!(read(&dir.path().join("list.txt"), &Vocabulary::default())
            .unwrap_err()
            .contains(".csv or .parquet"));
    }

    #[test]
    fn reads_a_parquet_manifest() {
        use polars::prelude::*;
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("list.parquet");
        let mut df = df!(
            "path" => ["x/1.wav", "/abs/2.wav"],
            "emotion" => ["neutral", "surprise"],
            "take" => [1i64, 2],
        )
        .unwrap();
        crate::data::parquet::write(&m, &mut df).unwrap();
        let entries = read(&m, &Vocabulary::default()).unwrap();
        assert_eq!(entries[0].rel_path, "x/1.wav");
        assert_eq!(entries[1].rel_path, "/abs/2.wav");
        assert_eq!(entries[1].abs_path, PathBuf::from("/abs/2.wav"));
        let p = entries[1].labels.as_ref().unwrap();
        assert_eq!(p.emotion.label(), "surprised");
        assert_eq!(
            p.extras,
            vec![("take".to_string(), Extra::Text("2".into()))]
        );
    }
}
