//! Kill -9 at any moment, rerun: the run completes with the outputs of an uninterrupted run.
//!
//! One clean `run --stage all` gives the reference outputs and the run's duration. Then each
//! trial starts a run (from nothing, or `--force` over finished outputs), SIGKILLs it after a
//! seeded pseudo-random delay spread over that duration (sometimes twice in a row), checks what
//! the killed run left (every Parquet, JSON, CSV, safetensors and SVG file whole; only
//! temporary files beside them), then reruns to completion and checks that the outputs equal
//! the reference, that the stale lock was taken over and that no temporary file is left.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use common::{assert_same_table, make_corpus, Workspace};
use polars::prelude::DataFrame;
use ser_pipeline::data::parquet;

/// Trials (each one or two kills, then a completing rerun).
const TRIALS: usize = 20;
/// The seed of the kill delays: the same delays on every run of the test.
const SEED: u64 = 0x5EED_C0FF_EE00_0001;

/// Tiny models, and augmented copies of every file so the augment stage has work too.
fn config() -> String {
    format!("{}\n[augment]\nclasses = \"all\"\n", common::TINY_TRAINING)
}

/// The tests here run one at a time: a second run started by one would slow the other's timed
/// runs and push its kills past the end.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// splitmix64: a fixed stream of pseudo-random numbers in [0, 1).
struct Delays(u64);

impl Delays {
    fn next_unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("ser-pipeline")
}

/// Starts `run --stage all [extra]` in the workspace, its log going to `log`.
fn spawn(ws: &Workspace, extra: &[&str], log: &Path) -> std::process::Child {
    Command::new(binary())
        .current_dir(ws.path())
        .args(["run", "--stage", "all"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// Every file under `dir`, at any depth (symlinks not followed).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries {
        let e = e.unwrap();
        let t = e.file_type().unwrap();
        if t.is_dir() {
            out.extend(files_under(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out.sort();
    out
}

/// A temporary file of an atomic write (`.<name>.<pid>.<random>.tmp`, or without the pid).
fn is_temp(path: &Path) -> bool {
    let name = path.file_name().unwrap().to_string_lossy();
    name.starts_with('.') && name.ends_with(".tmp")
}

fn output_files(ws: &Workspace) -> Vec<PathBuf> {
    let mut files = files_under(&ws.path().join("out"));
    files.extend(files_under(&ws.path().join("reports")));
    files
}

/// What a killed run left: every output file whole (opens and parses), apart from temporary
/// files. Returns the temporary files.
fn check_whole(ws: &Workspace, trial: usize) -> Vec<PathBuf> {
    let mut temps = Vec::new();
    for f in output_files(ws) {
        if is_temp(&f) {
            temps.push(f);
            continue;
        }
        let what = format!("trial {trial}: {}", f.display());
        let bytes = std::fs::read(&f).unwrap();
        match f.extension().and_then(|e| e.to_str()).unwrap_or("") {
            "parquet" => {
                parquet::read(&f).unwrap_or_else(|e| panic!("{what}: partial Parquet: {e:#}"));
            }
            "json" => {
                serde_json::from_slice::<serde_json::Value>(&bytes)
                    .unwrap_or_else(|e| panic!("{what}: partial JSON: {e}"));
            }
            "csv" => {
                let mut r = csv::Reader::from_reader(bytes.as_slice());
                let width = r.headers().unwrap().len();
                for rec in r.records() {
                    let rec = rec.unwrap_or_else(|e| panic!("{what}: partial CSV: {e}"));
                    assert_eq!(rec.len(), width, "{what}: a short CSV row");
                }
                assert!(bytes.ends_with(b"\n"), "{what}: CSV cut short");
            }
            "safetensors" => {
                safetensors::SafeTensors::deserialize(&bytes)
                    .unwrap_or_else(|e| panic!("{what}: partial safetensors: {e}"));
            }
            "svg" => {
                let text = String::from_utf8(bytes).unwrap();
                assert!(text.trim_end().ends_with("</svg>"), "{what}: SVG cut short");
            }
            // The lock names its holder's pid (possibly empty if killed while writing it).
            "lock" => {}
            other => panic!("{what}: unexpected output file (.{other})"),
        }
    }
    temps
}

/// A comparable output: a table, or the bytes of anything else.
enum Output {
    Table(DataFrame),
    Bytes(Vec<u8>),
}

/// Every deterministic output: all but the run record, the fit timings and the stage records.
fn outputs(ws: &Workspace) -> BTreeMap<String, Output> {
    let root = ws.path();
    output_files(ws)
        .into_iter()
        .filter(|f| {
            let name = f.file_name().unwrap().to_string_lossy();
            !(name == "run.json" || name == "fits.csv" || f.to_string_lossy().contains(".state"))
        })
        .map(|f| {
            let key = f.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let value = if f.extension().is_some_and(|e| e == "parquet") {
                Output::Table(parquet::read(&f).unwrap())
            } else {
                Output::Bytes(std::fs::read(&f).unwrap())
            };
            (key, value)
        })
        .collect()
}

fn assert_same_outputs(reference: &BTreeMap<String, Output>, ws: &Workspace, trial: usize) {
    let now = outputs(ws);
    assert_eq!(
        reference.keys().collect::<Vec<_>>(),
        now.keys().collect::<Vec<_>>(),
        "trial {trial}: output files"
    );
    for (key, want) in reference {
        let what = format!("trial {trial}: {key}");
        match (want, &now[key]) {
            (Output::Table(a), Output::Table(b)) => assert_same_table(a, b, &what),
            (Output::Bytes(a), Output::Bytes(b)) => assert!(a == b, "{what} differs"),
            _ => unreachable!(),
        }
    }
}

/// The last stage the log says was started or finished, for the summary.
fn stage_at_kill(log: &str) -> &'static str {
    let mut at = "start";
    for line in log.lines() {
        for stage in ["scan", "extract", "augment", "train", "evaluate"] {
            if line.contains(&format!("{stage}: ")) {
                at = stage;
            }
        }
    }
    at
}

#[test]
fn killed_at_random_moments_a_rerun_completes_with_the_reference_outputs() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let ws = Workspace::new(&config());
    make_corpus(&ws.corpus(), &[1, 2, 3, 4, 5, 6], 16000, 1.0);
    let logs = tempfile::tempdir().unwrap();

    // The reference: one clean run. Its duration: the shortest of it and two --force runs (this
    // machine is shared, and a kill after the end tests less).
    let timed = |extra: &[&str]| {
        let started = Instant::now();
        let log = logs.path().join("reference.log");
        let status = spawn(&ws, extra, &log).wait().unwrap();
        let elapsed = started.elapsed();
        let log = std::fs::read_to_string(&log).unwrap();
        assert_eq!(status.code(), Some(0), "clean run {extra:?} failed:\n{log}");
        elapsed
    };
    let duration = timed(&[]);
    let reference = outputs(&ws);
    let duration = duration.min(timed(&["--force"])).min(timed(&["--force"]));
    assert!(reference.contains_key("out/features.parquet"));
    assert!(reference.contains_key("reports/metrics.csv"));
    eprintln!(
        "kill_resume: reference run {:.2} s, {} output files",
        duration.as_secs_f64(),
        reference.len()
    );

    let mut delays = Delays(SEED);
    let mut killed_running = 0;
    let mut temps_left = 0;
    let mut stale_locks = 0;
    let mut stages: BTreeMap<&str, usize> = BTreeMap::new();
    for trial in 0..TRIALS {
        // Even trials start from nothing; odd ones recompute over finished outputs (--force),
        // where a kill must leave the previous version of every file intact.
        let extra: &[&str] = if trial % 2 == 0 {
            for dir in ["out", "reports"] {
                let _ = std::fs::remove_dir_all(ws.path().join(dir));
            }
            &[]
        } else {
            &["--force"]
        };
        let kills = if delays.next_unit() < 0.25 { 2 } else { 1 };
        for k in 0..kills {
            // Stratified over the trials so every part of the run is hit: trial i's first kill
            // lands in the i-th slice of the reference run's duration; a second kill, in a
            // resumed run with less left to do, in the first half of that.
            let unit = (trial as f64 + delays.next_unit()) / TRIALS as f64;
            let delay = duration.mul_f64(if k == 0 { unit } else { unit / 2.0 });
            let log = logs.path().join(format!("trial-{trial}-{k}.log"));
            let mut child = spawn(&ws, if k == 0 { extra } else { &[] }, &log);
            std::thread::sleep(delay);
            let running = child.try_wait().unwrap().is_none();
            child.kill().unwrap();
            let status = child.wait().unwrap();
            if running {
                killed_running += 1;
                *stages
                    .entry(stage_at_kill(&std::fs::read_to_string(&log).unwrap()))
                    .or_default() += 1;
            } else {
                assert_eq!(
                    status.code(),
                    Some(0),
                    "trial {trial}: finished, but failed"
                );
            }
            temps_left += check_whole(&ws, trial).len();
        }

        // The rerun completes, taking over the stale lock, and cleans up after the killed run.
        // (A run killed between creating the lock file and writing its pid leaves it empty.)
        let lock_left = std::fs::read_to_string(ws.out(".ser-pipeline.lock"))
            .is_ok_and(|s| s.trim().parse::<u32>().is_ok());
        let log_path = logs.path().join(format!("trial-{trial}-rerun.log"));
        let status = spawn(&ws, &[], &log_path).wait().unwrap();
        let log = std::fs::read_to_string(&log_path).unwrap();
        assert_eq!(
            status.code(),
            Some(0),
            "trial {trial}: rerun failed:\n{log}"
        );
        if lock_left {
            stale_locks += 1;
            assert!(
                log.contains("stale lock"),
                "trial {trial}: a lock was left but the rerun did not say it took it over:\n{log}"
            );
        }
        assert!(!ws.out(".ser-pipeline.lock").exists(), "trial {trial}");
        let temps = check_whole(&ws, trial);
        assert!(
            temps.is_empty(),
            "trial {trial}: temporary files left: {temps:?}"
        );
        assert_same_outputs(&reference, &ws, trial);
    }
    eprintln!(
        "kill_resume: {TRIALS} trials, {killed_running} kills of a running process \
         (last stage logged: {stages:?}), {stale_locks} stale locks taken over, \
         {temps_left} temporary files seen after kills, all cleaned up"
    );
    // The delays are scaled to this machine's run, so most kills land mid-run (the rest, after
    // a run that finished early, still check a finished run's outputs).
    assert!(
        killed_running >= TRIALS / 2,
        "only {killed_running} kills landed mid-run"
    );
}

#[test]
fn a_second_run_is_refused_while_one_runs_or_waits_for_it() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let ws = Workspace::new(&config());
    make_corpus(&ws.corpus(), &[1, 2, 3], 16000, 1.0);
    let logs = tempfile::tempdir().unwrap();
    let mut first = spawn(&ws, &[], &logs.path().join("first.log"));
    let lock = ws.out(".ser-pipeline.lock");
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    while !std::fs::read_to_string(&lock).is_ok_and(|s| s.trim() == first.id().to_string()) {
        assert!(
            Instant::now() < deadline,
            "the first run never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let refused = ws.cmd(&["run", "--stage", "all"]).output().unwrap();
    let log = common::stderr_of(&refused);
    assert_eq!(refused.status.code(), Some(4), "{log}");
    assert!(
        log.contains(&format!("pid {}", first.id())) && log.contains("--wait"),
        "{log}"
    );
    let waited = ws
        .cmd(&["run", "--stage", "all", "--wait", "120"])
        .output()
        .unwrap();
    assert_eq!(first.wait().unwrap().code(), Some(0));
    let log = common::stderr_of(&waited);
    assert_eq!(waited.status.code(), Some(0), "{log}");
    assert!(log.contains("up to date"), "{log}");
}
