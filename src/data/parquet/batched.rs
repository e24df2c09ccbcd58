//! [`write_batched`](super::write_batched)'s writer: polars frames to `parquet` crate row
//! groups, each row group's footer entry kept as compressed bytes until the footer is written.

use std::io::{Cursor, Write};
use std::ops::Range;
use std::sync::Arc;

use anyhow::{bail, ensure, Context, Result};
use parquet::basic::{
    Compression, ConvertedType, LogicalType, Repetition, Type as Physical, ZstdLevel,
};
use parquet::column::writer::ColumnWriterImpl;
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::metadata::{
    FileMetaData, KeyValue, ParquetMetaData, ParquetMetaDataWriter, RowGroupMetaData,
};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::{SerializedRowGroupWriter, TrackedWrite};
use parquet::schema::types::{ColumnPath, SchemaDescPtr, SchemaDescriptor, Type};
use polars::prelude::{
    ChunkedArray, Column, DataFrame, DataType, ParquetReader, ParquetWriter, PolarsNumericType,
    Schema, SerReader,
};

use super::thrift;

/// The level of polars' `ParquetCompression::Zstd(None)` (zstd's default).
const ZSTD_LEVEL: i32 = 3;
/// Where Arrow readers (pyarrow, polars) find the table's Arrow types.
const ARROW_SCHEMA_KEY: &str = "ARROW:schema";
/// A Parquet file's first and last four bytes.
const MAGIC: &[u8; 4] = b"PAR1";

/// A table's Parquet schema and writer settings, made once per file.
pub(super) struct Table {
    schema: Schema,
    descr: SchemaDescPtr,
    properties: Arc<WriterProperties>,
    /// The `ARROW:schema` value.
    arrow_schema: String,
}

impl Table {
    pub(super) fn new(schema: &Schema) -> Result<Table> {
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
        let root = Type::group_type_builder("root")
            .with_fields(fields)
            .build()?;
        Ok(Table {
            schema: schema.clone(),
            descr: Arc::new(SchemaDescriptor::new(Arc::new(root))),
            properties: Arc::new(properties.build()),
            arrow_schema: polars_arrow_schema(schema)?,
        })
    }

    /// The file's key-value metadata: `metadata`, then the Arrow schema.
    fn key_value(&self, metadata: &[(String, String)]) -> Vec<KeyValue> {
        metadata
            .iter()
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
            .chain([KeyValue::new(
                ARROW_SCHEMA_KEY.to_string(),
                self.arrow_schema.clone(),
            )])
            .collect()
    }

    pub(super) fn writer<W: Write + Send>(self, sink: W) -> Result<Writer<W>> {
        let mut sink = TrackedWrite::new(sink);
        sink.write_all(MAGIC)?;
        Ok(Writer {
            table: self,
            sink,
            groups: Vec::new(),
            num_rows: 0,
        })
    }

    /// The file metadata of a table of `num_rows` rows (row groups apart).
    fn file_metadata(&self, num_rows: i64, key_value: Option<Vec<KeyValue>>) -> FileMetaData {
        FileMetaData::new(
            self.properties.writer_version().as_num(),
            num_rows,
            Some(self.properties.created_by().to_string()),
            key_value,
            self.descr.clone(),
            None,
        )
    }

    /// The footer (file metadata, its length, the magic) of `row_groups`, as the `parquet`
    /// crate writes it.
    fn footer(
        &self,
        num_rows: i64,
        key_value: Option<Vec<KeyValue>>,
        row_groups: Vec<RowGroupMetaData>,
    ) -> Result<Vec<u8>> {
        let metadata = ParquetMetaData::new(self.file_metadata(num_rows, key_value), row_groups);
        let mut footer = Vec::new();
        ParquetMetaDataWriter::new(&mut footer, &metadata)
            .with_write_path_in_schema(self.properties.write_path_in_schema())
            .with_preserve_page_index_locations(false)
            .finish()?;
        Ok(footer)
    }
}

/// Writes a table row group by row group, keeping each row group's footer entry as bytes.
pub(super) struct Writer<W: Write> {
    table: Table,
    sink: TrackedWrite<W>,
    groups: Vec<GroupEntry>,
    num_rows: i64,
}

/// A row group's entry in the footer (a Thrift `RowGroup` struct, compact protocol), kept
/// zstd-compressed until the footer is written, and where in it its optional `ordinal`
/// field is. Most of an entry repeats from column to column (names, types, encodings,
/// offsets' leading bytes): a table of ~560 columns has entries of about 56 KB that
/// compress to a quarter or less, and the entries are what grows with the number of rows.
struct GroupEntry {
    compressed: Box<[u8]>,
    len: usize,
    ordinal: Option<Range<usize>>,
}

/// zstd level of [`GroupEntry`]: the fastest; higher levels compress these little more.
const ENTRY_ZSTD_LEVEL: i32 = 1;

impl GroupEntry {
    fn new(entry: &[u8], ordinal: Option<Range<usize>>) -> Result<GroupEntry> {
        Ok(GroupEntry {
            compressed: zstd::bulk::compress(entry, ENTRY_ZSTD_LEVEL)?.into_boxed_slice(),
            len: entry.len(),
            ordinal,
        })
    }

    /// The entry's bytes, in `buf`.
    fn bytes<'a>(&self, buf: &'a mut Vec<u8>) -> Result<&'a [u8]> {
        buf.resize(self.len, 0);
        let n = zstd::bulk::decompress_to_buffer(&self.compressed, buf)?;
        ensure!(
            n == self.len,
            "a footer entry decompressed to {n} bytes, not {}",
            self.len
        );
        Ok(buf)
    }
}

impl<W: Write + Send> Writer<W> {
    pub(super) fn schema(&self) -> &Schema {
        &self.table.schema
    }

    /// Writes one row group of `n_rows` rows, the columns of the table's schema (in any
    /// number of chunks) made by `column(i)` one at a time.
    pub(super) fn write_row_group(
        &mut self,
        n_rows: usize,
        column: &mut dyn FnMut(usize) -> Result<Column>,
    ) -> Result<()> {
        let table = &self.table;
        let mut group = SerializedRowGroupWriter::new(
            table.descr.clone(),
            table.properties.clone(),
            &mut self.sink,
            i32::try_from(self.groups.len())?,
            None,
        );
        write_columns(&mut group, &table.schema, n_rows, column)?;
        let metadata = Arc::unwrap_or_clone(group.close()?);
        self.num_rows += metadata.num_rows();
        // The entry as the crate writes it in a footer of this one row group.
        let footer = table.footer(metadata.num_rows(), None, vec![metadata])?;
        let thrift = &footer[..footer.len() - 8];
        let elements = thrift::row_groups(thrift)?;
        ensure!(
            elements.len() == 1,
            "a footer of one row group has {} entries",
            elements.len()
        );
        let entry = &thrift[elements[0].clone()];
        let ordinal = thrift::fields(entry)?
            .into_iter()
            .find(|f| f.id == 7)
            .map(|f| f.header.start..f.value.end);
        self.groups.push(GroupEntry::new(entry, ordinal)?);
        Ok(())
    }

    /// Writes the footer: the row groups' entries and the key-value `metadata` (and the
    /// Arrow schema). Returns the sink, flushed.
    pub(super) fn close(mut self, metadata: &[(String, String)]) -> Result<W> {
        let table = &self.table;
        let footer = table.footer(self.num_rows, Some(table.key_value(metadata)), Vec::new())?;
        let (thrift, tail) = footer.split_at(footer.len() - 8);
        ensure!(&tail[4..] == MAGIC, "the footer does not end in the magic");
        // The crate counts the rows of the row groups it is given (none): the number of
        // rows (field 3 of `FileMetaData`) and the row groups (field 4) are put in.
        let fields = thrift::fields(thrift)?;
        let field = |id, kind| {
            fields
                .iter()
                .find(|f| f.id == id && f.kind == kind)
                .with_context(|| format!("no field {id} in the file metadata"))
        };
        let (rows, groups) = (field(3, thrift::I64)?, field(4, thrift::LIST)?);
        ensure!(
            rows.value.end <= groups.header.start
                && thrift[groups.value.clone()] == [thrift::STRUCT],
            "unexpected file metadata of no row groups"
        );
        // As the crate does, ordinals only when every row group's fits in an i16.
        let ordinals = i16::try_from(self.groups.len()).is_ok();
        let mut value = Vec::new();
        thrift::zigzag_varint(&mut value, self.num_rows);
        let start = self.sink.bytes_written();
        self.sink.write_all(&thrift[..rows.value.start])?;
        self.sink.write_all(&value)?;
        self.sink
            .write_all(&thrift[rows.value.end..groups.value.start])?;
        value.clear();
        thrift::list_header(&mut value, self.groups.len(), thrift::STRUCT);
        self.sink.write_all(&value)?;
        let mut buf = Vec::new();
        for group in &self.groups {
            let bytes = group.bytes(&mut buf)?;
            match group.ordinal.as_ref().filter(|_| !ordinals) {
                None => self.sink.write_all(bytes)?,
                Some(field) => {
                    self.sink.write_all(&bytes[..field.start])?;
                    self.sink.write_all(&bytes[field.end..])?;
                }
            }
        }
        self.sink.write_all(&thrift[groups.value.end..])?;
        let length = u32::try_from(self.sink.bytes_written() - start)?;
        self.sink.write_all(&length.to_le_bytes())?;
        self.sink.write_all(MAGIC)?;
        Ok(self.sink.into_inner()?)
    }
}

/// Writes a row group's columns, `column(i)` for each column of `schema` in turn, each
/// `n_rows` long.
fn write_columns<W: Write + Send>(
    group: &mut SerializedRowGroupWriter<'_, W>,
    schema: &Schema,
    n_rows: usize,
    column: &mut dyn FnMut(usize) -> Result<Column>,
) -> Result<()> {
    for (i, (name, dtype)) in schema.iter().enumerate() {
        let column = column(i)?;
        ensure!(
            column.name() == name && column.dtype() == dtype && column.len() == n_rows,
            "a row group's columns differ from the table's"
        );
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
    Ok(())
}

/// The bytes the `parquet` crate's own file writer makes of `batches` (one row group each)
/// with [`Table`]'s settings and `metadata`: what [`Writer`] must write.
#[cfg(test)]
pub(super) fn reference_bytes(
    schema: &Schema,
    metadata: &[(String, String)],
    batches: &[&DataFrame],
) -> Result<Vec<u8>> {
    let table = Table::new(schema)?;
    let mut bytes = Vec::new();
    let mut writer = parquet::file::writer::SerializedFileWriter::new(
        &mut bytes,
        table.descr.root_schema_ptr(),
        table.properties.clone(),
    )?;
    for df in batches {
        let mut group = writer.next_row_group()?;
        write_columns(&mut group, schema, df.height(), &mut |i| {
            Ok(df.columns()[i].clone())
        })?;
        group.close()?;
    }
    for kv in table.key_value(metadata) {
        writer.append_key_value_metadata(kv);
    }
    writer.close()?;
    Ok(bytes)
}

/// Definition levels of a nullable column: 1 for a value, 0 for a null.
fn levels(valid: impl Iterator<Item = bool>) -> Vec<i16> {
    valid.map(i16::from).collect()
}

/// Writes a numeric column chunk by chunk, without copying a chunk that has no nulls.
fn write_numbers<T, P>(out: &mut ColumnWriterImpl<'_, T>, values: &ChunkedArray<P>) -> Result<()>
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
