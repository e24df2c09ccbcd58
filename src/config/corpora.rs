//! `[[corpora]]` and `[labels]`: which corpora a run reads, and how their labels are named.
//!
//! ```toml
//! [[corpora]]
//! name = "ravdess"      # the `corpus` column's value (default: the kind's name)
//! kind = "ravdess"      # ravdess | emodb | emovo | crema_d | tess | savee | folders | manifest
//! root = "data/ravdess" # the folder walked (manifest: the manifest's folder by default)
//!
//! [labels]
//! map = { "joy" = "happy" }        # raw label (or canonical name) -> label name
//! keep = ["angry", "happy", "neutral", "sad"]   # train and test on these only
//! ```
//! Without `[[corpora]]`, `data.root` is one RAVDESS corpus named `ravdess`, as before.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::corpus::{
    file_name_kind, folders::Folders, Corpora, Corpus, Emotion, Layout, Vocabulary, KIND_NAMES,
};

/// One `[[corpora]]` entry.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorpusConfig {
    /// The `corpus` column's value; letters, digits, `_` and `-`. Default: the kind's name.
    pub name: Option<String>,
    /// ravdess | emodb | emovo | crema_d | tess | savee | folders | manifest. Required.
    pub kind: String,
    /// The folder walked, relative to the config file's folder. Required except for
    /// `manifest` (default: the manifest's folder).
    pub root: Option<PathBuf>,
    /// `manifest` only: the CSV or Parquet file listing the recordings.
    pub manifest: Option<PathBuf>,
    /// `folders` only: which folder level names the class (1: the first under root). Default 1.
    pub label_level: Option<usize>,
    /// `folders` only: a regex on the relative path with a named group `speaker` (and
    /// optionally `gender`). Default: no speakers.
    pub speaker_pattern: Option<String>,
}

/// `[labels]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LabelsConfig {
    /// Raw label (a folder name, a manifest cell) or canonical name -> the label name to use.
    /// Default: none (the built-in synonyms only).
    pub map: BTreeMap<String, String>,
    /// Train and test on these emotions only (after `map`). Default: all.
    pub keep: Vec<String>,
}

impl LabelsConfig {
    pub fn vocabulary(&self) -> Result<Vocabulary, String> {
        Vocabulary::new(&self.map)
    }

    /// `keep` as labels; empty keeps every class.
    pub fn kept(&self) -> Result<Vec<Emotion>, String> {
        self.keep
            .iter()
            .map(|k| Emotion::new(k).map_err(|e| format!("labels.keep: {e}")))
            .collect()
    }
}

impl CorpusConfig {
    /// The corpus's name: `name`, else the kind's.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.kind)
    }

    /// Checks the entry (`i`: its position, for messages) and builds the corpus.
    pub fn build(&self, i: usize) -> Result<Corpus, String> {
        let at = |key: &str| format!("corpora[{i}].{key}");
        if !KIND_NAMES.contains(&self.kind.as_str()) {
            return Err(format!(
                "{}: {:?} is not a corpus kind ({})",
                at("kind"),
                self.kind,
                KIND_NAMES.join(", ")
            ));
        }
        let name = self.name();
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid {
            return Err(format!(
                "{}: {name:?} must be letters, digits, _ or -",
                at("name")
            ));
        }
        let only = |key: &str, set: bool, kind: &str| {
            if set && self.kind != kind {
                Err(format!("{}: only for kind = \"{kind}\"", at(key)))
            } else {
                Ok(())
            }
        };
        only("manifest", self.manifest.is_some(), "manifest")?;
        only("label_level", self.label_level.is_some(), "folders")?;
        only("speaker_pattern", self.speaker_pattern.is_some(), "folders")?;
        let layout = match self.kind.as_str() {
            "folders" => Layout::Folders(
                Folders::new(
                    self.label_level.unwrap_or(1),
                    self.speaker_pattern.as_deref(),
                )
                .map_err(|e| format!("corpora[{i}].{e}"))?,
            ),
            "manifest" => Layout::Manifest(
                self.manifest
                    .clone()
                    .ok_or_else(|| format!("{}: kind = \"manifest\" needs it", at("manifest")))?,
            ),
            kind => Layout::Names(file_name_kind(kind).expect("listed in KIND_NAMES")),
        };
        let root = match (&self.root, &layout) {
            (Some(root), _) => root.clone(),
            (None, Layout::Manifest(file)) => {
                file.parent().map(Path::to_path_buf).unwrap_or_default()
            }
            (None, _) => {
                return Err(format!(
                    "{}: required for kind = {:?}",
                    at("root"),
                    self.kind
                ))
            }
        };
        Ok(Corpus {
            name: Arc::from(name),
            root,
            layout,
        })
    }

    /// Makes relative paths relative to `base`.
    pub fn resolve_paths(&mut self, base: &Path) {
        for p in [&mut self.root, &mut self.manifest].into_iter().flatten() {
            if p.is_relative() && !base.as_os_str().is_empty() {
                *p = base.join(&*p);
            }
        }
    }
}

/// The corpora of `entries` (or, when there are none, one RAVDESS corpus at `default_root`)
/// with `labels`' vocabulary. Fails naming the key.
pub fn corpora(
    entries: &[CorpusConfig],
    default_root: &Path,
    labels: &LabelsConfig,
) -> Result<Corpora, String> {
    let vocabulary = labels.vocabulary()?;
    labels.kept()?;
    let corpora = if entries.is_empty() {
        vec![CorpusConfig {
            kind: "ravdess".into(),
            root: Some(default_root.to_path_buf()),
            ..CorpusConfig::default()
        }
        .build(0)?]
    } else {
        entries
            .iter()
            .enumerate()
            .map(|(i, c)| c.build(i))
            .collect::<Result<Vec<_>, _>>()?
    };
    for (i, c) in corpora.iter().enumerate() {
        if corpora[..i].iter().any(|o| o.name == c.name) {
            return Err(format!(
                "corpora[{i}].name: {:?} is used by an earlier corpus; give each a name",
                &*c.name
            ));
        }
    }
    let corpora = Corpora {
        corpora,
        vocabulary,
    };
    corpora.extra_columns()?;
    Ok(corpora)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: &str, root: Option<&str>) -> CorpusConfig {
        CorpusConfig {
            kind: kind.into(),
            root: root.map(PathBuf::from),
            ..CorpusConfig::default()
        }
    }

    #[test]
    fn no_entries_is_one_ravdess_corpus_at_the_data_root() {
        let c = corpora(&[], Path::new("d/rav"), &LabelsConfig::default()).unwrap();
        assert_eq!(c.corpora.len(), 1);
        assert_eq!(&*c.corpora[0].name, "ravdess");
        assert_eq!(c.corpora[0].kind(), "ravdess");
        assert_eq!(c.corpora[0].root, PathBuf::from("d/rav"));
    }

    #[test]
    fn bad_entries_are_refused_naming_the_key() {
        let labels = LabelsConfig::default();
        let err = |entries: &[CorpusConfig]| corpora(entries, Path::new(""), &labels).unwrap_err();
        assert!(err(&[entry("timit", Some("x"))]).contains("corpora[0].kind"));
        assert!(err(&[entry("emodb", None)]).contains("corpora[0].root"));
        assert!(err(&[entry("manifest", None)]).contains("corpora[0].manifest"));
        assert!(err(&[entry("emodb", Some("a")), entry("emodb", Some("b"))])
            .contains("corpora[1].name"));
        let mut f = entry("emodb", Some("a"));
        f.label_level = Some(2);
        assert!(err(&[f]).contains("corpora[0].label_level: only for kind = \"folders\""));
        let mut f = entry("folders", Some("a"));
        f.speaker_pattern = Some("(?P<spk>x)".into());
        assert!(err(&[f]).contains("corpora[0].speaker_pattern"));
        let mut n = entry("emodb", Some("a"));
        n.name = Some("emo db".into());
        assert!(err(&[n]).contains("corpora[0].name"));
        let bad_map = LabelsConfig {
            map: BTreeMap::from([("joy".into(), "Happy!".into())]),
            keep: vec![],
        };
        assert!(corpora(&[], Path::new(""), &bad_map)
            .unwrap_err()
            .contains("labels.map.joy"));
    }

    #[test]
    fn a_manifest_root_defaults_to_its_folder() {
        let mut m = entry("manifest", None);
        m.manifest = Some(PathBuf::from("lists/all.csv"));
        let c = corpora(&[m], Path::new(""), &LabelsConfig::default()).unwrap();
        assert_eq!(c.corpora[0].root, PathBuf::from("lists"));
        assert_eq!(&*c.corpora[0].name, "manifest");
    }
}
