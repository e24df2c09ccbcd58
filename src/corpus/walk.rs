//! Walking a corpus tree: every audio file at any depth, sorted by relative path.

use std::path::{Path, PathBuf};

/// File extensions the pipeline treats as audio (case-insensitive).
pub const AUDIO_EXTENSIONS: &[&str] = &["wav", "flac"];

/// One audio file found under the corpus root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Path relative to the corpus root, with `/` separators: the stable key of every table.
    pub rel_path: String,
    pub abs_path: PathBuf,
}

/// A problem met while walking that concerns a path rather than a file's content
/// (an unreadable directory, a symlink loop).
#[derive(Debug, Clone)]
pub struct WalkProblem {
    pub path: String,
    pub message: String,
}

/// Walks `root` at any depth, following symlinks but not loops, and returns the audio files
/// sorted by relative path (so every later table has a stable row order).
pub fn walk(root: &Path) -> (Vec<Found>, Vec<WalkProblem>) {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    for entry in walkdir::WalkDir::new(root).follow_links(true) {
        match entry {
            Ok(entry) => {
                if !entry.file_type().is_file() {
                    continue;
                }
                let path = entry.path();
                let is_audio = path
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|a| a.eq_ignore_ascii_case(e)));
                if is_audio {
                    found.push(Found {
                        rel_path: rel_path(root, path),
                        abs_path: path.to_path_buf(),
                    });
                }
            }
            Err(err) => {
                let path = err
                    .path()
                    .map(|p| rel_path(root, p))
                    .unwrap_or_else(|| root.display().to_string());
                let message = if err.loop_ancestor().is_some() {
                    "symlink loop: skipped".to_string()
                } else {
                    err.io_error()
                        .map(|e| e.to_string())
                        .unwrap_or_else(|| err.to_string())
                };
                problems.push(WalkProblem { path, message });
            }
        }
    }
    found.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    problems.sort_by(|a, b| a.path.cmp(&b.path));
    (found, problems)
}

fn rel_path(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_finds_audio_at_any_depth_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("b/deeper")).unwrap();
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::write(root.join("b/deeper/03-01-01-01-01-01-02.WAV"), b"x").unwrap();
        std::fs::write(root.join("a/03-01-01-01-01-01-01.wav"), b"x").unwrap();
        std::fs::write(root.join("a/readme.txt"), b"x").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(root, root.join("b/loop")).unwrap();
        let (found, problems) = walk(root);
        let rels: Vec<_> = found.iter().map(|f| f.rel_path.as_str()).collect();
        assert_eq!(
            rels,
            [
                "a/03-01-01-01-01-01-01.wav",
                "b/deeper/03-01-01-01-01-01-02.WAV"
            ]
        );
        #[cfg(unix)]
        assert!(
            problems.iter().any(|p| p.message.contains("symlink loop")),
            "{problems:?}"
        );
    }
}
