//! The one-command start: before `run` scans a RAVDESS corpus root, a root that does not exist,
//! or holds no audio, is downloaded into (the speech archive, as `ser-pipeline download` with no
//! flags fetches it); a root with audio is left alone and costs no request.
//!
//! Only RAVDESS can be fetched this way; a caller that knows other corpus kinds calls
//! [`ensure_corpus`] for the RAVDESS roots only.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use thiserror::Error;

use super::{Archive, Options, Outcome};
use crate::lock::RunLock;
use crate::progress;

/// How [`ensure_corpus`] may fetch a missing corpus.
#[derive(Debug, Clone)]
pub struct Fetch {
    /// `false` (`run --no-download`): a missing corpus is a [`MissingCorpus`] error instead.
    pub allowed: bool,
    /// The record's JSON, normally [`super::RAVDESS_RECORD_URL`].
    pub record_url: String,
    /// How long to wait for another download into the same root (its lock).
    pub wait: Option<Duration>,
    pub progress: progress::Mode,
}

/// Why a corpus root needs the download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lack {
    /// The root does not exist.
    Missing,
    /// The root is a folder without a single `.wav` or `.flac` file at any depth.
    NoAudio,
}

impl Lack {
    fn describe(self) -> &'static str {
        match self {
            Lack::Missing => "does not exist",
            Lack::NoAudio => "holds no audio files (.wav, .flac)",
        }
    }
}

/// What [`ensure_corpus`] found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ensured {
    /// The root holds audio (or is not a folder, which the scan reports): nothing done.
    Present,
    /// The root lacked audio and was downloaded into: `files` files unzipped.
    Downloaded { lack: Lack, files: usize },
}

/// A corpus root that lacks its audio when downloading is not allowed (exit code 2).
#[derive(Debug, Error)]
#[error(
    "corpus root {root} {what}, and --no-download forbids fetching it: fetch RAVDESS with \
     `ser-pipeline download --dest {root}` (or unzip Audio_Speech_Actors_01-24.zip from \
     https://zenodo.org/records/1188976 there), or point --data-root / data.root at a copy",
    root = root.display(),
    what = lack.describe()
)]
pub struct MissingCorpus {
    pub root: PathBuf,
    pub lack: Lack,
}

/// Whether the RAVDESS root `root` needs a download, and why. A path that exists but is not a
/// folder needs none: the scan says what is wrong with it.
pub fn lack(root: &Path) -> Option<Lack> {
    if !root.exists() {
        return Some(Lack::Missing);
    }
    if !root.is_dir() {
        return None;
    }
    let has_audio = walkdir::WalkDir::new(root)
        .follow_links(true)
        .into_iter()
        .flatten()
        .any(|e| e.file_type().is_file() && is_audio(e.path()));
    (!has_audio).then_some(Lack::NoAudio)
}

/// A `.wav` or `.flac` name, in any case, as the scan's walk counts audio.
fn is_audio(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        crate::corpus::AUDIO_EXTENSIONS
            .iter()
            .any(|a| a.eq_ignore_ascii_case(e))
    })
}

/// Makes sure the RAVDESS corpus root `root` holds audio: when it [lacks](lack) any, downloads
/// and unzips the speech archive into it (logging so first), or, with `fetch.allowed` false,
/// fails with [`MissingCorpus`].
pub fn ensure_corpus(root: &Path, fetch: &Fetch) -> Result<Ensured> {
    let Some(lack) = lack(root) else {
        return Ok(Ensured::Present);
    };
    if !fetch.allowed {
        return Err(MissingCorpus {
            root: root.to_path_buf(),
            lack,
        }
        .into());
    }
    log::info!(
        "corpus root {} {}: downloading the RAVDESS speech archive into it first \
         (as `ser-pipeline download --dest {}` does; --no-download refuses)",
        root.display(),
        lack.describe(),
        root.display()
    );
    // The same lock as `ser-pipeline download`: two downloads into one root would share a .part.
    let _lock = RunLock::acquire(&root.join(".download"), fetch.wait)?;
    let outcomes = super::run(&Options {
        record_url: fetch.record_url.clone(),
        dest: root.to_path_buf(),
        archives: vec![Archive::Speech],
        force: false,
        keep_archive: false,
        progress: fetch.progress,
    })
    .with_context(|| {
        format!(
            "cannot download RAVDESS into {} (rerun to resume, or fetch it with \
             `ser-pipeline download --dest {}`)",
            root.display(),
            root.display()
        )
    })?;
    let files = outcomes
        .iter()
        .map(|(_, o)| match o {
            Outcome::UpToDate { files } | Outcome::Fetched { files } => files,
        })
        .sum();
    Ok(Ensured::Downloaded { lack, files })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_root_lacks_audio_when_missing_or_without_wav_or_flac() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ravdess");
        assert_eq!(lack(&root), Some(Lack::Missing));
        std::fs::create_dir_all(root.join("Actor_01")).unwrap();
        std::fs::write(root.join("Actor_01/notes.txt"), "x").unwrap();
        assert_eq!(lack(&root), Some(Lack::NoAudio));
        std::fs::write(root.join("Actor_01/03-01-01-01-01-01-01.FLAC"), "x").unwrap();
        assert_eq!(lack(&root), None);
        // A file where a folder belongs is the scan's to report, not a download's to overwrite.
        assert_eq!(lack(&root.join("Actor_01/notes.txt")), None);
    }

    #[test]
    fn refused_download_names_the_root_and_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("nowhere");
        let fetch = Fetch {
            allowed: false,
            record_url: "http://127.0.0.1:9/never-asked".into(),
            wait: None,
            progress: progress::Mode::Off,
        };
        let err = ensure_corpus(&root, &fetch).unwrap_err();
        let missing = err.downcast_ref::<MissingCorpus>().expect("typed error");
        assert_eq!(missing.lack, Lack::Missing);
        let text = err.to_string();
        assert!(
            text.contains(&format!("download --dest {}", root.display())),
            "{text}"
        );
        assert!(text.contains("does not exist"), "{text}");
        assert!(!root.exists(), "a refusal creates nothing");
    }
}
