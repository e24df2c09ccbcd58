//! `ser-pipeline serve` end to end: the real binary on 127.0.0.1 (port 0) with a model trained
//! on a generated corpus, spoken to over plain HTTP/1.1 (a tiny client below, no dependency).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{make_corpus, voice, Workspace};
use ser_pipeline::audio::wav_pcm16_bytes;
use serde_json::Value;

fn config() -> String {
    format!("{}\n[models]\ntrain = [\"mlp\"]\n", common::TINY_TRAINING)
}

/// A running server; killed on drop if the test did not stop it.
struct Server {
    child: Child,
    addr: SocketAddr,
    log: std::path::PathBuf,
}

impl Server {
    fn start(cwd: &Path, log: &Path, args: &[&str]) -> Server {
        let log_file = std::fs::File::create(log).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ser-pipeline"))
            .arg("serve")
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(addr) = line.trim().strip_prefix("listening on http://") else {
            let _ = child.wait();
            panic!(
                "server did not start: {line:?}\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        };
        Server {
            addr: addr.parse().unwrap(),
            child,
            log: log.to_path_buf(),
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then the exit status (within 10 s).
    fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "server ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

struct Reply {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
    fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or("").to_owned()
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`). `extra` headers are sent
/// verbatim; `declared` overrides the Content-Length.
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    extra: &[(&str, &str)],
    body: &[u8],
    declared: Option<usize>,
) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        declared.unwrap_or(body.len())
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // A server may answer (and close) before reading all of an oversized body.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> Reply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut content_type = String::new();
    let mut chunked = false;
    for line in lines {
        let (k, v) = line.split_once(':').unwrap();
        match k.trim().to_ascii_lowercase().as_str() {
            "content-type" => content_type = v.trim().to_owned(),
            "transfer-encoding" => chunked = v.trim().eq_ignore_ascii_case("chunked"),
            _ => {}
        }
    }
    let mut body = raw[split + 4..].to_vec();
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let eol = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size = usize::from_str_radix(
                String::from_utf8_lossy(&rest[..eol])
                    .split(';')
                    .next()
                    .unwrap()
                    .trim(),
                16,
            )
            .unwrap();
            rest = &rest[eol + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
        body = out;
    }
    Reply {
        status,
        content_type,
        body,
    }
}

fn get(addr: SocketAddr, path: &str) -> Reply {
    request(addr, "GET", path, &[], b"", None)
}

fn post(addr: SocketAddr, content_type: &str, body: &[u8]) -> Reply {
    request(
        addr,
        "POST",
        "/api/predict",
        &[("Content-Type", content_type)],
        body,
        None,
    )
}

fn multipart(field: &str, file_name: &str, content_type: &str, data: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----ser-pipeline-test-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; \
             filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Checks a prediction against the model's labels; returns the emotion.
fn check_prediction(json: &Value, labels: &[String], seconds: f64) -> String {
    let probs = json["probabilities"].as_object().unwrap();
    assert_eq!(probs.len(), 8, "{json}");
    for label in labels {
        assert!(probs.contains_key(label), "{label} missing: {json}");
    }
    let total: f64 = probs.values().map(|p| p.as_f64().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-6, "probabilities sum to {total}");
    let emotion = json["emotion"].as_str().unwrap().to_owned();
    let best = probs
        .iter()
        .max_by(|a, b| a.1.as_f64().unwrap().total_cmp(&b.1.as_f64().unwrap()))
        .unwrap()
        .0;
    assert_eq!(&emotion, best);
    assert_eq!(json["model"], "mlp");
    assert!((json["duration_s"].as_f64().unwrap() - seconds).abs() < 1e-3);
    emotion
}

#[test]
fn serve_answers_the_page_the_api_and_bad_input() {
    let ws = Workspace::new(&config());
    make_corpus(&ws.corpus(), &[1, 2, 3], 16000, 0.3);
    let out = ws.cmd(&["run", "-q"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let model_dir = ws.out("models/mlp");
    // Started elsewhere than the pipeline ran: the metrics are found from the model folder.
    let elsewhere = tempfile::tempdir().unwrap();
    let mut server = Server::start(
        elsewhere.path(),
        &ws.path().join("serve.log"),
        &[
            "--model",
            model_dir.to_str().unwrap(),
            "--max-upload-mb",
            "1",
            "--max-duration-s",
            "2",
        ],
    );
    let addr = server.addr;

    // Health and the page.
    let health = get(addr, "/healthz");
    assert_eq!(health.status, 200);
    assert_eq!(health.body, b"ok");
    let page = get(addr, "/");
    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"));
    let html = String::from_utf8_lossy(&page.body);
    assert!(html.contains("/app.js") && html.contains("/style.css"));
    for external in [
        "src=\"http",
        "href=\"http",
        "src=\"//",
        "href=\"//",
        "url(http",
    ] {
        assert!(!html.contains(external), "no external assets: {external}");
    }
    for (path, kind) in [("/app.js", "text/javascript"), ("/style.css", "text/css")] {
        let r = get(addr, path);
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.content_type.starts_with(kind),
            "{path}: {}",
            r.content_type
        );
    }
    assert_eq!(get(addr, "/nothing").status, 404);

    // The model card and its evaluation rows.
    let model = get(addr, "/api/model");
    assert_eq!(model.status, 200);
    let info = model.json();
    let labels: Vec<String> = info["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(labels.len(), 8);
    assert_eq!(info["model"], "mlp");
    assert!(info["version"].is_string());
    let n_features = info["n_features"].as_u64().unwrap();
    assert!(n_features > 0);
    assert_eq!(
        info["feature_names"].as_array().unwrap().len() as u64,
        n_features
    );
    assert_eq!(info["limits"]["max_upload_bytes"], 1 << 20);
    assert_eq!(info["limits"]["max_duration_s"], 2.0);
    let metrics = info["metrics"].as_array().unwrap();
    let protocols: Vec<&str> = metrics
        .iter()
        .map(|m| m["protocol"].as_str().unwrap())
        .collect();
    assert!(
        protocols.contains(&"random") && protocols.contains(&"actor_kfold"),
        "{info}"
    );
    for m in metrics {
        let acc = m["accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&acc));
        assert!(m["macro_f1"].is_number() && m.get("fold").is_none());
    }

    // A valid WAV as the raw body, and as a multipart file field.
    let clip = wav_pcm16_bytes(&voice(5, 9, 1, 16000, 0.5), 1, 16000);
    let raw = post(addr, "audio/wav", &clip);
    assert_eq!(raw.status, 200, "{}", String::from_utf8_lossy(&raw.body));
    let emotion = check_prediction(&raw.json(), &labels, 0.5);
    assert_eq!(raw.json()["sample_rate"], 16000);
    let (ctype, body) = multipart("file", "clip.wav", "audio/wav", &clip);
    let form = post(addr, &ctype, &body);
    assert_eq!(form.status, 200, "{}", String::from_utf8_lossy(&form.body));
    assert_eq!(check_prediction(&form.json(), &labels, 0.5), emotion);
    // Stereo, any content type (curl's default form type), the same answer as its mono mix.
    let mono = voice(3, 2, 1, 8000, 0.5);
    let stereo: Vec<f32> = mono.iter().flat_map(|&s| [s, s]).collect();
    let r = post(
        addr,
        "application/x-www-form-urlencoded",
        &wav_pcm16_bytes(&stereo, 2, 8000),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["channels"], 2);
    let m = post(addr, "", &wav_pcm16_bytes(&mono, 1, 8000));
    assert_eq!(m.status, 200);
    assert_eq!(r.json()["probabilities"], m.json()["probabilities"]);

    // Bad input: JSON errors, never a dead server.
    let garbage = post(addr, "application/octet-stream", &[0x5a; 3000]);
    assert_eq!(garbage.status, 400);
    assert!(
        garbage.error().contains("not a readable audio file"),
        "{}",
        garbage.error()
    );
    let truncated = post(addr, "audio/wav", &clip[..clip.len() / 2]);
    assert_eq!(truncated.status, 400);
    assert!(
        truncated.error().contains("truncated"),
        "{}",
        truncated.error()
    );
    let empty = post(addr, "audio/wav", b"");
    assert_eq!(empty.status, 400);
    assert!(empty.error().contains("empty"));
    let text = post(addr, "text/plain", b"hello, I am not a recording");
    assert_eq!(text.status, 415);
    assert!(text.error().contains("text/plain"));
    let (ctype, body) = multipart("other", "notes.txt", "text/plain", b"hello");
    assert_eq!(post(addr, &ctype, &body).status, 415);
    let no_file = post(
        addr,
        "multipart/form-data; boundary=xyz",
        b"--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--xyz--\r\n",
    );
    assert_eq!(no_file.status, 400);
    assert!(no_file.error().contains("no file field"));
    let broken_form = post(addr, "multipart/form-data; boundary=xyz", b"garbage");
    assert_eq!(broken_form.status, 400);
    assert!(!broken_form.error().is_empty());

    // Over the upload limit (1 MB): sent in full, declared only (waiting for 100 Continue), and
    // chunked with no length.
    let big = vec![0u8; (1 << 20) + 10];
    let r = post(addr, "audio/wav", &big);
    assert_eq!(r.status, 413);
    assert!(r.error().contains("at most 1.0 MB"), "{}", r.error());
    let r = request(
        addr,
        "POST",
        "/api/predict",
        &[("Content-Type", "audio/wav"), ("Expect", "100-continue")],
        b"",
        Some(500 << 20),
    );
    assert_eq!(r.status, 413);
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST /api/predict HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Transfer-Encoding: chunked\r\n\r\n"
    )
    .unwrap();
    for _ in 0..20 {
        let chunk = vec![1u8; 100_000];
        let _ = write!(stream, "{:x}\r\n", chunk.len());
        let _ = stream.write_all(&chunk);
        let _ = stream.write_all(b"\r\n");
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    assert_eq!(parse_reply(&raw).status, 413);

    // Longer than --max-duration-s (2 s): refused, with the clip's length.
    let long = wav_pcm16_bytes(&voice(1, 1, 1, 8000, 3.0), 1, 8000);
    let r = post(addr, "audio/wav", &long);
    assert_eq!(r.status, 413);
    assert!(
        r.error().contains("3.0 s") && r.error().contains("at most 2 s"),
        "{}",
        r.error()
    );

    // 50 requests at once all succeed, each with its own clip's answer.
    let handles: Vec<_> = (0..50u8)
        .map(|i| {
            std::thread::spawn(move || {
                let seconds = 0.25 + f64::from(i % 5) * 0.05;
                let clip =
                    wav_pcm16_bytes(&voice(1 + i % 8, 1 + i % 3, 1, 16000, seconds), 1, 16000);
                let r = post(addr, "audio/wav", &clip);
                (r.status, r.json(), seconds)
            })
        })
        .collect();
    for h in handles {
        let (status, json, seconds) = h.join().unwrap();
        assert_eq!(status, 200, "{json}");
        check_prediction(&json, &labels, seconds);
    }
    assert_eq!(get(addr, "/healthz").status, 200);

    // One log line per request; a graceful exit on SIGTERM.
    let status = server.terminate();
    assert!(status.success(), "{status:?}\n{}", server.log());
    let log = server.log();
    assert!(log.contains("POST /api/predict 200"), "{log}");
    assert!(log.contains("POST /api/predict 413"), "{log}");
    assert!(log.contains("GET /healthz 200"), "{log}");
    assert_eq!(
        log.matches("POST /api/predict 200").count(),
        54,
        "one line per request:\n{log}"
    );
}

#[test]
fn a_speaker_normalised_model_judges_a_lone_clip_on_average_speaker_statistics() {
    let ws = Workspace::new(&config());
    make_corpus(&ws.corpus(), &[1, 2, 3], 16000, 0.3);
    let out = ws
        .cmd(&[
            "run",
            "-q",
            "--stage",
            "train",
            "--set",
            "train.speaker_normalization=true",
        ])
        .output()
        .unwrap();
    common::assert_exit(&out, 0);
    // --metrics must name a file; without it, none is found (no evaluate stage ran).
    let out = ws
        .cmd(&[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--model",
            "out/models/mlp",
        ])
        .args(["--metrics", "nothing.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing.csv"));
    let clip = wav_pcm16_bytes(&voice(2, 1, 1, 16000, 0.5), 1, 16000);
    let card_path = ws.path().join("out/models/mlp/model.json");
    let card: Value = serde_json::from_str(&std::fs::read_to_string(&card_path).unwrap()).unwrap();
    let population = &card["speaker_population"];
    assert_eq!(
        population["mean"].as_array().unwrap().len(),
        card["feature_names"].as_array().unwrap().len()
    );
    assert!(population["scale"]
        .as_array()
        .unwrap()
        .iter()
        .all(|v| v.as_f64().unwrap() > 0.0));
    {
        let server = Server::start(
            ws.path(),
            &ws.path().join("serve.log"),
            &["--model", "out/models/mlp"],
        );
        let info = get(server.addr, "/api/model").json();
        assert_eq!(info["needs_speaker_groups"], false);
        assert_eq!(info["speaker_normalization"], true);
        assert_eq!(info["metrics"].as_array().unwrap().len(), 0);
        let r = post(server.addr, "audio/wav", &clip);
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let json = r.json();
        assert_eq!(json["speaker_statistics"], "population");
        let total: f64 = json["probabilities"]
            .as_object()
            .unwrap()
            .values()
            .map(|p| p.as_f64().unwrap())
            .sum();
        assert!((total - 1.0).abs() < 1e-9, "{json}");
    }
    // A card saved before the population statistics existed cannot judge a lone clip.
    let mut old = card.clone();
    old.as_object_mut().unwrap().remove("speaker_population");
    std::fs::write(&card_path, serde_json::to_string(&old).unwrap()).unwrap();
    let server = Server::start(
        ws.path(),
        &ws.path().join("serve-old.log"),
        &["--model", "out/models/mlp"],
    );
    let info = get(server.addr, "/api/model").json();
    assert_eq!(info["needs_speaker_groups"], true);
    let r = post(server.addr, "audio/wav", &clip);
    assert_eq!(r.status, 422);
    assert!(r.error().contains("per speaker"), "{}", r.error());
}

/// The saved ensemble of a speaker-normalised MLP on 0.1 s windows and an SVM on whole clips:
/// `/api/model` lists its members and their rows, and a lone clip's probabilities are the mean
/// of the two models' (each judged alone by `predict`), on the training speakers' average.
#[test]
fn serve_answers_with_the_saved_ensemble() {
    let ws = Workspace::new(&format!(
        "{}\n[train]\nspeaker_normalization = true\n[models]\ntrain = [\"mlp\", \"svm\"]\n\
         ensemble = [\"mlp\", \"svm\"]\n[models.segments]\nmlp = {{ seconds = 0.1 }}\n",
        common::TINY_TRAINING
    ));
    make_corpus(&ws.corpus(), &[1, 2, 3], 16000, 0.3);
    common::assert_exit(
        &ws.cmd(&["run", "-q", "--stage", "all"]).output().unwrap(),
        0,
    );
    let clip_samples = voice(5, 7, 1, 16000, 0.5);
    let clip = wav_pcm16_bytes(&clip_samples, 1, 16000);
    // No --model: the ensemble is the default when the config trained one.
    let server = Server::start(ws.path(), &ws.path().join("serve.log"), &[]);
    let info = get(server.addr, "/api/model").json();
    assert_eq!(info["model"], "ensemble");
    let members = info["members"].as_array().unwrap();
    assert_eq!(members.len(), 2);
    assert_eq!(members[0]["model"], "mlp");
    assert_eq!(members[0]["segment_seconds"], 0.1);
    assert_eq!(members[1]["model"], "svm");
    assert_eq!(members[1]["segment_seconds"], Value::Null);
    assert_eq!(info["speaker_normalization"], true);
    // The evaluate stage's `mean` rows of the ensemble: random and actor-kfold, and
    // actor-kfold's test speakers judged as lone clips, as the page judges a clip.
    let metrics = info["metrics"].as_array().unwrap();
    assert_eq!(metrics.len(), 3, "{info}");
    let lone: Vec<&Value> = metrics
        .iter()
        .filter(|m| m["normalisation"] == "lone")
        .collect();
    assert_eq!(lone.len(), 1, "{info}");
    assert_eq!(lone[0]["protocol"], "actor_kfold");
    let r = post(server.addr, "audio/wav", &clip);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let json = r.json();
    assert_eq!(json["model"], "ensemble");
    assert_eq!(json["speaker_statistics"], "population");
    // Each member alone, on the same clip written to a file.
    let wav = ws.path().join("clip.wav");
    std::fs::write(&wav, &clip).unwrap();
    let alone = |model: &str| ws.predict_json(model, &[], std::slice::from_ref(&wav))[0].clone();
    let (mlp, svm) = (alone("mlp"), alone("svm"));
    let probs = json["probabilities"].as_object().unwrap();
    assert_eq!(probs.len(), 8);
    let of = |r: &Value, label: &str| -> f64 {
        r["probabilities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p[0] == label)
            .unwrap()[1]
            .as_f64()
            .unwrap()
    };
    for (label, p) in probs {
        let mean = (of(&mlp, label) + of(&svm, label)) / 2.0;
        assert!(
            (p.as_f64().unwrap() - mean).abs() < 1e-12,
            "{label}: {p} vs {mean}"
        );
    }
}
