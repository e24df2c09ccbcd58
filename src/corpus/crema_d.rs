//! The `crema_d` kind: CREMA-D (Cao et al. 2014), file names `AAAA_SSS_EEE_LL.wav`, e.g.
//! `1001_DFA_ANG_XX.wav`: actor AAAA (1001-1091), sentence code SSS (IEO, TIE, DFA, ...),
//! emotion EEE (ANG DIS FEA HAP NEU SAD), level LL (LO low, MD medium, HI high, XX
//! unspecified).
//!
//! The file name does not give the actor's sex (CREMA-D lists it in VideoDemographics.csv):
//! `gender` is null; a `manifest` corpus can carry it.

use super::Vocabulary;
use super::{name_error, stem, CorpusKind, Emotion, Extra, ExtraColumn, NameError, Parsed};

#[derive(Debug, Clone, Copy)]
pub struct CremaD;

const EMOTIONS: &[(&str, &str)] = &[
    ("ANG", "angry"),
    ("DIS", "disgust"),
    ("FEA", "fearful"),
    ("HAP", "happy"),
    ("NEU", "neutral"),
    ("SAD", "sad"),
];

const LEVELS: &[(&str, &str)] = &[
    ("LO", "low"),
    ("MD", "medium"),
    ("HI", "high"),
    ("XX", "unspecified"),
];

impl CorpusKind for CremaD {
    fn name(&self) -> &'static str {
        "crema_d"
    }

    fn convention(&self) -> String {
        "a CREMA-D name AAAA_SSS_EEE_LL.wav: actor AAAA, sentence SSS, emotion EEE (ANG DIS FEA \
         HAP NEU SAD), level LL (LO MD HI XX) (e.g. 1001_DFA_ANG_XX.wav)"
            .into()
    }

    fn extra_columns(&self) -> Vec<ExtraColumn> {
        vec![ExtraColumn::text("sentence"), ExtraColumn::text("level")]
    }

    fn parse(&self, rel_path: &str, vocabulary: &Vocabulary) -> Result<Parsed, NameError> {
        let s = stem(rel_path);
        let fields: Vec<&str> = s.split('_').collect();
        let [actor, sentence, code, level] = fields[..] else {
            return Err(name_error(self, format_args!("found {s:?}")));
        };
        if actor.len() != 4 || !actor.bytes().all(|b| b.is_ascii_digit()) {
            return Err(name_error(
                self,
                format_args!("actor {actor:?} is not 4 digits"),
            ));
        }
        if sentence.len() != 3 || !sentence.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(name_error(self, format_args!("sentence {sentence:?}")));
        }
        let emotion = EMOTIONS
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, e)| Emotion::canonical(e))
            .ok_or_else(|| name_error(self, format_args!("emotion {code:?} is not known")))?;
        let level = LEVELS
            .iter()
            .find(|(c, _)| *c == level)
            .map(|(_, l)| *l)
            .ok_or_else(|| name_error(self, format_args!("level {level:?} is not known")))?;
        Ok(Parsed {
            speaker: Some(actor.to_string()),
            emotion: vocabulary.remap(emotion),
            gender: None,
            extras: vec![
                ("sentence".into(), Extra::Text(sentence.to_string())),
                ("level".into(), Extra::Text(level.to_string())),
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
        let p = CremaD.parse("AudioWAV/1001_DFA_ANG_XX.wav", &v).unwrap();
        assert_eq!(p.speaker.as_deref(), Some("1001"));
        assert_eq!(p.emotion.label(), "angry");
        assert_eq!(p.gender, None);
        assert_eq!(p.extras[0].1, Extra::Text("DFA".into()));
        assert_eq!(p.extras[1].1, Extra::Text("unspecified".into()));
        for (name, emotion, level) in [
            ("1091_IEO_DIS_LO.wav", "disgust", "low"),
            ("1050_TIE_FEA_MD.wav", "fearful", "medium"),
            ("1002_IOM_HAP_HI.wav", "happy", "high"),
            ("1003_ITS_NEU_XX.wav", "neutral", "unspecified"),
            ("1004_WSI_SAD_XX.wav", "sad", "unspecified"),
        ] {
            let p = CremaD.parse(name, &v).unwrap();
            assert_eq!(p.emotion.label(), emotion, "{name}");
            assert_eq!(p.extras[1].1, Extra::Text(level.into()), "{name}");
        }
    }

    #[test]
    fn rejects_other_names_naming_the_convention() {
        let v = Vocabulary::default();
        for (name, needle) in [
            ("1001_DFA_XYZ_XX.wav", "emotion \"XYZ\""),
            ("1001_DFA_ANG_ZZ.wav", "level \"ZZ\""),
            ("101_DFA_ANG_XX.wav", "actor \"101\""),
            ("1001_DFA_ANG.wav", "AAAA_SSS_EEE_LL"),
            ("OAF_back_angry.wav", "AAAA_SSS_EEE_LL"),
        ] {
            let err = CremaD.parse(name, &v).unwrap_err().to_string();
            assert!(err.contains(needle), "{name}: {err}");
        }
    }
}
