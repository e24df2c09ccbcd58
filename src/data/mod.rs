//! Tables on disk: typed rows in, Parquet or CSV out (and back). Every file is written to a
//! temporary file in the same folder and renamed into place, so a reader never sees a
//! half-written table and a killed run leaves the previous version intact.

pub mod csv;
pub mod parquet;

use std::fs::File;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

const TEMP_SUFFIX: &str = ".tmp";

/// Lower-case hex of bytes (a digest).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of bytes, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

/// Writes `path` atomically: `write` fills a temporary file beside it, which is flushed, synced
/// and renamed over `path` only if `write` succeeds.
///
/// The temporary file is `.<name>.<pid>.<random>.tmp`: a writer killed before the rename (kill
/// -9 runs no clean-up) leaves it behind, and [`remove_stale_temps`] can tell from the pid that
/// its writer is gone.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut File) -> Result<()>) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    write(file.file()).with_context(|| format!("cannot write {}", path.display()))?;
    file.commit()
}

/// A file written atomically ([`write_atomic`]) by a writer that is not one closure: created
/// as a temporary file beside `path`, renamed over it by [`AtomicFile::commit`], removed when
/// dropped uncommitted.
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    path: std::path::PathBuf,
}

impl AtomicFile {
    pub fn create(path: &Path) -> Result<AtomicFile> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create folder {}", dir.display()))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}.{}.", std::process::id()))
            .suffix(TEMP_SUFFIX)
            .tempfile_in(dir)
            .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
        Ok(AtomicFile {
            tmp,
            path: path.to_path_buf(),
        })
    }

    /// Where the file goes when committed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The temporary file.
    pub fn file(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// Flushes and syncs the temporary file and renames it over the target.
    pub fn commit(mut self) -> Result<()> {
        let path = &self.path;
        self.tmp.as_file_mut().flush()?;
        // tempfile creates 0600; a table is for every reader, as a plain `File::create` would be.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            self.tmp
                .as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))
                .with_context(|| format!("cannot set permissions of {}", path.display()))?;
        }
        self.tmp
            .as_file()
            .sync_all()
            .with_context(|| format!("cannot sync {}", path.display()))?;
        self.tmp
            .persist(path)
            .with_context(|| format!("cannot move the new {} into place", path.display()))?;
        Ok(())
    }
}

/// The writer's pid, when `name` is the name of one of [`write_atomic`]'s temporary files.
fn temp_writer(name: &str) -> Option<u32> {
    let inner = name.strip_prefix('.')?.strip_suffix(TEMP_SUFFIX)?;
    let mut parts = inner.rsplitn(3, '.');
    let (_random, pid, target) = (parts.next()?, parts.next()?, parts.next()?);
    (!target.is_empty()).then_some(())?;
    pid.parse().ok()
}

/// Removes the temporary files [`write_atomic`] left in `dir` (not below) when its writer died
/// before renaming them into place; `alive` says whether a pid is still running (a live
/// writer's file is left alone). Returns the files removed.
pub fn remove_stale_temps(dir: &Path, alive: impl Fn(u32) -> bool) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temp_writer) else {
            continue;
        };
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && pid != std::process::id() && !alive(pid) {
            let path = entry.path();
            if std::fs::remove_file(&path).is_ok() {
                removed.push(path);
            }
        }
    }
    removed.sort();
    removed
}

/// Writes UTF-8 text atomically.
pub fn write_text_atomic(path: &Path, text: &str) -> Result<()> {
    write_atomic(path, |f| Ok(f.write_all(text.as_bytes())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.txt");
        write_text_atomic(&path, "old").unwrap();
        let err = write_atomic(&path, |f| {
            f.write_all(b"half")?;
            anyhow::bail!("boom")
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("t.txt")]);
    }

    #[test]
    fn only_dead_writers_temporary_files_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let touch = |name: &str| std::fs::write(dir.path().join(name), b"x").unwrap();
        touch(".features.parquet.4000001.aB3dE9.tmp"); // dead writer
        touch(".model.json.4000002.Zz9yX1.tmp"); // live writer
        touch(".notes.tmp"); // not ours: no pid
        touch("features.parquet");
        let removed = remove_stale_temps(dir.path(), |pid| pid == 4_000_002);
        assert_eq!(
            removed,
            vec![dir.path().join(".features.parquet.4000001.aB3dE9.tmp")]
        );
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                ".model.json.4000002.Zz9yX1.tmp",
                ".notes.tmp",
                "features.parquet"
            ]
        );
        // write_atomic's own names parse back to this process.
        assert_eq!(
            temp_writer(&format!(".t.txt.{}.Ab12Cd.tmp", std::process::id())),
            Some(std::process::id())
        );
    }
}
