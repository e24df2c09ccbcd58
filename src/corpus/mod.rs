//! Corpora: what a recording's labels are, read from its path (or a manifest row), for every
//! kind of corpus the pipeline knows; and walking a corpus tree.
//!
//! One small module per kind, behind [`CorpusKind`] (as symphonia keeps one module per format
//! behind one trait): [`ravdess`], [`emodb`], [`emovo`], [`crema_d`], [`tess`], [`savee`] parse
//! their published file-name conventions; [`folders`] reads the label from a folder name;
//! [`manifest`] reads a CSV or Parquet list of files. Everything after the scan stage knows only
//! [`Labels`]: `corpus`, `speaker`, `emotion` (in the one [`vocabulary`]), `gender`, and the
//! kind's extra columns. Parsing is pure; [`walk`] and [`manifest::read`] touch the file system.

pub mod corpora;
pub mod crema_d;
pub mod emodb;
pub mod emovo;
pub mod folders;
pub mod manifest;
pub mod ravdess;
pub mod savee;
pub mod tess;
pub mod vocabulary;
mod walk;

use std::fmt;
use std::sync::Arc;

pub use corpora::{Corpora, Corpus, Layout, Listed};
pub use vocabulary::{Emotion, Vocabulary};
pub use walk::{walk, Found, WalkProblem, AUDIO_EXTENSIONS};

/// Speaker sex, as the corpus documents it (a column read by people; `None` when unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Gender {
    Male,
    Female,
}

impl Gender {
    pub fn label(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
        }
    }

    /// `male`/`m`/`female`/`f`, any case.
    pub fn from_label(s: &str) -> Option<Gender> {
        match s.trim().to_ascii_lowercase().as_str() {
            "male" | "m" => Some(Gender::Male),
            "female" | "f" => Some(Gender::Female),
            _ => None,
        }
    }
}

/// The value of a kind's extra column in one row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Extra {
    Text(String),
    /// Written as a 32-bit integer column.
    Int(i32),
}

/// The type of an extra column in the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExtraType {
    Text,
    Int,
}

/// A column a kind adds to the tables besides the core ones (RAVDESS's `intensity`, CREMA-D's
/// `level`, ...). Null in the rows of other corpora.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtraColumn {
    pub name: String,
    pub kind: ExtraType,
}

impl ExtraColumn {
    pub fn text(name: &str) -> ExtraColumn {
        ExtraColumn {
            name: name.to_string(),
            kind: ExtraType::Text,
        }
    }

    pub fn int(name: &str) -> ExtraColumn {
        ExtraColumn {
            name: name.to_string(),
            kind: ExtraType::Int,
        }
    }
}

/// Everything known of one recording's labels.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Labels {
    /// The configured corpus's name (the `corpus` column).
    pub corpus: Arc<str>,
    /// The speaker's id within the corpus (RAVDESS `12`, EmoDB `03`, CREMA-D `1001`); `None`
    /// when the corpus does not say.
    pub speaker: Option<String>,
    pub emotion: Emotion,
    pub gender: Option<Gender>,
    /// The kind's extra columns, by name, in the kind's column order.
    pub extras: Vec<(String, Extra)>,
}

impl Labels {
    pub fn extra(&self, name: &str) -> Option<&Extra> {
        self.extras.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// A speaker as a key unique across corpora: `corpus/speaker` (corpus names have no `/`).
pub fn speaker_key(corpus: &str, speaker: &str) -> String {
    format!("{corpus}/{speaker}")
}

/// The speaker's id within its corpus, from a [`speaker_key`].
pub fn speaker_of_key(key: &str) -> &str {
    key.split_once('/').map_or(key, |(_, s)| s)
}

/// Why a path does not follow a kind's convention, or its label is not known. The message names
/// the convention expected, so a user sees at once what the kind wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError(pub String);

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NameError {}

/// What a kind reads from one path, before the corpus name is attached.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub speaker: Option<String>,
    pub emotion: Emotion,
    pub gender: Option<Gender>,
    pub extras: Vec<(String, Extra)>,
}

impl Parsed {
    pub fn into_labels(self, corpus: &Arc<str>) -> Labels {
        Labels {
            corpus: corpus.clone(),
            speaker: self.speaker,
            emotion: self.emotion,
            gender: self.gender,
            extras: self.extras,
        }
    }
}

/// One layout of corpus: turns a path relative to the corpus root (`/`-separated) into labels.
pub trait CorpusKind: Send + Sync + fmt::Debug {
    /// The `kind` value in `[[corpora]]`.
    fn name(&self) -> &'static str;
    /// One line: the convention, with an example, quoted in every error.
    fn convention(&self) -> String;
    /// Columns the kind adds to the tables.
    fn extra_columns(&self) -> Vec<ExtraColumn>;
    /// The labels of the file at `rel_path`; the emotion goes through `vocabulary` (the user's
    /// `labels.map`; a free-form label through its synonyms too).
    fn parse(&self, rel_path: &str, vocabulary: &Vocabulary) -> Result<Parsed, NameError>;
}

/// The file-name kinds, which take no options: `kind = "..."` picks one by name.
pub const FILE_NAME_KINDS: &[&dyn CorpusKind] = &[
    &ravdess::Ravdess,
    &emodb::EmoDb,
    &emovo::Emovo,
    &crema_d::CremaD,
    &tess::Tess,
    &savee::Savee,
];

/// Every `kind` name `[[corpora]]` accepts.
pub const KIND_NAMES: &[&str] = &[
    "ravdess", "emodb", "emovo", "crema_d", "tess", "savee", "folders", "manifest",
];

/// The file-name kind that reads the most of `paths` (file names, or `/`-separated paths), in
/// [`FILE_NAME_KINDS`] order on a tie; `None` when no kind reads any. For `predict`, which is
/// given files, not a configured corpus.
pub fn guess_kind(paths: &[&str]) -> Option<&'static dyn CorpusKind> {
    let vocabulary = Vocabulary::default();
    let mut best: Option<(&'static dyn CorpusKind, usize)> = None;
    for &kind in FILE_NAME_KINDS {
        let n = paths
            .iter()
            .filter(|p| kind.parse(p, &vocabulary).is_ok())
            .count();
        if n > 0 && best.is_none_or(|(_, m)| n > m) {
            best = Some((kind, n));
        }
    }
    best.map(|(k, _)| k)
}

/// The file-name kind called `name`.
pub fn file_name_kind(name: &str) -> Option<&'static dyn CorpusKind> {
    FILE_NAME_KINDS.iter().copied().find(|k| k.name() == name)
}

/// The file name of a `/`-separated relative path, without its extension.
pub(crate) fn stem(rel_path: &str) -> &str {
    let name = rel_path.rsplit('/').next().unwrap_or(rel_path);
    match name.rfind('.') {
        Some(dot) if dot > 0 => &name[..dot],
        _ => name,
    }
}

/// A kind's error: `"{convention}: {what}"`.
pub(crate) fn name_error(kind: &dyn CorpusKind, what: impl fmt::Display) -> NameError {
    NameError(format!("expected {}; {what}", kind.convention()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_name_kind_is_listed_by_its_name() {
        for k in FILE_NAME_KINDS {
            assert!(KIND_NAMES.contains(&k.name()), "{}", k.name());
            assert_eq!(file_name_kind(k.name()).unwrap().name(), k.name());
        }
        assert!(file_name_kind("folders").is_none());
    }

    #[test]
    fn the_kind_that_reads_most_names_is_guessed() {
        let names = [
            "03a01Fa.wav",
            "08b02Wb.wav",
            "03-01-01-01-01-01-01.wav",
            "notes.wav",
        ];
        assert_eq!(guess_kind(&names).unwrap().name(), "emodb");
        assert_eq!(
            guess_kind(&["x/03-01-06-01-02-01-12.wav"]).unwrap().name(),
            "ravdess"
        );
        assert!(guess_kind(&["my recording.wav"]).is_none());
    }

    #[test]
    fn stem_drops_folders_and_extension() {
        assert_eq!(stem("a/b/03a01Fa.wav"), "03a01Fa");
        assert_eq!(stem("DC_a01.flac"), "DC_a01");
        assert_eq!(stem("noext"), "noext");
    }

    #[test]
    fn gender_labels() {
        assert_eq!(Gender::from_label("F"), Some(Gender::Female));
        assert_eq!(Gender::from_label(" male"), Some(Gender::Male));
        assert_eq!(Gender::from_label("x"), None);
    }
}
