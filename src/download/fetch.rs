//! HTTP: the record's JSON, and each archive fetched into a `.part` file, resumed with a range
//! request, then checked against the record's size and md5.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use md5::{Digest, Md5};

use super::{remove_if_exists, DownloadError, Record, RecordFile};
use crate::progress::{self, Progress};

pub(super) fn agent() -> ureq::Agent {
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

pub(super) fn fetch_record(agent: &ureq::Agent, url: &str) -> Result<Record> {
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
pub(super) fn fetch_archive(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_of_a_known_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        fs::write(&path, b"abc").unwrap();
        // RFC 1321, appendix A.5.
        assert_eq!(md5_file(&path).unwrap(), "900150983cd24fb0d6963f7d28e17f72");
    }
}
