//! Parquet via polars: the format people open in pandas (`pd.read_parquet`) and DuckDB
//! (`SELECT * FROM 'data/features.parquet'`).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result};
use polars::prelude::{
    DataFrame, KeyValueMetadata, ParquetCompression, ParquetReader, ParquetWriter, Schema,
    SerReader,
};

/// Writes `df` to `path` atomically, zstd-compressed, with statistics.
pub fn write(path: &Path, df: &mut DataFrame) -> Result<()> {
    write_with_metadata(path, df, Vec::new())
}

/// [`write`], plus file-level key-value metadata (what `pyarrow.parquet.read_metadata(path)
/// .metadata` shows): how the table was made, stored in the same atomically written file.
pub fn write_with_metadata(
    path: &Path,
    df: &mut DataFrame,
    metadata: Vec<(String, String)>,
) -> Result<()> {
    let metadata = (!metadata.is_empty()).then(|| KeyValueMetadata::from_static(metadata));
    super::write_atomic(path, |file| {
        ParquetWriter::new(file)
            .with_compression(ParquetCompression::Zstd(None))
            .with_statistics(polars::prelude::StatisticsOptions::default())
            .with_key_value_metadata(metadata)
            .finish(df)?;
        Ok(())
    })
}

/// Writes a table batch by batch, one row group per batch, atomically like [`write`]: `fill`
/// hands each batch (a frame of `schema`) to the sink it is given, so a table never has to be
/// held in memory whole. `metadata` as in [`write_with_metadata`].
pub fn write_batched(
    path: &Path,
    schema: &Schema,
    metadata: Vec<(String, String)>,
    fill: impl FnOnce(&mut dyn FnMut(&DataFrame) -> Result<()>) -> Result<()>,
) -> Result<()> {
    let metadata = (!metadata.is_empty()).then(|| KeyValueMetadata::from_static(metadata));
    super::write_atomic(path, |file| {
        let mut writer = ParquetWriter::new(file)
            .with_compression(ParquetCompression::Zstd(None))
            .with_statistics(polars::prelude::StatisticsOptions::default())
            .with_key_value_metadata(metadata)
            .batched(schema)?;
        fill(&mut |df: &DataFrame| Ok(writer.write_batch(df)?))?;
        writer.finish()?;
        Ok(())
    })
}

/// Reads a whole Parquet file.
pub fn read(path: &Path) -> Result<DataFrame> {
    read_with_metadata(path).map(|(df, _)| df)
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

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::Column;

    #[test]
    fn metadata_round_trips_with_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let mut df = DataFrame::new(2, vec![Column::new("x".into(), [1.5f64, -2.0])]).unwrap();
        write_with_metadata(
            &path,
            &mut df,
            vec![("ser_pipeline.test".into(), "{\"a\": 1}".into())],
        )
        .unwrap();
        let (back, metadata) = read_with_metadata(&path).unwrap();
        assert!(back.equals(&df));
        assert_eq!(metadata["ser_pipeline.test"], "{\"a\": 1}");
        write(&path, &mut df).unwrap();
        let (_, metadata) = read_with_metadata(&path).unwrap();
        assert!(!metadata.contains_key("ser_pipeline.test"));
    }
}
