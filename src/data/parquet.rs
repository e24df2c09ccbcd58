//! Parquet via polars: the format people open in pandas (`pd.read_parquet`) and DuckDB
//! (`SELECT * FROM 'data/features.parquet'`).

use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result};
use polars::prelude::{DataFrame, ParquetCompression, ParquetReader, ParquetWriter, SerReader};

/// Writes `df` to `path` atomically, zstd-compressed, with statistics.
pub fn write(path: &Path, df: &mut DataFrame) -> Result<()> {
    super::write_atomic(path, |file| {
        ParquetWriter::new(file)
            .with_compression(ParquetCompression::Zstd(None))
            .with_statistics(polars::prelude::StatisticsOptions::default())
            .finish(df)?;
        Ok(())
    })
}

/// Reads a whole Parquet file.
pub fn read(path: &Path) -> Result<DataFrame> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    ParquetReader::new(file)
        .finish()
        .with_context(|| format!("cannot read Parquet {}", path.display()))
}
