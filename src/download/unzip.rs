//! The archive unzipped into the corpus root, every entry checked to stay inside it.

use std::fs::{self, File};
use std::io;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};

use super::DownloadError;
use crate::progress::{self, Progress};

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

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
