//! extract is incremental per file: a changed, touched, new or removed audio file costs only
//! that file's features (and reruns the stages that depend on the table), and the table is the
//! same, bit for bit, as a `--force` recomputation's.

mod common;

use std::time::{Duration, SystemTime};

use common::{assert_same_table, make_corpus, stderr_of, strings, voice, write_wav16, Workspace};
use polars::prelude::DataFrame;
use ser_pipeline::data::parquet;

/// Runs `args`, asserting the exit code; returns the log.
fn run(ws: &Workspace, args: &[&str], code: i32) -> String {
    let out = ws.cmd(args).output().unwrap();
    let log = stderr_of(&out);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {log}");
    log
}

fn features(ws: &Workspace) -> DataFrame {
    parquet::read(&ws.out("features.parquet")).unwrap()
}

fn assert_logged(log: &str, line: &str) {
    assert!(log.contains(line), "expected {line:?} in the log:\n{log}");
}

/// Moves a file's modification time, as `touch` does, without changing its bytes.
fn touch(path: &std::path::Path, by: Duration) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() + by).unwrap();
}

#[test]
fn a_changed_or_touched_file_is_the_only_one_recomputed() {
    let ws = Workspace::new("");
    let written = make_corpus(&ws.corpus(), &[1, 2], 16000, 0.3);
    let n = written.len();
    let log = run(&ws, &["run", "--stage", "extract"], 0);
    assert_logged(&log, &format!("extract: 0 reused, {n} computed"));
    let before = features(&ws);

    // A rewritten file: scan reruns, extract computes that file alone.
    let changed = 5;
    let y = voice(8, 2, 2, 16000, 0.4);
    write_wav16(&ws.corpus().join(&written[changed]), &y, 1, 16000);
    let log = run(&ws, &["run", "--stage", "extract"], 0);
    assert_logged(&log, "scan: done");
    assert_logged(&log, &format!("extract: {} reused, 1 computed", n - 1));
    let incremental = features(&ws);
    assert_eq!(strings(&incremental, "path"), written);
    let row = |df: &DataFrame, i: usize| df.slice(i as i64, 1);
    for (i, path) in written.iter().enumerate() {
        if i == changed {
            let (old, new) = (row(&before, i), row(&incremental, i));
            assert!(!old.equals(&new), "{path} was not recomputed");
        } else {
            assert_same_table(&row(&before, i), &row(&incremental, i), path);
        }
    }

    // The same table as recomputing every file.
    let log = run(&ws, &["run", "--stage", "extract", "--force"], 0);
    assert_logged(&log, &format!("extract: 0 reused, {n} computed"));
    assert_same_table(&incremental, &features(&ws), "incremental vs --force");

    // A touched file (same bytes, new time) is recomputed too, to the same values.
    touch(&ws.corpus().join(&written[9]), Duration::from_secs(5));
    let log = run(&ws, &["run", "--stage", "extract"], 0);
    assert_logged(&log, &format!("extract: {} reused, 1 computed", n - 1));
    assert_same_table(&incremental, &features(&ws), "after touch");

    // Nothing changed: the stage is skipped without opening a file.
    let log = run(&ws, &["run", "--stage", "extract"], 0);
    assert_logged(&log, "extract: up to date");
}

#[test]
fn new_and_removed_files_and_failing_files() {
    let ws = Workspace::new("");
    let mut written = make_corpus(&ws.corpus(), &[3], 16000, 0.3);
    // A truncated file fails in extract on every run: it is retried, never reused.
    let good = std::fs::read(ws.corpus().join(&written[0])).unwrap();
    let truncated = "Actor_03/03-01-03-02-02-01-03.wav";
    std::fs::write(ws.corpus().join(truncated), &good[..good.len() / 2]).unwrap();
    let n = written.len();
    let log = run(&ws, &["run", "--stage", "extract"], 3);
    assert_logged(&log, &format!("extract: 0 reused, {} computed", n + 1));

    let removed = written.remove(0);
    std::fs::remove_file(ws.corpus().join(&removed)).unwrap();
    let added = "Actor_04/03-01-05-02-01-01-04.wav";
    std::fs::create_dir_all(ws.corpus().join("Actor_04")).unwrap();
    write_wav16(
        &ws.corpus().join(added),
        &voice(5, 4, 1, 16000, 0.3),
        1,
        16000,
    );
    written.push(added.to_string());
    written.sort();
    let log = run(&ws, &["run", "--stage", "extract"], 3);
    // n - 1 kept files reused; the new one and the truncated one computed.
    assert_logged(&log, &format!("extract: {} reused, 2 computed", n - 1));
    let incremental = features(&ws);
    assert_eq!(strings(&incremental, "path"), written);
    let errors = std::fs::read_to_string(ws.out("errors.csv")).unwrap();
    assert!(
        errors.contains(truncated) && errors.contains("truncated"),
        "{errors}"
    );

    run(&ws, &["run", "--stage", "extract", "--force"], 3);
    assert_same_table(&incremental, &features(&ws), "incremental vs --force");
}

#[test]
fn other_settings_or_an_unreadable_table_recompute_every_file() {
    let ws = Workspace::new("");
    let written = make_corpus(&ws.corpus(), &[5], 16000, 0.3);
    let n = written.len();
    run(&ws, &["run", "--stage", "extract"], 0);
    let log = run(
        &ws,
        &["run", "--stage", "extract", "--set", "features.n_mfcc=20"],
        0,
    );
    assert_logged(&log, "other settings");
    assert_logged(&log, &format!("extract: 0 reused, {n} computed"));
    assert!(features(&ws).column("mfcc_mean_19").is_ok());
    assert!(features(&ws).column("mfcc_mean_20").is_err());
    // Back to the default: the table on disk is n_mfcc = 20's, so nothing is reusable.
    let log = run(&ws, &["run", "--stage", "extract"], 0);
    assert_logged(&log, &format!("extract: 0 reused, {n} computed"));
    let reference = features(&ws);

    // A damaged table is not trusted: every file is recomputed, to the same values.
    std::fs::write(ws.out("features.parquet"), b"PAR1 not really").unwrap();
    touch(&ws.corpus().join(&written[0]), Duration::from_secs(5));
    let log = run(&ws, &["run", "--stage", "extract"], 0);
    assert_logged(&log, "cannot reuse");
    assert_logged(&log, &format!("extract: 0 reused, {n} computed"));
    assert_same_table(&reference, &features(&ws), "after a damaged table");
}

#[test]
fn stages_downstream_of_the_features_rerun_when_a_file_changes() {
    let ws = Workspace::new(common::TINY_TRAINING);
    let written = make_corpus(&ws.corpus(), &[1, 2, 3], 16000, 0.3);
    run(&ws, &["run", "--stage", "all"], 0);
    let log = run(&ws, &["run", "--stage", "all"], 0);
    for stage in ["scan", "extract", "augment", "train", "evaluate"] {
        assert_logged(&log, &format!("{stage}: up to date"));
    }

    let y = voice(2, 3, 1, 16000, 0.35);
    write_wav16(&ws.corpus().join(&written[40]), &y, 1, 16000);
    let log = run(&ws, &["run", "--stage", "all"], 0);
    assert_logged(
        &log,
        &format!("extract: {} reused, 1 computed", written.len() - 1),
    );
    for stage in ["scan", "extract", "augment", "train", "evaluate"] {
        assert_logged(&log, &format!("{stage}: done"));
    }
}

#[test]
fn reuse_spans_the_row_groups_of_a_large_table() {
    // extract computes 256 files at a time and writes `data.row_group_rows` rows per Parquet row
    // group: with 576 files and 200 rows per group, the table has groups of 200, 200 and 176
    // rows (each chunk split, the rest carried over). A change in the second group must still
    // cost that one file and give the --force table.
    let ws = Workspace::new("row_group_rows = 200\n");
    let actors: Vec<u8> = (1..=36).collect();
    let written = make_corpus(&ws.corpus(), &actors, 16000, 0.2);
    let n = written.len();
    assert_eq!(n, 576);
    run(&ws, &["run", "--stage", "extract"], 0);
    assert_eq!(row_group_sizes(&ws), [200, 200, 176]);
    let changed = 300;
    let y = voice(2, 35, 1, 16000, 0.25);
    write_wav16(&ws.corpus().join(&written[changed]), &y, 1, 16000);
    let log = run(&ws, &["run", "--stage", "extract"], 0);
    assert_logged(&log, &format!("extract: {} reused, 1 computed", n - 1));
    let incremental = features(&ws);
    assert_eq!(strings(&incremental, "path"), written);
    run(&ws, &["run", "--stage", "extract", "--force"], 0);
    assert_same_table(
        &incremental,
        &features(&ws),
        "incremental vs --force, three row groups",
    );
    assert_eq!(row_group_sizes(&ws), [200, 200, 176]);
}

/// Rows in each row group of the workspace's `features.parquet`.
fn row_group_sizes(ws: &Workspace) -> Vec<usize> {
    use polars::prelude::SerReader;
    polars::prelude::ParquetReader::new(std::fs::File::open(ws.out("features.parquet")).unwrap())
        .get_metadata()
        .unwrap()
        .row_groups
        .iter()
        .map(|g| g.num_rows())
        .collect()
}

/// With segment rows, a changed file's segments are recomputed with it, the rest reused, and
/// the tables (files, `[features]`' segments, and a model's own scale) equal a `--force`
/// recomputation's; a lost segments table of either scale recomputes everything.
#[test]
fn segment_tables_are_incremental_too() {
    let ws = Workspace::new(
        "[features]\nsegment_seconds = 0.1\n[models.segments]\nmlp = { seconds = 0.05 }\n",
    );
    let written = make_corpus(&ws.corpus(), &[1, 2], 16000, 0.3);
    let n = written.len();
    run(&ws, &["run", "--stage", "extract"], 0);
    let read = |name: &str| parquet::read(&ws.out(name)).unwrap();
    let fine_name = "segments_0.05s_hop_0.025s.parquet";
    let before = read("segments.parquet");
    let fine_before = read(fine_name);
    assert!(fine_before.height() > before.height());
    // A longer recording in place of one: more segments for it, the others' rows reused.
    let y = voice(8, 2, 2, 16000, 0.6);
    write_wav16(&ws.corpus().join(&written[3]), &y, 1, 16000);
    let log = run(&ws, &["run", "--stage", "extract"], 0);
    assert_logged(&log, &format!("extract: {} reused, 1 computed", n - 1));
    let incremental = read("segments.parquet");
    let fine = read(fine_name);
    assert!(incremental.height() > before.height());
    assert!(fine.height() > fine_before.height());
    let incremental_files = features(&ws);
    run(&ws, &["run", "--stage", "extract", "--force"], 0);
    assert_same_table(
        &incremental,
        &read("segments.parquet"),
        "segments: incremental vs --force",
    );
    assert_same_table(
        &fine,
        &read(fine_name),
        "model's scale: incremental vs --force",
    );
    assert_same_table(
        &incremental_files,
        &features(&ws),
        "files: incremental vs --force",
    );
    // Without a segments table, nothing is reused (and the table comes back).
    for name in ["segments.parquet", fine_name] {
        std::fs::remove_file(ws.out(name)).unwrap();
        let log = run(&ws, &["run", "--stage", "extract"], 0);
        assert_logged(&log, &format!("extract: 0 reused, {n} computed"));
        assert_same_table(
            &incremental,
            &read("segments.parquet"),
            "segments after loss",
        );
        assert_same_table(&fine, &read(fine_name), "model's scale after loss");
    }
}
