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
///
/// The same table [`write`] would make (column names, types and nullability, zstd at its level,
/// chunk statistics, the key-value metadata including polars' `ARROW:schema`), written with the
/// `parquet` crate's row-group writer instead of polars': polars keeps about 2.8 KB per column
/// chunk (its footer entry, and page specs and statistics for the page index) until the file
/// is complete, 45 MB at the peak of extract over 10x the corpus (heaptrack); this writer
/// keeps only the footer's column-chunk metadata (9 MB there) and writes no page index (one
/// page per column chunk here, so it would prune nothing). Column types: text, Int32, Int64,
/// Float64.
pub fn write_batched(
    path: &Path,
    schema: &Schema,
    metadata: Vec<(String, String)>,
    fill: impl FnOnce(&mut dyn FnMut(&DataFrame) -> Result<()>) -> Result<()>,
) -> Result<()> {
    let mut out = BatchedWriter::create(path, schema, metadata)?;
    fill(&mut |df: &DataFrame| out.write(df))?;
    out.finish()
}

/// [`write_batched`] as an object, for writing several tables side by side: each
/// [`BatchedWriter::write`] appends one row group; [`BatchedWriter::finish`] completes the file
/// and renames it into place; dropped unfinished, it leaves nothing behind.
pub struct BatchedWriter {
    table: batched::Table,
    writer: parquet::file::writer::SerializedFileWriter<File>,
    file: super::AtomicFile,
}

impl BatchedWriter {
    pub fn create(
        path: &Path,
        schema: &Schema,
        metadata: Vec<(String, String)>,
    ) -> Result<BatchedWriter> {
        let table = batched::Table::new(schema, metadata)?;
        let mut file = super::AtomicFile::create(path)?;
        let handle = file
            .file()
            .try_clone()
            .with_context(|| format!("cannot write {}", path.display()))?;
        let writer = table.writer(handle)?;
        Ok(BatchedWriter {
            table,
            writer,
            file,
        })
    }

    /// Appends `df` (a frame of the table's schema) as one row group.
    pub fn write(&mut self, df: &DataFrame) -> Result<()> {
        self.table
            .write_row_group(&mut self.writer, df)
            .with_context(|| format!("cannot write {}", self.file.path().display()))
    }

    /// Writes the footer and renames the file into place.
    pub fn finish(self) -> Result<()> {
        // The writer's handle is flushed and closed before the file is synced and renamed.
        let path = self.file.path().to_path_buf();
        drop(
            self.writer
                .into_inner()
                .with_context(|| format!("cannot write {}", path.display()))?,
        );
        self.file.commit()
    }
}

/// [`write_batched`]'s writer: polars frames to `parquet` crate row groups.
mod batched {
    use std::io::{Cursor, Write};
    use std::sync::Arc;

    use anyhow::{bail, ensure, Context, Result};
    use parquet::basic::{
        Compression, ConvertedType, LogicalType, Repetition, Type as Physical, ZstdLevel,
    };
    use parquet::column::writer::ColumnWriterImpl;
    use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
    use parquet::file::metadata::KeyValue;
    use parquet::file::properties::{EnabledStatistics, WriterProperties};
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::types::{ColumnPath, Type};
    use polars::prelude::{
        ChunkedArray, DataFrame, DataType, ParquetReader, ParquetWriter, PolarsNumericType, Schema,
        SerReader,
    };

    /// The level of polars' `ParquetCompression::Zstd(None)` (zstd's default).
    const ZSTD_LEVEL: i32 = 3;
    /// Where Arrow readers (pyarrow, polars) find the table's Arrow types.
    const ARROW_SCHEMA_KEY: &str = "ARROW:schema";

    /// A table's Parquet schema and writer settings, made once per file.
    pub(super) struct Table {
        schema: Schema,
        parquet_schema: Arc<Type>,
        properties: Arc<WriterProperties>,
    }

    impl Table {
        pub(super) fn new(schema: &Schema, metadata: Vec<(String, String)>) -> Result<Table> {
            let mut fields = Vec::with_capacity(schema.len());
            // Dictionary pages for the labels and other repeated values, not for the features.
            let mut properties = WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::try_new(ZSTD_LEVEL)?))
                .set_statistics_enabled(EnabledStatistics::Chunk)
                .set_offset_index_disabled(true);
            for (name, dtype) in schema.iter() {
                let (physical, text) = match dtype {
                    DataType::String => (Physical::BYTE_ARRAY, true),
                    DataType::Int32 => (Physical::INT32, false),
                    DataType::Int64 => (Physical::INT64, false),
                    DataType::Float64 => (Physical::DOUBLE, false),
                    other => bail!("column {name}: cannot write type {other} in row groups"),
                };
                let mut field = Type::primitive_type_builder(name.as_str(), physical)
                    .with_repetition(Repetition::OPTIONAL);
                if text {
                    field = field
                        .with_converted_type(ConvertedType::UTF8)
                        .with_logical_type(Some(LogicalType::String));
                }
                fields.push(Arc::new(field.build()?));
                properties = properties.set_column_dictionary_enabled(
                    ColumnPath::from(name.as_str()),
                    *dtype != DataType::Float64,
                );
            }
            let mut key_value: Vec<KeyValue> = metadata
                .into_iter()
                .map(|(k, v)| KeyValue::new(k, v))
                .collect();
            key_value.push(KeyValue::new(
                ARROW_SCHEMA_KEY.to_string(),
                polars_arrow_schema(schema)?,
            ));
            Ok(Table {
                schema: schema.clone(),
                parquet_schema: Arc::new(
                    Type::group_type_builder("root")
                        .with_fields(fields)
                        .build()?,
                ),
                properties: Arc::new(properties.set_key_value_metadata(Some(key_value)).build()),
            })
        }

        pub(super) fn writer<W: Write + Send>(&self, sink: W) -> Result<SerializedFileWriter<W>> {
            Ok(SerializedFileWriter::new(
                sink,
                self.parquet_schema.clone(),
                self.properties.clone(),
            )?)
        }

        /// Writes `df` (a frame of the table's schema, in any number of chunks) as one row group.
        pub(super) fn write_row_group<W: Write + Send>(
            &self,
            writer: &mut SerializedFileWriter<W>,
            df: &DataFrame,
        ) -> Result<()> {
            ensure!(
                df.schema().as_ref() == &self.schema,
                "a row group's columns differ from the table's"
            );
            let mut group = writer.next_row_group()?;
            for column in df.columns() {
                let mut out = group
                    .next_column()?
                    .context("more columns than the table's schema")?;
                let series = column.as_materialized_series();
                match series.dtype() {
                    DataType::String => write_text(out.typed::<ByteArrayType>(), series.str()?)?,
                    DataType::Int32 => write_numbers(out.typed::<Int32Type>(), series.i32()?)?,
                    DataType::Int64 => write_numbers(out.typed::<Int64Type>(), series.i64()?)?,
                    DataType::Float64 => write_numbers(out.typed::<DoubleType>(), series.f64()?)?,
                    other => bail!("column {}: cannot write type {other}", column.name()),
                }
                out.close()?;
            }
            group.close()?;
            Ok(())
        }
    }

    /// Definition levels of a nullable column: 1 for a value, 0 for a null.
    fn levels(valid: impl Iterator<Item = bool>) -> Vec<i16> {
        valid.map(i16::from).collect()
    }

    /// Writes a numeric column chunk by chunk, without copying a chunk that has no nulls.
    fn write_numbers<T, P>(
        out: &mut ColumnWriterImpl<'_, T>,
        values: &ChunkedArray<P>,
    ) -> Result<()>
    where
        P: PolarsNumericType,
        T: parquet::data_type::DataType<T = P::Native>,
    {
        for chunk in values.downcast_iter() {
            match chunk.validity().filter(|valid| valid.unset_bits() > 0) {
                None => {
                    out.write_batch(chunk.values().as_slice(), Some(&vec![1; chunk.len()]), None)?;
                }
                Some(validity) => {
                    let present: Vec<P::Native> = chunk.iter().flatten().copied().collect();
                    out.write_batch(&present, Some(&levels(validity.iter())), None)?;
                }
            }
        }
        Ok(())
    }

    fn write_text(
        out: &mut ColumnWriterImpl<'_, ByteArrayType>,
        values: &ChunkedArray<polars::prelude::StringType>,
    ) -> Result<()> {
        for chunk in values.downcast_iter() {
            let present: Vec<ByteArray> = chunk
                .iter()
                .flatten()
                .map(|s| ByteArray::from(s.as_bytes()))
                .collect();
            out.write_batch(
                &present,
                Some(&levels(chunk.iter().map(|v| v.is_some()))),
                None,
            )?;
        }
        Ok(())
    }

    /// The `ARROW:schema` value polars stores for `schema` (its Arrow types, e.g. string views
    /// for text), so Arrow readers see the same types as in a table polars wrote: taken from an
    /// empty table polars writes in memory.
    fn polars_arrow_schema(schema: &Schema) -> Result<String> {
        let mut empty = DataFrame::empty_with_schema(schema);
        let mut bytes = Cursor::new(Vec::new());
        ParquetWriter::new(&mut bytes).finish(&mut empty)?;
        bytes.set_position(0);
        let value = ParquetReader::new(bytes)
            .get_metadata()?
            .key_value_metadata()
            .iter()
            .flatten()
            .find(|kv| kv.key == ARROW_SCHEMA_KEY)
            .and_then(|kv| kv.value.clone());
        value.context("polars wrote no Arrow schema")
    }
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

    /// A table written in row groups reads back as the same table, types, nulls and key-value
    /// metadata (polars' `ARROW:schema` too) that [`write_with_metadata`] gives, one row group
    /// per batch even when a batch is in several chunks.
    #[test]
    fn batched_tables_read_back_like_whole_ones() {
        let dir = tempfile::tempdir().unwrap();
        let batch = |offset: i32, n: usize| {
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
        };
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
        write_batched(&batched, &schema, metadata.clone(), |sink| {
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
        let err = write_batched(&other, &schema, Vec::new(), |sink| {
            sink(&whole.select(["x", "path"]).unwrap())
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("differ"), "{err:#}");
        assert!(!other.exists());
    }
}
