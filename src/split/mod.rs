//! Evaluation protocols: which rows train and which test. Splitting comes first; everything
//! fitted afterwards (augmentation choice, scaling, early stopping) sees the training part only.
//!
//! - `random`: stratified holdout per seed (the original project's setting; the two repetitions
//!   of one actor's sentence can land on both sides, so it flatters);
//! - `actor_holdout`: fixed test speakers, every other speaker trains (speaker-independent);
//! - `actor_kfold`: k folds grouped by speaker (speaker `s`, in sorted order `i`, tests in fold
//!   `i % k`), so with RAVDESS actors 01-20 and k = 5 each fold tests 4 actors, 2 male and 2
//!   female;
//! - `leave_one_speaker_out`: one fold per speaker;
//! - `leave_one_corpus_out` and `cross_corpus`: train on some corpora, test on others, on the
//!   classes both sides share.
//!
//! "Actor" is a corpus's speaker: speakers are `corpus/speaker` keys, unique across corpora.
//! Recordings without a speaker take part in the random split only.

mod protocols;

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::corpus::Gender;

use protocols::cross_corpus;
pub use protocols::{actor_holdout, actor_kfold, leave_one_speaker_out, stratified_holdout};

/// One train/test partition of the rows of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// `random`, `actor_holdout`, `actor_kfold`, `leave_one_speaker_out`,
    /// `leave_one_corpus_out` or `cross_corpus`.
    pub protocol: &'static str,
    /// Which partition of the protocol: `seed-1`, `holdout`, `fold-0`, `ravdess/03`,
    /// `emodb`, `ravdess->emodb`, ...
    pub fold: String,
    /// Row indices, ascending.
    pub train: Vec<usize>,
    pub test: Vec<usize>,
    /// Cross-corpus splits: the classes both sides share (ascending), to which both sides
    /// were restricted; `None` for the other protocols.
    pub shared_classes: Option<Vec<usize>>,
}

/// What the protocols know of each row besides its class.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Groups {
    /// Each row's speaker as `corpus/speaker`; `None` when its corpus does not say.
    pub speakers: Vec<Option<Arc<str>>>,
    pub genders: Vec<Option<Gender>>,
    pub corpora: Vec<Arc<str>>,
}

/// The protocols to evaluate, from `[split]` in `pipeline.toml`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SplitConfig {
    pub random: RandomConfig,
    pub actor_holdout: ActorHoldoutConfig,
    pub actor_kfold: ActorKfoldConfig,
    pub leave_one_speaker_out: LeaveOneSpeakerOutConfig,
    pub cross_corpus: CrossCorpusConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RandomConfig {
    pub enabled: bool,
    /// Fraction of each class held out for testing. Default 0.2.
    pub test_size: f64,
    /// One split per seed; results are reported per seed and as their mean. Default [1, 2, 3].
    pub seeds: Vec<u64>,
}

impl Default for RandomConfig {
    fn default() -> Self {
        RandomConfig {
            enabled: true,
            test_size: 0.2,
            seeds: vec![1, 2, 3],
        }
    }
}

/// A speaker named in the config: a number (`17` matches RAVDESS's actor `17`, or any
/// corpus's speaker `17`/`017`), a speaker id (`"03"`, `"f1"`), or a `corpus/speaker` key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SpeakerId {
    Number(u32),
    Name(String),
}

impl SpeakerId {
    /// Whether this names the speaker with key `corpus/speaker`.
    pub fn matches(&self, key: &str) -> bool {
        let speaker = crate::corpus::speaker_of_key(key);
        match self {
            SpeakerId::Number(n) => speaker.parse::<u32>().is_ok_and(|s| s == *n),
            SpeakerId::Name(name) => name == key || name == speaker,
        }
    }
}

impl fmt::Display for SpeakerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpeakerId::Number(n) => write!(f, "{n}"),
            SpeakerId::Name(s) => write!(f, "{s:?}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActorHoldoutConfig {
    pub enabled: bool,
    /// Speakers tested on; every other speaker trains. Numbers, ids or `corpus/speaker` keys.
    /// Default [17, 18, 19, 20] (RAVDESS: 2 male, 2 female).
    pub test_actors: Vec<SpeakerId>,
}

impl Default for ActorHoldoutConfig {
    fn default() -> Self {
        ActorHoldoutConfig {
            enabled: true,
            test_actors: [17, 18, 19, 20].map(SpeakerId::Number).to_vec(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActorKfoldConfig {
    pub enabled: bool,
    /// Number of folds. Default 5 (4 actors per fold with actors 01-20).
    pub k: usize,
}

impl Default for ActorKfoldConfig {
    fn default() -> Self {
        ActorKfoldConfig {
            enabled: true,
            k: 5,
        }
    }
}

/// One fold per speaker: train on every other speaker, test on one.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeaveOneSpeakerOutConfig {
    /// Default false.
    pub enabled: bool,
}

/// Training on some corpora and testing on others.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrossCorpusConfig {
    /// For each corpus, train on all the others and test on it. Default false.
    pub leave_one_corpus_out: bool,
    /// Explicit directions, e.g. `[{ train_on = ["ravdess"], test_on = ["emodb"] }]`.
    /// Default none.
    pub pairs: Vec<CorpusPair>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorpusPair {
    pub train_on: Vec<String>,
    pub test_on: Vec<String>,
}

impl CorpusPair {
    /// `a+b->c`, the fold's name.
    pub fn name(&self) -> String {
        format!("{}->{}", self.train_on.join("+"), self.test_on.join("+"))
    }
}

impl SplitConfig {
    /// Rejects impossible values, naming the key.
    pub fn check(&self) -> Result<(), String> {
        let r = &self.random;
        if r.enabled {
            if !(r.test_size > 0.0 && r.test_size < 1.0) {
                return Err(format!(
                    "split.random.test_size: must be in (0, 1), got {}",
                    r.test_size
                ));
            }
            if r.seeds.is_empty() {
                return Err("split.random.seeds: must list at least one seed".into());
            }
        }
        if self.actor_holdout.enabled && self.actor_holdout.test_actors.is_empty() {
            return Err("split.actor_holdout.test_actors: must list at least one actor".into());
        }
        if self.actor_kfold.enabled && self.actor_kfold.k < 2 {
            return Err(format!(
                "split.actor_kfold.k: must be >= 2, got {}",
                self.actor_kfold.k
            ));
        }
        for (i, p) in self.cross_corpus.pairs.iter().enumerate() {
            if p.train_on.is_empty() || p.test_on.is_empty() {
                return Err(format!(
                    "split.cross_corpus.pairs[{i}]: needs train_on and test_on, each naming at \
                     least one corpus"
                ));
            }
            if let Some(c) = p.train_on.iter().find(|c| p.test_on.contains(c)) {
                return Err(format!(
                    "split.cross_corpus.pairs[{i}]: corpus {c:?} is on both sides"
                ));
            }
        }
        let cross = self.cross_corpus.leave_one_corpus_out || !self.cross_corpus.pairs.is_empty();
        if !(r.enabled
            || self.actor_holdout.enabled
            || self.actor_kfold.enabled
            || self.leave_one_speaker_out.enabled
            || cross)
        {
            return Err(
                "split: enable at least one of random, actor_holdout, actor_kfold, \
                 leave_one_speaker_out, cross_corpus"
                    .into(),
            );
        }
        Ok(())
    }

    /// Checks the cross-corpus pairs name configured corpora.
    pub fn check_corpora(&self, names: &[&str]) -> Result<(), String> {
        for (i, p) in self.cross_corpus.pairs.iter().enumerate() {
            if let Some(c) = p
                .train_on
                .iter()
                .chain(&p.test_on)
                .find(|c| !names.contains(&c.as_str()))
            {
                return Err(format!(
                    "split.cross_corpus.pairs[{i}]: {c:?} is not a configured corpus ({})",
                    names.join(", ")
                ));
            }
        }
        if self.cross_corpus.leave_one_corpus_out && names.len() < 2 {
            return Err(
                "split.cross_corpus.leave_one_corpus_out: needs at least two corpora".into(),
            );
        }
        Ok(())
    }

    /// Every split of every enabled protocol, in a stable order. `classes[i]` and the `i`-th
    /// entries of `groups` describe row `i`. Fails when a protocol cannot be formed from these
    /// rows (e.g. fewer speakers than folds, or no test speaker present). Speaker protocols
    /// are left out, with a warning, when no row has a speaker.
    pub fn splits(&self, classes: &[usize], groups: &Groups) -> Result<Vec<Split>, String> {
        let mut out = Vec::new();
        if self.random.enabled {
            for &seed in &self.random.seeds {
                out.push(stratified_holdout(classes, self.random.test_size, seed));
            }
        }
        let speaker_protocols = self.actor_holdout.enabled
            || self.actor_kfold.enabled
            || self.leave_one_speaker_out.enabled;
        let with_speaker = groups.speakers.iter().filter(|s| s.is_some()).count();
        if speaker_protocols && with_speaker == 0 {
            log::warn!(
                "split: no recording has a speaker (the corpora's layout does not say who \
                 speaks), so only the random split runs; the speaker-independent protocols \
                 need speakers (a folders corpus's speaker_pattern, a manifest's speaker column)"
            );
        } else if speaker_protocols {
            if with_speaker < groups.speakers.len() {
                log::warn!(
                    "split: {} recordings have no speaker and take no part in the \
                     speaker-independent protocols",
                    groups.speakers.len() - with_speaker
                );
            }
            if self.actor_holdout.enabled {
                out.push(actor_holdout(
                    &groups.speakers,
                    &self.actor_holdout.test_actors,
                )?);
            }
            if self.actor_kfold.enabled {
                out.extend(actor_kfold(groups, self.actor_kfold.k)?);
            }
            if self.leave_one_speaker_out.enabled {
                out.extend(leave_one_speaker_out(&groups.speakers)?);
            }
        }
        let corpora: BTreeSet<&str> = groups.corpora.iter().map(|c| &**c).collect();
        if self.cross_corpus.leave_one_corpus_out {
            for c in &corpora {
                let others: Vec<String> = corpora
                    .iter()
                    .filter(|o| *o != c)
                    .map(|o| o.to_string())
                    .collect();
                out.push(cross_corpus(
                    "leave_one_corpus_out",
                    c.to_string(),
                    classes,
                    &groups.corpora,
                    &others,
                    &[c.to_string()],
                )?);
            }
        }
        for pair in &self.cross_corpus.pairs {
            out.push(cross_corpus(
                "cross_corpus",
                pair.name(),
                classes,
                &groups.corpora,
                &pair.train_on,
                &pair.test_on,
            )?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::protocols::one_sex_fold;
    use super::*;

    /// RAVDESS's rule: odd actors are male.
    fn sexes(actors: &[u8]) -> Vec<Option<Gender>> {
        actors
            .iter()
            .map(|a| {
                Some(if a % 2 == 1 {
                    Gender::Male
                } else {
                    Gender::Female
                })
            })
            .collect()
    }

    #[test]
    fn folds_of_one_sex_are_found() {
        let ravdess: Vec<u8> = (1..=20).collect();
        let g = sexes(&ravdess);
        // i % 4 over alternating sexes: every fold is of one sex.
        assert_eq!(one_sex_fold(&g, 4), Some(0));
        assert_eq!(one_sex_fold(&g, 2), Some(0));
        assert_eq!(one_sex_fold(&g, 5), None);
        // Ten folds of two actors (i and i + 10): same parity, one sex each.
        assert_eq!(one_sex_fold(&g, 10), Some(0));
        // One sex in the corpus: nothing to mix.
        let men: Vec<u8> = (1..=20).step_by(2).collect();
        assert_eq!(one_sex_fold(&sexes(&men), 5), None);
        // k = 4 over actors 1, 2, 3, 5, 7, 9: fold-0 tests actors 1 and 7, both male.
        assert_eq!(one_sex_fold(&sexes(&[1, 2, 3, 5, 7, 9]), 4), Some(0));
        // Unknown sexes: nothing to say.
        assert_eq!(one_sex_fold(&[None, None, Some(Gender::Male)], 2), None);
    }
    use proptest::prelude::*;

    /// A RAVDESS-shaped corpus of `actors` actors: classes, and per row its actor and groups.
    fn corpus(actors: u8) -> (Vec<usize>, Vec<u8>, Groups) {
        let mut classes = Vec::new();
        let mut who = Vec::new();
        for a in 1..=actors {
            for c in 0..8 {
                for _ in 0..if c == 0 { 4 } else { 8 } {
                    classes.push(c);
                    who.push(a);
                }
            }
        }
        let groups = Groups {
            speakers: who
                .iter()
                .map(|a| Some(Arc::from(format!("ravdess/{a:02}"))))
                .collect(),
            genders: sexes(&who),
            corpora: who.iter().map(|_| Arc::from("ravdess")).collect(),
        };
        (classes, who, groups)
    }

    #[test]
    fn stratified_holdout_keeps_class_proportions() {
        let (classes, _, _) = corpus(20);
        let s = stratified_holdout(&classes, 0.2, 7);
        assert_eq!(s.train.len() + s.test.len(), classes.len());
        for c in 0..8 {
            let total = classes.iter().filter(|&&x| x == c).count();
            let in_test = s.test.iter().filter(|&&i| classes[i] == c).count();
            assert_eq!(in_test, (total as f64 * 0.2).round() as usize, "class {c}");
        }
        assert_eq!(s, stratified_holdout(&classes, 0.2, 7));
        assert_ne!(s.test, stratified_holdout(&classes, 0.2, 8).test);
    }

    #[test]
    fn actor_kfold_tests_every_actor_once_and_never_trains_on_it() {
        let (_, actors, groups) = corpus(20);
        let folds = actor_kfold(&groups, 5).unwrap();
        let mut tested = Vec::new();
        for f in &folds {
            let test_actors: std::collections::BTreeSet<u8> =
                f.test.iter().map(|&i| actors[i]).collect();
            assert_eq!(test_actors.len(), 4);
            let males = test_actors.iter().filter(|&&a| a % 2 == 1).count();
            assert_eq!(males, 2, "{test_actors:?}");
            assert!(f.train.iter().all(|&i| !test_actors.contains(&actors[i])));
            tested.extend(test_actors);
        }
        tested.sort_unstable();
        assert_eq!(tested, (1..=20).collect::<Vec<u8>>());
        assert!(actor_kfold(&groups, 21).is_err());
    }

    #[test]
    fn actor_holdout_needs_present_actors() {
        let (_, actors, groups) = corpus(4);
        let n = |v: u32| SpeakerId::Number(v);
        let s = actor_holdout(&groups.speakers, &[n(2), n(9)]).unwrap();
        assert!(s.test.iter().all(|&i| actors[i] == 2));
        assert_eq!(s.test.len() + s.train.len(), actors.len());
        assert!(actor_holdout(&groups.speakers, &[n(9)]).is_err());
        // By id or by key, too.
        let by_key = actor_holdout(&groups.speakers, &[SpeakerId::Name("ravdess/02".into())]);
        assert_eq!(by_key.unwrap().test, s.test);
        let by_id = actor_holdout(&groups.speakers, &[SpeakerId::Name("02".into())]);
        assert_eq!(by_id.unwrap().test, s.test);
    }

    #[test]
    fn rows_without_a_speaker_are_left_out_of_speaker_protocols() {
        let (classes, _, mut groups) = corpus(6);
        for s in groups.speakers.iter_mut().step_by(3) {
            *s = None;
        }
        let config = SplitConfig {
            leave_one_speaker_out: LeaveOneSpeakerOutConfig { enabled: true },
            actor_holdout: ActorHoldoutConfig {
                enabled: true,
                test_actors: vec![SpeakerId::Number(1)],
            },
            ..SplitConfig::default()
        };
        let splits = config.splits(&classes, &groups).unwrap();
        for s in splits.iter().filter(|s| s.protocol != "random") {
            assert!(
                s.train
                    .iter()
                    .chain(&s.test)
                    .all(|&i| groups.speakers[i].is_some()),
                "{} {}",
                s.protocol,
                s.fold
            );
        }
        let loso: Vec<&Split> = splits
            .iter()
            .filter(|s| s.protocol == "leave_one_speaker_out")
            .collect();
        assert_eq!(loso.len(), 6);
        assert_eq!(loso[0].fold, "ravdess/01");
        // No speaker at all: the random split only.
        groups.speakers.iter_mut().for_each(|s| *s = None);
        let splits = config.splits(&classes, &groups).unwrap();
        assert!(splits.iter().all(|s| s.protocol == "random"));
    }

    #[test]
    fn cross_corpus_splits_train_on_one_side_and_keep_shared_classes() {
        // Corpus a has classes 0, 1, 2; corpus b has 1, 2, 3.
        let classes = vec![0, 1, 2, 0, 1, 2, 1, 2, 3, 1, 2, 3];
        let corpora: Vec<Arc<str>> = (0..12)
            .map(|i| Arc::from(if i < 6 { "a" } else { "b" }))
            .collect();
        let groups = Groups {
            speakers: vec![None; 12],
            genders: vec![None; 12],
            corpora,
        };
        let config = SplitConfig {
            random: RandomConfig {
                enabled: false,
                ..RandomConfig::default()
            },
            actor_holdout: ActorHoldoutConfig {
                enabled: false,
                ..ActorHoldoutConfig::default()
            },
            actor_kfold: ActorKfoldConfig {
                enabled: false,
                ..ActorKfoldConfig::default()
            },
            cross_corpus: CrossCorpusConfig {
                leave_one_corpus_out: true,
                pairs: vec![CorpusPair {
                    train_on: vec!["a".into()],
                    test_on: vec!["b".into()],
                }],
            },
            ..SplitConfig::default()
        };
        config.check().unwrap();
        let splits = config.splits(&classes, &groups).unwrap();
        let names: Vec<(&str, &str)> = splits.iter().map(|s| (s.protocol, &*s.fold)).collect();
        assert_eq!(
            names,
            [
                ("leave_one_corpus_out", "a"),
                ("leave_one_corpus_out", "b"),
                ("cross_corpus", "a->b")
            ]
        );
        let a_to_b = &splits[2];
        assert_eq!(a_to_b.shared_classes, Some(vec![1, 2]));
        assert_eq!(a_to_b.train, [1, 2, 4, 5]);
        assert_eq!(a_to_b.test, [6, 7, 9, 10]);
        assert_eq!(splits[0].test, [1, 2, 4, 5]);
        assert!(config.check_corpora(&["a", "b"]).is_ok());
        assert!(config
            .check_corpora(&["a", "c"])
            .unwrap_err()
            .contains("\"b\""));
    }

    proptest! {
        #[test]
        fn holdout_partitions_the_rows(seed in 0u64..1000, n in 2usize..200, k in 2usize..6, t in 0.05f64..0.95) {
            let classes: Vec<usize> = (0..n).map(|i| (i * 7 + seed as usize) % k).collect();
            let s = stratified_holdout(&classes, t, seed);
            let mut all: Vec<usize> = s.train.iter().chain(&s.test).copied().collect();
            all.sort_unstable();
            prop_assert_eq!(all, (0..n).collect::<Vec<_>>());
        }
    }
}
