//! Tables on disk: typed rows in, Parquet or CSV out (and back). Every file is written to a
//! temporary file in the same folder and renamed into place, so a reader never sees a
//! half-written table and a killed run leaves the previous version intact.

pub mod csv;
pub mod parquet;

use std::fs::File;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

/// Writes `path` atomically: `write` fills a temporary file beside it, which is flushed, synced
/// and renamed over `path` only if `write` succeeds.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut File) -> Result<()>) -> Result<()> {
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
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    write(tmp.as_file_mut()).with_context(|| format!("cannot write {}", path.display()))?;
    tmp.as_file_mut().flush()?;
    // tempfile creates 0600; a table is for every reader, as a plain `File::create` would be.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("cannot set permissions of {}", path.display()))?;
    }
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("cannot sync {}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("cannot move the new {} into place", path.display()))?;
    Ok(())
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
}
