//! Parity of `ser_pipeline::features` with librosa 0.11, on committed reference fixtures.
//!
//! `tests/fixtures/librosa/reference.json` is written by `tools/reference/librosa_fixtures.py`
//! (pinned versions in `tools/reference/requirements.txt`; see `tests/fixtures/librosa/README.md`).
//! It holds, for each signal, what librosa computes from the float32 samples cast to float64:
//! `librosa.feature.mfcc(y, sr, n_mfcc=40)`, `librosa.feature.chroma_stft(S=|stft|, sr)`,
//! `librosa.feature.melspectrogram(y, sr)` pooled with `np.mean(x, axis=1)`, a few frame rows of
//! each (synthetic signals only), and `librosa.estimate_tuning(S=|stft|, sr, bins_per_octave=12)`.
//!
//! # Error measures and tolerances
//!
//! `a` is ours, `b` librosa's, `i` runs over one vector (a pooled family or one frame's row):
//! - MFCC: `max_i |a_i - b_i| / max_i |b_i|`. Coefficients cross zero, so an element-wise
//!   relative error is meaningless near zero; the vector's largest magnitude (usually the 0th
//!   coefficient, the log energy) sets the scale.
//! - chroma: the same measure. Every chroma frame is scaled to a maximum of 1, so this is close
//!   to an absolute error.
//! - mel: `max_i |a_i - b_i| / max(|b_i|, 1e-10 * max_i |b_i|)`: element-wise relative error
//!   for every band within 100 dB of the vector's strongest band, absolute (in those units)
//!   below. Mel power is non-negative and spans many decades; FFT round-off is relative to a
//!   frame's total energy, so it is no longer negligible in bands far below the strongest.
//! - tuning: at most one bin of librosa's 0.01-wide tuning histogram apart. The estimate is the
//!   histogram's argmax (a bin's left edge), so a peak on a bin edge may fall either side of it.
//!   Compared as bin indices, since the JSON parser may return an edge 1 ulp off.
//!
//! A vector whose reference is all zeros (a silent frame) must match exactly.
//!
//! The tolerances below sit a margin above the largest errors measured (recorded in the
//! fixtures' README) and never above the targets: 1e-4 for MFCC and mel, 1e-3 for chroma.
//!
//! The RAVDESS test reads the corpus from `RAVDESS_DIR`, else `data/ravdess` under the crate
//! root; without it the test says SKIPPED on stderr and passes, unless `SER_REQUIRE_DATA=1`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use ndarray::Array2;
use ser_pipeline::audio;
use ser_pipeline::features::{Extractor, FeatureParams, Frames};
use serde::Deserialize;

// Measured with the committed fixtures (see the fixtures' README): MFCC 3.6e-15, chroma 6.7e-16,
// mel 4.9e-12 (a band 110 dB below the strongest, in one chirp frame): floating-point round-off,
// as the FFT, the DCT and the summation orders differ from numpy's. The tolerances leave room for
// another CPU's SIMD path (rustfft and matrixmultiply choose theirs at run time) and stay far
// below what a real deviation costs: computing in float32, as the original recipe does, is ~1e-7
// off librosa's float64 result.

/// Largest MFCC error allowed (measure above). Target 1e-4.
const MFCC_TOL: f64 = 1e-11;
/// Largest chroma error allowed. Target 1e-3.
const CHROMA_TOL: f64 = 1e-11;
/// Largest mel error allowed. Target 1e-4.
const MEL_TOL: f64 = 1e-9;
/// Largest tuning difference allowed, in bins of librosa's tuning histogram (`resolution=0.01`).
const TUNING_TOL_BINS: i64 = 1;
/// Mel bands below this fraction of the vector's maximum are compared in absolute terms.
const MEL_FLOOR: f64 = 1e-10;

const N_MFCC: usize = 40;
const N_CHROMA: usize = 12;
const N_MELS: usize = 128;

#[derive(Debug, Deserialize)]
struct Reference {
    versions: serde_json::Map<String, serde_json::Value>,
    synthetic: Vec<SyntheticRef>,
    ravdess: Vec<FileRef>,
}

/// Pooled features of one signal.
#[derive(Debug, Deserialize)]
struct Pooled {
    sample_rate: u32,
    n_samples: usize,
    n_frames: usize,
    tuning: f64,
    mfcc_mean: Vec<f64>,
    chroma_mean: Vec<f64>,
    mel_mean: Vec<f64>,
}

#[derive(Debug, Deserialize)]
struct SyntheticRef {
    name: String,
    /// Relative to `tests/fixtures/librosa`.
    file: String,
    sha256: String,
    #[serde(flatten)]
    pooled: Pooled,
    frame_index: Vec<usize>,
    mfcc_frames: Vec<Vec<f64>>,
    chroma_frames: Vec<Vec<f64>>,
    mel_frames: Vec<Vec<f64>>,
}

#[derive(Debug, Deserialize)]
struct FileRef {
    /// Relative to the RAVDESS root.
    path: String,
    sha256: String,
    file_size: u64,
    #[serde(flatten)]
    pooled: Pooled,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Measure {
    /// Error over the vector's largest reference magnitude (MFCC, chroma).
    VectorScaled,
    /// Element-wise relative error with a floor at `MEL_FLOOR` of the vector's maximum.
    FlooredRelative,
}

/// The documented error of `ours` against `reference` (see the module docs), and the index of
/// the element where it is largest.
fn error(ours: &[f64], reference: &[f64], measure: Measure) -> (f64, usize) {
    assert_eq!(ours.len(), reference.len(), "vector lengths differ");
    let scale = reference.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let errors = ours.iter().zip(reference).map(|(a, b)| {
        let d = (a - b).abs();
        match measure {
            // An all-zero reference (a silent frame) must be matched exactly.
            _ if scale == 0.0 => d,
            Measure::VectorScaled => d / scale,
            Measure::FlooredRelative => d / b.abs().max(MEL_FLOOR * scale),
        }
    });
    errors.enumerate().fold(
        (0.0, 0),
        |(m, im), (i, e)| if e > m || e.is_nan() { (e, i) } else { (m, im) },
    )
}

/// One family's check: its measure, tolerance and the largest error seen.
struct Family {
    name: &'static str,
    measure: Measure,
    tol: f64,
    max_err: f64,
    worst: String,
}

impl Family {
    fn new(name: &'static str, measure: Measure, tol: f64) -> Family {
        Family {
            name,
            measure,
            tol,
            max_err: 0.0,
            worst: String::new(),
        }
    }

    /// Compares one vector, records the error and returns a failure line when over tolerance.
    fn check(&mut self, what: &str, ours: &[f64], reference: &[f64]) -> Option<String> {
        if ours.len() != reference.len() {
            return Some(format!(
                "{what} {}: {} values, librosa has {}",
                self.name,
                ours.len(),
                reference.len()
            ));
        }
        let (err, i) = error(ours, reference, self.measure);
        if err > self.max_err || err.is_nan() {
            self.max_err = err;
            let scale = reference.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            self.worst = format!(
                "{what}, element {i} (|librosa| / max = {:.1e})",
                reference[i].abs() / scale
            );
        }
        (err > self.tol || err.is_nan()).then(|| {
            format!(
                "{what} {}: error {err:.3e} > tolerance {:.0e}",
                self.name, self.tol
            )
        })
    }
}

struct Checker {
    mfcc: Family,
    chroma: Family,
    mel: Family,
    max_tuning_bins: i64,
    failures: Vec<String>,
}

impl Checker {
    fn new() -> Checker {
        Checker {
            mfcc: Family::new("mfcc", Measure::VectorScaled, MFCC_TOL),
            chroma: Family::new("chroma", Measure::VectorScaled, CHROMA_TOL),
            mel: Family::new("mel", Measure::FlooredRelative, MEL_TOL),
            max_tuning_bins: 0,
            failures: Vec::new(),
        }
    }

    fn fail(&mut self, line: String) {
        self.failures.push(line);
    }

    /// Decodes `path`, extracts features and compares the pooled values with `reference`.
    /// Returns the frame matrices for further checks.
    fn check_pooled(&mut self, what: &str, path: &Path, reference: &Pooled) -> Option<Frames> {
        let audio = match audio::decode(path) {
            Ok(a) => a,
            Err(e) => {
                self.fail(format!("{what}: cannot decode {}: {e}", path.display()));
                return None;
            }
        };
        if audio.sample_rate != reference.sample_rate || audio.samples.len() != reference.n_samples
        {
            self.fail(format!(
                "{what}: decoded {} samples at {} Hz, librosa read {} at {} Hz",
                audio.samples.len(),
                audio.sample_rate,
                reference.n_samples,
                reference.sample_rate
            ));
            return None;
        }
        let params = FeatureParams::default();
        assert_eq!(
            (params.n_mfcc, params.n_chroma, params.n_mels),
            (N_MFCC, N_CHROMA, N_MELS),
            "the fixtures are made with the default parameters"
        );
        let extractor = Extractor::new(&params, audio.sample_rate);
        let features = match extractor.extract(&audio.samples) {
            Ok(f) => f,
            Err(e) => {
                self.fail(format!("{what}: extraction failed: {e}"));
                return None;
            }
        };
        if features.n_frames != reference.n_frames {
            self.fail(format!(
                "{what}: {} frames, librosa has {}",
                features.n_frames, reference.n_frames
            ));
            return None;
        }
        let (mfcc, rest) = features.values.split_at(N_MFCC);
        let (chroma, mel) = rest.split_at(N_CHROMA);
        let lines = [
            self.mfcc.check(what, mfcc, &reference.mfcc_mean),
            self.chroma.check(what, chroma, &reference.chroma_mean),
            self.mel.check(what, mel, &reference.mel_mean),
        ];
        self.failures.extend(lines.into_iter().flatten());
        let bins = (tuning_bin(features.tuning) - tuning_bin(reference.tuning)).abs();
        self.max_tuning_bins = self.max_tuning_bins.max(bins);
        if bins > TUNING_TOL_BINS {
            self.fail(format!(
                "{what}: tuning {} vs librosa {} ({bins} histogram bins apart)",
                features.tuning, reference.tuning
            ));
        }
        match extractor.frames(&audio.samples) {
            Ok(frames) => Some(frames),
            Err(e) => {
                self.fail(format!("{what}: frames failed: {e}"));
                None
            }
        }
    }

    fn check_frame_rows(&mut self, reference: &SyntheticRef, frames: &Frames) {
        let families: [(&str, Option<&Array2<f64>>, &Vec<Vec<f64>>); 3] = [
            ("mfcc", frames.mfcc.as_ref(), &reference.mfcc_frames),
            ("chroma", frames.chroma.as_ref(), &reference.chroma_frames),
            ("mel", frames.mel.as_ref(), &reference.mel_frames),
        ];
        for (name, matrix, rows) in families {
            let Some(matrix) = matrix else {
                self.fail(format!("{}: no {name} frames", reference.name));
                continue;
            };
            if matrix.nrows() != reference.pooled.n_frames {
                self.fail(format!(
                    "{}: {name} has {} frames, librosa {}",
                    reference.name,
                    matrix.nrows(),
                    reference.pooled.n_frames
                ));
                continue;
            }
            for (&t, row) in reference.frame_index.iter().zip(rows) {
                let ours = matrix.row(t).to_vec();
                let what = format!("{} frame {t}", reference.name);
                let family = match name {
                    "mfcc" => &mut self.mfcc,
                    "chroma" => &mut self.chroma,
                    _ => &mut self.mel,
                };
                if let Some(line) = family.check(&what, &ours, row) {
                    self.failures.push(line);
                }
            }
        }
    }

    /// Prints the measured errors (visible with `--nocapture`, and on failure) and panics with
    /// every failure when there is one.
    fn finish(self, title: &str) {
        let mut report = format!("librosa parity, {title}: largest errors (tolerance)\n");
        for f in [&self.mfcc, &self.chroma, &self.mel] {
            let _ = writeln!(
                report,
                "  {:<6} {:.3e} ({:.0e})  worst: {}",
                f.name, f.max_err, f.tol, f.worst
            );
        }
        let _ = writeln!(
            report,
            "  tuning {} histogram bin(s) apart ({TUNING_TOL_BINS})",
            self.max_tuning_bins
        );
        eprint!("{report}");
        assert!(
            self.failures.is_empty(),
            "{} mismatch(es) with librosa:\n  {}",
            self.failures.len(),
            self.failures.join("\n  ")
        );
    }
}

/// Index of the tuning histogram bin whose left edge is `tuning` (`np.linspace(-0.5, 0.5, 101)`).
fn tuning_bin(tuning: f64) -> i64 {
    ((tuning + 0.5) * 100.0).round() as i64
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/librosa")
}

fn load_reference() -> Reference {
    let path = fixtures_dir().join("reference.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("cannot parse {}: {e}", path.display()))
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(std::fs::read(path)?);
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

#[test]
fn reference_was_made_with_librosa_0_11() {
    let reference = load_reference();
    let librosa = reference.versions.get("librosa").and_then(|v| v.as_str());
    assert_eq!(librosa, Some("0.11.0"), "{:?}", reference.versions);
    assert!(reference.synthetic.len() >= 6);
}

#[test]
fn synthetic_signals_match_librosa() {
    let reference = load_reference();
    let mut checker = Checker::new();
    for signal in &reference.synthetic {
        let path = fixtures_dir().join(&signal.file);
        match sha256_file(&path) {
            Ok(sum) if sum == signal.sha256 => {}
            Ok(sum) => {
                checker.fail(format!(
                    "{}: sha256 {sum} differs from the reference's {}; rerun the fixture script",
                    path.display(),
                    signal.sha256
                ));
                continue;
            }
            Err(e) => {
                checker.fail(format!("{}: {e}", path.display()));
                continue;
            }
        }
        if let Some(frames) = checker.check_pooled(&signal.name, &path, &signal.pooled) {
            checker.check_frame_rows(signal, &frames);
        }
    }
    checker.finish("synthetic signals");
}

#[test]
fn ravdess_files_match_librosa() {
    let root = std::env::var_os("RAVDESS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("data/ravdess"));
    if !root.is_dir() {
        let message = format!(
            "RAVDESS not found at {}; run ../shared/data/unpack-ravdess.sh data/ravdess",
            root.display()
        );
        if std::env::var("SER_REQUIRE_DATA").as_deref() == Ok("1") {
            panic!("SER_REQUIRE_DATA=1 but {message}");
        }
        // Straight to the stderr handle: libtest captures eprintln! of a passing test.
        let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: {message} ***\n");
        return;
    }
    let reference = load_reference();
    assert!(
        !reference.ravdess.is_empty(),
        "reference.json has no RAVDESS entries; rerun the fixture script with --ravdess"
    );
    let mut checker = Checker::new();
    for file in &reference.ravdess {
        let path = root.join(&file.path);
        match std::fs::metadata(&path) {
            Ok(m) if m.len() == file.file_size => {}
            Ok(m) => {
                checker.fail(format!(
                    "{}: {} bytes, the reference's file has {}",
                    path.display(),
                    m.len(),
                    file.file_size
                ));
                continue;
            }
            Err(e) => {
                checker.fail(format!("{}: {e}", path.display()));
                continue;
            }
        }
        match sha256_file(&path) {
            Ok(sum) if sum == file.sha256 => {}
            Ok(sum) => {
                checker.fail(format!(
                    "{}: sha256 {sum} is not the reference's {}",
                    path.display(),
                    file.sha256
                ));
                continue;
            }
            Err(e) => {
                checker.fail(format!("{}: {e}", path.display()));
                continue;
            }
        }
        checker.check_pooled(&file.path, &path, &file.pooled);
    }
    checker.finish("RAVDESS files");
}
