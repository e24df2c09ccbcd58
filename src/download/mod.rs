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
//! This module knows nothing of clap: `main` builds [`Options`] from the command line. Its
//! parts: `record` (the Zenodo record's JSON), `fetch` (HTTP with resume and the md5 check),
//! `unzip` (entries checked, then written atomically).

mod ensure;
mod fetch;
mod record;
mod unzip;

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::progress;

pub use ensure::{ensure_corpus, lack, Ensured, Fetch, Lack, MissingCorpus};
pub use fetch::md5_file;
pub use record::{Record, RecordFile};
pub use unzip::unzip;

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
    let agent = fetch::agent();
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
            record = Some(fetch::fetch_record(&agent, &opts.record_url)?);
        }
        let file = record.as_ref().expect("fetched above").file(key)?;
        let zip_path = fetch::fetch_archive(&agent, &file, &work, opts.progress)?;
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
