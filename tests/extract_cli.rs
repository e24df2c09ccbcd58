//! The binary end to end on a generated RAVDESS-shaped tree: scan and extract, then the Parquet
//! read back and checked against the library computing the same features directly.

mod common;

use common::{
    make_corpus, ravdess_name, stderr_of, strings, voice, write_wav, write_wav16, Workspace,
};
use polars::prelude::DataFrame;
use ser_pipeline::data::parquet;
use ser_pipeline::features::{Extractor, FeatureParams};

fn floats(df: &DataFrame, col: &str) -> Vec<f64> {
    df.column(col)
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .map(|v| v.unwrap())
        .collect()
}

#[test]
fn extract_writes_one_row_per_file_with_the_librarys_features() {
    let ws = Workspace::new("");
    let written = make_corpus(&ws.corpus(), &[1, 2], 16000, 0.6);
    let out = ws.cmd(&["run", "--stage", "extract"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));

    let manifest = parquet::read(&ws.out("manifest.parquet")).unwrap();
    assert_eq!(manifest.height(), written.len());
    assert!(strings(&manifest, "status").iter().all(|s| s == "ok"));

    let df = parquet::read(&ws.out("features.parquet")).unwrap();
    assert_eq!(df.height(), written.len());
    assert_eq!(strings(&df, "path"), written);
    let names = FeatureParams::default().feature_names();
    assert_eq!(names.len(), 180);
    let columns: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        &columns[..16],
        [
            "path",
            "corpus",
            "speaker",
            "emotion",
            "gender",
            "modality",
            "vocal_channel",
            "intensity",
            "statement",
            "repetition",
            "actor",
            "sample_rate",
            "duration_s",
            "n_stft_frames",
            "tuning",
            "mfcc_mean_00"
        ]
    );
    assert_eq!(&columns[15..], &names[..]);

    // Labels come from the names: actor 1 is male, emotion 05 is angry.
    let emotion = strings(&df, "emotion");
    let gender = strings(&df, "gender");
    let i = written
        .iter()
        .position(|p| p.ends_with(&ravdess_name(5, 1, 1, 2, 1)))
        .unwrap();
    assert_eq!((emotion[i].as_str(), gender[i].as_str()), ("angry", "male"));
    let mut distinct = emotion.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 8);

    // Values are exactly what the library computes for the same decoded signal.
    let audio = ser_pipeline::audio::decode(&ws.corpus().join(&written[i])).unwrap();
    let expected = Extractor::new(&FeatureParams::default(), 16000)
        .extract(&audio.samples)
        .unwrap();
    for (j, name) in names.iter().enumerate() {
        assert_eq!(floats(&df, name)[i], expected.values[j], "{name}");
    }
    assert!(names
        .iter()
        .all(|n| floats(&df, n).iter().all(|v| v.is_finite())));
    // Every run writes an (empty here) errors table.
    let errors = std::fs::read_to_string(ws.out("errors.csv")).unwrap();
    assert_eq!(errors.trim(), "stage,path,error");
}

#[test]
fn same_input_gives_identical_features() {
    let ws = Workspace::new("");
    make_corpus(&ws.corpus(), &[3], 22050, 0.4);
    let run = || {
        let out = ws
            .cmd(&["run", "--stage", "extract", "--force"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
        parquet::read(&ws.out("features.parquet")).unwrap()
    };
    let (a, b) = (run(), run());
    assert!(a.equals(&b));
    // And with a single worker thread: parallelism does not change a value.
    let out = ws
        .cmd(&["run", "--stage", "extract", "--force", "--threads", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(parquet::read(&ws.out("features.parquet"))
        .unwrap()
        .equals(&a));
}

#[test]
fn sample_formats_and_channel_layouts_all_decode() {
    let ws = Workspace::new("");
    let dir = ws.corpus().join("Actor_04");
    std::fs::create_dir_all(&dir).unwrap();
    let y = voice(3, 4, 1, 16000, 0.5);
    let spec = |bits, format, channels| hound::WavSpec {
        channels,
        sample_rate: 16000,
        bits_per_sample: bits,
        sample_format: format,
    };
    use hound::SampleFormat::{Float, Int};
    let stereo: Vec<f32> = y.iter().flat_map(|&s| [s, s]).collect();
    let cases: [(u8, hound::WavSpec, &[f32]); 5] = [
        (1, spec(8, Int, 1), &y),
        (2, spec(24, Int, 1), &y),
        (3, spec(32, Int, 1), &y),
        (4, spec(32, Float, 1), &y),
        (5, spec(16, Int, 2), &stereo),
    ];
    for (emotion, spec, samples) in cases {
        write_wav(&dir.join(ravdess_name(emotion, 1, 1, 1, 4)), spec, samples);
    }
    let out = ws.cmd(&["run", "--stage", "extract"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let manifest = parquet::read(&ws.out("manifest.parquet")).unwrap();
    let formats = strings(&manifest, "sample_format");
    assert_eq!(formats.len(), 5);
    let df = parquet::read(&ws.out("features.parquet")).unwrap();
    assert_eq!(df.height(), 5);
    // 24/32-bit int, float and stereo encodings of the same signal give the same features as
    // 16-bit to within its quantisation; 8-bit's quantisation noise (-48 dB) lifts the quiet
    // frames' MFCCs, so it is checked at the sample level instead: within one 8-bit step.
    let c0 = floats(&df, "mfcc_mean_00");
    let reference = c0[4];
    for (k, v) in c0.iter().enumerate().skip(1) {
        assert!(
            (v - reference).abs() <= 1e-3 * reference.abs(),
            "{k}: {v} vs {reference}"
        );
    }
    let eight = ser_pipeline::audio::decode(&dir.join(ravdess_name(1, 1, 1, 1, 4))).unwrap();
    assert_eq!(eight.samples.len(), y.len());
    for (a, b) in eight.samples.iter().zip(&y) {
        assert!((a - b).abs() <= 1.0 / 128.0, "{a} vs {b}");
    }
}

/// Encodes 16-bit PCM as a FLAC file with flacenc (a pure-Rust encoder, test-only).
fn write_flac16(path: &std::path::Path, samples: &[f32], sample_rate: u32) {
    std::fs::write(path, common::flac16(samples, sample_rate)).unwrap();
}

#[test]
fn flac_decodes_to_the_same_samples_and_features_as_the_wav() {
    // FLAC is lossless: the same 16-bit signal as WAV and as FLAC must give the same samples,
    // hence bit-identical features (the two files differ only in actor, for distinct names).
    let ws = Workspace::new("");
    // 12 blocks of 4096 samples: flacenc writes a last block shorter than its block size into
    // STREAMINFO's minimum block size, which the FLAC format excludes and symphonia rejects;
    // files from the reference `flac` encoder have no such problem (checked by hand).
    let y = voice(5, 6, 1, 48000, 12.0 * 4096.0 / 48000.0);
    assert_eq!(y.len(), 12 * 4096);
    let wav = ws
        .corpus()
        .join("Actor_06")
        .join(ravdess_name(5, 1, 1, 1, 6));
    let flac = ws
        .corpus()
        .join("Actor_08")
        .join(ravdess_name(5, 1, 1, 1, 8).replace(".wav", ".flac"));
    std::fs::create_dir_all(wav.parent().unwrap()).unwrap();
    std::fs::create_dir_all(flac.parent().unwrap()).unwrap();
    write_wav16(&wav, &y, 1, 48000);
    write_flac16(&flac, &y, 48000);

    let a = ser_pipeline::audio::decode(&wav).unwrap();
    let b = ser_pipeline::audio::decode(&flac).unwrap();
    assert_eq!(b.sample_rate, 48000);
    assert_eq!(
        a.samples, b.samples,
        "FLAC and WAV decode to different samples"
    );

    let out = ws.cmd(&["run", "--stage", "extract"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let manifest = parquet::read(&ws.out("manifest.parquet")).unwrap();
    let mut exts: Vec<String> = strings(&manifest, "path")
        .iter()
        .map(|p| p.rsplit('.').next().unwrap().to_string())
        .collect();
    exts.sort();
    assert_eq!(exts, ["flac", "wav"]);
    let df = parquet::read(&ws.out("features.parquet")).unwrap();
    assert_eq!(df.height(), 2);
    for name in [
        "mfcc_mean_00",
        "mfcc_mean_39",
        "chroma_mean_07",
        "mel_mean_100",
    ] {
        let v = floats(&df, name);
        assert_eq!(
            v[0].to_bits(),
            v[1].to_bits(),
            "{name}: {} vs {}",
            v[0],
            v[1]
        );
    }
}

#[test]
fn config_and_usage_errors_exit_2_naming_the_key() {
    let ws = Workspace::new("[features]\nn_mfcc = 300\n");
    let out = ws.cmd(&["run", "--stage", "extract"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("features.n_mfcc"),
        "{}",
        stderr_of(&out)
    );

    let ws = Workspace::new("[feature]\nn_mfcc = 20\n");
    let out = ws.cmd(&["run"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("feature"), "{}", stderr_of(&out));

    let out = ws.cmd(&["run", "--stage", "nonsense"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = ws
        .cmd(&["run", "--config", "missing.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("missing.toml"));
}

#[test]
fn json_logs_are_one_object_per_line() {
    let ws = Workspace::new("");
    make_corpus(&ws.corpus(), &[1], 16000, 0.2);
    let out = ws
        .cmd(&["--log-format", "json", "run", "--stage", "scan"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = stderr_of(&out);
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert!(!lines.is_empty());
    assert!(lines
        .iter()
        .all(|l| l["level"].is_string() && l["ts"].is_string()));
    assert!(lines
        .iter()
        .any(|l| l["msg"].as_str().unwrap().contains("scan: wrote")));
}

#[test]
fn a_missing_corpus_is_an_error_that_says_where_to_put_it() {
    // Without --no-download, `run` would fetch it (tests/download_cli.rs, against a stand-in).
    let ws = Workspace::new("");
    let out = ws
        .cmd(&["run", "--data-root", "nowhere", "--no-download"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("nowhere") && stderr.contains("ser-pipeline download --dest nowhere"),
        "{stderr}"
    );
    assert!(!ws.out("features.parquet").exists());
    // A file where the corpus folder belongs is never downloaded into: the scan names it.
    std::fs::write(ws.path().join("a-file"), "not a folder").unwrap();
    let out = ws.cmd(&["run", "--data-root", "a-file"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("a-file") && stderr.contains("README"),
        "{stderr}"
    );
    assert!(!ws.out("features.parquet").exists());
}

#[test]
fn resampling_on_request_changes_the_analysis_rate() {
    let ws = Workspace::new("[audio]\nsample_rate = 16000\n");
    let dir = ws.corpus().join("Actor_07");
    std::fs::create_dir_all(&dir).unwrap();
    let y = voice(5, 7, 1, 48000, 0.5);
    write_wav16(&dir.join(ravdess_name(5, 1, 1, 1, 7)), &y, 1, 48000);
    let out = ws.cmd(&["run", "--stage", "extract"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let df = parquet::read(&ws.out("features.parquet")).unwrap();
    let rate = df.column("sample_rate").unwrap().i64().unwrap().get(0);
    assert_eq!(rate, Some(16000));
    let frames = df.column("n_stft_frames").unwrap().i64().unwrap().get(0);
    assert_eq!(frames, Some(1 + 8000 / 512));
}

#[test]
fn a_rerun_with_nothing_changed_skips_every_stage_until_an_input_changes() {
    let ws = Workspace::new("");
    let written = make_corpus(&ws.corpus(), &[1, 2], 16000, 0.3);
    // A bad file: skipped in the first run, and still reported (exit 3) when scan is skipped.
    std::fs::write(ws.corpus().join("Actor_01/03-01-02-02-02-01-01.wav"), b"").unwrap();
    let run = |args: &[&str]| {
        let out = ws.cmd(args).output().unwrap();
        (out.status.code(), stderr_of(&out))
    };
    let (code, _) = run(&["run", "--stage", "extract"]);
    assert_eq!(code, Some(3));
    let features = std::fs::metadata(ws.out("features.parquet"))
        .unwrap()
        .modified()
        .unwrap();

    let (code, log) = run(&["run", "--stage", "extract"]);
    assert_eq!(code, Some(3), "{log}");
    assert!(
        log.contains("scan: up to date") && log.contains("extract: up to date"),
        "{log}"
    );
    let errors = std::fs::read_to_string(ws.out("errors.csv")).unwrap();
    assert!(errors.contains("03-01-02-02-02-01-01.wav"), "{errors}");
    assert_eq!(
        std::fs::metadata(ws.out("features.parquet"))
            .unwrap()
            .modified()
            .unwrap(),
        features
    );

    // A changed audio file makes scan and extract run again; a changed feature setting, extract.
    let y = common::voice(3, 1, 1, 16000, 0.4);
    common::write_wav16(&ws.corpus().join(&written[0]), &y, 1, 16000);
    let (_, log) = run(&["run", "--stage", "extract"]);
    assert!(
        log.contains("scan: done") && log.contains("extract: done"),
        "{log}"
    );
    let (_, log) = run(&["run", "--stage", "extract", "--set", "features.n_mfcc=20"]);
    assert!(
        log.contains("scan: up to date") && log.contains("extract: done"),
        "{log}"
    );
    let (_, log) = run(&["run", "--stage", "extract", "--force"]);
    assert!(
        log.contains("scan: done") && log.contains("extract: done"),
        "{log}"
    );
}
