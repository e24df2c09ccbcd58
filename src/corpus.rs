//! The RAVDESS corpus: typed labels parsed from file names, and walking a corpus tree.
//!
//! A RAVDESS file name is `MM-VV-EE-II-SS-RR-AA.wav` (seven two-digit fields):
//! modality, vocal channel, emotion, intensity, statement, repetition, actor.
//! Parsing is pure; [`walk`] is the only function here that touches the file system.

use std::fmt;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Why a file name is not a RAVDESS name.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameError {
    #[error("expected 7 dash-separated two-digit fields MM-VV-EE-II-SS-RR-AA, found {0:?}")]
    Shape(String),
    #[error("field {field} is {value:?}, expected one of {expected}")]
    Field {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("neutral (emotion 01) has no strong intensity (02)")]
    StrongNeutral,
}

macro_rules! coded_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $field:literal, $expected:literal {
            $($variant:ident = $code:literal => $label:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            /// Every value, in code order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The two-digit code used in RAVDESS file names.
            pub fn code(self) -> u8 {
                match self {
                    $($name::$variant => $code),+
                }
            }

            /// The lower-case label written to every table a person reads.
            pub fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label),+
                }
            }

            pub fn from_code(code: u8) -> Option<Self> {
                match code {
                    $($code => Some($name::$variant),)+
                    _ => None,
                }
            }

            pub fn from_label(label: &str) -> Option<Self> {
                match label {
                    $($label => Some($name::$variant),)+
                    _ => None,
                }
            }

            fn parse_field(value: &str) -> Result<Self, NameError> {
                value
                    .parse::<u8>()
                    .ok()
                    .filter(|_| value.len() == 2 && value.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(Self::from_code)
                    .ok_or_else(|| NameError::Field {
                        field: $field,
                        value: value.to_string(),
                        expected: $expected,
                    })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.label())
            }
        }
    };
}

coded_enum! {
    /// MM: how the clip was recorded.
    Modality, "modality", "01 (audio-video), 02 (video-only), 03 (audio-only)" {
        AudioVideo = 1 => "audio-video",
        VideoOnly = 2 => "video-only",
        AudioOnly = 3 => "audio-only",
    }
}

coded_enum! {
    /// VV: speech or song.
    VocalChannel, "vocal channel", "01 (speech), 02 (song)" {
        Speech = 1 => "speech",
        Song = 2 => "song",
    }
}

coded_enum! {
    /// EE: the acted emotion, the classification target.
    Emotion, "emotion", "01..08 (neutral, calm, happy, sad, angry, fearful, disgust, surprised)" {
        Neutral = 1 => "neutral",
        Calm = 2 => "calm",
        Happy = 3 => "happy",
        Sad = 4 => "sad",
        Angry = 5 => "angry",
        Fearful = 6 => "fearful",
        Disgust = 7 => "disgust",
        Surprised = 8 => "surprised",
    }
}

coded_enum! {
    /// II: emotional intensity.
    Intensity, "intensity", "01 (normal), 02 (strong)" {
        Normal = 1 => "normal",
        Strong = 2 => "strong",
    }
}

coded_enum! {
    /// SS: which of the two sentences is spoken or sung.
    Statement, "statement", "01 (kids), 02 (dogs)" {
        Kids = 1 => "kids",
        Dogs = 2 => "dogs",
    }
}

/// Speaker gender, from the actor number's parity (odd actors are male).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
}

/// Every label a RAVDESS file name carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Labels {
    pub modality: Modality,
    pub vocal_channel: VocalChannel,
    pub emotion: Emotion,
    pub intensity: Intensity,
    pub statement: Statement,
    /// 1 or 2.
    pub repetition: u8,
    /// 1..=99 (RAVDESS as published has 01..24).
    pub actor: u8,
}

impl Labels {
    pub fn gender(&self) -> Gender {
        if self.actor % 2 == 1 {
            Gender::Male
        } else {
            Gender::Female
        }
    }

    /// Parses a file name (with or without directory and extension), e.g.
    /// `03-01-06-01-02-01-12.wav`.
    pub fn parse(file_name: &str) -> Result<Labels, NameError> {
        let stem = Path::new(file_name)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(file_name);
        let fields: Vec<&str> = stem.split('-').collect();
        if fields.len() != 7 || fields.iter().any(|f| f.len() != 2) {
            return Err(NameError::Shape(stem.to_string()));
        }
        let two_digits = |field: &'static str, value: &str, expected: &'static str| {
            value
                .parse::<u8>()
                .ok()
                .filter(|v| value.bytes().all(|b| b.is_ascii_digit()) && *v >= 1)
                .ok_or_else(|| NameError::Field {
                    field,
                    value: value.to_string(),
                    expected,
                })
        };
        let repetition = two_digits("repetition", fields[5], "01 or 02")?;
        if repetition > 2 {
            return Err(NameError::Field {
                field: "repetition",
                value: fields[5].to_string(),
                expected: "01 or 02",
            });
        }
        let labels = Labels {
            modality: Modality::parse_field(fields[0])?,
            vocal_channel: VocalChannel::parse_field(fields[1])?,
            emotion: Emotion::parse_field(fields[2])?,
            intensity: Intensity::parse_field(fields[3])?,
            statement: Statement::parse_field(fields[4])?,
            repetition,
            actor: two_digits("actor", fields[6], "01..99")?,
        };
        if labels.emotion == Emotion::Neutral && labels.intensity == Intensity::Strong {
            return Err(NameError::StrongNeutral);
        }
        Ok(labels)
    }

    /// The canonical file stem, the inverse of [`Labels::parse`].
    pub fn file_stem(&self) -> String {
        format!(
            "{:02}-{:02}-{:02}-{:02}-{:02}-{:02}-{:02}",
            self.modality.code(),
            self.vocal_channel.code(),
            self.emotion.code(),
            self.intensity.code(),
            self.statement.code(),
            self.repetition,
            self.actor
        )
    }
}

/// File extensions the pipeline treats as audio (case-insensitive).
pub const AUDIO_EXTENSIONS: &[&str] = &["wav", "flac"];

/// One audio file found under the corpus root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Path relative to the corpus root, with `/` separators: the stable key of every table.
    pub rel_path: String,
    pub abs_path: PathBuf,
}

/// A problem met while walking that concerns a path rather than a file's content
/// (an unreadable directory, a symlink loop).
#[derive(Debug, Clone)]
pub struct WalkProblem {
    pub path: String,
    pub message: String,
}

/// Walks `root` at any depth, following symlinks but not loops, and returns the audio files
/// sorted by relative path (so every later table has a stable row order).
pub fn walk(root: &Path) -> (Vec<Found>, Vec<WalkProblem>) {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    for entry in walkdir::WalkDir::new(root).follow_links(true) {
        match entry {
            Ok(entry) => {
                if !entry.file_type().is_file() {
                    continue;
                }
                let path = entry.path();
                let is_audio = path
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|a| a.eq_ignore_ascii_case(e)));
                if is_audio {
                    found.push(Found {
                        rel_path: rel_path(root, path),
                        abs_path: path.to_path_buf(),
                    });
                }
            }
            Err(err) => {
                let path = err
                    .path()
                    .map(|p| rel_path(root, p))
                    .unwrap_or_else(|| root.display().to_string());
                let message = if err.loop_ancestor().is_some() {
                    "symlink loop: skipped".to_string()
                } else {
                    err.io_error()
                        .map(|e| e.to_string())
                        .unwrap_or_else(|| err.to_string())
                };
                problems.push(WalkProblem { path, message });
            }
        }
    }
    found.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    problems.sort_by(|a, b| a.path.cmp(&b.path));
    (found, problems)
}

fn rel_path(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_a_real_name() {
        let l = Labels::parse("Actor_12/03-01-06-01-02-01-12.wav").unwrap();
        assert_eq!(l.modality, Modality::AudioOnly);
        assert_eq!(l.vocal_channel, VocalChannel::Speech);
        assert_eq!(l.emotion, Emotion::Fearful);
        assert_eq!(l.intensity, Intensity::Normal);
        assert_eq!(l.statement, Statement::Dogs);
        assert_eq!(l.repetition, 1);
        assert_eq!(l.actor, 12);
        assert_eq!(l.gender(), Gender::Female);
        assert_eq!(
            Labels::parse("03-02-05-02-01-02-07.flac").unwrap().gender(),
            Gender::Male
        );
    }

    #[test]
    fn rejects_bad_names_with_a_reason() {
        for (name, needle) in [
            ("03-01-06-01-02-01.wav", "7 dash-separated"),
            ("notes.wav", "7 dash-separated"),
            ("03-01-09-01-02-01-12.wav", "emotion"),
            ("03-01-00-01-02-01-12.wav", "emotion"),
            ("03-03-06-01-02-01-12.wav", "vocal channel"),
            ("03-01-06-01-02-03-12.wav", "repetition"),
            ("03-01-06-01-02-01-00.wav", "actor"),
            ("03-01-06-01-02-01-1a.wav", "actor"),
            ("03-01-01-02-02-01-12.wav", "neutral"),
            ("3-01-06-01-02-01-012.wav", "7 dash-separated"),
        ] {
            let err = Labels::parse(name).unwrap_err().to_string();
            assert!(err.contains(needle), "{name}: {err}");
        }
    }

    proptest! {
        #[test]
        fn parse_round_trips(m in 1u8..=3, v in 1u8..=2, e in 1u8..=8, i in 1u8..=2,
                             s in 1u8..=2, r in 1u8..=2, a in 1u8..=99) {
            let name = format!("{m:02}-{v:02}-{e:02}-{i:02}-{s:02}-{r:02}-{a:02}.wav");
            match Labels::parse(&name) {
                Ok(l) => prop_assert_eq!(format!("{}.wav", l.file_stem()), name),
                Err(err) => prop_assert!(e == 1 && i == 2, "{name}: {err}"),
            }
        }
    }

    #[test]
    fn walk_finds_audio_at_any_depth_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("b/deeper")).unwrap();
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::write(root.join("b/deeper/03-01-01-01-01-01-02.WAV"), b"x").unwrap();
        std::fs::write(root.join("a/03-01-01-01-01-01-01.wav"), b"x").unwrap();
        std::fs::write(root.join("a/readme.txt"), b"x").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(root, root.join("b/loop")).unwrap();
        let (found, problems) = walk(root);
        let rels: Vec<_> = found.iter().map(|f| f.rel_path.as_str()).collect();
        assert_eq!(
            rels,
            [
                "a/03-01-01-01-01-01-01.wav",
                "b/deeper/03-01-01-01-01-01-02.WAV"
            ]
        );
        #[cfg(unix)]
        assert!(
            problems.iter().any(|p| p.message.contains("symlink loop")),
            "{problems:?}"
        );
    }
}
