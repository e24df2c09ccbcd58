//! The `emovo` kind: EMOVO, the Italian emotional speech corpus (Costantini et al. 2014), file
//! names `EEE-SS-TT.wav`, e.g. `dis-f1-b1.wav`: emotion EEE, speaker SS (`f1`-`f3` female,
//! `m1`-`m3` male), sentence code TT.
//!
//! Emotions: dis disgust, gio (gioia) happy, neu neutral, pau (paura) fearful, rab (rabbia)
//! angry, sor (sorpresa) surprised, tri (tristezza) sad.

use super::{
    name_error, stem, CorpusKind, Emotion, Extra, ExtraColumn, Gender, NameError, Parsed,
    Vocabulary,
};

#[derive(Debug, Clone, Copy)]
pub struct Emovo;

const EMOTIONS: &[(&str, &str)] = &[
    ("dis", "disgust"),
    ("gio", "happy"),
    ("neu", "neutral"),
    ("pau", "fearful"),
    ("rab", "angry"),
    ("sor", "surprised"),
    ("tri", "sad"),
];

impl CorpusKind for Emovo {
    fn name(&self) -> &'static str {
        "emovo"
    }

    fn convention(&self) -> String {
        "an EMOVO name EEE-SS-TT.wav: emotion EEE (dis gio neu pau rab sor tri), speaker SS \
         (f1-f3, m1-m3), sentence TT (e.g. dis-f1-b1.wav)"
            .into()
    }

    fn extra_columns(&self) -> Vec<ExtraColumn> {
        vec![ExtraColumn::text("sentence")]
    }

    fn parse(&self, rel_path: &str, vocabulary: &Vocabulary) -> Result<Parsed, NameError> {
        let s = stem(rel_path);
        let fields: Vec<&str> = s.split('-').collect();
        let [code, speaker, sentence] = fields[..] else {
            return Err(name_error(self, format_args!("found {s:?}")));
        };
        let code = code.to_ascii_lowercase();
        let emotion = EMOTIONS
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, e)| Emotion::canonical(e))
            .ok_or_else(|| name_error(self, format_args!("emotion {code:?} is not known")))?;
        let speaker = speaker.to_ascii_lowercase();
        let sb = speaker.as_bytes();
        let gender = match sb.first() {
            Some(b'f') => Gender::Female,
            Some(b'm') => Gender::Male,
            _ => return Err(name_error(self, format_args!("speaker {speaker:?}"))),
        };
        if sb.len() < 2 || !sb[1..].iter().all(u8::is_ascii_digit) {
            return Err(name_error(self, format_args!("speaker {speaker:?}")));
        }
        if sentence.is_empty() || !sentence.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(name_error(self, format_args!("sentence {sentence:?}")));
        }
        Ok(Parsed {
            speaker: Some(speaker),
            emotion: vocabulary.remap(emotion),
            gender: Some(gender),
            extras: vec![("sentence".into(), Extra::Text(sentence.to_string()))],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_published_convention() {
        let v = Vocabulary::default();
        let p = Emovo.parse("f1/dis-f1-b1.wav", &v).unwrap();
        assert_eq!(p.speaker.as_deref(), Some("f1"));
        assert_eq!(p.emotion.label(), "disgust");
        assert_eq!(p.gender, Some(Gender::Female));
        assert_eq!(p.extras[0].1, Extra::Text("b1".into()));
        for (name, emotion) in [
            ("gio-m2-l3.wav", "happy"),
            ("neu-m3-n5.wav", "neutral"),
            ("pau-f2-d1.wav", "fearful"),
            ("rab-m1-b2.wav", "angry"),
            ("sor-f3-l1.wav", "surprised"),
            ("tri-m1-n2.wav", "sad"),
        ] {
            assert_eq!(Emovo.parse(name, &v).unwrap().emotion.label(), emotion);
        }
        assert_eq!(
            Emovo.parse("rab-m1-b2.wav", &v).unwrap().gender,
            Some(Gender::Male)
        );
    }

    #[test]
    fn rejects_other_names_naming_the_convention() {
        let v = Vocabulary::default();
        for (name, needle) in [
            ("xyz-f1-b1.wav", "emotion \"xyz\""),
            ("dis-x1-b1.wav", "speaker"),
            ("dis-f-b1.wav", "speaker"),
            ("dis-f1.wav", "EEE-SS-TT"),
            ("03a01Fa.wav", "EEE-SS-TT"),
        ] {
            let err = Emovo.parse(name, &v).unwrap_err().to_string();
            assert!(err.contains(needle), "{name}: {err}");
        }
    }
}
