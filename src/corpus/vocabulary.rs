//! One label vocabulary for every corpus: canonical emotion names, the synonyms free-form
//! labels (folder names, manifest cells) are read with, and the user's `labels.map` override.
//!
//! The canonical names, in the order every report lists them:
//! `neutral, calm, happy, sad, angry, fearful, disgust, surprised, boredom, contempt`.
//! A corpus kind with coded labels (RAVDESS `05`, EmoDB `W`, CREMA-D `ANG`) maps its codes to
//! these names itself; free-form labels go through [`Vocabulary::resolve`]: first the user's
//! map, then the synonyms below, compared after lower-casing and turning spaces and dashes into
//! underscores (`"Pleasant Surprise"` -> `pleasant_surprise` -> `surprised`).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// The canonical emotion names, in report order.
pub const CANONICAL: &[&str] = &[
    "neutral",
    "calm",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgust",
    "surprised",
    "boredom",
    "contempt",
];

/// Free-form spellings of the canonical names (besides the names themselves).
const SYNONYMS: &[(&str, &str)] = &[
    ("neu", "neutral"),
    ("neutrality", "neutral"),
    ("happiness", "happy"),
    ("joy", "happy"),
    ("joyful", "happy"),
    ("hap", "happy"),
    ("sadness", "sad"),
    ("anger", "angry"),
    ("ang", "angry"),
    ("fear", "fearful"),
    ("afraid", "fearful"),
    ("fea", "fearful"),
    ("disgusted", "disgust"),
    ("dis", "disgust"),
    ("surprise", "surprised"),
    ("sur", "surprised"),
    ("ps", "surprised"),
    ("pleasant_surprise", "surprised"),
    ("pleasant_surprised", "surprised"),
    ("bored", "boredom"),
    ("boredom", "boredom"),
];

/// An emotion label: a canonical name, or a name the user's `labels.map` introduced
/// (lower-case letters, digits and `_`). Ordered canonical names first, in [`CANONICAL`] order,
/// then other names alphabetically, so class ids and report rows are stable.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Emotion(Arc<str>);

impl Emotion {
    /// A label from a name already in canonical form (`happy`, or a mapped name). Fails on an
    /// empty name or one with other characters than `a-z`, `0-9` and `_`.
    pub fn new(name: &str) -> Result<Emotion, String> {
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if valid {
            Ok(Emotion(Arc::from(name)))
        } else {
            Err(format!(
                "{name:?} is not a label name (lower-case letters, digits and _)"
            ))
        }
    }

    /// A canonical name known at compile time; panics on a typo (a programming error).
    pub fn canonical(name: &'static str) -> Emotion {
        assert!(CANONICAL.contains(&name), "{name} is not canonical");
        Emotion(Arc::from(name))
    }

    pub fn label(&self) -> &str {
        &self.0
    }

    fn rank(&self) -> usize {
        CANONICAL
            .iter()
            .position(|c| *c == &*self.0)
            .unwrap_or(CANONICAL.len())
    }
}

impl Ord for Emotion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank()
            .cmp(&other.rank())
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for Emotion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Emotion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Emotion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Emotion({})", self.0)
    }
}

/// `"Pleasant Surprise"` -> `pleasant_surprise`: how labels are compared.
pub fn normalise(raw: &str) -> String {
    raw.trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// A free-form label's canonical name by the built-in synonyms alone (no user map); `None`
/// when it is not one.
pub fn canonical_of(raw: &str) -> Option<Emotion> {
    let key = normalise(raw);
    if let Some(c) = CANONICAL.iter().find(|c| **c == key) {
        return Some(Emotion::canonical(c));
    }
    SYNONYMS
        .iter()
        .find(|(s, _)| *s == key)
        .map(|(_, c)| Emotion::canonical(c))
}

/// The synonym table plus the user's `labels.map` (keys compared after [`normalise`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vocabulary {
    map: BTreeMap<String, Emotion>,
}

impl Vocabulary {
    /// `map`: raw label -> label name, from `labels.map`. Fails naming a bad target name.
    pub fn new(map: &BTreeMap<String, String>) -> Result<Vocabulary, String> {
        let map = map
            .iter()
            .map(|(k, v)| {
                Emotion::new(v)
                    .map(|e| (normalise(k), e))
                    .map_err(|e| format!("labels.map.{k}: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Vocabulary { map })
    }

    /// A free-form label's name: the user's map, else a synonym or canonical name; `None`
    /// when neither knows it.
    pub fn resolve(&self, raw: &str) -> Option<Emotion> {
        let key = normalise(raw);
        match self.map.get(&key) {
            Some(e) => Some(e.clone()),
            None => canonical_of(raw),
        }
    }

    /// A coded kind's canonical label, after the user's map (`calm = "neutral"` merges two
    /// RAVDESS classes, say).
    pub fn remap(&self, e: Emotion) -> Emotion {
        self.map.get(e.label()).cloned().unwrap_or(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_form_labels_resolve_to_canonical_names() {
        let v = Vocabulary::default();
        for (raw, want) in [
            ("Angry", "angry"),
            ("anger", "angry"),
            ("JOY", "happy"),
            ("Happiness", "happy"),
            ("Pleasant Surprise", "surprised"),
            ("pleasant-surprised", "surprised"),
            ("ps", "surprised"),
            ("fear", "fearful"),
            (" neutral ", "neutral"),
            ("Boredom", "boredom"),
        ] {
            assert_eq!(
                v.resolve(raw).map(|e| e.to_string()),
                Some(want.into()),
                "{raw}"
            );
        }
        assert_eq!(v.resolve("frustrated"), None);
        assert_eq!(v.resolve(""), None);
    }

    #[test]
    fn the_users_map_comes_first_and_may_add_names() {
        let map = BTreeMap::from([
            ("Frustration".to_string(), "frustrated".to_string()),
            ("calm".to_string(), "neutral".to_string()),
        ]);
        let v = Vocabulary::new(&map).unwrap();
        assert_eq!(v.resolve("frustration").unwrap().label(), "frustrated");
        assert_eq!(v.resolve("Calm").unwrap().label(), "neutral");
        assert_eq!(v.remap(Emotion::canonical("calm")).label(), "neutral");
        assert_eq!(v.remap(Emotion::canonical("sad")).label(), "sad");
        let bad = BTreeMap::from([("x".to_string(), "Not OK".to_string())]);
        assert!(Vocabulary::new(&bad).unwrap_err().contains("labels.map.x"));
    }

    #[test]
    fn canonical_names_sort_first_in_report_order() {
        let mut v: Vec<Emotion> = ["zeal", "surprised", "neutral", "apathy", "calm"]
            .iter()
            .map(|n| Emotion::new(n).unwrap())
            .collect();
        v.sort();
        let names: Vec<&str> = v.iter().map(Emotion::label).collect();
        assert_eq!(names, ["neutral", "calm", "surprised", "apathy", "zeal"]);
    }
}
