//! The protocols' partitions: the stratified holdout, the speaker-grouped ones (holdout,
//! k-fold, leave one speaker out) and the cross-corpus ones. Pure functions of the rows'
//! classes and groups.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{Groups, SpeakerId, Split};
use crate::corpus::Gender;

/// Stratified holdout (`sklearn.model_selection.train_test_split(stratify=y)` in spirit): per
/// class, a seeded shuffle and the first `round(n * test_size)` rows (at least one, and at
/// least one left for training when the class has two or more) go to the test set.
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
        shared_classes: None,
    }
}

/// Train on every speaker not in `test_actors`, test on those present. Rows without a speaker
/// are on neither side.
pub fn actor_holdout(
    speakers: &[Option<Arc<str>>],
    test_actors: &[SpeakerId],
) -> Result<Split, String> {
    let (mut test, mut train) = (Vec::new(), Vec::new());
    for (i, s) in speakers.iter().enumerate() {
        let Some(s) = s else { continue };
        if test_actors.iter().any(|t| t.matches(s)) {
            test.push(i);
        } else {
            train.push(i);
        }
    }
    if test.is_empty() || train.is_empty() {
        let named: Vec<String> = test_actors.iter().map(|t| t.to_string()).collect();
        return Err(format!(
            "split.actor_holdout.test_actors: [{}] leaves an empty {} set with the speakers present",
            named.join(", "),
            if test.is_empty() { "test" } else { "training" }
        ));
    }
    Ok(Split {
        protocol: "actor_holdout",
        fold: "holdout".into(),
        train,
        test,
        shared_classes: None,
    })
}

/// The first fold of [`actor_kfold`] whose test speakers are all of one sex (RAVDESS: odd
/// actors are male, so an even k over its alternating actors gives such folds), when the
/// speakers are of both; speakers of unknown sex count as neither.
pub(super) fn one_sex_fold(genders: &[Option<Gender>], k: usize) -> Option<usize> {
    let sexes = |g: &mut dyn Iterator<Item = Option<Gender>>| {
        let (mut male, mut female) = (false, false);
        for g in g.flatten() {
            match g {
                Gender::Male => male = true,
                Gender::Female => female = true,
            }
        }
        (male, female)
    };
    if sexes(&mut genders.iter().copied()) != (true, true) {
        return None;
    }
    (0..k).find(|&f| {
        let (male, female) = sexes(&mut genders.iter().copied().skip(f).step_by(k));
        !(male && female)
    })
}

/// The distinct speakers in key order, and each one's sex (from its first row).
fn distinct_speakers(
    speakers: &[Option<Arc<str>>],
    genders: &[Option<Gender>],
) -> (Vec<Arc<str>>, Vec<Option<Gender>>) {
    let mut first: BTreeMap<&Arc<str>, Option<Gender>> = BTreeMap::new();
    for (i, s) in speakers.iter().enumerate() {
        if let Some(s) = s {
            first
                .entry(s)
                .or_insert_with(|| genders.get(i).copied().flatten());
        }
    }
    first.into_iter().map(|(s, g)| (s.clone(), g)).unzip()
}

/// `k` folds grouped by speaker: the `i`-th speaker in key order tests in fold `i % k`.
pub fn actor_kfold(groups: &Groups, k: usize) -> Result<Vec<Split>, String> {
    let (distinct, genders) = distinct_speakers(&groups.speakers, &groups.genders);
    if distinct.len() < k {
        return Err(format!(
            "split.actor_kfold.k: {k} folds need at least {k} speakers, found {}",
            distinct.len()
        ));
    }
    let fold_of = |s: &Arc<str>| distinct.binary_search(s).expect("speaker is present") % k;
    if let Some(f) = one_sex_fold(&genders, k) {
        log::warn!(
            "split.actor_kfold: with k = {k}, fold-{f} tests speakers of one sex only (speaker \
             i in sorted order tests in fold i % k), so its figures are not those of mixed \
             folds; another k may mix them (RAVDESS's actors alternate male and female, and an \
             odd k such as 5 mixes actors 01-20)"
        );
    }
    Ok((0..k)
        .map(|f| {
            let (mut test, mut train) = (Vec::new(), Vec::new());
            for (i, s) in groups.speakers.iter().enumerate() {
                match s {
                    Some(s) if fold_of(s) == f => test.push(i),
                    Some(_) => train.push(i),
                    None => {}
                }
            }
            Split {
                protocol: "actor_kfold",
                fold: format!("fold-{f}"),
                train,
                test,
                shared_classes: None,
            }
        })
        .collect())
}

/// One fold per speaker (named by its `corpus/speaker` key), in key order.
pub fn leave_one_speaker_out(speakers: &[Option<Arc<str>>]) -> Result<Vec<Split>, String> {
    let distinct: BTreeSet<&Arc<str>> = speakers.iter().flatten().collect();
    if distinct.len() < 2 {
        return Err(format!(
            "split.leave_one_speaker_out: needs at least 2 speakers, found {}",
            distinct.len()
        ));
    }
    Ok(distinct
        .into_iter()
        .map(|held| {
            let (mut test, mut train) = (Vec::new(), Vec::new());
            for (i, s) in speakers.iter().enumerate() {
                match s {
                    Some(s) if s == held => test.push(i),
                    Some(_) => train.push(i),
                    None => {}
                }
            }
            Split {
                protocol: "leave_one_speaker_out",
                fold: held.to_string(),
                train,
                test,
                shared_classes: None,
            }
        })
        .collect())
}

/// Train on the rows of the `train_on` corpora, test on those of `test_on`, both restricted to
/// the classes both sides have.
pub(super) fn cross_corpus(
    protocol: &'static str,
    fold: String,
    classes: &[usize],
    corpora: &[Arc<str>],
    train_on: &[String],
    test_on: &[String],
) -> Result<Split, String> {
    let side = |names: &[String]| -> Vec<usize> {
        (0..corpora.len())
            .filter(|&i| names.iter().any(|n| **n == *corpora[i]))
            .collect()
    };
    let (train, test) = (side(train_on), side(test_on));
    let class_set =
        |rows: &[usize]| -> BTreeSet<usize> { rows.iter().map(|&i| classes[i]).collect() };
    let shared: Vec<usize> = class_set(&train)
        .intersection(&class_set(&test))
        .copied()
        .collect();
    if shared.len() < 2 {
        return Err(format!(
            "split {protocol} {fold}: the two sides share {} class(es); at least 2 are needed",
            shared.len()
        ));
    }
    let keep = |rows: Vec<usize>| -> Vec<usize> {
        rows.into_iter()
            .filter(|&i| shared.binary_search(&classes[i]).is_ok())
            .collect()
    };
    Ok(Split {
        protocol,
        fold,
        train: keep(train),
        test: keep(test),
        shared_classes: Some(shared),
    })
}
