//! The configured corpora of a run: each a name, a root and a layout, and how their files'
//! table keys are made unique across corpora.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::folders::Folders;
use super::{manifest, walk, CorpusKind, ExtraColumn, Labels, NameError, Vocabulary, WalkProblem};

/// How a corpus lays out its labels.
#[derive(Debug, Clone)]
pub enum Layout {
    /// A published file-name convention.
    Names(&'static dyn CorpusKind),
    /// A folder-per-class tree.
    Folders(Folders),
    /// A CSV or Parquet list of files (its folder is the corpus root).
    Manifest(PathBuf),
}

/// One configured corpus.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// The `corpus` column's value.
    pub name: Arc<str>,
    /// The folder walked (for a manifest, the manifest's folder).
    pub root: PathBuf,
    pub layout: Layout,
}

/// A file of a corpus and its labels (or why it has none).
#[derive(Debug, Clone)]
pub struct Listed {
    /// Relative to the corpus root, `/`-separated (absolute for a manifest's file outside its
    /// folder).
    pub rel_path: String,
    pub abs_path: PathBuf,
    pub labels: Result<Labels, NameError>,
}

impl Corpus {
    /// The kind's name, as in `[[corpora]] kind`.
    pub fn kind(&self) -> &'static str {
        match &self.layout {
            Layout::Names(k) => k.name(),
            Layout::Folders(_) => "folders",
            Layout::Manifest(_) => "manifest",
        }
    }

    /// The columns this corpus adds to the tables.
    pub fn extra_columns(&self) -> Vec<ExtraColumn> {
        match &self.layout {
            Layout::Names(k) => k.extra_columns(),
            Layout::Folders(f) => f.extra_columns(),
            Layout::Manifest(_) => manifest::extra_columns(),
        }
    }

    /// Every audio file of the corpus with its labels, sorted by relative path, and the paths
    /// that could not be walked. Fails only when the corpus as a whole cannot be read (a
    /// missing root, an unreadable manifest).
    pub fn list(&self, vocabulary: &Vocabulary) -> Result<(Vec<Listed>, Vec<WalkProblem>), String> {
        let attach = |r: Result<super::Parsed, NameError>| r.map(|p| p.into_labels(&self.name));
        match &self.layout {
            Layout::Manifest(file) => {
                let mut listed: Vec<Listed> = manifest::read(file, vocabulary)?
                    .into_iter()
                    .map(|e| Listed {
                        rel_path: e.rel_path,
                        abs_path: e.abs_path,
                        labels: attach(e.labels),
                    })
                    .collect();
                listed.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
                Ok((listed, Vec::new()))
            }
            layout => {
                if !self.root.is_dir() {
                    return Err(format!(
                        "corpus {:?}: root {} is not a folder",
                        &*self.name,
                        self.root.display()
                    ));
                }
                let (found, problems) = walk(&self.root);
                let listed = found
                    .into_iter()
                    .map(|f| {
                        let parsed = match layout {
                            Layout::Names(k) => k.parse(&f.rel_path, vocabulary),
                            Layout::Folders(k) => k.parse(&f.rel_path, vocabulary),
                            Layout::Manifest(_) => unreachable!("handled above"),
                        };
                        Listed {
                            labels: attach(parsed),
                            rel_path: f.rel_path,
                            abs_path: f.abs_path,
                        }
                    })
                    .collect();
                Ok((listed, problems))
            }
        }
    }
}

/// The corpora of a run, in configuration order, and the vocabulary their labels go through.
#[derive(Debug, Clone)]
pub struct Corpora {
    pub corpora: Vec<Corpus>,
    pub vocabulary: Vocabulary,
}

impl Corpora {
    /// Whether table keys carry the corpus name: with several corpora, `path` is
    /// `<corpus>/<path under its root>` so that it stays unique; with one, it is the path under
    /// the root, as it always was.
    pub fn prefixed(&self) -> bool {
        self.corpora.len() > 1
    }

    /// The `path` column of a corpus's file.
    pub fn key(&self, corpus: &Corpus, rel_path: &str) -> String {
        if self.prefixed() && !rel_path.starts_with('/') {
            format!("{}/{rel_path}", corpus.name)
        } else {
            rel_path.to_string()
        }
    }

    pub fn get(&self, name: &str) -> Option<&Corpus> {
        self.corpora.iter().find(|c| &*c.name == name)
    }

    /// The file behind a table row's `corpus` and `path`.
    pub fn resolve(&self, corpus: &str, path: &str) -> Option<PathBuf> {
        let c = self.get(corpus)?;
        if Path::new(path).is_absolute() {
            return Some(PathBuf::from(path));
        }
        let rel = if self.prefixed() {
            path.strip_prefix(&*c.name)?.strip_prefix('/')?
        } else {
            path
        };
        Some(c.root.join(rel))
    }

    /// Each of `files`' speaker as a [`super::speaker_key`] (`corpus/speaker`), read the way
    /// the configured corpus that holds the file reads it: its file-name convention, its
    /// folders' `speaker_pattern`, or its manifest's `speaker` column. `None` for a file under
    /// no configured corpus (the outer `None`), and for one whose labels its corpus cannot
    /// read (the inner). A file lies under a corpus when its path, made absolute, starts with
    /// the corpus's root (for a manifest: when it is one of the manifest's rows); the deepest
    /// root wins. Fails when a manifest cannot be read.
    pub fn speakers_of(&self, files: &[PathBuf]) -> Result<Vec<Option<Option<String>>>, String> {
        let absolute = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let mut speakers: Vec<Option<Option<String>>> = vec![None; files.len()];
        let abs: Vec<PathBuf> = files.iter().map(|f| absolute(f)).collect();
        // The deepest root first, so that a corpus inside another's tree takes its files.
        let mut order: Vec<&Corpus> = self.corpora.iter().collect();
        order.sort_by_key(|c| std::cmp::Reverse(absolute(&c.root).components().count()));
        for corpus in order {
            let speaker = |parsed: Result<super::Parsed, NameError>| {
                parsed
                    .ok()
                    .and_then(|p| p.speaker)
                    .map(|s| super::speaker_key(&corpus.name, &s))
            };
            if let Layout::Manifest(file) = &corpus.layout {
                let rows: std::collections::HashMap<PathBuf, Result<super::Parsed, NameError>> =
                    manifest::read(file, &self.vocabulary)?
                        .into_iter()
                        .map(|e| (absolute(&e.abs_path), e.labels))
                        .collect();
                for (i, a) in abs.iter().enumerate() {
                    if let (None, Some(parsed)) = (&speakers[i], rows.get(a)) {
                        speakers[i] = Some(speaker(parsed.clone()));
                    }
                }
                continue;
            }
            let root = absolute(&corpus.root);
            for (i, a) in abs.iter().enumerate() {
                let Ok(rel) = a.strip_prefix(&root) else {
                    continue;
                };
                if speakers[i].is_some() {
                    continue;
                }
                let rel: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                let rel = rel.join("/");
                speakers[i] = Some(speaker(match &corpus.layout {
                    Layout::Names(k) => k.parse(&rel, &self.vocabulary),
                    Layout::Folders(k) => k.parse(&rel, &self.vocabulary),
                    Layout::Manifest(_) => unreachable!("handled above"),
                }));
            }
        }
        Ok(speakers)
    }

    /// The extra columns of every table: each corpus's, in configuration order, once each.
    /// Fails when two corpora declare one column with different types.
    pub fn extra_columns(&self) -> Result<Vec<ExtraColumn>, String> {
        let mut out: Vec<ExtraColumn> = Vec::new();
        for c in &self.corpora {
            for col in c.extra_columns() {
                match out.iter().find(|o| o.name == col.name) {
                    Some(o) if o.kind != col.kind => {
                        return Err(format!(
                            "corpus {:?}'s column {} has another type than an earlier corpus's",
                            &*c.name, col.name
                        ))
                    }
                    Some(_) => {}
                    None => out.push(col),
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::{emodb::EmoDb, ravdess::Ravdess};

    fn two() -> Corpora {
        Corpora {
            corpora: vec![
                Corpus {
                    name: "rav".into(),
                    root: PathBuf::from("/data/rav"),
                    layout: Layout::Names(&Ravdess),
                },
                Corpus {
                    name: "emo".into(),
                    root: PathBuf::from("/data/emo"),
                    layout: Layout::Names(&EmoDb),
                },
            ],
            vocabulary: Vocabulary::default(),
        }
    }

    #[test]
    fn keys_are_prefixed_only_with_several_corpora_and_resolve_back() {
        let c = two();
        let key = c.key(&c.corpora[1], "wav/03a01Fa.wav");
        assert_eq!(key, "emo/wav/03a01Fa.wav");
        assert_eq!(
            c.resolve("emo", &key),
            Some(PathBuf::from("/data/emo/wav/03a01Fa.wav"))
        );
        assert_eq!(c.resolve("rav", &key), None);
        let one = Corpora {
            corpora: vec![c.corpora[0].clone()],
            vocabulary: Vocabulary::default(),
        };
        assert_eq!(one.key(&one.corpora[0], "Actor_01/x.wav"), "Actor_01/x.wav");
        assert_eq!(
            one.resolve("rav", "Actor_01/x.wav"),
            Some(PathBuf::from("/data/rav/Actor_01/x.wav"))
        );
    }

    #[test]
    fn extra_columns_are_the_union_in_order() {
        let names: Vec<String> = two()
            .extra_columns()
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(
            names,
            [
                "modality",
                "vocal_channel",
                "intensity",
                "statement",
                "repetition",
                "actor",
                "text",
                "version"
            ]
        );
    }
}
