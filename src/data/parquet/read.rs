//! Reading Parquet: a whole table, its columns, or with its key-value metadata.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result};
use polars::prelude::{DataFrame, ParallelStrategy, ParquetReader, SerReader};

/// Reads a whole Parquet file.
pub fn read(path: &Path) -> Result<DataFrame> {
    read_with_metadata(path).map(|(df, _)| df)
}

/// [`read`] on the calling thread, for a small table read before a long stage (extract's
/// manifest): polars' parallel reader decodes columns on its own thread pool, whose threads
/// each keep what they touched resident (their own malloc arenas) for the rest of the process;
/// reading the manifest over 10x the corpus left about 3 MB there through extract.
pub fn read_serial(path: &Path) -> Result<DataFrame> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    ParquetReader::new(file)
        .read_parallel(ParallelStrategy::None)
        .finish()
        .with_context(|| format!("cannot read Parquet {}", path.display()))
}

/// Reads only the named columns of a Parquet file.
pub fn read_columns(path: &Path, columns: &[&str]) -> Result<DataFrame> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    ParquetReader::new(file)
        .with_columns(Some(columns.iter().map(|c| c.to_string()).collect()))
        .finish()
        .with_context(|| format!("cannot read Parquet {}", path.display()))
}

/// Reads a whole Parquet file and its file-level key-value metadata (keys without a value are
/// left out).
pub fn read_with_metadata(path: &Path) -> Result<(DataFrame, BTreeMap<String, String>)> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = ParquetReader::new(file);
    let metadata: BTreeMap<String, String> = reader
        .get_metadata()
        .with_context(|| format!("cannot read Parquet {}", path.display()))?
        .key_value_metadata()
        .iter()
        .flatten()
        .filter_map(|kv| Some((kv.key.clone(), kv.value.clone()?)))
        .collect();
    let df = reader
        .finish()
        .with_context(|| format!("cannot read Parquet {}", path.display()))?;
    Ok((df, metadata))
}
