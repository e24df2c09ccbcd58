//! One run at a time per output folder: an advisory lock (`flock`) on a lock file naming the
//! holder's pid. A second run waits (`--wait`) or gives up with [`LockError::Held`].
//!
//! The operating system releases the lock when its holder dies, however it dies (kill -9,
//! power loss), so a lock left behind is taken over without guessing from pids: no race
//! between two runs taking over the same stale lock, and no confusion when a dead holder's pid
//! has been reused by another process (after a reboot, say).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum LockError {
    #[error(
        "another ser-pipeline run ({}) holds {path}; wait for it, or rerun with --wait",
        holder.map_or("pid unknown".to_string(), |pid| format!("pid {pid}"))
    )]
    Held { holder: Option<u32>, path: PathBuf },
    #[error("cannot use the lock file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Held while alive: the lock is released, and the file removed, on drop.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
    file: File,
}

/// Whether a process with this pid is running. Linux: `/proc/<pid>` exists and is not a zombie
/// (a killed process its parent has not reaped yet); elsewhere assumed alive.
pub fn process_alive(pid: u32) -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (comm) state ...`; comm may contain spaces and parentheses.
        Ok(stat) => !matches!(
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next()),
            Some('Z' | 'X')
        ),
        Err(_) => Path::new(&format!("/proc/{pid}")).exists(),
    }
}

/// Whether `file` is still the file at `path` (the holder we waited for may have removed it
/// while releasing the lock; locking that orphan would lock nothing).
fn still_at(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
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
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io)?;
            match file.try_lock() {
                Ok(()) if !still_at(&file, &path) => continue,
                Ok(()) => {
                    // A clean release removes the file, so a pid in it is a holder that died.
                    let mut previous = String::new();
                    let _ = file.read_to_string(&mut previous);
                    if let Ok(pid) = previous.trim().parse::<u32>() {
                        log::warn!(
                            "taking over a stale lock {} (pid {pid} ended without releasing it)",
                            path.display()
                        );
                    }
                    file.set_len(0).map_err(io)?;
                    file.rewind().map_err(io)?;
                    writeln!(file, "{}", std::process::id()).map_err(io)?;
                    return Ok(RunLock { path, file });
                }
                Err(TryLockError::WouldBlock) => {
                    if wait.is_some_and(|w| started.elapsed() < w) {
                        std::thread::sleep(Duration::from_millis(200));
                        continue;
                    }
                    let holder = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|s| s.trim().parse::<u32>().ok());
                    return Err(LockError::Held { holder, path });
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
        }
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Removed while still locked; a run waiting on this file then sees it is gone.
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_then_granted_after_release() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(dir.path(), None).unwrap();
        // flock locks belong to open files, so a second open in the same process conflicts
        // just as another process would.
        let err = RunLock::acquire(dir.path(), None).unwrap_err();
        assert!(
            matches!(err, LockError::Held { holder: Some(pid), .. } if pid == std::process::id()),
            "{err}"
        );
        assert!(err.to_string().contains("--wait"), "{err}");
        drop(first);
        assert!(!dir.path().join(".ser-pipeline.lock").exists());
        let _again = RunLock::acquire(dir.path(), None).unwrap();
    }

    #[test]
    fn a_waiting_run_gets_the_lock_when_the_holder_releases_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(dir.path(), None).unwrap();
        let path = dir.path().to_path_buf();
        let waiter = std::thread::spawn(move || {
            RunLock::acquire(&path, Some(Duration::from_secs(10))).map(|_| ())
        });
        std::thread::sleep(Duration::from_millis(300));
        drop(first);
        waiter.join().unwrap().unwrap();
    }

    #[test]
    fn a_lock_left_by_a_dead_holder_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        // What a killed run leaves: the file with its pid, no lock held (the OS released it).
        // Any pid will do, even a live one's: only the lock counts.
        std::fs::write(dir.path().join(".ser-pipeline.lock"), "1\n").unwrap();
        let _lock = RunLock::acquire(dir.path(), None).unwrap();
        let pid: u32 = std::fs::read_to_string(dir.path().join(".ser-pipeline.lock"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(pid, std::process::id());
    }

    #[test]
    fn zombies_and_missing_processes_are_not_alive() {
        assert!(process_alive(std::process::id()));
        // Far above any pid_max: no such process.
        assert!(!process_alive(4_294_967_290));
        if cfg!(target_os = "linux") {
            let mut child = std::process::Command::new("true").spawn().unwrap();
            let pid = child.id();
            // Not reaped yet: a zombie once it has exited.
            let deadline = Instant::now() + Duration::from_secs(10);
            while process_alive(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            assert!(
                !process_alive(pid),
                "an exited, unreaped child counts as alive"
            );
            child.wait().unwrap();
        }
    }
}
