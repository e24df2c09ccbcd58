//! Issue 21: what one hostile input may cost. A corpus built here (never committed) of files
//! whose headers lie or whose content is no voice: absurd rates and channel counts, a sample
//! size WAV cannot hold, a length claim of 4 GB over 2 KB of data, NaN and infinite floats, ten
//! samples, digital silence, a DC offset, a full-scale square wave, and FLAC files whose
//! STREAMINFO lies about the rate, the block size or the length.
//!
//! Each must be refused with its own clear error in well under a second, by the library, by
//! `predict` (an error per file, exit 3), by the batch stages (an `errors.csv` row each, exit
//! 3, no features) and by `serve` (the right status, the corpus sent 8 times at once, the
//! server's peak RSS within the model plus a stated budget, and `/healthz` still answering).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{make_corpus, ravdess_name, stderr_of, strings, voice, Workspace};
use ser_pipeline::audio::{self, Limits};
use ser_pipeline::data::parquet;

/// One hostile file: its bytes, what its error must say, where the batch run reports it, and
/// the status `serve` answers it with.
struct Hostile {
    name: &'static str,
    bytes: Vec<u8>,
    says: &'static str,
    stage: &'static str,
    http: u16,
}

/// A RIFF/WAVE file with any `fmt ` values; `declared` overrides the data chunk's length.
fn wav(
    tag: u16,
    channels: u16,
    rate: u32,
    bits: u16,
    data: &[u8],
    declared: Option<u32>,
) -> Vec<u8> {
    let data_len = declared.unwrap_or(data.len() as u32);
    let align = channels.wrapping_mul(bits.div_ceil(8));
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&data_len.saturating_add(36).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&tag.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&rate.wrapping_mul(u32::from(align)).to_le_bytes());
    out.extend_from_slice(&align.to_le_bytes());
    out.extend_from_slice(&bits.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    out.extend_from_slice(data);
    out
}

fn pcm16(samples: &[f32]) -> Vec<u8> {
    samples
        .iter()
        .flat_map(|&s| {
            ((f64::from(s) * 32768.0).round().clamp(-32768.0, 32767.0) as i16).to_le_bytes()
        })
        .collect()
}

fn f32le(samples: &[f32]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

/// STREAMINFO's fields, rewritten in place: the block sizes (bytes 8..12 of the file), and the
/// 20-bit rate and 36-bit total sample count packed in bytes 18..26.
fn patch_streaminfo(
    flac: &mut [u8],
    block_size: Option<u16>,
    rate: Option<u32>,
    total: Option<u64>,
) {
    assert_eq!(&flac[..4], b"fLaC");
    assert_eq!(flac[4] & 0x7f, 0, "STREAMINFO first");
    if let Some(b) = block_size {
        flac[8..10].copy_from_slice(&b.to_be_bytes());
        flac[10..12].copy_from_slice(&b.to_be_bytes());
    }
    // rate(20) channels-1(3) bps-1(5) total(36), big-endian from byte 18.
    let mut packed = u64::from_be_bytes(flac[18..26].try_into().unwrap());
    if let Some(r) = rate {
        packed = (packed & !(0xF_FFFF << 44)) | (u64::from(r) << 44);
    }
    if let Some(t) = total {
        packed = (packed & !0xF_FFFF_FFFF) | (t & 0xF_FFFF_FFFF);
    }
    flac[18..26].copy_from_slice(&packed.to_be_bytes());
}

fn hostile_corpus() -> Vec<Hostile> {
    let y = voice(3, 5, 1, 16000, 0.5);
    let thousand = pcm16(&voice(3, 5, 1, 16000, 1000.0 / 16000.0));
    let square: Vec<f32> = (0..32000)
        .map(|i| if (i / 40) % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    let mut nan = y.clone();
    nan[4000] = f32::NAN;
    let mut inf = y.clone();
    inf[4000] = f32::INFINITY;
    let y48 = voice(4, 5, 1, 48000, 12.0 * 4096.0 / 48000.0);
    let flac = common::flac16(&y48, 48000);
    let mut flac_rate = flac.clone();
    patch_streaminfo(&mut flac_rate, None, Some(1), None);
    let mut flac_block = flac.clone();
    patch_streaminfo(&mut flac_block, Some(16), None, None);
    let mut flac_long = flac.clone();
    patch_streaminfo(&mut flac_long, None, None, Some((1 << 36) - 1));
    let h = |name, bytes, says, stage, http| Hostile {
        name,
        bytes,
        says,
        stage,
        http,
    };
    vec![
        h(
            "rate_0.wav",
            wav(1, 1, 0, 16, &thousand, None),
            "unsupported sample rate: 0 Hz is outside 1000..=384000 Hz",
            "scan",
            415,
        ),
        h(
            "rate_1.wav",
            wav(1, 1, 1, 16, &thousand, None),
            "unsupported sample rate: 1 Hz is outside",
            "scan",
            415,
        ),
        h(
            "rate_4e9.wav",
            wav(1, 1, 4_000_000_000, 16, &thousand, None),
            "unsupported sample rate: 4000000000 Hz",
            "scan",
            415,
        ),
        h(
            "channels_0.wav",
            wav(1, 0, 16000, 16, &thousand, None),
            "unsupported channel count: 0 is outside 1..=32",
            "scan",
            415,
        ),
        h(
            "channels_64.wav",
            wav(1, 64, 16000, 16, &pcm16(&vec![0.1; 64 * 100]), None),
            "unsupported channel count: 64 is outside 1..=32",
            "scan",
            415,
        ),
        h(
            "bits_12.wav",
            wav(1, 1, 16000, 12, &thousand, None),
            "unsupported bits per sample: 12",
            "scan",
            415,
        ),
        h(
            "claims_4gb.wav",
            wav(1, 1, 16000, 16, &pcm16(&y[..1024]), Some(0xFFFF_FFF0)),
            "truncated: the header declares 2147483640 frames but the file holds 1024",
            "extract",
            400,
        ),
        h(
            "nan.wav",
            wav(3, 1, 16000, 32, &f32le(&nan), None),
            "non-finite sample at frame 4000",
            "extract",
            400,
        ),
        h(
            "inf.wav",
            wav(3, 1, 16000, 32, &f32le(&inf), None),
            "non-finite sample at frame 4000",
            "extract",
            400,
        ),
        h(
            "ten_samples.wav",
            wav(1, 1, 16000, 16, &pcm16(&y[4000..4010]), None),
            "no voice found in the clip: only 1 ms above the -60 dBFS floor",
            "extract",
            422,
        ),
        h(
            "zeros.wav",
            wav(1, 1, 16000, 16, &pcm16(&vec![0.0; 32000]), None),
            "no voice found in the clip: digital silence",
            "extract",
            422,
        ),
        h(
            "dc.wav",
            wav(1, 1, 16000, 16, &pcm16(&vec![0.25; 32000]), None),
            "no voice found in the clip: a constant value",
            "extract",
            422,
        ),
        h(
            "square.wav",
            wav(1, 1, 16000, 16, &pcm16(&square), None),
            "no voice found in the clip: a steady signal",
            "extract",
            422,
        ),
        h(
            "flac_rate_1.flac",
            flac_rate,
            "unsupported sample rate: 1 Hz is outside",
            "scan",
            415,
        ),
        h(
            "flac_block_size.flac",
            flac_block,
            "not a readable audio file",
            "scan",
            400,
        ),
        h("flac_length.flac", flac_long, "too long", "scan", 413),
    ]
}

/// The limits `predict` and the stages hold a file to with the recommended config.
const LIMITS: Limits = Limits {
    max_seconds: 600.0,
    analysis_rate: Some(22050),
};

#[test]
fn every_hostile_file_is_refused_by_the_library_with_its_error_in_well_under_a_second() {
    let dir = tempfile::tempdir().unwrap();
    for f in hostile_corpus() {
        let path = dir.path().join(f.name);
        std::fs::write(&path, &f.bytes).unwrap();
        let started = Instant::now();
        let result = audio::load(&path, &LIMITS);
        let seconds = started.elapsed().as_secs_f64();
        let err = result
            .err()
            .unwrap_or_else(|| panic!("{}: accepted", f.name));
        eprintln!("hostile: {:<22} {:>7.1} ms  {err}", f.name, seconds * 1e3);
        assert!(err.to_string().contains(f.says), "{}: {err}", f.name);
        assert!(seconds < 1.0, "{}: {seconds} s", f.name);
    }
    // The same voice as a truthful FLAC is accepted, so the lies are what is refused.
    let y48 = voice(4, 5, 1, 48000, 12.0 * 4096.0 / 48000.0);
    let good = dir.path().join("good.flac");
    std::fs::write(&good, common::flac16(&y48, 48000)).unwrap();
    assert_eq!(audio::load(&good, &LIMITS).unwrap().sample_rate, 22050);
}

/// A header that declares no length (FLAC's total of 0, "unknown") cannot make decoding go past
/// the limits: it stops at `max_seconds`, or sooner at the work budget.
#[test]
fn decoding_stops_at_the_limits_whatever_the_header_declares() {
    let dir = tempfile::tempdir().unwrap();
    let y48 = voice(4, 5, 1, 48000, 12.0 * 4096.0 / 48000.0);
    let mut flac = common::flac16(&y48, 48000);
    patch_streaminfo(&mut flac, None, None, Some(0));
    let path = dir.path().join("unknown_length.flac");
    std::fs::write(&path, &flac).unwrap();
    let at = |max_seconds: f64, analysis_rate: Option<u32>| {
        audio::decode_within(
            &path,
            &Limits {
                max_seconds,
                analysis_rate,
            },
        )
    };
    // 1.024 s of audio: decoded whole within 2 s.
    assert_eq!(at(2.0, None).unwrap().samples.len(), y48.len());
    let err = at(0.5, None).unwrap_err().to_string();
    assert!(
        err.starts_with(
            "too long: more than 24000 frames at 48000 Hz decoded (the header declared no length)"
        ),
        "{err}"
    );
    // Resampled to 384 kHz, 1 s of 48 kHz costs 9 samples a frame: the budget of 1 s (192,000
    // samples) stops it at 21,333 frames, before the length would.
    let err = at(1.0, Some(384_000)).unwrap_err().to_string();
    assert!(
        err.starts_with("too much work: more than 21333 frames of 1 channels at 48000 Hz"),
        "{err}"
    );
}

/// Files named as RAVDESS speech of actor 5, in the hostile corpus's order.
fn write_named(dir: &Path, corpus: &[Hostile]) -> Vec<(String, &'static str)> {
    let actor_dir = dir.join("Actor_05");
    std::fs::create_dir_all(&actor_dir).unwrap();
    corpus
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let i = i as u8;
            let mut name = ravdess_name(1 + i % 8, 1, 1 + i / 8 % 2, 1 + i / 16, 5);
            if f.name.ends_with(".flac") {
                name = name.replace(".wav", ".flac");
            }
            std::fs::write(actor_dir.join(&name), &f.bytes).unwrap();
            (format!("Actor_05/{name}"), f.name)
        })
        .collect()
}

#[test]
fn the_batch_stages_report_each_hostile_file_in_errors_csv_and_featurise_none() {
    let ws = Workspace::new("[audio]\nsample_rate = 22050\n");
    let good = make_corpus(&ws.corpus(), &[1], 16000, 0.3);
    let corpus = hostile_corpus();
    let named = write_named(&ws.corpus(), &corpus);
    let started = Instant::now();
    let out = ws
        .cmd(&["run", "--stage", "extract"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let log = stderr_of(&out);
    assert_eq!(out.status.code(), Some(3), "{log}");
    eprintln!(
        "hostile: scan + extract of 16 good and {} hostile files: {seconds:.2} s",
        corpus.len()
    );
    let features = parquet::read(&ws.out("features.parquet")).unwrap();
    assert_eq!(strings(&features, "path"), good);
    let errors = std::fs::read_to_string(ws.out("errors.csv")).unwrap();
    let rows: Vec<&str> = errors.lines().skip(1).collect();
    assert_eq!(rows.len(), corpus.len(), "{errors}");
    for ((path, name), f) in named.iter().zip(&corpus) {
        let row = rows
            .iter()
            .find(|r| r.contains(path.as_str()))
            .unwrap_or_else(|| panic!("{name}: no row in {errors}"));
        assert!(
            row.starts_with(&format!("{},", f.stage)) && row.contains(f.says),
            "{name}: expected {} and {:?} in {row}",
            f.stage,
            f.says
        );
        if f.stage == "scan" {
            let status = if f.http == 400 {
                "unreadable"
            } else {
                "unsupported"
            };
            assert!(row.contains(&format!("{status}: ")), "{name}: {row}");
        }
    }
    // The manifest says which files scan found unsupported.
    let manifest = parquet::read(&ws.out("manifest.parquet")).unwrap();
    let status = strings(&manifest, "status");
    let n_unsupported = status.iter().filter(|s| *s == "unsupported").count();
    assert_eq!(
        n_unsupported,
        corpus
            .iter()
            .filter(|f| f.stage == "scan" && f.http != 400)
            .count()
    );
}

#[test]
fn predict_reports_each_hostile_file_and_judges_the_rest() {
    let ws = Workspace::new(&format!(
        "{}\n[audio]\nsample_rate = 22050\n[models]\ntrain = [\"mlp\"]\n",
        common::TINY_TRAINING
    ));
    make_corpus(&ws.corpus(), &[1, 2, 3], 16000, 0.3);
    common::assert_exit(&ws.cmd(&["run", "-q"]).output().unwrap(), 0);
    let dir = ws.path().join("hostile");
    std::fs::create_dir_all(&dir).unwrap();
    let corpus = hostile_corpus();
    for f in &corpus {
        std::fs::write(dir.join(f.name), &f.bytes).unwrap();
    }
    let clip = dir.join("a_voice.wav");
    common::write_wav16(&clip, &voice(2, 1, 1, 16000, 0.5), 1, 16000);
    let started = Instant::now();
    let out = ws
        .cmd(&["predict", "--json", "--model", "out/models/mlp"])
        .arg(&dir)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    eprintln!(
        "hostile: predict over {} hostile files and one voice: {:.2} s",
        corpus.len(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let results: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results.len(), corpus.len() + 1);
    for r in &results {
        let path = r["path"].as_str().unwrap();
        if path.ends_with("a_voice.wav") {
            assert!(r["emotion"].is_string() && r.get("error").is_none(), "{r}");
            continue;
        }
        let f = corpus.iter().find(|f| path.ends_with(f.name)).unwrap();
        let err = r["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: judged: {r}", f.name));
        assert!(err.contains(f.says), "{}: {err}", f.name);
        assert!(r.get("emotion").is_none(), "{}: {r}", f.name);
    }
}

/// A running `serve`; killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(cwd: &Path, args: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ser-pipeline"))
        .arg("serve")
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("server did not start: {line:?}"))
        .parse()
        .unwrap();
    Server { child, addr }
}

/// `POST /api/predict` with `body` as audio/wav: the status and the body.
fn post(addr: SocketAddr, body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "POST /api/predict HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_owned());
    (status, body)
}

/// `GET path`: the whole response, head and body.
fn get(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    raw
}

fn healthz(addr: SocketAddr) -> bool {
    let raw = get(addr, "/healthz");
    raw.starts_with("HTTP/1.1 200") && raw.ends_with("ok")
}

/// A process's `VmHWM` (peak resident set) or `VmRSS`, in MB, from /proc.
fn memory_mb(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"));
    let kb: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb / 1024.0
}

/// The server's peak RSS may grow by at most this much over its peak after loading the model
/// and judging one clip of each good kind, while the hostile corpus is sent 8 times at once.
const RSS_BUDGET_MB: f64 = 64.0;

#[cfg(target_os = "linux")]
#[test]
fn serve_refuses_the_hostile_corpus_sent_8_times_at_once_within_its_memory_budget() {
    let ws = Workspace::new(&format!(
        "{}\n[audio]\nsample_rate = 22050\n[models]\ntrain = [\"mlp\"]\n",
        common::TINY_TRAINING
    ));
    make_corpus(&ws.corpus(), &[1, 2, 3], 16000, 0.3);
    common::assert_exit(&ws.cmd(&["run", "-q"]).output().unwrap(), 0);
    let server = start_server(ws.path(), &["--model", "out/models/mlp"]);
    let (addr, pid) = (server.addr, server.child.id());
    let loaded_mb = memory_mb(pid, "VmHWM");
    // The model, and what judging a clip costs: a voice clip of 0.5 s and of the longest
    // accepted (60 s), at 48 kHz.
    for seconds in [0.5, 60.0] {
        let clip = wav(
            1,
            1,
            48000,
            16,
            &pcm16(&voice(2, 1, 1, 48000, seconds)),
            None,
        );
        let (status, body) = post(addr, &clip);
        assert_eq!(status, 200, "{seconds} s: {body}");
    }
    let model_mb = memory_mb(pid, "VmHWM");
    eprintln!(
        "hostile: serve VmHWM {loaded_mb:.1} MB with the model loaded, {model_mb:.1} MB after \
         judging 0.5 s and 60 s of 48 kHz voice"
    );
    let corpus = hostile_corpus();
    // Each file alone: its status and message, well under a second.
    for f in &corpus {
        let started = Instant::now();
        let (status, body) = post(addr, &f.bytes);
        let ms = started.elapsed().as_secs_f64() * 1e3;
        eprintln!(
            "hostile: serve {:<22} {status} {ms:>7.1} ms  {body}",
            f.name
        );
        assert_eq!(status, f.http, "{}: {body}", f.name);
        let expected = if f.http == 413 { "too long" } else { f.says };
        assert!(body.contains(expected), "{}: {body}", f.name);
        assert!(ms < 1000.0, "{}: {ms} ms", f.name);
    }
    // The corpus 8 times at once.
    let started = Instant::now();
    let corpus = std::sync::Arc::new(corpus);
    let handles: Vec<_> = (0..8)
        .flat_map(|_| (0..corpus.len()).map(|i| (i, std::sync::Arc::clone(&corpus))))
        .map(|(i, corpus)| {
            std::thread::spawn(move || {
                let (status, body) = post(addr, &corpus[i].bytes);
                (i, status, body)
            })
        })
        .collect();
    for h in handles {
        let (i, status, body) = h.join().unwrap();
        assert_eq!(status, corpus[i].http, "{}: {body}", corpus[i].name);
    }
    let wall = started.elapsed().as_secs_f64();
    let peak_mb = memory_mb(pid, "VmHWM");
    eprintln!(
        "hostile: serve, {} requests at once: {wall:.2} s; VmHWM {model_mb:.1} MB after the \
         model and two clips, {peak_mb:.1} MB after (budget +{RSS_BUDGET_MB} MB)",
        8 * corpus.len()
    );
    assert!(
        peak_mb <= model_mb + RSS_BUDGET_MB,
        "peak RSS {peak_mb:.1} MB > {model_mb:.1} + {RSS_BUDGET_MB} MB"
    );
    assert!(healthz(addr), "/healthz no longer answers");
    // The page shows a 422 "no voice" as such, not as a failure to analyse.
    let app = get(addr, "/app.js");
    assert!(
        app.contains("'No voice found in the clip'")
            && app.contains("/^no voice found in the clip/"),
        "the page does not handle the no-voice answer"
    );
    // And it still judges a voice.
    let clip = wav(1, 1, 16000, 16, &pcm16(&voice(5, 2, 1, 16000, 0.5)), None);
    assert_eq!(post(addr, &clip).0, 200);
}

/// A corpus folder from `$VAR` or `data/<default>`; `None` (loudly) when absent, a failure
/// with `SER_REQUIRE_DATA=1`.
fn real_corpus(var: &str, default: &str) -> Option<std::path::PathBuf> {
    let dir = std::env::var_os(var)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("data")
                .join(default)
        });
    if dir.is_dir() {
        return Some(dir);
    }
    let message = format!("{default} not found at {} (set {var})", dir.display());
    if std::env::var("SER_REQUIRE_DATA").as_deref() == Ok("1") {
        panic!("{message}, and SER_REQUIRE_DATA=1");
    }
    eprintln!("\n*** SKIPPED: {message} ***\n");
    None
}

/// The voice floor is not tuned on a corpus, but must refuse no real recording: every RAVDESS
/// and EmoDB file passes the checks with the default limits, and the margins are printed.
#[test]
fn no_real_recording_is_refused() {
    use rayon::prelude::*;
    for (var, default) in [("RAVDESS_DIR", "ravdess"), ("EMODB_DIR", "emodb")] {
        let Some(dir) = real_corpus(var, default) else {
            continue;
        };
        let (files, _) = ser_pipeline::corpus::walk(&dir);
        assert!(!files.is_empty(), "{}", dir.display());
        let limits = Limits {
            max_seconds: Limits::DEFAULT_MAX_SECONDS,
            analysis_rate: None,
        };
        let outcomes: Vec<(String, Result<audio::voice::Activity, String>)> = files
            .par_iter()
            .map(|f| {
                let outcome = audio::decode_within(&f.abs_path, &limits)
                    .map_err(|e| e.to_string())
                    .and_then(|a| {
                        audio::voice::check(&a.samples, a.sample_rate).map_err(|e| e.to_string())
                    });
                (f.abs_path.display().to_string(), outcome)
            })
            .collect();
        let refused: Vec<String> = outcomes
            .iter()
            .filter_map(|(p, o)| o.as_ref().err().map(|e| format!("{p}: {e}")))
            .collect();
        let ok: Vec<&audio::voice::Activity> = outcomes
            .iter()
            .filter_map(|(_, o)| o.as_ref().ok())
            .collect();
        let min = |f: fn(&audio::voice::Activity) -> f64| {
            ok.iter().map(|a| f(a)).fold(f64::INFINITY, f64::min)
        };
        eprintln!(
            "{default}: {} files, {} refused; least loudest-frame level {:.1} dBFS (floor -60), \
             least time above the floor {:.2} s (0.1 needed), least level spread {:.1} dB (6 \
             needed)",
            outcomes.len(),
            refused.len(),
            min(|a| a.peak_frame_dbfs),
            min(|a| a.active_s),
            min(|a| a.spread_db),
        );
        assert!(refused.is_empty(), "{refused:#?}");
    }
}
