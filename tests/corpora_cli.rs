//! Any corpus: synthetic trees in every published naming convention, a folder-per-class tree
//! and a manifest, several kinds in one run, bad names and unmapped labels, the speaker and
//! cross-corpus protocols end to end, and a RAVDESS-only config giving the same tables however
//! it is written. No third-party audio: every file is a generated tone.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::{assert_exit, make_corpus, stderr_of, strings, voice, write_wav16, Workspace};
use ser_pipeline::data::parquet;

/// A short tone at `path` (its folders made), distinct per `seed`.
fn tone(path: &Path, seed: u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    write_wav16(path, &voice(seed % 8 + 1, seed, 1, 16000, 0.3), 1, 16000);
}

/// One row per path of the manifest: (corpus, speaker, emotion, gender, status).
fn manifest(ws: &Workspace) -> BTreeMap<String, [String; 6]> {
    let df = parquet::read(&ws.out("manifest.parquet")).unwrap();
    let cols =
        ["corpus", "speaker", "emotion", "gender", "status", "error"].map(|c| strings(&df, c));
    strings(&df, "path")
        .into_iter()
        .enumerate()
        .map(|(i, p)| (p, cols.clone().map(|c| c[i].clone())))
        .collect()
}

#[test]
fn every_kind_reads_its_published_convention_in_one_run() {
    let ws = Workspace::new("");
    let root = ws.path();
    // The published conventions (names from each corpus's documentation).
    tone(&root.join("emodb/wav/03a01Wa.wav"), 1);
    tone(&root.join("emodb/wav/08b02Lb.wav"), 2);
    tone(&root.join("emodb/wav/03a01Xa.wav"), 3); // no emotion X
    tone(&root.join("emovo/f1/dis-f1-b1.wav"), 4);
    tone(&root.join("emovo/m2/gio-m2-l3.wav"), 5);
    tone(&root.join("crema/AudioWAV/1001_DFA_ANG_XX.wav"), 6);
    tone(&root.join("crema/AudioWAV/1091_IEO_SAD_LO.wav"), 7);
    tone(&root.join("tess/OAF_back_angry.wav"), 8);
    tone(&root.join("tess/YAF_beg_ps.wav"), 9);
    tone(&root.join("savee/DC_a01.wav"), 10);
    tone(&root.join("savee/JK/su15.wav"), 11);
    tone(&root.join("mine/Angry/SM1_F19_A019.wav"), 12);
    tone(&root.join("mine/Happiness/SM2_M20_H001.wav"), 13);
    tone(&root.join("mine/Frustrated/SM1_F19_X001.wav"), 14); // not a known label
    tone(&root.join("listed/clips/a.wav"), 15);
    tone(&root.join("listed/clips/b.wav"), 16);
    std::fs::write(
        root.join("listed/list.csv"),
        "path,emotion,speaker,gender,split,session\n\
         clips/a.wav,Joy,s1,F,train,1\n\
         clips/b.wav,bored,s2,m,test,2\n\
         clips/gone.wav,sad,s2,m,,2\n",
    )
    .unwrap();
    ws.write_config(
        r#"
[[corpora]]
kind = "emodb"
root = "emodb"
[[corpora]]
kind = "emovo"
root = "emovo"
[[corpora]]
name = "crema"
kind = "crema_d"
root = "crema"
[[corpora]]
kind = "tess"
root = "tess"
[[corpora]]
kind = "savee"
root = "savee"
[[corpora]]
name = "mine"
kind = "folders"
root = "mine"
speaker_pattern = '^[^/]+/(?P<speaker>SM\d+)_(?P<gender>[MF])'
[[corpora]]
name = "listed"
kind = "manifest"
manifest = "listed/list.csv"
"#,
    );
    let out = ws.cmd(&["run", "--stage", "scan"]).output().unwrap();
    assert_exit(&out, 3);
    let rows = manifest(&ws);
    let row = |p: &str| rows.get(p).unwrap_or_else(|| panic!("{p} not in {rows:?}"));
    let ok = |p: &str, corpus: &str, speaker: &str, emotion: &str, gender: &str| {
        let r = row(p);
        assert_eq!(
            (&*r[0], &*r[1], &*r[2], &*r[3], &*r[4]),
            (corpus, speaker, emotion, gender, "ok"),
            "{p}: {r:?}"
        );
    };
    // Several corpora: every path starts with its corpus's name, so paths stay unique.
    ok("emodb/wav/03a01Wa.wav", "emodb", "03", "angry", "male");
    ok("emodb/wav/08b02Lb.wav", "emodb", "08", "boredom", "female");
    ok("emovo/f1/dis-f1-b1.wav", "emovo", "f1", "disgust", "female");
    ok("emovo/m2/gio-m2-l3.wav", "emovo", "m2", "happy", "male");
    ok(
        "crema/AudioWAV/1001_DFA_ANG_XX.wav",
        "crema",
        "1001",
        "angry",
        "<null>",
    );
    ok(
        "crema/AudioWAV/1091_IEO_SAD_LO.wav",
        "crema",
        "1091",
        "sad",
        "<null>",
    );
    ok("tess/OAF_back_angry.wav", "tess", "OAF", "angry", "female");
    ok("tess/YAF_beg_ps.wav", "tess", "YAF", "surprised", "female");
    ok("savee/DC_a01.wav", "savee", "DC", "angry", "male");
    ok("savee/JK/su15.wav", "savee", "JK", "surprised", "male");
    ok(
        "mine/Angry/SM1_F19_A019.wav",
        "mine",
        "SM1",
        "angry",
        "female",
    );
    ok(
        "mine/Happiness/SM2_M20_H001.wav",
        "mine",
        "SM2",
        "happy",
        "male",
    );
    ok("listed/clips/a.wav", "listed", "s1", "happy", "female");
    ok("listed/clips/b.wav", "listed", "s2", "boredom", "male");
    // Bad names name the convention expected; an unknown label names itself; a manifest row
    // of a missing file is one error.
    let bad = row("emodb/wav/03a01Xa.wav");
    assert_eq!(bad[4], "bad_name");
    assert!(
        bad[5].contains("SSTTTEV") && bad[5].contains("'X'"),
        "{bad:?}"
    );
    let unmapped = row("mine/Frustrated/SM1_F19_X001.wav");
    assert_eq!(unmapped[4], "bad_name");
    assert!(
        unmapped[5].contains("unmapped label \"Frustrated\""),
        "{unmapped:?}"
    );
    let gone = row("listed/clips/gone.wav");
    assert_eq!(gone[4], "unreadable");
    assert!(gone[5].contains("no such file"), "{gone:?}");
    let errors = std::fs::read_to_string(ws.out("errors.csv")).unwrap();
    assert_eq!(errors.lines().count(), 4, "{errors}");
    // The kinds' extra columns are in the table, null for the other corpora's rows.
    let df = parquet::read(&ws.out("manifest.parquet")).unwrap();
    let paths = strings(&df, "path");
    let at = |p: &str| paths.iter().position(|x| x == p).unwrap();
    let level = strings(&df, "level");
    assert_eq!(level[at("crema/AudioWAV/1091_IEO_SAD_LO.wav")], "low");
    assert_eq!(level[at("tess/OAF_back_angry.wav")], "<null>");
    assert_eq!(strings(&df, "text")[at("emodb/wav/08b02Lb.wav")], "b02");
    assert_eq!(strings(&df, "split")[at("listed/clips/b.wav")], "test");
    assert_eq!(strings(&df, "session")[at("listed/clips/a.wav")], "1");
    // The log counts the classes per corpus.
    assert!(stderr_of(&out).contains("scan: corpus emodb: angry 1, boredom 1"));
}

#[test]
fn a_label_map_names_what_the_synonyms_do_not_know() {
    let ws = Workspace::new(
        r#"
[[corpora]]
kind = "folders"
root = "corpus"
[labels]
map = { "Frustrated" = "angry", "calm" = "neutral" }
"#,
    );
    tone(&ws.corpus().join("Frustrated/a.wav"), 1);
    tone(&ws.corpus().join("Calm/b.wav"), 2);
    tone(&ws.corpus().join("JOY/c.wav"), 3);
    // One file at another rate: without audio.sample_rate, scan warns once.
    write_wav16(
        &ws.corpus().join("JOY/d.wav"),
        &voice(3, 4, 1, 8000, 0.3),
        1,
        8000,
    );
    let out = ws.cmd(&["run", "--stage", "scan"]).output().unwrap();
    assert_exit(&out, 0);
    let log = stderr_of(&out);
    assert_eq!(
        log.matches("mix sample rates (8000, 16000 Hz)").count(),
        1,
        "{log}"
    );
    let rows = manifest(&ws);
    // One corpus: paths are relative to its root, as they always were.
    assert_eq!(rows["Frustrated/a.wav"][2], "angry");
    assert_eq!(rows["Calm/b.wav"][2], "neutral");
    assert_eq!(rows["JOY/c.wav"][2], "happy");
    assert_eq!(rows["JOY/c.wav"][1], "<null>");
    // A bad kind or option fails before any work, naming the key (exit 2).
    ws.write_config("[[corpora]]\nkind = \"timit\"\nroot = \"corpus\"\n");
    let out = ws.cmd(&["run", "--stage", "scan"]).output().unwrap();
    assert_exit(&out, 2);
    assert!(
        stderr_of(&out).contains("corpora[0].kind"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn data_root_and_one_ravdess_corpus_give_the_same_tables() {
    let ws = Workspace::new("");
    make_corpus(&ws.corpus(), &[1, 2], 16000, 0.3);
    assert_exit(&ws.cmd(&["run", "--stage", "extract"]).output().unwrap(), 0);
    let shorthand = parquet::read(&ws.out("features.parquet")).unwrap();
    ws.write_config("[[corpora]]\nkind = \"ravdess\"\nroot = \"corpus\"\n");
    assert_exit(
        &ws.cmd(&["run", "--stage", "extract", "--force"])
            .output()
            .unwrap(),
        0,
    );
    let explicit = parquet::read(&ws.out("features.parquet")).unwrap();
    common::assert_same_table(&shorthand, &explicit, "data.root vs [[corpora]]");
    assert_eq!(strings(&explicit, "speaker")[0], "01");
    assert_eq!(strings(&explicit, "corpus")[0], "ravdess");
}

/// EmoDB-shaped recordings: `speakers` x 7 emotions x 2 texts.
fn emodb_tree(root: &Path, speakers: &[u8]) {
    for &s in speakers {
        for (k, letter) in ['W', 'L', 'E', 'A', 'F', 'T', 'N'].into_iter().enumerate() {
            for text in ["a01", "b02"] {
                let name = format!("{s:02}{text}{letter}a.wav");
                let emotion = k as u8 + 1;
                let y = voice(emotion, s, text.len() as u8 + emotion, 16000, 0.3);
                std::fs::create_dir_all(root).unwrap();
                write_wav16(&root.join(name), &y, 1, 16000);
            }
        }
    }
}

#[test]
fn speaker_and_cross_corpus_protocols_run_end_to_end() {
    let ws = Workspace::new(
        r#"
[[corpora]]
name = "rav"
kind = "ravdess"
root = "corpus"
[[corpora]]
name = "emo"
kind = "emodb"
root = "emodb"
[augment]
enabled = false
[split.random]
enabled = false
[split.actor_holdout]
enabled = false
[split.actor_kfold]
enabled = false
[split.leave_one_speaker_out]
enabled = true
[split.cross_corpus]
leave_one_corpus_out = true
pairs = [{ train_on = ["rav"], test_on = ["emo"] }]
[train]
speaker_normalization = true
[models]
train = ["svm"]
"#,
    );
    make_corpus(&ws.corpus(), &[1, 2, 3], 16000, 0.3);
    emodb_tree(&ws.path().join("emodb"), &[3, 8, 10]);
    let out = ws.cmd(&["run", "--stage", "all"]).output().unwrap();
    assert_exit(&out, 0);
    let log = stderr_of(&out);
    // boredom is EmoDB's only; calm and surprised RAVDESS's: reported, not silently dropped.
    assert!(log.contains("class boredom is only in corpus emo"), "{log}");
    let classes = std::fs::read_to_string(ws.path().join("reports/classes.csv")).unwrap();
    assert!(classes.contains("emo,boredom,6,true"), "{classes}");
    assert!(classes.contains("rav,calm,6,true"), "{classes}");

    // Leave one speaker out: six folds, each testing one speaker never trained on.
    let splits = parquet::read(&ws.out("splits.parquet")).unwrap();
    let (protocol, fold, part, path) = (
        strings(&splits, "protocol"),
        strings(&splits, "fold"),
        strings(&splits, "part"),
        strings(&splits, "path"),
    );
    let features = parquet::read(&ws.out("features.parquet")).unwrap();
    let speaker_of: BTreeMap<String, String> = strings(&features, "path")
        .into_iter()
        .zip(
            strings(&features, "corpus")
                .into_iter()
                .zip(strings(&features, "speaker"))
                .map(|(c, s)| format!("{c}/{s}")),
        )
        .collect();
    let mut folds: BTreeMap<&str, (BTreeSet<&str>, BTreeSet<&str>)> = BTreeMap::new();
    for i in (0..path.len()).filter(|&i| protocol[i] == "leave_one_speaker_out") {
        let side = folds.entry(&fold[i]).or_default();
        let who = speaker_of[&path[i]].as_str();
        if part[i] == "test" {
            side.1.insert(who);
        } else {
            side.0.insert(who);
        }
    }
    assert_eq!(
        folds.keys().copied().collect::<Vec<_>>(),
        ["emo/03", "emo/08", "emo/10", "rav/01", "rav/02", "rav/03"]
    );
    for (f, (train, test)) in &folds {
        assert_eq!(test.iter().copied().collect::<Vec<_>>(), [*f]);
        assert!(!train.contains(f) && train.len() == 5, "{f}: {train:?}");
    }

    // Cross-corpus: trained on one corpus, tested on the other, on the 6 shared classes.
    let shared = "shared: neutral happy sad angry fearful disgust";
    let metrics = std::fs::read_to_string(ws.path().join("reports/metrics.csv")).unwrap();
    for fold in ["rav->emo", "emo", "rav"] {
        for normalisation in ["speaker", "lone"] {
            let line = metrics
                .lines()
                .find(|l| {
                    l.contains(&format!(",svm,{fold},"))
                        && l.ends_with(&format!(",{normalisation}"))
                })
                .unwrap_or_else(|| panic!("no {fold} {normalisation} row in {metrics}"));
            assert!(line.contains(&format!(",{shared},")), "{line}");
        }
    }
    // The lone clips' pooled report and confusion matrix, beside the model's.
    for dir in ["reports/cross_corpus/svm", "reports/cross_corpus/svm/lone"] {
        assert!(
            ws.path().join(dir).join("confusion_matrix.csv").is_file(),
            "{dir}"
        );
    }
    let predictions = parquet::read(&ws.out("predictions.parquet")).unwrap();
    let (p_protocol, p_fold, truth, predicted, corpus, normalisation) = (
        strings(&predictions, "protocol"),
        strings(&predictions, "fold"),
        strings(&predictions, "true"),
        strings(&predictions, "predicted"),
        strings(&predictions, "corpus"),
        strings(&predictions, "normalisation"),
    );
    let kept: BTreeSet<&str> = shared["shared: ".len()..].split(' ').collect();
    let mut tested = BTreeMap::<&str, usize>::new();
    for i in (0..truth.len()).filter(|&i| p_protocol[i] == "cross_corpus") {
        assert_eq!(p_fold[i], "rav->emo");
        assert_eq!(corpus[i], "emo");
        assert!(kept.contains(truth[i].as_str()) && kept.contains(predicted[i].as_str()));
        *tested.entry(normalisation[i].as_str()).or_default() += 1;
    }
    // EmoDB's 3 speakers x 6 shared emotions x 2 texts, with their own statistics and again as
    // lone clips (none of them is a training speaker), for each of the run's models.
    let models = strings(&predictions, "model")
        .into_iter()
        .collect::<BTreeSet<_>>()
        .len();
    assert_eq!(
        tested,
        BTreeMap::from([("lone", 36 * models), ("speaker", 36 * models)])
    );
    // The random split tests speakers it trained on: no lone-clip rows.
    assert!((0..truth.len())
        .filter(|&i| p_protocol[i] == "random")
        .all(|i| normalisation[i] == "speaker"));
    let boredom = predictions.column("prob_boredom").unwrap().f64().unwrap();
    for i in (0..truth.len()).filter(|&i| p_protocol[i] == "cross_corpus") {
        assert_eq!(boredom.get(i), Some(0.0));
    }

    // predict groups EmoDB-named files by speaker (14 recordings each: their own statistics);
    // the same audio under a name no convention reads gets the average speaker's.
    let emodb: Vec<std::path::PathBuf> = std::fs::read_dir(ws.path().join("emodb"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let rows = ws.predict_json("svm", &[], &emodb);
    assert_eq!(rows.len(), 42);
    assert!(
        rows.iter().all(|r| r["speaker_statistics"] == "own"),
        "{rows:?}"
    );
    let lone = ws.path().join("my clip.wav");
    std::fs::copy(&emodb[0], &lone).unwrap();
    let rows = ws.predict_json("svm", &[], &[lone]);
    assert_eq!(rows[0]["speaker_statistics"], "population");
    // --corpus names the convention; a kind that reads none of the names finds no speaker.
    let rows = ws.predict_json("svm", &["--corpus", "tess"], &emodb);
    assert!(rows.iter().all(|r| r["speaker_statistics"] == "population"));
    let out = ws
        .cmd(&["predict", "--corpus", "timit", "--model", "out/models/svm"])
        .args(&emodb)
        .output()
        .unwrap();
    assert!(
        stderr_of(&out).contains("not a file-name kind"),
        "{}",
        stderr_of(&out)
    );
}
