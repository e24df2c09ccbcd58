//! Writing Parquet, always atomically: a whole table through polars ([`write`](fn@write),
//! [`write_with_metadata`]), or batch by batch, one row group each ([`write_batched`],
//! [`BatchedWriter`]).

use std::fs::File;
use std::path::Path;

use anyhow::{ensure, Context, Result};
use polars::prelude::{
    Column, DataFrame, KeyValueMetadata, ParquetCompression, ParquetWriter, Schema,
};

use super::batched;

/// Writes `df` to `path` atomically, zstd-compressed, with statistics, on the calling thread:
/// polars' parallel writer encodes columns on its own thread pool, and each of those threads
/// keeps what it touched resident (its own malloc arena) for the rest of the process; the
/// manifest over 10x the corpus left about 2 MB there through extract. The tables written
/// here (manifest, predictions, splits, augmented rows) are small: `run --stage all --force`
/// took the same time either way and wrote the same bytes.
pub fn write(path: &Path, df: &mut DataFrame) -> Result<()> {
    write_with_metadata(path, df, Vec::new())
}

/// [`write`](fn@write), plus file-level key-value metadata (what
/// `pyarrow.parquet.read_metadata(path).metadata` shows): how the table was made, stored in the
/// same atomically written file.
pub fn write_with_metadata(
    path: &Path,
    df: &mut DataFrame,
    metadata: Vec<(String, String)>,
) -> Result<()> {
    let metadata = (!metadata.is_empty()).then(|| KeyValueMetadata::from_static(metadata));
    crate::data::write_atomic(path, |file| {
        ParquetWriter::new(file)
            .with_compression(ParquetCompression::Zstd(None))
            .set_parallel(false)
            .with_statistics(polars::prelude::StatisticsOptions::default())
            .with_key_value_metadata(metadata)
            .finish(df)?;
        Ok(())
    })
}

/// Writes a table batch by batch, one row group per batch, atomically like
/// [`write`](fn@write): `fill` hands each batch (a frame of `schema`) to the sink it is given, so
/// a table never has to be held in memory whole. `metadata` as in [`write_with_metadata`].
///
/// The same table [`write`](fn@write) would make (column names, types and nullability, zstd at
/// its level, chunk statistics, the key-value metadata including polars' `ARROW:schema`),
/// written with the `parquet` crate's row-group writer instead of polars': polars keeps about
/// 2.8 KB per column
/// chunk (its footer entry, and page specs and statistics for the page index) until the file
/// is complete, 45 MB at the peak of extract over 10x the corpus (heaptrack). No page index is
/// written (one page per column chunk here, so it would prune nothing). The footer's entry of
/// each row group is kept as the bytes it will be written as (about 0.1 KB a column chunk),
/// zstd-compressed (to a quarter or less), rather than as the `parquet` crate's
/// `ColumnChunkMetaData` (about 0.57 KB a chunk; 9 MB of the heap at the peak over 10x the
/// corpus with 28 row groups of ~560 columns); the file is
/// byte for byte the one the crate's `SerializedFileWriter` writes (a test checks). Column
/// types: text, Int32, Int64, Float64.
pub fn write_batched(
    path: &Path,
    schema: &Schema,
    metadata: &[(String, String)],
    fill: impl FnOnce(&mut dyn FnMut(&DataFrame) -> Result<()>) -> Result<()>,
) -> Result<()> {
    let mut out = BatchedWriter::create(path, schema)?;
    fill(&mut |df: &DataFrame| out.write(df))?;
    out.finish(metadata)
}

/// [`write_batched`] as an object, for writing several tables side by side: each
/// [`BatchedWriter::write`] appends one row group; [`BatchedWriter::finish`] completes the file
/// with its key-value metadata and renames it into place; dropped unfinished, it leaves
/// nothing behind. The metadata is only needed at the end, so a caller need not hold it (in
/// extract, the file stamps, about 73 bytes a file) while the rows are written.
pub struct BatchedWriter {
    writer: batched::Writer<File>,
    file: crate::data::AtomicFile,
}

impl BatchedWriter {
    pub fn create(path: &Path, schema: &Schema) -> Result<BatchedWriter> {
        let table = batched::Table::new(schema)?;
        let mut file = crate::data::AtomicFile::create(path)?;
        let handle = file
            .file()
            .try_clone()
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(BatchedWriter {
            writer: table.writer(handle)?,
            file,
        })
    }

    /// Appends `df` (a frame of the table's schema) as one row group.
    pub fn write(&mut self, df: &DataFrame) -> Result<()> {
        ensure!(
            df.schema().as_ref() == self.writer.schema(),
            "cannot write {}: a row group's columns differ from the table's",
            self.file.path().display()
        );
        self.write_columns(df.height(), &mut |i| Ok(df.columns()[i].clone()))
    }

    /// Appends one row group of `n_rows` rows whose columns `column(i)` makes, in the table's
    /// order, one at a time: each is written and dropped before the next is asked for, so the
    /// row group need not exist as a frame.
    pub fn write_columns(
        &mut self,
        n_rows: usize,
        column: &mut dyn FnMut(usize) -> Result<Column>,
    ) -> Result<()> {
        self.writer
            .write_row_group(n_rows, column)
            .with_context(|| format!("cannot write {}", self.file.path().display()))
    }

    /// Writes the footer, with the key-value `metadata` (as in [`write_with_metadata`]), and
    /// renames the file into place.
    pub fn finish(self, metadata: &[(String, String)]) -> Result<()> {
        // The writer's handle is flushed and closed before the file is synced and renamed.
        let path = self.file.path().to_path_buf();
        drop(
            self.writer
                .close(metadata)
                .with_context(|| format!("cannot write {}", path.display()))?,
        );
        self.file.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::parquet::{batched, read, read_with_metadata};
    use polars::prelude::{Column, ParquetReader, SerReader};
    use std::fs::File;

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

    /// `n` rows of a table with text, Int32, Int64 and Float64 columns, nulls in two of them,
    /// numbered from `offset`.
    fn sample_batch(offset: i32, n: usize) -> DataFrame {
        let rows = 0..n as i32;
        let column = |name: &str, values: Vec<Option<f64>>| Column::new(name.into(), values);
        DataFrame::new(
            n,
            vec![
                Column::new(
                    "path".into(),
                    rows.clone()
                        .map(|i| (i % 5 != 3).then(|| format!("a/{}.wav", i + offset)))
                        .collect::<Vec<_>>(),
                ),
                Column::new(
                    "actor".into(),
                    rows.clone()
                        .map(|i| (i + offset) % 24)
                        .collect::<Vec<i32>>(),
                ),
                Column::new(
                    "n".into(),
                    rows.clone()
                        .map(|i| (i % 7 != 0).then_some(i64::from(i) << 40))
                        .collect::<Vec<_>>(),
                ),
                column(
                    "x",
                    rows.map(|i| Some(f64::from(i + offset) / 3.0)).collect(),
                ),
            ],
        )
        .unwrap()
    }

    /// A table written in row groups reads back as the same table, types, nulls and key-value
    /// metadata (polars' `ARROW:schema` too) that [`write_with_metadata`] gives, one row group
    /// per batch even when a batch is in several chunks.
    #[test]
    fn batched_tables_read_back_like_whole_ones() {
        let dir = tempfile::tempdir().unwrap();
        let batch = sample_batch;
        // A batch of three chunks, then one of one.
        let mut first = batch(0, 40);
        first.vstack_mut_owned(batch(40, 25)).unwrap();
        first.vstack_mut_owned(batch(65, 1)).unwrap();
        assert_eq!(first.first_col_n_chunks(), 3);
        let second = batch(66, 30);
        let mut whole = first.vstack(&second).unwrap();
        let metadata = vec![("ser_pipeline.test".to_string(), "{}".to_string())];

        let batched = dir.path().join("batched.parquet");
        let schema = whole.schema().as_ref().clone();
        write_batched(&batched, &schema, &metadata, |sink| {
            sink(&first)?;
            sink(&second)
        })
        .unwrap();
        let reference = dir.path().join("whole.parquet");
        write_with_metadata(&reference, &mut whole, metadata).unwrap();

        let (back, back_metadata) = read_with_metadata(&batched).unwrap();
        let (expected, expected_metadata) = read_with_metadata(&reference).unwrap();
        assert_eq!(back.schema(), expected.schema());
        assert!(back.equals_missing(&expected));
        assert!(back.equals_missing(&whole));
        assert_eq!(back_metadata, expected_metadata);
        assert!(back_metadata.contains_key("ARROW:schema"));
        let groups: Vec<usize> = ParquetReader::new(File::open(&batched).unwrap())
            .get_metadata()
            .unwrap()
            .row_groups
            .iter()
            .map(|g| g.num_rows())
            .collect();
        assert_eq!(groups, [66, 30]);

        // A frame that does not match the schema is refused.
        let other = dir.path().join("other.parquet");
        let err = write_batched(&other, &schema, &[], |sink| {
            sink(&whole.select(["x", "path"]).unwrap())
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("differ"), "{err:#}");
        assert!(!other.exists());
    }

    /// [`write_batched`] keeps each row group's footer entry as bytes and writes the footer
    /// itself: the file is the one the `parquet` crate's `SerializedFileWriter` makes of the
    /// same row groups, byte for byte, with no row group, a few, more than fit in a short
    /// Thrift list header (15), and more than 32767 (when the crate leaves out every row
    /// group's ordinal).
    #[test]
    fn batched_files_are_the_parquet_crates_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let metadata = vec![
            ("ser_pipeline.a".to_string(), "{\"x\": [1, 2]}".to_string()),
            ("ser_pipeline.b".to_string(), "b".repeat(300)),
        ];
        let check = |batches: &[&DataFrame], schema: &Schema, metadata: &[(String, String)]| {
            write_batched(&path, schema, metadata, |sink| {
                batches.iter().try_for_each(|df| sink(df))
            })
            .unwrap();
            let written = std::fs::read(&path).unwrap();
            let expected = batched::reference_bytes(schema, metadata, batches).unwrap();
            assert!(written == expected, "{} batches differ", batches.len());
            let back = read(&path).unwrap();
            assert_eq!(
                back.height(),
                batches.iter().map(|df| df.height()).sum::<usize>()
            );
        };
        let mut chunked = sample_batch(0, 40);
        chunked.vstack_mut_owned(sample_batch(40, 3)).unwrap();
        let schema = chunked.schema().as_ref().clone();
        check(&[], &schema, &metadata);
        check(&[&chunked], &schema, &metadata);
        check(&[&chunked, &sample_batch(43, 1)], &schema, &[]);
        let many: Vec<DataFrame> = (0..20).map(|i| sample_batch(i * 7, 7)).collect();
        check(&many.iter().collect::<Vec<_>>(), &schema, &metadata);

        let one = DataFrame::new(1, vec![Column::new("x".into(), [1i32])]).unwrap();
        let ones = vec![&one; 32768];
        let schema = one.schema().as_ref().clone();
        check(&ones[..32767], &schema, &metadata);
        check(&ones, &schema, &metadata);
    }
}
