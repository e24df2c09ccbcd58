//! The `folders` kind: a folder-per-class tree, e.g. `Angry/SM1_F19_A019.wav`. The label is
//! the name of the folder at a configured level under the root (1: the first folder), read
//! through the vocabulary (the user's `labels.map`, then the synonyms: `Angry`, `anger` and
//! `ANG` are all `angry`). The speaker, when the layout has one, comes from a regular
//! expression on the relative path with a named group `speaker` (and optionally `gender`,
//! matching `m`/`male`/`f`/`female`); without one the corpus has no speakers.

use regex::Regex;

use super::{CorpusKind, ExtraColumn, Gender, NameError, Parsed, Vocabulary};

#[derive(Debug, Clone)]
pub struct Folders {
    /// Which folder names the class: 1 is the first level under the root.
    pub label_level: usize,
    /// A regex with a named group `speaker` (and optionally `gender`), matched against the
    /// path relative to the root.
    pub speaker_pattern: Option<Regex>,
}

impl Folders {
    /// Checks the options: `label_level >= 1`; the pattern compiles and has a `speaker` group.
    pub fn new(label_level: usize, speaker_pattern: Option<&str>) -> Result<Folders, String> {
        if label_level == 0 {
            return Err("label_level: must be >= 1 (1 is the first folder under root)".into());
        }
        let speaker_pattern = speaker_pattern
            .map(|p| {
                let re = Regex::new(p).map_err(|e| format!("speaker_pattern: {e}"))?;
                if !re.capture_names().flatten().any(|n| n == "speaker") {
                    return Err(format!(
                        "speaker_pattern: {p:?} has no named group (?P<speaker>...)"
                    ));
                }
                Ok(re)
            })
            .transpose()?;
        Ok(Folders {
            label_level,
            speaker_pattern,
        })
    }
}

impl CorpusKind for Folders {
    fn name(&self) -> &'static str {
        "folders"
    }

    fn convention(&self) -> String {
        let speaker = match &self.speaker_pattern {
            Some(re) => format!(", the speaker from the pattern {:?}", re.as_str()),
            None => String::new(),
        };
        format!(
            "a folder-per-class tree: the emotion is the name of folder {} under the root \
             (e.g. Angry/clip.wav){speaker}",
            self.label_level
        )
    }

    fn extra_columns(&self) -> Vec<ExtraColumn> {
        Vec::new()
    }

    fn parse(&self, rel_path: &str, vocabulary: &Vocabulary) -> Result<Parsed, NameError> {
        let err = |what: String| NameError(format!("expected {}; {what}", self.convention()));
        let folders: Vec<&str> = rel_path.split('/').collect();
        let folders = &folders[..folders.len().saturating_sub(1)];
        let raw = folders.get(self.label_level - 1).ok_or_else(|| {
            err(format!(
                "{rel_path:?} is not {} folder(s) deep",
                self.label_level
            ))
        })?;
        let emotion = vocabulary.resolve(raw).ok_or_else(|| {
            NameError(format!(
                "unmapped label {raw:?} (folder {} of {rel_path:?}): not a known emotion name; \
                 map it with [labels] map = {{ {:?} = \"...\" }}",
                self.label_level, raw
            ))
        })?;
        let (speaker, gender) = match &self.speaker_pattern {
            None => (None, None),
            Some(re) => {
                let caps = re.captures(rel_path).ok_or_else(|| {
                    err(format!("the speaker pattern does not match {rel_path:?}"))
                })?;
                let speaker = caps.name("speaker").map(|m| m.as_str().to_string());
                let gender = match caps.name("gender") {
                    Some(g) => Some(Gender::from_label(g.as_str()).ok_or_else(|| {
                        err(format!("gender {:?} is not m/male/f/female", g.as_str()))
                    })?),
                    None => None,
                };
                (speaker.filter(|s| !s.is_empty()), gender)
            }
        };
        Ok(Parsed {
            speaker,
            emotion,
            gender,
            extras: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_label_is_the_folder_at_its_level() {
        let v = Vocabulary::default();
        let no_group = Folders::new(1, Some(r"SM\d+")).unwrap_err();
        assert!(no_group.contains("no named group"), "{no_group}");
        let k = Folders::new(1, Some(r"^[^/]+/(?P<speaker>[A-Z]+\d+)_(?P<gender>[MF])")).unwrap();
        let p = k.parse("Angry/SM1_F19_A019.wav", &v).unwrap();
        assert_eq!(p.emotion.label(), "angry");
        assert_eq!(p.speaker.as_deref(), Some("SM1"));
        assert_eq!(p.gender, Some(Gender::Female));
        let deeper = Folders::new(2, None).unwrap();
        let p = deeper.parse("spk7/Happiness/take1.wav", &v).unwrap();
        assert_eq!((p.emotion.label(), p.speaker), ("happy", None));
    }

    #[test]
    fn unknown_labels_and_shallow_paths_are_errors_naming_them() {
        let v = Vocabulary::default();
        let k = Folders::new(1, None).unwrap();
        let err = k.parse("Frustrated/a.wav", &v).unwrap_err().to_string();
        assert!(err.contains("unmapped label \"Frustrated\""), "{err}");
        let err = k.parse("a.wav", &v).unwrap_err().to_string();
        assert!(err.contains("folder-per-class"), "{err}");
        let with_speaker = Folders::new(1, Some(r"(?P<speaker>spk\d+)")).unwrap();
        let err = with_speaker.parse("Sad/a.wav", &v).unwrap_err().to_string();
        assert!(err.contains("does not match"), "{err}");
        assert!(Folders::new(0, None).is_err());
        assert!(Folders::new(1, Some("(unclosed")).is_err());
    }
}
