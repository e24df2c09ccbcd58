//! Evaluation protocols: which rows train and which test. Splitting comes first; everything
//! fitted afterwards (augmentation choice, scaling, early stopping) sees the training part only.
//!
//! - `random`: stratified holdout per seed (the original project's setting; the two repetitions
//!   of one actor's sentence can land on both sides, so it flatters);
//! - `actor_holdout`: fixed test actors, every other actor trains (speaker-independent);
//! - `actor_kfold`: k folds grouped by actor (actor `a`, in sorted order `i`, tests in fold
//!   `i % k`), so with actors 01-20 and k = 5 each fold tests 4 actors, 2 male and 2 female.

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// One train/test partition of the rows of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// `random`, `actor_holdout` or `actor_kfold`.
    pub protocol: &'static str,
    /// Which partition of the protocol: `seed-1`, `holdout`, `fold-0`, ...
    pub fold: String,
    /// Row indices, ascending.
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

/// The protocols to evaluate, from `[split]` in `pipeline.toml`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SplitConfig {
    pub random: RandomConfig,
    pub actor_holdout: ActorHoldoutConfig,
    pub actor_kfold: ActorKfoldConfig,
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActorHoldoutConfig {
    pub enabled: bool,
    /// Actors tested on; every other actor trains. Default [17, 18, 19, 20] (2 male, 2 female).
    pub test_actors: Vec<u8>,
}

impl Default for ActorHoldoutConfig {
    fn default() -> Self {
        ActorHoldoutConfig {
            enabled: true,
            test_actors: vec![17, 18, 19, 20],
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
        if !(r.enabled || self.actor_holdout.enabled || self.actor_kfold.enabled) {
            return Err("split: enable at least one of random, actor_holdout, actor_kfold".into());
        }
        Ok(())
    }

    /// Every split of every enabled protocol, in a stable order. `classes[i]` and `actors[i]`
    /// describe row `i`. Fails when a protocol cannot be formed from these rows (e.g. fewer
    /// actors than folds, or no test actor present).
    pub fn splits(&self, classes: &[usize], actors: &[u8]) -> Result<Vec<Split>, String> {
        let mut out = Vec::new();
        if self.random.enabled {
            for &seed in &self.random.seeds {
                out.push(stratified_holdout(classes, self.random.test_size, seed));
            }
        }
        if self.actor_holdout.enabled {
            out.push(actor_holdout(actors, &self.actor_holdout.test_actors)?);
        }
        if self.actor_kfold.enabled {
            out.extend(actor_kfold(actors, self.actor_kfold.k)?);
        }
        Ok(out)
    }
}

/// Stratified holdout: in each class, a seeded shuffle and the first `round(n_c * test_size)`
/// rows (at least one when the class has two or more) go to test.
pub fn stratified_holdout(classes: &[usize], test_size: f64, seed: u64) -> Split {
    let mut by_class: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, &c) in classes.iter().enumerate() {
        by_class.entry(c).or_default().push(i);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for rows in by_class.values_mut() {
        rows.shuffle(&mut rng);
        let n = rows.len();
        let mut n_test = (n as f64 * test_size).round() as usize;
        if n >= 2 {
            n_test = n_test.clamp(1, n - 1);
        } else {
            n_test = 0;
        }
        test.extend_from_slice(&rows[..n_test]);
        train.extend_from_slice(&rows[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    Split {
        protocol: "random",
        fold: format!("seed-{seed}"),
        train,
        test,
    }
}

/// Train on every actor not in `test_actors`, test on those present.
pub fn actor_holdout(actors: &[u8], test_actors: &[u8]) -> Result<Split, String> {
    let (test, train): (Vec<usize>, Vec<usize>) =
        (0..actors.len()).partition(|&i| test_actors.contains(&actors[i]));
    if test.is_empty() || train.is_empty() {
        return Err(format!(
            "split.actor_holdout.test_actors: {test_actors:?} leaves an empty {} set with the actors present",
            if test.is_empty() { "test" } else { "training" }
        ));
    }
    Ok(Split {
        protocol: "actor_holdout",
        fold: "holdout".into(),
        train,
        test,
    })
}

/// The first fold of [`actor_kfold`] whose test actors are all of one sex (RAVDESS: odd actor
/// numbers are male) while the corpus has both, if any.
fn one_sex_fold(distinct: &[u8], k: usize) -> Option<usize> {
    let sexes = |actors: &mut dyn Iterator<Item = u8>| {
        let (mut male, mut female) = (false, false);
        for a in actors {
            if a % 2 == 1 {
                male = true;
            } else {
                female = true;
            }
        }
        (male, female)
    };
    if sexes(&mut distinct.iter().copied()) != (true, true) {
        return None;
    }
    (0..k).find(|&f| {
        let (male, female) = sexes(&mut distinct.iter().copied().skip(f).step_by(k));
        !(male && female)
    })
}

/// `k` folds grouped by actor: the `i`-th actor in ascending order tests in fold `i % k`.
pub fn actor_kfold(actors: &[u8], k: usize) -> Result<Vec<Split>, String> {
    let mut distinct: Vec<u8> = actors.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < k {
        return Err(format!(
            "split.actor_kfold.k: {k} folds need at least {k} actors, found {}",
            distinct.len()
        ));
    }
    let fold_of = |a: u8| distinct.binary_search(&a).expect("actor is present") % k;
    if let Some(f) = one_sex_fold(&distinct, k) {
        log::warn!(
            "split.actor_kfold: with k = {k}, fold-{f} tests actors of one sex only (RAVDESS: \
             odd actors are male), so its figures are not those of mixed folds; on actors 01-20 \
             an odd k such as 5 mixes them"
        );
    }
    Ok((0..k)
        .map(|f| {
            let (test, train): (Vec<usize>, Vec<usize>) =
                (0..actors.len()).partition(|&i| fold_of(actors[i]) == f);
            Split {
                protocol: "actor_kfold",
                fold: format!("fold-{f}"),
                train,
                test,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_of_one_sex_are_found() {
        let ravdess: Vec<u8> = (1..=20).collect();
        // i % 4 over alternating sexes: every fold is of one sex.
        assert_eq!(one_sex_fold(&ravdess, 4), Some(0));
        assert_eq!(one_sex_fold(&ravdess, 2), Some(0));
        assert_eq!(one_sex_fold(&ravdess, 5), None);
        // Ten folds of two actors (i and i + 10): same parity, one sex each.
        assert_eq!(one_sex_fold(&ravdess, 10), Some(0));
        // One sex in the corpus: nothing to mix.
        let men: Vec<u8> = (1..=20).step_by(2).collect();
        assert_eq!(one_sex_fold(&men, 5), None);
        // k = 4 over actors 1, 2, 3, 5, 7, 9: fold-0 tests actors 1 and 7, both male.
        assert_eq!(one_sex_fold(&[1, 2, 3, 5, 7, 9], 4), Some(0));
    }
    use proptest::prelude::*;

    fn corpus(actors: u8) -> (Vec<usize>, Vec<u8>) {
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
        (classes, who)
    }

    #[test]
    fn stratified_holdout_keeps_class_proportions() {
        let (classes, _) = corpus(20);
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
        let (_, actors) = corpus(20);
        let folds = actor_kfold(&actors, 5).unwrap();
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
        assert!(actor_kfold(&actors, 21).is_err());
    }

    #[test]
    fn actor_holdout_needs_present_actors() {
        let (_, actors) = corpus(4);
        let s = actor_holdout(&actors, &[2, 9]).unwrap();
        assert!(s.test.iter().all(|&i| actors[i] == 2));
        assert!(actor_holdout(&actors, &[9]).is_err());
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
