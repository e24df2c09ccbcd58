//! The `tess` kind: the Toronto Emotional Speech Set (Dupuis & Pichora-Fuller 2010), file names
//! `SPK_word_emotion.wav`, e.g. `OAF_back_angry.wav`: speaker (OAF, the older talker, YAF, the
//! younger; both female), the target word, and the emotion (angry, disgust, fear, happy,
//! neutral, ps = pleasant surprise, sad).
//!
//! The emotion is the last `_` field, read through the vocabulary's synonyms (so a copy with
//! `..._pleasant_surprised.wav` or `..._Fear.wav` parses too).

use super::Vocabulary;
use super::{name_error, stem, CorpusKind, Extra, ExtraColumn, Gender, NameError, Parsed};

#[derive(Debug, Clone, Copy)]
pub struct Tess;

/// The emotions TESS records (after the vocabulary's synonyms).
const EMOTIONS: &[&str] = &[
    "angry",
    "disgust",
    "fearful",
    "happy",
    "neutral",
    "surprised",
    "sad",
];

impl CorpusKind for Tess {
    fn name(&self) -> &'static str {
        "tess"
    }

    fn convention(&self) -> String {
        "a TESS name SPK_word_emotion.wav: speaker OAF or YAF, the word, emotion (angry disgust \
         fear happy neutral ps sad) (e.g. OAF_back_angry.wav)"
            .into()
    }

    fn extra_columns(&self) -> Vec<ExtraColumn> {
        vec![ExtraColumn::text("word")]
    }

    fn parse(&self, rel_path: &str, vocabulary: &Vocabulary) -> Result<Parsed, NameError> {
        let s = stem(rel_path);
        let mut fields = s.splitn(3, '_');
        let (Some(speaker), Some(word), Some(raw)) = (fields.next(), fields.next(), fields.next())
        else {
            return Err(name_error(self, format_args!("found {s:?}")));
        };
        if speaker.is_empty() || !speaker.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(name_error(self, format_args!("speaker {speaker:?}")));
        }
        if word.is_empty() {
            return Err(name_error(self, format_args!("found {s:?}")));
        }
        let emotion = super::vocabulary::canonical_of(raw)
            .filter(|e| EMOTIONS.contains(&e.label()))
            .ok_or_else(|| name_error(self, format_args!("emotion {raw:?} is not known")))?;
        let speaker = speaker.to_ascii_uppercase();
        let gender = matches!(speaker.as_str(), "OAF" | "YAF").then_some(Gender::Female);
        Ok(Parsed {
            speaker: Some(speaker),
            emotion: vocabulary.remap(emotion),
            gender,
            extras: vec![("word".into(), Extra::Text(word.to_string()))],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_published_convention() {
        let v = Vocabulary::default();
        let p = Tess.parse("OAF_angry/OAF_back_angry.wav", &v).unwrap();
        assert_eq!(p.speaker.as_deref(), Some("OAF"));
        assert_eq!(p.emotion.label(), "angry");
        assert_eq!(p.gender, Some(Gender::Female));
        assert_eq!(p.extras[0].1, Extra::Text("back".into()));
        for (name, emotion) in [
            ("YAF_bar_disgust.wav", "disgust"),
            ("YAF_base_fear.wav", "fearful"),
            ("OAF_bath_happy.wav", "happy"),
            ("OAF_bean_neutral.wav", "neutral"),
            ("YAF_beg_ps.wav", "surprised"),
            ("YAF_bite_pleasant_surprised.wav", "surprised"),
            ("OAF_boat_sad.wav", "sad"),
        ] {
            assert_eq!(
                Tess.parse(name, &v).unwrap().emotion.label(),
                emotion,
                "{name}"
            );
        }
    }

    #[test]
    fn rejects_other_names_naming_the_convention() {
        let v = Vocabulary::default();
        for (name, needle) in [
            ("OAF_back_bored.wav", "emotion \"bored\""),
            ("OAF_back.wav", "SPK_word_emotion"),
            ("03a01Fa.wav", "SPK_word_emotion"),
            ("O1F_back_sad.wav", "speaker"),
        ] {
            let err = Tess.parse(name, &v).unwrap_err().to_string();
            assert!(err.contains(needle), "{name}: {err}");
        }
    }
}
