//! The `savee` kind: Surrey Audio-Visual Expressed Emotion (Haq & Jackson 2009), file names
//! `SS_Enn.wav` (e.g. `DC_a01.wav`) or `SS/Enn.wav` (the speaker's folder): speaker DC, JE, JK
//! or KL (all male), an emotion prefix E (a anger, d disgust, f fear, h happiness, n neutral,
//! sa sadness, su surprise) and a two-digit sentence number.

use super::Vocabulary;
use super::{name_error, stem, CorpusKind, Emotion, Extra, ExtraColumn, Gender, NameError, Parsed};

#[derive(Debug, Clone, Copy)]
pub struct Savee;

const EMOTIONS: &[(&str, &str)] = &[
    ("a", "angry"),
    ("d", "disgust"),
    ("f", "fearful"),
    ("h", "happy"),
    ("n", "neutral"),
    ("sa", "sad"),
    ("su", "surprised"),
];

const SPEAKERS: &[&str] = &["DC", "JE", "JK", "KL"];

impl CorpusKind for Savee {
    fn name(&self) -> &'static str {
        "savee"
    }

    fn convention(&self) -> String {
        "a SAVEE name SS_Enn.wav or SS/Enn.wav: speaker SS, emotion prefix E (a d f h n sa su), \
         sentence nn (e.g. DC_a01.wav)"
            .into()
    }

    fn extra_columns(&self) -> Vec<ExtraColumn> {
        vec![ExtraColumn::int("sentence_number")]
    }

    fn parse(&self, rel_path: &str, vocabulary: &Vocabulary) -> Result<Parsed, NameError> {
        let s = stem(rel_path);
        let (speaker, code) = match s.split_once('_') {
            Some((speaker, code)) => (speaker, code),
            None => {
                let folder = rel_path.rsplit('/').nth(1).unwrap_or("");
                (folder, s)
            }
        };
        if speaker.len() != 2 || !speaker.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(name_error(
                self,
                format_args!("speaker {speaker:?} in {rel_path:?}"),
            ));
        }
        let digits = code.trim_start_matches(|c: char| c.is_ascii_alphabetic());
        let prefix = &code[..code.len() - digits.len()];
        let number: i32 = match digits.parse() {
            Ok(n) if digits.len() == 2 => n,
            _ => return Err(name_error(self, format_args!("found {s:?}"))),
        };
        let emotion = EMOTIONS
            .iter()
            .find(|(c, _)| *c == prefix)
            .map(|(_, e)| Emotion::canonical(e))
            .ok_or_else(|| name_error(self, format_args!("emotion prefix {prefix:?}")))?;
        let speaker = speaker.to_ascii_uppercase();
        let gender = SPEAKERS.contains(&speaker.as_str()).then_some(Gender::Male);
        Ok(Parsed {
            speaker: Some(speaker),
            emotion: vocabulary.remap(emotion),
            gender,
            extras: vec![("sentence_number".into(), Extra::Int(number))],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_published_layouts() {
        let v = Vocabulary::default();
        let p = Savee.parse("ALL/DC_a01.wav", &v).unwrap();
        assert_eq!(p.speaker.as_deref(), Some("DC"));
        assert_eq!(p.emotion.label(), "angry");
        assert_eq!(p.gender, Some(Gender::Male));
        assert_eq!(p.extras[0].1, Extra::Int(1));
        let p = Savee.parse("AudioData/JK/sa15.wav", &v).unwrap();
        assert_eq!(p.speaker.as_deref(), Some("JK"));
        assert_eq!(p.emotion.label(), "sad");
        assert_eq!(p.extras[0].1, Extra::Int(15));
        for (name, emotion) in [
            ("JE_d03.wav", "disgust"),
            ("KL_f10.wav", "fearful"),
            ("DC_h12.wav", "happy"),
            ("DC_n30.wav", "neutral"),
            ("JE_su07.wav", "surprised"),
        ] {
            assert_eq!(
                Savee.parse(name, &v).unwrap().emotion.label(),
                emotion,
                "{name}"
            );
        }
    }

    #[test]
    fn rejects_other_names_naming_the_convention() {
        let v = Vocabulary::default();
        for (name, needle) in [
            ("DC_x01.wav", "emotion prefix \"x\""),
            ("DC_a1.wav", "SS_Enn"),
            ("a01.wav", "speaker"),
            ("03a01Fa.wav", "SS_Enn"),
        ] {
            let err = Savee.parse(name, &v).unwrap_err().to_string();
            assert!(err.contains(needle), "{name}: {err}");
        }
    }
}
