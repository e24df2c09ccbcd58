//! `ser-pipeline download`: the RAVDESS audio archives from Zenodo, unzipped into the corpus root.
//!
//! The record's JSON (Zenodo REST API, `GET /api/records/1188976`) gives each archive's size,
//! md5 and link. An archive is downloaded to `DEST/.download/KEY.part` (resumed with an HTTP
//! range request when a part is already there), checked against the record's size and md5,
//! renamed to `DEST/.download/KEY`, then unzipped into DEST. Each entry is written to a hidden
//! `.part` file beside its final name and renamed, so an interrupted run never leaves a
//! half-written WAV for `scan` to find. `DEST/.download/KEY.done` then records the md5 and every
//! file unzipped: while it is there and those files exist, a rerun does nothing and makes no
//! request at all.
//!
//! This module knows nothing of clap: `main` builds [`Options`] from the command line.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::progress::{self, Progress};

/// The Zenodo record of RAVDESS (Livingstone & Russo 2018), version 1.0.0.
pub const RAVDESS_RECORD_URL: &str = "https://zenodo.org/api/records/1188976";

/// An archive of the RAVDESS record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Archive {
    /// `Audio_Speech_Actors_01-24.zip`: 1440 speech files (`Actor_NN/03-01-...wav`).
    Speech,
    /// `Audio_Song_Actors_01-24.zip`: 1012 song files (`Actor_NN/03-02-...wav`).
    Song,
}

impl Archive {
    /// The file's key in the record, which is also its name on disk.
    pub fn key(self) -> &'static str {
        match self {
            Archive::Speech => "Audio_Speech_Actors_01-24.zip",
            Archive::Song => "Audio_Song_Actors_01-24.zip",
        }
    }
}

/// What to fetch and where.
#[derive(Debug, Clone)]
pub struct Options {
    /// The record's JSON, normally [`RAVDESS_RECORD_URL`].
    pub record_url: String,
    /// The corpus root to unzip into; the downloads live in `dest/.download/`.
    pub dest: PathBuf,
    pub archives: Vec<Archive>,
    /// Download and unzip again even when a previous download is complete.
    pub force: bool,
    /// Keep the verified zip in `dest/.download/` after unzipping.
    pub keep_archive: bool,
    pub progress: progress::Mode,
}

/// What happened to one archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A previous download is complete and every file it unzipped is there: nothing done.
    UpToDate { files: usize },
    /// Downloaded (or resumed), verified and unzipped.
    Fetched { files: usize },
}

#[derive(Debug, Error)]
pub enum DownloadError {
    #[error("the record {url} is not a Zenodo record: {message}")]
    BadRecord { url: String, message: String },
    #[error("the record {url} lists no file {key} (it lists: {listed})")]
    MissingFile {
        url: String,
        key: String,
        listed: String,
    },
    #[error("the record {url} gives no {field} for {key}")]
    MissingField {
        url: String,
        key: String,
        field: &'static str,
    },
    #[error("the record {url} gives {key} the checksum {checksum:?}; only md5 is supported")]
    UnsupportedChecksum {
        url: String,
        key: String,
        checksum: String,
    },
    #[error("{what}: HTTP {status} from {url}")]
    Http {
        what: String,
        url: String,
        status: u16,
    },
    #[error(
        "{key}: the server sent more than the {expected} bytes the record gives; \
         the partial download was deleted, rerun to fetch it again"
    )]
    TooLarge { key: String, expected: u64 },
    #[error("{key}: the transfer stopped at {got} of {expected} bytes ({part}); rerun to resume")]
    Incomplete {
        key: String,
        part: PathBuf,
        got: u64,
        expected: u64,
    },
    #[error(
        "{key}: checksum mismatch: md5 {got}, but the record publishes {expected}; \
         the download was deleted, rerun to fetch it again"
    )]
    ChecksumMismatch {
        key: String,
        expected: String,
        got: String,
    },
    #[error(
        "{archive}: entry {entry:?} is not a plain file inside the destination \
         (absolute path, `..` or symlink); nothing was unzipped"
    )]
    UnsafeEntry { archive: PathBuf, entry: String },
}

/// One file of the record, as far as a download needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFile {
    pub key: String,
    pub size: u64,
    /// Lower-case hex.
    pub md5: String,
    pub url: String,
}

/// A Zenodo record's JSON, read tolerantly: `files` is a list (or `{"entries": [...]}`); a file
/// is named by `key` (or `filename`), sized by `size` (or `filesize`), checked by `checksum`
/// (`"md5:<hex>"` or bare hex) and fetched from `links.content`, `links.download` or
/// `links.self`, the first present.
#[derive(Debug, Clone)]
pub struct Record {
    url: String,
    files: Vec<serde_json::Value>,
}

impl Record {
    pub fn parse(text: &str, url: &str) -> Result<Record, DownloadError> {
        let bad = |message: String| DownloadError::BadRecord {
            url: url.to_string(),
            message,
        };
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        let files = match json.get("files") {
            Some(serde_json::Value::Array(files)) => files.clone(),
            Some(serde_json::Value::Object(o)) => match o.get("entries") {
                Some(serde_json::Value::Array(files)) => files.clone(),
                _ => return Err(bad("`files` has no `entries` list".into())),
            },
            _ => return Err(bad("no `files` list".into())),
        };
        Ok(Record {
            url: url.to_string(),
            files,
        })
    }

    fn key_of(file: &serde_json::Value) -> Option<&str> {
        file.get("key")
            .or_else(|| file.get("filename"))
            .and_then(|k| k.as_str())
    }

    /// The file named `key`, with everything a download needs.
    pub fn file(&self, key: &str) -> Result<RecordFile, DownloadError> {
        let Some(file) = self.files.iter().find(|f| Record::key_of(f) == Some(key)) else {
            let listed: Vec<&str> = self.files.iter().filter_map(Record::key_of).collect();
            return Err(DownloadError::MissingFile {
                url: self.url.clone(),
                key: key.to_string(),
                listed: if listed.is_empty() {
                    "nothing".into()
                } else {
                    listed.join(", ")
                },
            });
        };
        let missing = |field| DownloadError::MissingField {
            url: self.url.clone(),
            key: key.to_string(),
            field,
        };
        let size = file
            .get("size")
            .or_else(|| file.get("filesize"))
            .and_then(|s| s.as_u64())
            .ok_or_else(|| missing("size"))?;
        let checksum = file
            .get("checksum")
            .and_then(|c| c.as_str())
            .ok_or_else(|| missing("checksum"))?;
        let md5 = parse_md5(checksum).ok_or_else(|| DownloadError::UnsupportedChecksum {
            url: self.url.clone(),
            key: key.to_string(),
            checksum: checksum.to_string(),
        })?;
        let links = file.get("links");
        let url = ["content", "download", "self"]
            .iter()
            .find_map(|name| links?.get(name)?.as_str())
            .ok_or_else(|| {
                missing("download link (links.content, links.download or links.self)")
            })?;
        Ok(RecordFile {
            key: key.to_string(),
            size,
            md5,
            url: url.to_string(),
        })
    }
}

/// `"md5:<32 hex>"` or a bare 32-digit hex string, as lower-case hex.
fn parse_md5(checksum: &str) -> Option<String> {
    let hex = match checksum.split_once(':') {
        Some((algo, hex)) if algo.eq_ignore_ascii_case("md5") => hex,
        Some(_) => return None,
        None => checksum,
    };
    (hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| hex.to_lowercase())
}

/// What `DEST/.download/KEY.done` holds: proof of a complete, verified download and unzip.
#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    key: String,
    md5: String,
    size: u64,
    /// Every file unzipped, relative to the destination, `/`-separated.
    files: Vec<String>,
}

/// Fetches, verifies and unzips each archive of `opts` that is not already in place.
pub fn run(opts: &Options) -> Result<Vec<(Archive, Outcome)>> {
    let work = opts.dest.join(".download");
    fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let agent = agent();
    let mut record: Option<Record> = None;
    let mut outcomes = Vec::new();
    for &archive in &opts.archives {
        let key = archive.key();
        let marker_path = work.join(format!("{key}.done"));
        if !opts.force {
            if let Some(files) = up_to_date(&marker_path, &opts.dest) {
                log::info!(
                    "download: {key}: up to date ({files} files in {})",
                    opts.dest.display()
                );
                outcomes.push((archive, Outcome::UpToDate { files }));
                continue;
            }
        }
        // A marker that no longer holds (or --force) must not survive a failed redo.
        remove_if_exists(&marker_path)?;
        if opts.force {
            remove_if_exists(&work.join(format!("{key}.part")))?;
            remove_if_exists(&work.join(key))?;
        }
        if record.is_none() {
            record = Some(fetch_record(&agent, &opts.record_url)?);
        }
        let file = record.as_ref().expect("fetched above").file(key)?;
        let zip_path = fetch_archive(&agent, &file, &work, opts.progress)?;
        let files = unzip(&zip_path, &opts.dest, opts.progress)?;
        let marker = Marker {
            key: key.to_string(),
            md5: file.md5.clone(),
            size: file.size,
            files,
        };
        write_atomically(&marker_path, &serde_json::to_vec_pretty(&marker)?)?;
        if !opts.keep_archive {
            remove_if_exists(&zip_path)?;
        }
        log::info!(
            "download: {key}: {} files unzipped into {}",
            marker.files.len(),
            opts.dest.display()
        );
        outcomes.push((
            archive,
            Outcome::Fetched {
                files: marker.files.len(),
            },
        ));
    }
    Ok(outcomes)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        // Statuses are checked here, so errors can name the file and the URL.
        .http_status_as_error(false)
        .user_agent(concat!("ser-pipeline/", env!("CARGO_PKG_VERSION")))
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        // A stalled transfer fails (and can be resumed) instead of hanging a scheduled job.
        .timeout_per_read(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// The number of files a complete previous download unzipped, when its marker is readable and
/// every one of them is still there.
fn up_to_date(marker_path: &Path, dest: &Path) -> Option<usize> {
    let text = fs::read_to_string(marker_path).ok()?;
    let Ok(marker) = serde_json::from_str::<Marker>(&text) else {
        log::warn!(
            "download: {} is unreadable; fetching again",
            marker_path.display()
        );
        return None;
    };
    let missing = marker
        .files
        .iter()
        .filter(|f| !dest.join(f).is_file())
        .count();
    if missing > 0 {
        log::info!(
            "download: {}: {missing} of {} unzipped files are gone from {}; fetching again",
            marker.key,
            marker.files.len(),
            dest.display()
        );
        return None;
    }
    Some(marker.files.len())
}

fn fetch_record(agent: &ureq::Agent, url: &str) -> Result<Record> {
    log::info!("download: reading the record {url}");
    let mut response = agent
        .get(url)
        .header("Accept", "application/json")
        .call()
        .with_context(|| format!("cannot fetch the record {url}"))?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(DownloadError::Http {
            what: "cannot fetch the record".into(),
            url: url.to_string(),
            status,
        }
        .into());
    }
    let text = response
        .body_mut()
        .read_to_string()
        .with_context(|| format!("cannot read the record {url}"))?;
    Ok(Record::parse(&text, url)?)
}

/// Downloads `file` into `work/KEY` (via `work/KEY.part`, resuming it) and checks its size and
/// md5. A verified `work/KEY` from an earlier run is used as it is.
fn fetch_archive(
    agent: &ureq::Agent,
    file: &RecordFile,
    work: &Path,
    mode: progress::Mode,
) -> Result<PathBuf> {
    let key = file.key.as_str();
    let done = work.join(key);
    let part = work.join(format!("{key}.part"));
    if done.is_file() {
        if verify(&done, file).is_ok() {
            log::info!("download: {key}: already downloaded and verified");
            return Ok(done);
        }
        log::warn!(
            "download: {} does not match the record; fetching again",
            done.display()
        );
        remove_if_exists(&done)?;
    }
    let mut have = match fs::metadata(&part) {
        Ok(meta) => meta.len(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", part.display())),
    };
    if have > file.size {
        log::warn!(
            "download: {} is larger than the record's {} bytes; starting over",
            part.display(),
            file.size
        );
        remove_if_exists(&part)?;
        have = 0;
    }
    if have < file.size {
        transfer(agent, file, &part, have, mode)?;
    }
    if let Err(err) = verify(&part, file) {
        if matches!(
            err.downcast_ref::<DownloadError>(),
            Some(DownloadError::ChecksumMismatch { .. } | DownloadError::TooLarge { .. })
        ) {
            remove_if_exists(&part)?;
        }
        return Err(err);
    }
    fs::rename(&part, &done)
        .with_context(|| format!("cannot rename {} to {}", part.display(), done.display()))?;
    Ok(done)
}

/// Appends the bytes from `have` on to `part` (or rewrites it from zero when the server ignores
/// the range request).
fn transfer(
    agent: &ureq::Agent,
    file: &RecordFile,
    part: &Path,
    have: u64,
    mode: progress::Mode,
) -> Result<()> {
    let (key, url) = (file.key.as_str(), file.url.as_str());
    let mut request = agent.get(url);
    if have > 0 {
        log::info!("download: {key}: resuming at byte {have} of {}", file.size);
        request = request.header("Range", format!("bytes={have}-"));
    } else {
        log::info!("download: {key}: {} bytes from {url}", file.size);
    }
    let response = request
        .call()
        .with_context(|| format!("cannot download {key} from {url}"))?;
    let status = response.status().as_u16();
    let start = match status {
        206 if have > 0 => {
            let range = response
                .headers()
                .get("content-range")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            // Without a Content-Range we trust the 206; with one, it must start where we asked.
            if !range.is_empty() && !range.starts_with(&format!("bytes {have}-")) {
                remove_if_exists(part)?;
                anyhow::bail!(
                    "{key}: asked {url} for bytes {have}- but got {range:?}; \
                     the partial download was deleted, rerun to fetch it again"
                );
            }
            have
        }
        200 => {
            if have > 0 {
                log::info!("download: {key}: the server ignored the range request; starting over");
            }
            0
        }
        416 if have > 0 => {
            remove_if_exists(part)?;
            anyhow::bail!(
                "{key}: {url} refused the range bytes={have}- (HTTP 416); \
                 the partial download was deleted, rerun to fetch it again"
            );
        }
        _ => {
            return Err(DownloadError::Http {
                what: format!("cannot download {key}"),
                url: url.to_string(),
                status,
            }
            .into())
        }
    };
    let mut out = OpenOptions::new()
        .create(true)
        .write(true)
        .append(start > 0)
        .truncate(start == 0)
        .open(part)
        .with_context(|| format!("cannot write {}", part.display()))?;
    let remaining = file.size - start;
    // One byte past the record's size is enough to know the server sends too much.
    let mut body = response.into_body().into_reader().take(remaining + 1);
    let bar = Progress::bytes("download", file.size, start, mode);
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = start;
    let outcome: Result<()> = loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                break Err(anyhow::Error::new(e).context(format!(
                    "{key}: the transfer from {url} failed at {got} of {} bytes; rerun to resume",
                    file.size
                )))
            }
        };
        if let Err(e) = out.write_all(&buf[..n]) {
            break Err(anyhow::Error::new(e).context(format!("cannot write {}", part.display())));
        }
        got += n as u64;
        bar.add(n as u64);
    };
    bar.finish();
    // What arrived is kept for a resume even when the transfer failed.
    out.sync_all()
        .with_context(|| format!("cannot write {}", part.display()))?;
    outcome
}

/// Checks `path` against the record's size and md5.
fn verify(path: &Path, file: &RecordFile) -> Result<()> {
    let len = fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if len > file.size {
        return Err(DownloadError::TooLarge {
            key: file.key.clone(),
            expected: file.size,
        }
        .into());
    }
    if len < file.size {
        return Err(DownloadError::Incomplete {
            key: file.key.clone(),
            part: path.to_path_buf(),
            got: len,
            expected: file.size,
        }
        .into());
    }
    log::debug!("download: {}: checking md5", file.key);
    let got = md5_file(path)?;
    if got != file.md5 {
        return Err(DownloadError::ChecksumMismatch {
            key: file.key.clone(),
            expected: file.md5.clone(),
            got,
        }
        .into());
    }
    Ok(())
}

/// The md5 of a file, as lower-case hex.
pub fn md5_file(path: &Path) -> Result<String> {
    let mut f = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(crate::data::hex(&hasher.finalize()))
}

/// Unzips `archive` into `dest` and returns the files written (relative, `/`-separated,
/// sorted). Every entry is checked before anything is written: an absolute path, a `..` or a
/// symlink fails the whole archive. Directories are created as needed; macOS resource forks
/// (`__MACOSX/`) are skipped, since their `._*.wav` names would reach `scan` as broken audio.
pub fn unzip(archive: &Path, dest: &Path, mode: progress::Mode) -> Result<Vec<String>> {
    let open = File::open(archive).with_context(|| format!("cannot read {}", archive.display()))?;
    let mut zip = zip::ZipArchive::new(io::BufReader::new(open))
        .with_context(|| format!("{} is not a readable zip", archive.display()))?;
    let unsafe_entry = |entry: &str| DownloadError::UnsafeEntry {
        archive: archive.to_path_buf(),
        entry: entry.to_string(),
    };
    let mut plan: Vec<(usize, PathBuf)> = Vec::new();
    for i in 0..zip.len() {
        let entry = zip
            .by_index_raw(i)
            .with_context(|| format!("cannot read entry {i} of {}", archive.display()))?;
        let name = entry.name().to_string();
        if entry.is_symlink() {
            return Err(unsafe_entry(&name).into());
        }
        // Folders are made as their files need them.
        if entry.is_dir() {
            continue;
        }
        // zip's own check, which quietly strips a leading `/` or drive, and a stricter one.
        let (Some(_), Some(rel)) = (entry.enclosed_name(), relative_entry_path(&name)) else {
            return Err(unsafe_entry(&name).into());
        };
        if rel.components().next() == Some(Component::Normal("__MACOSX".as_ref())) {
            log::debug!("download: skipping {name} (macOS metadata)");
            continue;
        }
        plan.push((i, rel));
    }
    let bar = Progress::new("unzip", plan.len(), mode);
    let mut written = Vec::with_capacity(plan.len());
    for (i, rel) in plan {
        let target = dest.join(&rel);
        let parent = target.parent().unwrap_or(dest);
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        let mut entry = zip
            .by_index(i)
            .with_context(|| format!("cannot read entry {i} of {}", archive.display()))?;
        // Hidden, and not named .wav: an interrupted unzip leaves nothing `scan` would read.
        let mut tmp = tempfile::Builder::new()
            .prefix(".")
            .suffix(".part")
            .tempfile_in(parent)
            .with_context(|| format!("cannot write in {}", parent.display()))?;
        // Reading to the end also checks the entry's CRC-32.
        io::copy(&mut entry, tmp.as_file_mut()).with_context(|| {
            format!(
                "cannot unzip {} from {} into {}",
                entry.name(),
                archive.display(),
                parent.display()
            )
        })?;
        tmp.persist(&target)
            .with_context(|| format!("cannot write {}", target.display()))?;
        written.push(
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/"),
        );
        bar.inc();
    }
    bar.finish();
    written.sort();
    Ok(written)
}

/// An entry name as a path relative to the destination, or `None` when it is absolute (`/x`,
/// `\\x`, `C:x`), climbs (`..`) or holds a NUL. Both separators count: zips written on Windows
/// may use `\\`.
fn relative_entry_path(name: &str) -> Option<PathBuf> {
    if name.contains('\0') || name.starts_with(['/', '\\']) || name.get(1..2) == Some(":") {
        return None;
    }
    let mut rel = PathBuf::new();
    for part in name.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => return None,
            part => rel.push(part),
        }
    }
    (rel.components().count() > 0 && rel.components().all(|c| matches!(c, Component::Normal(_))))
        .then_some(rel)
}

fn remove_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    tmp.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = r#"{
        "id": 1188976,
        "files": [
            {"key": "Audio_Song_Actors_01-24.zip", "size": 10, "checksum": "md5:0123456789ABCDEF0123456789abcdef",
             "links": {"self": "https://example.org/song/content"}},
            {"key": "Audio_Speech_Actors_01-24.zip", "size": 20, "checksum": "md5:00112233445566778899aabbccddeeff",
             "links": {"self": "https://example.org/api", "download": "https://example.org/speech"}},
            {"key": "Video_Speech_Actor_01.zip", "size": 30, "checksum": "sha256:00",
             "links": {"self": "https://example.org/video"}}
        ]
    }"#;

    #[test]
    fn record_files_found_by_key_with_the_best_link() {
        let record = Record::parse(RECORD, "rec").unwrap();
        let speech = record.file(Archive::Speech.key()).unwrap();
        assert_eq!(speech.size, 20);
        assert_eq!(speech.md5, "00112233445566778899aabbccddeeff");
        assert_eq!(speech.url, "https://example.org/speech");
        let song = record.file(Archive::Song.key()).unwrap();
        assert_eq!(song.md5, "0123456789abcdef0123456789abcdef");
        assert_eq!(song.url, "https://example.org/song/content");
    }

    #[test]
    fn legacy_record_shape_is_read() {
        let legacy = r#"{"files": {"entries": [{"filename": "a.zip", "filesize": 5,
            "checksum": "d41d8cd98f00b204e9800998ecf8427e", "links": {"download": "http://x/a"}}]}}"#;
        let file = Record::parse(legacy, "rec").unwrap().file("a.zip").unwrap();
        assert_eq!(file.size, 5);
        assert_eq!(file.md5, "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(file.url, "http://x/a");
    }

    #[test]
    fn record_problems_are_named() {
        let record = Record::parse(RECORD, "rec").unwrap();
        let err = record.file("nope.zip").unwrap_err().to_string();
        assert!(err.contains("nope.zip") && err.contains("Audio_Speech_Actors_01-24.zip"));
        let err = record
            .file("Video_Speech_Actor_01.zip")
            .unwrap_err()
            .to_string();
        assert!(err.contains("only md5"), "{err}");
        let no_link = r#"{"files": [{"key": "a.zip", "size": 1, "checksum": "md5:d41d8cd98f00b204e9800998ecf8427e"}]}"#;
        let err = Record::parse(no_link, "rec")
            .unwrap()
            .file("a.zip")
            .unwrap_err()
            .to_string();
        assert!(err.contains("download link"), "{err}");
        assert!(Record::parse("{}", "rec").is_err());
        assert!(Record::parse("<html>", "rec").is_err());
    }

    #[test]
    fn md5_of_a_known_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        fs::write(&path, b"abc").unwrap();
        // RFC 1321, appendix A.5.
        assert_eq!(md5_file(&path).unwrap(), "900150983cd24fb0d6963f7d28e17f72");
    }

    fn zip_with(names: &[&str]) -> tempfile::NamedTempFile {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let mut w = zip::ZipWriter::new(tmp.reopen().unwrap());
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for name in names {
            w.start_file(*name, opts).unwrap();
            w.write_all(name.as_bytes()).unwrap();
        }
        w.finish().unwrap();
        tmp
    }

    #[test]
    fn unzip_writes_files_and_skips_macos_metadata() {
        let zip = zip_with(&[
            "Actor_01/03-01-01-01-01-01-01.wav",
            "__MACOSX/Actor_01/._03-01-01-01-01-01-01.wav",
        ]);
        let dest = tempfile::tempdir().unwrap();
        let files = unzip(zip.path(), dest.path(), progress::Mode::Off).unwrap();
        assert_eq!(files, vec!["Actor_01/03-01-01-01-01-01-01.wav"]);
        assert_eq!(
            fs::read(dest.path().join(&files[0])).unwrap(),
            files[0].as_bytes()
        );
        assert!(!dest.path().join("__MACOSX").exists());
        let leftovers: Vec<_> = fs::read_dir(dest.path().join("Actor_01"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }

    #[test]
    fn entry_paths_stay_inside_the_destination() {
        let ok = |name: &str| relative_entry_path(name).map(|p| p.display().to_string());
        assert_eq!(ok("Actor_01/x.wav").as_deref(), Some("Actor_01/x.wav"));
        assert_eq!(ok("./Actor_01//x.wav").as_deref(), Some("Actor_01/x.wav"));
        assert_eq!(ok("Actor_01\\x.wav").as_deref(), Some("Actor_01/x.wav"));
        for bad in [
            "../x.wav",
            "Actor_01/../../x.wav",
            "Actor_01/../x.wav",
            "/etc/x.wav",
            "\\x.wav",
            "C:x.wav",
            "C:\\x.wav",
            "a\0b",
            "",
            "./",
        ] {
            assert_eq!(ok(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn unzip_refuses_paths_outside_the_destination() {
        for evil in ["../evil.wav", "/tmp/evil.wav", "Actor_01/../../evil.wav"] {
            let zip = zip_with(&["Actor_01/ok.wav", evil]);
            let root = tempfile::tempdir().unwrap();
            let dest = root.path().join("dest");
            fs::create_dir_all(&dest).unwrap();
            let err = unzip(zip.path(), &dest, progress::Mode::Off).unwrap_err();
            assert!(
                matches!(
                    err.downcast_ref::<DownloadError>(),
                    Some(DownloadError::UnsafeEntry { .. })
                ),
                "{evil}: {err:#}"
            );
            // Nothing at all was written, not even the safe entry before it.
            assert!(!dest.join("Actor_01").exists(), "{evil}");
            assert!(!root.path().join("evil.wav").exists(), "{evil}");
        }
    }
}
