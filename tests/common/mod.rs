//! Shared helpers for the integration tests: a synthetic RAVDESS-shaped corpus (no third-party
//! audio is ever shipped) and running the real binary on it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use polars::prelude::{DataFrame, DataType};

/// A deterministic test signal: a harmonic tone whose pitch depends on the emotion code and
/// actor, with a little deterministic noise so no two files are alike.
pub fn voice(emotion: u8, actor: u8, repetition: u8, sample_rate: u32, seconds: f64) -> Vec<f32> {
    let n = (seconds * f64::from(sample_rate)) as usize;
    let f0 = 110.0 + 25.0 * f64::from(emotion) + 3.0 * f64::from(actor) + f64::from(repetition);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15
        ^ (u64::from(emotion) << 16 | u64::from(actor) << 8 | u64::from(repetition));
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(sample_rate);
            let env = (std::f64::consts::PI * i as f64 / n as f64).sin();
            let tone: f64 = (1..=4)
                .map(|h| (2.0 * std::f64::consts::PI * f0 * h as f64 * t).sin() / h as f64)
                .sum();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            (0.3 * env * tone + 0.01 * noise) as f32
        })
        .collect()
}

pub fn write_wav16(path: &Path, samples: &[f32], channels: u16, sample_rate: u32) {
    let spec = hound::WavSpec {
        channels,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample((f64::from(s) * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
}

/// Writes `samples` (interleaved when `spec.channels > 1`, in [-1, 1]) as a WAV of any format
/// hound writes: 8-bit (unsigned), 16/24/32-bit integer, or 32-bit float.
pub fn write_wav(path: &Path, spec: hound::WavSpec, samples: &[f32]) {
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Float, _) => w.write_sample(s).unwrap(),
            (_, 8) => w.write_sample((s * 127.0).round() as i8).unwrap(),
            (_, 24) => w
                .write_sample((f64::from(s) * 8_388_607.0).round() as i32)
                .unwrap(),
            (_, 32) => w
                .write_sample((f64::from(s) * 2_147_483_647.0).round() as i32)
                .unwrap(),
            _ => w.write_sample((s * 32767.0).round() as i16).unwrap(),
        }
    }
    w.finalize().unwrap();
}

/// The RAVDESS name of a speech file.
pub fn ravdess_name(
    emotion: u8,
    intensity: u8,
    statement: u8,
    repetition: u8,
    actor: u8,
) -> String {
    format!("03-01-{emotion:02}-{intensity:02}-{statement:02}-{repetition:02}-{actor:02}.wav")
}

/// Writes a corpus under `root/Actor_NN/`: for each actor, every emotion, both repetitions
/// (normal intensity, statement 01). Returns the relative paths written, sorted.
pub fn make_corpus(root: &Path, actors: &[u8], sample_rate: u32, seconds: f64) -> Vec<String> {
    let mut written = Vec::new();
    for &actor in actors {
        let dir = root.join(format!("Actor_{actor:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        for emotion in 1..=8u8 {
            for repetition in 1..=2u8 {
                let name = ravdess_name(emotion, 1, 1, repetition, actor);
                let y = voice(emotion, actor, repetition, sample_rate, seconds);
                write_wav16(&dir.join(&name), &y, 1, sample_rate);
                written.push(format!("Actor_{actor:02}/{name}"));
            }
        }
    }
    written.sort();
    written
}

/// A quick training setup for tests that need a model, not its accuracy: one random split, a
/// 2-fold actor split, and a small MLP. Append `[models] train = [...]` to choose the models.
pub const TINY_TRAINING: &str = r#"
[split.random]
seeds = [1]
[split.actor_holdout]
enabled = false
[split.actor_kfold]
k = 2
[models.mlp]
hidden_layers = [32]
"#;

/// A work folder with a config whose outputs stay inside it.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new(extra_toml: &str) -> Workspace {
        let ws = Workspace {
            dir: tempfile::tempdir().unwrap(),
        };
        ws.write_config(extra_toml);
        std::fs::create_dir_all(ws.corpus()).unwrap();
        ws
    }
    /// Replaces the workspace's config: its folders, then `extra_toml`.
    pub fn write_config(&self, extra_toml: &str) {
        let toml = format!(
            "[data]\nroot = \"corpus\"\nout_dir = \"out\"\nreports_dir = \"reports\"\n{extra_toml}"
        );
        std::fs::write(self.path().join("pipeline.toml"), toml).unwrap();
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn corpus(&self) -> PathBuf {
        self.path().join("corpus")
    }
    pub fn out(&self, name: &str) -> PathBuf {
        self.path().join("out").join(name)
    }
    /// The binary, run in the workspace with its config.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("ser-pipeline").unwrap();
        cmd.current_dir(self.path()).args(args);
        cmd
    }
    /// `predict --json --model out/models/MODEL FLAGS FILES`, which must exit 0: one JSON object
    /// per file.
    #[allow(dead_code)] // not every test binary predicts
    pub fn predict_json(
        &self,
        model: &str,
        flags: &[&str],
        files: &[PathBuf],
    ) -> Vec<serde_json::Value> {
        let out = self
            .cmd(&[
                "predict",
                "--json",
                "--model",
                &format!("out/models/{model}"),
            ])
            .args(flags)
            .args(files)
            .output()
            .unwrap();
        assert_exit(&out, 0);
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// A run's stderr (the log), as text.
pub fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts a run's exit code, showing its log when it differs.
#[allow(dead_code)] // not every test binary that includes this module asserts exit codes
pub fn assert_exit(out: &std::process::Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "{}", stderr_of(out));
}

/// A text column, nulls as `<null>`.
pub fn strings(df: &DataFrame, col: &str) -> Vec<String> {
    df.column(col)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or("<null>").to_string())
        .collect()
}

/// Asserts two tables are the same: column names and types, row order, and every float
/// bit for bit (`DataFrame::equals` would let `0.0 == -0.0` pass). `what` names the pair.
pub fn assert_same_table(a: &DataFrame, b: &DataFrame, what: &str) {
    assert_eq!(
        a.get_column_names(),
        b.get_column_names(),
        "{what}: columns"
    );
    assert_eq!(a.dtypes(), b.dtypes(), "{what}: column types");
    assert_eq!(a.height(), b.height(), "{what}: rows");
    for (ca, cb) in a.columns().iter().zip(b.columns()) {
        if ca.dtype() == &DataType::Float64 {
            let bits = |c: &polars::prelude::Column| -> Vec<Option<u64>> {
                c.f64()
                    .unwrap()
                    .iter()
                    .map(|v| v.map(f64::to_bits))
                    .collect()
            };
            assert_eq!(bits(ca), bits(cb), "{what}: column {}", ca.name());
        } else {
            assert!(
                ca.as_materialized_series()
                    .equals_missing(cb.as_materialized_series()),
                "{what}: column {}",
                ca.name()
            );
        }
    }
}

/// A valid FLAC of `samples` (16-bit mono) from flacenc, 4096-sample blocks.
#[allow(dead_code)] // not every test binary writes FLAC
pub fn flac16(samples: &[f32], sample_rate: u32) -> Vec<u8> {
    use flacenc::component::BitRepr;
    use flacenc::error::Verify;
    let ints: Vec<i32> = samples
        .iter()
        .map(|&s| (f64::from(s) * 32768.0).round().clamp(-32768.0, 32767.0) as i32)
        .collect();
    let config = flacenc::config::Encoder::default()
        .into_verified()
        .expect("default encoder config");
    let source = flacenc::source::MemSource::from_samples(&ints, 1, 16, sample_rate as usize);
    let stream = flacenc::encode_with_fixed_block_size(&config, source, config.block_size)
        .expect("FLAC encoding");
    let mut sink = flacenc::bitsink::ByteSink::new();
    stream.write(&mut sink).expect("FLAC serialisation");
    sink.as_slice().to_vec()
}
