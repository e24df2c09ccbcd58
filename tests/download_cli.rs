//! `ser-pipeline download` against a Zenodo stand-in on loopback: a record JSON and small zips
//! of synthetic RAVDESS-named WAVs, served by a few lines of HTTP/1.1 on 127.0.0.1 (no
//! internet here). The server logs every request, so a test can tell what the binary asked.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

use common::{ravdess_name, voice, write_wav16, Workspace};

const SPEECH: &str = "Audio_Speech_Actors_01-24.zip";
const SONG: &str = "Audio_Song_Actors_01-24.zip";

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    range: Option<String>,
}

/// What the server has to serve.
struct Content {
    record: String,
    /// (key, zip bytes)
    files: Vec<(String, Vec<u8>)>,
    /// Answer `Range: bytes=N-` with 206 (else 200 with the whole file, as some servers do).
    honor_range: bool,
    /// Hang up after this many bytes of an archive's body (a dropped connection).
    cut_after: Option<usize>,
}

struct Server {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    /// Binds 127.0.0.1:0 and serves `content(base_url)` until the test process ends.
    fn start(content: impl FnOnce(&str) -> Content) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let content = content(&base);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                handle(stream, &content, &log);
            }
        });
        Server { base, seen }
    }

    fn record_url(&self) -> String {
        format!("{}/api/records/1188976", self.base)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn archive_requests(&self, key: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.path.ends_with(&format!("/{key}/content")))
            .collect()
    }
}

/// One request per connection (`Connection: close`).
fn handle(stream: TcpStream, content: &Content, log: &Mutex<Vec<Seen>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut range = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.trim().eq_ignore_ascii_case("range") {
                range = Some(value.trim().to_string());
            }
        }
    }
    log.lock().unwrap().push(Seen {
        path: path.clone(),
        range: range.clone(),
    });
    let file = content
        .files
        .iter()
        .find(|(key, _)| path == format!("/files/{key}/content"));
    let (status, extra, body): (&str, String, &[u8]) = if path == "/api/records/1188976" {
        (
            "200 OK",
            "Content-Type: application/json\r\n".into(),
            content.record.as_bytes(),
        )
    } else if let Some((_, bytes)) = file {
        let from = range
            .as_deref()
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|n| n.parse::<usize>().ok());
        match from {
            Some(from) if content.honor_range && from < bytes.len() => (
                "206 Partial Content",
                format!(
                    "Content-Range: bytes {from}-{}/{}\r\n",
                    bytes.len() - 1,
                    bytes.len()
                ),
                &bytes[from..],
            ),
            _ => ("200 OK", String::new(), &bytes[..]),
        }
    } else {
        ("404 Not Found", String::new(), b"not found".as_slice())
    };
    let mut out = stream;
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    );
    let body = match content.cut_after {
        Some(n) if file.is_some() => &body[..n.min(body.len())],
        _ => body,
    };
    // The client may hang up early (a failed test); nothing to do about it here.
    let _ = out
        .write_all(head.as_bytes())
        .and_then(|_| out.write_all(body));
}

/// A zip of a few RAVDESS-named WAVs under `Actor_01/`; returns (zip bytes, [(name, wav bytes)]).
fn make_zip(vocal_channel: u8) -> (Vec<u8>, Vec<(String, Vec<u8>)>) {
    let dir = tempfile::tempdir().unwrap();
    let mut wavs = Vec::new();
    for emotion in [1u8, 3, 5] {
        let name = ravdess_name(emotion, 1, 1, 1, 1).replacen(
            "03-01-",
            &format!("03-{vocal_channel:02}-"),
            1,
        );
        let path = dir.path().join(&name);
        write_wav16(&path, &voice(emotion, 1, 1, 16000, 0.2), 1, 16000);
        wavs.push((format!("Actor_01/{name}"), std::fs::read(&path).unwrap()));
    }
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.add_directory("Actor_01/", opts).unwrap();
    for (name, bytes) in &wavs {
        zip.start_file(name.as_str(), opts).unwrap();
        zip.write_all(bytes).unwrap();
    }
    (zip.finish().unwrap().into_inner(), wavs)
}

fn md5_hex(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, bytes).unwrap();
    ser_pipeline::download::md5_file(&path).unwrap()
}

/// The record JSON in the shape of `GET https://zenodo.org/api/records/1188976`.
fn record_json(base: &str, files: &[(&str, &[u8], String)]) -> String {
    let files: Vec<serde_json::Value> = files
        .iter()
        .map(|(key, bytes, md5)| {
            serde_json::json!({
                "id": format!("id-{key}"),
                "key": key,
                "size": bytes.len(),
                "checksum": format!("md5:{md5}"),
                "links": { "self": format!("{base}/files/{key}/content") },
            })
        })
        .collect();
    serde_json::json!({ "id": 1188976, "files": files }).to_string()
}

/// A server with the speech and song archives, their md5s as given by `md5` (key, real md5).
fn zenodo(
    speech: &[u8],
    song: &[u8],
    honor_range: bool,
    md5: impl Fn(&str, String) -> String,
) -> Server {
    zenodo_cut(speech, song, honor_range, None, md5)
}

fn zenodo_cut(
    speech: &[u8],
    song: &[u8],
    honor_range: bool,
    cut_after: Option<usize>,
    md5: impl Fn(&str, String) -> String,
) -> Server {
    let (speech, song) = (speech.to_vec(), song.to_vec());
    Server::start(move |base| Content {
        record: record_json(
            base,
            &[
                (SPEECH, &speech, md5(SPEECH, md5_hex(&speech))),
                (SONG, &song, md5(SONG, md5_hex(&song))),
            ],
        ),
        files: vec![(SPEECH.into(), speech.clone()), (SONG.into(), song.clone())],
        honor_range,
        cut_after,
    })
}

fn run(ws: &Workspace, server: &Server, extra: &[&str]) -> std::process::Output {
    command(ws, server, "download", extra)
}

/// `ser-pipeline SUBCOMMAND --record-url <the stand-in's record> EXTRA`, with no proxy between.
fn command(ws: &Workspace, server: &Server, sub: &str, extra: &[&str]) -> std::process::Output {
    ws.cmd(&[sub, "--record-url", &server.record_url()])
        .args(extra)
        .env("NO_PROXY", "127.0.0.1")
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("all_proxy")
        .env_remove("ALL_PROXY")
        .output()
        .unwrap()
}

fn assert_code(out: &std::process::Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn assert_files(root: &Path, wavs: &[(String, Vec<u8>)]) {
    for (name, bytes) in wavs {
        let got = std::fs::read(root.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(&got == bytes, "{name} differs from the original");
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn download_verifies_unzips_for_scan_and_reruns_as_a_no_op() {
    let (speech, wavs) = make_zip(1);
    let (song, _) = make_zip(2);
    let server = zenodo(&speech, &song, true, |_, md5| md5);
    // No --dest: data.root of ./pipeline.toml ("corpus").
    let ws = Workspace::new("");
    let out = run(&ws, &server, &[]);
    assert_code(&out, 0);
    assert_files(&ws.corpus(), &wavs);
    assert_eq!(entries(&ws.corpus().join("Actor_01")).len(), wavs.len());
    // Only the marker is left in .download: no part, no archive (no --keep-archive), no lock.
    assert_eq!(
        entries(&ws.corpus().join(".download")),
        vec![format!("{SPEECH}.done")]
    );
    assert_eq!(server.archive_requests(SPEECH).len(), 1);
    assert!(server.archive_requests(SONG).is_empty());

    // A rerun: "up to date", and not a single request.
    let before = server.seen().len();
    let out = run(&ws, &server, &[]);
    assert_code(&out, 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("up to date"), "{stderr}");
    assert_eq!(server.seen().len(), before, "{:?}", server.seen());

    // The scan stage reads the tree as it is.
    let out = ws.cmd(&["run", "--stage", "scan", "-q"]).output().unwrap();
    assert_code(&out, 0);
    let manifest = ser_pipeline::data::parquet::read(&ws.out("manifest.parquet")).unwrap();
    assert_eq!(manifest.height(), wavs.len());

    // A file gone from the corpus: the next run notices and fetches again.
    std::fs::remove_file(ws.corpus().join(&wavs[0].0)).unwrap();
    let out = run(&ws, &server, &[]);
    assert_code(&out, 0);
    assert_files(&ws.corpus(), &wavs);
    assert_eq!(server.archive_requests(SPEECH).len(), 2);

    // --force fetches again although everything is in place.
    let out = run(&ws, &server, &["--force"]);
    assert_code(&out, 0);
    assert_eq!(server.archive_requests(SPEECH).len(), 3);
}

#[test]
fn a_partial_download_is_resumed_with_a_range_request() {
    let (speech, wavs) = make_zip(1);
    let (song, _) = make_zip(2);
    let half = speech.len() / 2;
    for honor_range in [true, false] {
        let server = zenodo(&speech, &song, honor_range, |_, md5| md5);
        let ws = Workspace::new("");
        let dest = ws.path().join("ravdess");
        std::fs::create_dir_all(dest.join(".download")).unwrap();
        std::fs::write(
            dest.join(".download").join(format!("{SPEECH}.part")),
            &speech[..half],
        )
        .unwrap();
        let out = run(&ws, &server, &["--dest", "ravdess"]);
        assert_code(&out, 0);
        assert_files(&dest, &wavs);
        let asked = server.archive_requests(SPEECH);
        assert_eq!(asked.len(), 1, "{asked:?}");
        assert_eq!(
            asked[0].range.as_deref(),
            Some(format!("bytes={half}-").as_str())
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("resuming at byte {half}")),
            "{stderr}"
        );
        if !honor_range {
            // The server sent the whole file (200): the part was rewritten, not appended to.
            assert!(stderr.contains("ignored the range request"), "{stderr}");
        }
    }
}

#[test]
fn a_dropped_connection_keeps_the_part_for_the_next_run() {
    let (speech, wavs) = make_zip(1);
    let (song, _) = make_zip(2);
    let cut = speech.len() / 3;
    let flaky = zenodo_cut(&speech, &song, true, Some(cut), |_, md5| md5);
    let ws = Workspace::new("");
    let out = run(&ws, &flaky, &["--dest", "ravdess"]);
    assert_code(&out, 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(SPEECH) && stderr.contains("rerun to resume"),
        "{stderr}"
    );
    let dest = ws.path().join("ravdess");
    let part = dest.join(".download").join(format!("{SPEECH}.part"));
    assert_eq!(std::fs::read(&part).unwrap(), &speech[..cut]);
    assert!(!dest.join("Actor_01").exists());

    let server = zenodo(&speech, &song, true, |_, md5| md5);
    let out = run(&ws, &server, &["--dest", "ravdess"]);
    assert_code(&out, 0);
    assert_files(&dest, &wavs);
    let asked = server.archive_requests(SPEECH);
    assert_eq!(
        asked[0].range.as_deref(),
        Some(format!("bytes={cut}-").as_str())
    );
    assert!(!part.exists());
}

#[test]
fn a_checksum_mismatch_fails_and_leaves_nothing() {
    let (speech, _) = make_zip(1);
    let (song, _) = make_zip(2);
    let server = zenodo(&speech, &song, true, |key, md5| {
        if key == SPEECH {
            "0123456789abcdef0123456789abcdef".into()
        } else {
            md5
        }
    });
    let ws = Workspace::new("");
    let out = run(&ws, &server, &["--dest", "ravdess"]);
    assert_code(&out, 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(SPEECH), "{stderr}");
    assert!(stderr.contains("checksum mismatch"), "{stderr}");
    assert!(
        stderr.contains("0123456789abcdef0123456789abcdef"),
        "{stderr}"
    );
    let dest = ws.path().join("ravdess");
    // No WAV, no part, no archive, no marker: only the (empty) work folder.
    assert_eq!(entries(&dest), vec![".download".to_string()]);
    assert!(entries(&dest.join(".download")).is_empty());
}

#[test]
fn song_fetches_the_song_archive_too() {
    let (speech, speech_wavs) = make_zip(1);
    let (song, song_wavs) = make_zip(2);
    let server = zenodo(&speech, &song, true, |_, md5| md5);
    let ws = Workspace::new("");
    let out = run(
        &ws,
        &server,
        &["--dest", "ravdess", "--song", "--keep-archive"],
    );
    assert_code(&out, 0);
    let dest = ws.path().join("ravdess");
    assert_files(&dest, &speech_wavs);
    assert_files(&dest, &song_wavs);
    assert!(song_wavs[0].0.starts_with("Actor_01/03-02-"));
    assert_eq!(server.archive_requests(SONG).len(), 1);
    assert_eq!(server.archive_requests(SPEECH).len(), 1);
    // --keep-archive: the verified zips stay beside their markers.
    assert_eq!(
        entries(&dest.join(".download")),
        vec![
            SONG.to_string(),
            format!("{SONG}.done"),
            SPEECH.to_string(),
            format!("{SPEECH}.done"),
        ]
    );
    assert_eq!(
        std::fs::read(dest.join(".download").join(SONG)).unwrap(),
        song
    );
}

#[test]
fn a_record_without_the_archive_is_a_clear_error() {
    let server = Server::start(|_| Content {
        record: r#"{"files": [{"key": "Video_Speech_Actor_01.zip"}]}"#.into(),
        files: Vec::new(),
        honor_range: true,
        cut_after: None,
    });
    let ws = Workspace::new("");
    let out = run(&ws, &server, &["--dest", "ravdess"]);
    assert_code(&out, 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(SPEECH) && stderr.contains("Video_Speech_Actor_01.zip"),
        "{stderr}"
    );
}

/// `run` with the stand-in's record, as `download` is run above.
fn run_pipeline(ws: &Workspace, server: &Server, extra: &[&str]) -> std::process::Output {
    command(ws, server, "run", extra)
}

#[test]
fn run_downloads_a_missing_corpus_first_and_goes_on() {
    let (speech, wavs) = make_zip(1);
    let (song, _) = make_zip(2);
    let server = zenodo(&speech, &song, true, |_, md5| md5);
    // data.root ("corpus") does not exist.
    let ws = Workspace::new("");
    std::fs::remove_dir(ws.corpus()).unwrap();
    let out = run_pipeline(&ws, &server, &["--stage", "extract"]);
    assert_code(&out, 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let says = stderr
        .lines()
        .filter(|l| l.contains("downloading the RAVDESS speech archive"))
        .collect::<Vec<_>>();
    assert_eq!(says.len(), 1, "{stderr}");
    assert!(
        says[0].contains("corpus") && says[0].contains("does not exist"),
        "{stderr}"
    );
    assert_files(&ws.corpus(), &wavs);
    assert_eq!(server.archive_requests(SPEECH).len(), 1);
    assert!(server.archive_requests(SONG).is_empty());
    // It went on: the scan found the downloaded files, and extraction featurised them.
    let manifest = ser_pipeline::data::parquet::read(&ws.out("manifest.parquet")).unwrap();
    assert_eq!(manifest.height(), wavs.len());
    let features = ser_pipeline::data::parquet::read(&ws.out("features.parquet")).unwrap();
    assert_eq!(features.height(), wavs.len());

    // Now the root holds audio: a rerun makes no request at all.
    let before = server.seen().len();
    let out = run_pipeline(&ws, &server, &["--stage", "extract"]);
    assert_code(&out, 0);
    assert_eq!(server.seen().len(), before, "{:?}", server.seen());
}

#[test]
fn run_downloads_into_a_root_without_audio() {
    let (speech, wavs) = make_zip(1);
    let (song, _) = make_zip(2);
    let server = zenodo(&speech, &song, true, |_, md5| md5);
    // The root exists (Workspace makes it) but holds no .wav or .flac.
    let ws = Workspace::new("");
    std::fs::write(ws.corpus().join("README.txt"), "put RAVDESS here").unwrap();
    let out = run_pipeline(&ws, &server, &["--stage", "scan"]);
    assert_code(&out, 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("holds no audio files"), "{stderr}");
    assert_files(&ws.corpus(), &wavs);
    let manifest = ser_pipeline::data::parquet::read(&ws.out("manifest.parquet")).unwrap();
    assert_eq!(manifest.height(), wavs.len());
}

#[test]
fn run_with_no_download_refuses_a_missing_corpus_with_the_fetch_command() {
    let (speech, _) = make_zip(1);
    let (song, _) = make_zip(2);
    let server = zenodo(&speech, &song, true, |_, md5| md5);
    let ws = Workspace::new("");
    let out = run_pipeline(&ws, &server, &["--data-root", "nowhere", "--no-download"]);
    assert_code(&out, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("corpus root nowhere does not exist")
            && stderr.contains("ser-pipeline download --dest nowhere"),
        "{stderr}"
    );
    // Nothing asked, nothing made.
    assert!(server.seen().is_empty(), "{:?}", server.seen());
    assert!(!ws.path().join("nowhere").exists());
    assert!(!ws.out("manifest.parquet").exists());
    // The root exists but holds no audio: refused the same way, naming why.
    let out = run_pipeline(&ws, &server, &["--no-download"]);
    assert_code(&out, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("holds no audio") && stderr.contains("download --dest corpus"),
        "{stderr}"
    );
    assert!(server.seen().is_empty(), "{:?}", server.seen());
}

#[test]
fn run_never_downloads_into_a_root_with_audio() {
    let (speech, _) = make_zip(1);
    let (song, _) = make_zip(2);
    let server = zenodo(&speech, &song, true, |_, md5| md5);
    let ws = Workspace::new("");
    common::make_corpus(&ws.corpus(), &[2], 16000, 0.2);
    for flags in [&[][..], &["--no-download"][..]] {
        let out = run_pipeline(
            &ws,
            &server,
            &[&["--stage", "scan", "--force"][..], flags].concat(),
        );
        assert_code(&out, 0);
    }
    assert!(server.seen().is_empty(), "{:?}", server.seen());
    assert!(!ws.corpus().join(".download").exists());
}
