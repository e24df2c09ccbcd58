//! One run at a time per output folder: a lock file naming the holder's pid. A second run waits
//! (`--wait`) or gives up with [`LockError::Held`]; a lock left by a dead process (kill -9, power
//! loss) is taken over.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum LockError {
    #[error(
        "another ser-pipeline run (pid {pid}) holds {path}; wait for it, or rerun with --wait"
    )]
    Held { pid: u32, path: PathBuf },
    #[error("cannot create the lock file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Held while alive; the file is removed on drop.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
}

/// Whether a process with this pid is running (Linux: `/proc/<pid>` exists; elsewhere assumed
/// alive, so a stale lock is then removed by hand).
fn alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

impl RunLock {
    /// Takes `dir/.ser-pipeline.lock`, waiting up to `wait` for a live holder to finish.
    pub fn acquire(dir: &Path, wait: Option<Duration>) -> Result<RunLock, LockError> {
        let path = dir.join(".ser-pipeline.lock");
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let started = Instant::now();
        loop {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    writeln!(f, "{}", std::process::id()).map_err(io)?;
                    return Ok(RunLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|s| s.trim().parse::<u32>().ok());
                    match holder {
                        Some(pid) if alive(pid) && pid != std::process::id() => {
                            if wait.is_some_and(|w| started.elapsed() < w) {
                                std::thread::sleep(Duration::from_millis(200));
                                continue;
                            }
                            return Err(LockError::Held { pid, path });
                        }
                        // A dead holder, or a file cut short before its pid was written: stale.
                        // A holder mid-write is given a moment before it counts as stale.
                        None if started.elapsed() < Duration::from_millis(500) => {
                            std::thread::sleep(Duration::from_millis(50));
                            continue;
                        }
                        _ => {
                            log::warn!("taking over a stale lock {}", path.display());
                            let _ = std::fs::remove_file(&path);
                        }
                    }
                }
                Err(e) => return Err(io(e)),
            }
        }
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_then_granted_after_release() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(dir.path(), None).unwrap();
        // Our own pid in the file counts as stale for us, so pretend to be another live process:
        // pid 1 is always alive on Linux.
        std::fs::write(dir.path().join(".ser-pipeline.lock"), "1\n").unwrap();
        if cfg!(target_os = "linux") {
            let err = RunLock::acquire(dir.path(), None).unwrap_err();
            assert!(matches!(err, LockError::Held { pid: 1, .. }), "{err}");
        }
        std::fs::write(
            dir.path().join(".ser-pipeline.lock"),
            format!("{}\n", std::process::id()),
        )
        .unwrap();
        drop(first);
        assert!(!dir.path().join(".ser-pipeline.lock").exists());
        let _again = RunLock::acquire(dir.path(), None).unwrap();
    }

    #[test]
    fn a_dead_holders_lock_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        // Far above any pid_max: no such process.
        std::fs::write(dir.path().join(".ser-pipeline.lock"), "4294967290\n").unwrap();
        let _lock = RunLock::acquire(dir.path(), None).unwrap();
        let pid: u32 = std::fs::read_to_string(dir.path().join(".ser-pipeline.lock"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(pid, std::process::id());
    }
}
