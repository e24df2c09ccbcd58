//! The label columns every table shares: the core ones (`corpus`, `speaker`, `emotion`,
//! `gender`) and the configured corpora's extra columns, written from and read back into
//! [`Labels`].

use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use polars::prelude::{Column, DataFrame};

use crate::corpus::{Corpora, Emotion, Extra, ExtraColumn, ExtraType, Gender, Labels};

/// The core label columns every table has, in order; the corpora's extra columns
/// ([`LabelSchema`]) follow them.
pub const CORE_LABEL_COLUMNS: &[&str] = &["corpus", "speaker", "emotion", "gender"];

/// The label columns of a run's tables: the core ones, then the configured corpora's extra
/// columns (RAVDESS's `modality` ... `actor`, EmoDB's `text`, `version`, ...), null in the rows
/// of a corpus that does not have them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LabelSchema {
    pub extras: Vec<ExtraColumn>,
}

impl LabelSchema {
    pub fn of(corpora: &Corpora) -> Result<LabelSchema> {
        Ok(LabelSchema {
            extras: corpora.extra_columns().map_err(|e| anyhow!(e))?,
        })
    }
}

/// The label columns of rows (`None`: a row without labels, whose label columns are null but
/// its corpus).
pub(super) fn label_columns<'a>(
    schema: &LabelSchema,
    corpus: impl Iterator<Item = &'a str>,
    labels: impl Iterator<Item = Option<&'a Labels>> + Clone,
) -> Vec<Column> {
    let text = |name: &str, f: &dyn Fn(&'a Labels) -> Option<&'a str>| {
        Column::new(
            name.into(),
            labels
                .clone()
                .map(|l| l.and_then(f))
                .collect::<Vec<Option<&str>>>(),
        )
    };
    let mut columns = vec![
        Column::new("corpus".into(), corpus.collect::<Vec<&str>>()),
        text("speaker", &|l| l.speaker.as_deref()),
        text("emotion", &|l| Some(l.emotion.label())),
        text("gender", &|l| l.gender.map(Gender::label)),
    ];
    for extra in &schema.extras {
        let name = extra.name.as_str();
        columns.push(match extra.kind {
            ExtraType::Text => text(name, &|l| match l.extra(name) {
                Some(Extra::Text(t)) => Some(t.as_str()),
                _ => None,
            }),
            ExtraType::Int => Column::new(
                name.into(),
                labels
                    .clone()
                    .map(|l| match l.and_then(|l| l.extra(name)) {
                        Some(Extra::Int(i)) => Some(*i),
                        _ => None,
                    })
                    .collect::<Vec<Option<i32>>>(),
            ),
        });
    }
    columns
}

pub(super) fn str_col<'a>(df: &'a DataFrame, name: &str) -> Result<Vec<Option<&'a str>>> {
    Ok(df
        .column(name)
        .with_context(|| format!("missing column {name}"))?
        .str()
        .with_context(|| format!("column {name} is not text"))?
        .iter()
        .collect())
}

pub(super) fn i64_col(df: &DataFrame, name: &str) -> Result<Vec<Option<i64>>> {
    let col = df
        .column(name)
        .with_context(|| format!("missing column {name}"))?
        .cast(&polars::prelude::DataType::Int64)?;
    Ok(col.i64()?.iter().collect())
}

/// The label columns of a frame, read once; [`LabelColumns::at`] gives a row's labels.
pub(super) struct LabelColumns<'a> {
    corpus: Vec<Option<&'a str>>,
    speaker: Vec<Option<&'a str>>,
    emotion: Vec<Option<&'a str>>,
    gender: Vec<Option<&'a str>>,
    /// The extra columns, in schema order.
    extras: Vec<(&'a str, ExtraValues<'a>)>,
}

/// One extra column's values.
enum ExtraValues<'a> {
    Text(Vec<Option<&'a str>>),
    Int(Vec<Option<i64>>),
}

impl<'a> LabelColumns<'a> {
    pub(super) fn read(df: &'a DataFrame, schema: &'a LabelSchema) -> Result<LabelColumns<'a>> {
        let extras = schema
            .extras
            .iter()
            .map(|e| {
                let values = match e.kind {
                    ExtraType::Text => ExtraValues::Text(str_col(df, &e.name)?),
                    ExtraType::Int => ExtraValues::Int(i64_col(df, &e.name)?),
                };
                Ok((e.name.as_str(), values))
            })
            .collect::<Result<_>>()?;
        Ok(LabelColumns {
            corpus: str_col(df, "corpus")?,
            speaker: str_col(df, "speaker")?,
            emotion: str_col(df, "emotion")?,
            gender: str_col(df, "gender")?,
            extras,
        })
    }

    /// Row `i`'s corpus.
    pub(super) fn corpus(&self, i: usize) -> Result<&'a str> {
        self.corpus[i].ok_or_else(|| anyhow!("row {i}: corpus is null"))
    }

    /// Row `i`'s labels; `None` when it has no emotion (a manifest row whose name did not
    /// parse).
    pub(super) fn at(&self, i: usize) -> Result<Option<Labels>> {
        let Some(e) = self.emotion[i] else {
            return Ok(None);
        };
        let gender = match self.gender[i] {
            Some(g) => Some(Gender::from_label(g).ok_or_else(|| anyhow!("bad gender {g}"))?),
            None => None,
        };
        let mut extras = Vec::new();
        for (name, values) in &self.extras {
            let value = match values {
                ExtraValues::Text(col) => col[i].map(|t| Extra::Text(t.to_string())),
                ExtraValues::Int(col) => match col[i] {
                    Some(v) => Some(Extra::Int(i32::try_from(v).map_err(|_| {
                        anyhow!("row {i}: {name} = {v} does not fit a 32-bit integer")
                    })?)),
                    None => None,
                },
            };
            if let Some(v) = value {
                extras.push((name.to_string(), v));
            }
        }
        Ok(Some(Labels {
            corpus: Arc::from(self.corpus(i)?),
            speaker: self.speaker[i].map(str::to_string),
            emotion: Emotion::new(e).map_err(|m| anyhow!("bad emotion: {m}"))?,
            gender,
            extras,
        }))
    }
}
