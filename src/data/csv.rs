//! CSV for the small tables people read by eye (errors, reports).

use std::path::Path;

use anyhow::Result;

/// Writes a header and rows to `path` atomically, quoting as RFC 4180 requires.
pub fn write<R, S>(path: &Path, header: &[&str], rows: R) -> Result<()>
where
    R: IntoIterator,
    R::Item: IntoIterator<Item = S>,
    S: AsRef<[u8]>,
{
    super::write_atomic(path, |file| {
        let mut w = ::csv::Writer::from_writer(file);
        w.write_record(header)?;
        for row in rows {
            w.write_record(row)?;
        }
        w.flush()?;
        Ok(())
    })
}
