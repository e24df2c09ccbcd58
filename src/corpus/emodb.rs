//! The `emodb` kind: the Berlin Database of Emotional Speech (Burkhardt et al. 2005), file
//! names `SSTTTEV.wav`, e.g. `03a01Fa.wav`: speaker SS (two digits), text TTT (`a01`-`a07`,
//! `b01`-`b10`), emotion E (the German initial), version V (`a`, `b`, ...).
//!
//! Emotion letters: W Ärger (angry), L Langeweile (boredom), E Ekel (disgust), A Angst
//! (fearful), F Freude (happy), T Trauer (sad), N neutral. Speakers 03 10 11 12 15 are male,
//! 08 09 13 14 16 female; another speaker number parses, with an unknown gender.

use super::{
    name_error, stem, CorpusKind, Emotion, Extra, ExtraColumn, Gender, NameError, Parsed,
    Vocabulary,
};

#[derive(Debug, Clone, Copy)]
pub struct EmoDb;

const EMOTIONS: &[(char, &str)] = &[
    ('W', "angry"),
    ('L', "boredom"),
    ('E', "disgust"),
    ('A', "fearful"),
    ('F', "happy"),
    ('T', "sad"),
    ('N', "neutral"),
];

const MALE: &[&str] = &["03", "10", "11", "12", "15"];
const FEMALE: &[&str] = &["08", "09", "13", "14", "16"];

impl CorpusKind for EmoDb {
    fn name(&self) -> &'static str {
        "emodb"
    }

    fn convention(&self) -> String {
        "an EmoDB name SSTTTEV.wav: speaker SS, text TTT, emotion letter E (W L E A F T N), \
         version V (e.g. 03a01Fa.wav)"
            .into()
    }

    fn extra_columns(&self) -> Vec<ExtraColumn> {
        vec![ExtraColumn::text("text"), ExtraColumn::text("version")]
    }

    fn parse(&self, rel_path: &str, vocabulary: &Vocabulary) -> Result<Parsed, NameError> {
        let s = stem(rel_path);
        let b = s.as_bytes();
        let shape_ok = b.len() >= 7
            && s.is_ascii()
            && b[..2].iter().all(u8::is_ascii_digit)
            && b[2].is_ascii_lowercase()
            && b[3..5].iter().all(u8::is_ascii_digit)
            && b[6..].iter().all(u8::is_ascii_lowercase);
        if !shape_ok {
            return Err(name_error(self, format_args!("found {s:?}")));
        }
        let letter = b[5] as char;
        let emotion = EMOTIONS
            .iter()
            .find(|(c, _)| *c == letter)
            .map(|(_, e)| Emotion::canonical(e))
            .ok_or_else(|| {
                name_error(
                    self,
                    format_args!("emotion letter {letter:?} is not one of W L E A F T N"),
                )
            })?;
        let speaker = &s[..2];
        let gender = if MALE.contains(&speaker) {
            Some(Gender::Male)
        } else if FEMALE.contains(&speaker) {
            Some(Gender::Female)
        } else {
            None
        };
        Ok(Parsed {
            speaker: Some(speaker.to_string()),
            emotion: vocabulary.remap(emotion),
            gender,
            extras: vec![
                ("text".into(), Extra::Text(s[2..5].to_string())),
                ("version".into(), Extra::Text(s[6..].to_string())),
            ],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_published_convention() {
        let v = Vocabulary::default();
        let p = EmoDb.parse("wav/03a01Fa.wav", &v).unwrap();
        assert_eq!(p.speaker.as_deref(), Some("03"));
        assert_eq!(p.emotion.label(), "happy");
        assert_eq!(p.gender, Some(Gender::Male));
        assert_eq!(p.extras[0].1, Extra::Text("a01".into()));
        assert_eq!(p.extras[1].1, Extra::Text("a".into()));
        for (name, emotion, gender) in [
            ("16b10Wb.wav", "angry", Some(Gender::Female)),
            ("08a02Lc.wav", "boredom", Some(Gender::Female)),
            ("11b03Ea.wav", "disgust", Some(Gender::Male)),
            ("13a05Aa.wav", "fearful", Some(Gender::Female)),
            ("12a07Td.wav", "sad", Some(Gender::Male)),
            ("09b01Na.wav", "neutral", Some(Gender::Female)),
            ("21a01Na.wav", "neutral", None),
        ] {
            let p = EmoDb.parse(name, &v).unwrap();
            assert_eq!((p.emotion.label(), p.gender), (emotion, gender), "{name}");
        }
    }

    #[test]
    fn rejects_other_names_naming_the_convention() {
        let v = Vocabulary::default();
        for (name, needle) in [
            ("03a01Xa.wav", "emotion letter 'X'"),
            ("03-01-06-01-02-01-12.wav", "SSTTTEV"),
            ("3a01Fa.wav", "SSTTTEV"),
            ("03a01F.wav", "SSTTTEV"),
            ("03a01FA.wav", "SSTTTEV"),
        ] {
            let err = EmoDb.parse(name, &v).unwrap_err().to_string();
            assert!(err.contains(needle), "{name}: {err}");
        }
    }
}
