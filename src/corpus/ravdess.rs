//! The `ravdess` kind: RAVDESS file names, `MM-VV-EE-II-SS-RR-AA.wav` (seven two-digit
//! fields): modality, vocal channel, emotion, intensity, statement, repetition, actor
//! (Livingstone & Russo 2018; odd actors are male). Speech and song alike.
//!
//! The speaker is the actor (`"12"`), the gender its parity; modality, vocal channel,
//! intensity, statement, repetition and actor are the kind's extra columns.

use std::fmt;
use std::path::Path;

use thiserror::Error;

use super::{CorpusKind, Extra, ExtraColumn, Gender, NameError as KindError, Parsed, Vocabulary};

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
    EmotionCode, "emotion", "01..08 (neutral, calm, happy, sad, angry, fearful, disgust, surprised)" {
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

/// Every label a RAVDESS file name carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RavdessName {
    pub modality: Modality,
    pub vocal_channel: VocalChannel,
    pub emotion: EmotionCode,
    pub intensity: Intensity,
    pub statement: Statement,
    /// 1 or 2.
    pub repetition: u8,
    /// 1..=99 (RAVDESS as published has 01..24).
    pub actor: u8,
}

impl RavdessName {
    pub fn gender(&self) -> Gender {
        if self.actor % 2 == 1 {
            Gender::Male
        } else {
            Gender::Female
        }
    }

    /// Parses a file name (with or without directory and extension), e.g.
    /// `03-01-06-01-02-01-12.wav`.
    pub fn parse(file_name: &str) -> Result<RavdessName, NameError> {
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
        let labels = RavdessName {
            modality: Modality::parse_field(fields[0])?,
            vocal_channel: VocalChannel::parse_field(fields[1])?,
            emotion: EmotionCode::parse_field(fields[2])?,
            intensity: Intensity::parse_field(fields[3])?,
            statement: Statement::parse_field(fields[4])?,
            repetition,
            actor: two_digits("actor", fields[6], "01..99")?,
        };
        if labels.emotion == EmotionCode::Neutral && labels.intensity == Intensity::Strong {
            return Err(NameError::StrongNeutral);
        }
        Ok(labels)
    }

    /// The canonical file stem, the inverse of [`RavdessName::parse`].
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

/// The `ravdess` kind.
#[derive(Debug, Clone, Copy)]
pub struct Ravdess;

impl RavdessName {
    /// The kind's extra columns of this name, in [`Ravdess::extra_columns`] order.
    pub fn extras(&self) -> Vec<(String, Extra)> {
        let text = |n: &str, v: &str| (n.to_string(), Extra::Text(v.to_string()));
        let int = |n: &str, v: u8| (n.to_string(), Extra::Int(i32::from(v)));
        vec![
            text("modality", self.modality.label()),
            text("vocal_channel", self.vocal_channel.label()),
            text("intensity", self.intensity.label()),
            text("statement", self.statement.label()),
            int("repetition", self.repetition),
            int("actor", self.actor),
        ]
    }
}

impl CorpusKind for Ravdess {
    fn name(&self) -> &'static str {
        "ravdess"
    }

    fn convention(&self) -> String {
        "a RAVDESS name MM-VV-EE-II-SS-RR-AA.wav (e.g. 03-01-06-01-02-01-12.wav)".into()
    }

    fn extra_columns(&self) -> Vec<ExtraColumn> {
        vec![
            ExtraColumn::text("modality"),
            ExtraColumn::text("vocal_channel"),
            ExtraColumn::text("intensity"),
            ExtraColumn::text("statement"),
            ExtraColumn::int("repetition"),
            ExtraColumn::int("actor"),
        ]
    }

    fn parse(&self, rel_path: &str, vocabulary: &Vocabulary) -> Result<Parsed, KindError> {
        let file_name = rel_path.rsplit('/').next().unwrap_or(rel_path);
        let name = RavdessName::parse(file_name).map_err(|e| super::name_error(self, e))?;
        Ok(Parsed {
            speaker: Some(format!("{:02}", name.actor)),
            emotion: vocabulary.remap(super::Emotion::canonical(name.emotion.label())),
            gender: Some(name.gender()),
            extras: name.extras(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_a_real_name() {
        let l = RavdessName::parse("Actor_12/03-01-06-01-02-01-12.wav").unwrap();
        assert_eq!(l.modality, Modality::AudioOnly);
        assert_eq!(l.vocal_channel, VocalChannel::Speech);
        assert_eq!(l.emotion, EmotionCode::Fearful);
        assert_eq!(l.intensity, Intensity::Normal);
        assert_eq!(l.statement, Statement::Dogs);
        assert_eq!(l.repetition, 1);
        assert_eq!(l.actor, 12);
        assert_eq!(l.gender(), Gender::Female);
        assert_eq!(
            RavdessName::parse("03-02-05-02-01-02-07.flac")
                .unwrap()
                .gender(),
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
            let err = RavdessName::parse(name).unwrap_err().to_string();
            assert!(err.contains(needle), "{name}: {err}");
        }
    }

    #[test]
    fn the_kind_gives_speaker_gender_and_extras() {
        let p = Ravdess
            .parse("Actor_12/03-01-06-01-02-01-12.wav", &Vocabulary::default())
            .unwrap();
        assert_eq!(p.speaker.as_deref(), Some("12"));
        assert_eq!(p.emotion.label(), "fearful");
        assert_eq!(p.gender, Some(Gender::Female));
        let names: Vec<String> = Ravdess
            .extra_columns()
            .into_iter()
            .map(|c| c.name)
            .collect();
        let got: Vec<&String> = p.extras.iter().map(|(n, _)| n).collect();
        assert_eq!(got, names.iter().collect::<Vec<_>>());
        assert_eq!(p.extras[5].1, Extra::Int(12));
        let err = Ravdess
            .parse("x/notes.wav", &Vocabulary::default())
            .unwrap_err();
        assert!(err.0.contains("MM-VV-EE-II-SS-RR-AA"), "{err}");
    }

    proptest! {
        #[test]
        fn parse_round_trips(m in 1u8..=3, v in 1u8..=2, e in 1u8..=8, i in 1u8..=2,
                             s in 1u8..=2, r in 1u8..=2, a in 1u8..=99) {
            let name = format!("{m:02}-{v:02}-{e:02}-{i:02}-{s:02}-{r:02}-{a:02}.wav");
            match RavdessName::parse(&name) {
                Ok(l) => prop_assert_eq!(format!("{}.wav", l.file_stem()), name),
                Err(err) => prop_assert!(e == 1 && i == 2, "{name}: {err}"),
            }
        }
    }
}
