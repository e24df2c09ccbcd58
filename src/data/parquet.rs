//! Parquet via polars: the format people open in pandas (`pd.read_parquet`) and DuckDB
//! (`SELECT * FROM 'data/features.parquet'`).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use anyhow::{ensure, Context, Result};
use polars::prelude::{
    Column, DataFrame, KeyValueMetadata, ParallelStrategy, ParquetCompression, ParquetReader,
    ParquetWriter, Schema, SerReader,
};

/// Writes `df` to `path` atomically, zstd-compressed, with statistics, on the calling thread:
/// polars' parallel writer encodes columns on its own thread pool, and each of those threads
/// keeps what it touched resident (its own malloc arena) for the rest of the process; the
/// manifest over 10x the corpus left about 2 MB there through extract. The tables written
/// here (manifest, predictions, splits, augmented rows) are small: `run --stage all --force`
/// took the same time either way and wrote the same bytes.
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
            .set_parallel(false)
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
    file: super::AtomicFile,
}

impl BatchedWriter {
    pub fn create(path: &Path, schema: &Schema) -> Result<BatchedWriter> {
        let table = batched::Table::new(schema)?;
        let mut file = super::AtomicFile::create(path)?;
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

/// [`write_batched`]'s writer: polars frames to `parquet` crate row groups.
mod batched {
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
            let metadata =
                ParquetMetaData::new(self.file_metadata(num_rows, key_value), row_groups);
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
            let footer =
                table.footer(self.num_rows, Some(table.key_value(metadata)), Vec::new())?;
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

    /// Just enough of Thrift's compact protocol to find fields in Parquet's file metadata and
    /// skip over values.
    mod thrift {
        use std::ops::Range;

        use anyhow::{bail, Context, Result};

        /// The compact protocol's type of a struct.
        pub(super) const STRUCT: u8 = 12;

        /// The compact protocol's types of an i64 and a list.
        pub(super) const I64: u8 = 6;
        pub(super) const LIST: u8 = 9;

        /// A field of a struct: its id and type, and where its header and value are.
        pub(super) struct Field {
            pub id: i16,
            pub kind: u8,
            pub header: Range<usize>,
            pub value: Range<usize>,
        }

        /// The fields of `thrift` (a struct).
        pub(super) fn fields(thrift: &[u8]) -> Result<Vec<Field>> {
            let mut r = Reader {
                bytes: thrift,
                at: 0,
            };
            let mut last = 0;
            let mut fields = Vec::new();
            loop {
                let start = r.at;
                let Some((id, kind)) = r.field_header(&mut last)? else {
                    return Ok(fields);
                };
                let value = r.at;
                r.skip(kind)?;
                fields.push(Field {
                    id,
                    kind,
                    header: start..value,
                    value: value..r.at,
                });
            }
        }

        /// Where each row group (the elements of field 4, a list) is in `thrift` (a
        /// `FileMetaData`).
        pub(super) fn row_groups(thrift: &[u8]) -> Result<Vec<Range<usize>>> {
            let list = fields(thrift)?
                .into_iter()
                .find(|f| f.id == 4 && f.kind == LIST)
                .context("no row groups in the file metadata")?;
            let mut r = Reader {
                bytes: &thrift[..list.value.end],
                at: list.value.start,
            };
            let (n, element) = r.list_header()?;
            if n > 0 && element != STRUCT {
                bail!("the file metadata's row groups are not structs");
            }
            let mut elements = Vec::with_capacity(n);
            for _ in 0..n {
                let at = r.at;
                r.skip(STRUCT)?;
                elements.push(at..r.at);
            }
            Ok(elements)
        }

        /// Appends an i64 as the compact protocol writes it.
        pub(super) fn zigzag_varint(out: &mut Vec<u8>, value: i64) {
            varint(out, ((value << 1) ^ (value >> 63)) as u64);
        }

        fn varint(out: &mut Vec<u8>, mut n: u64) {
            while n >= 0x80 {
                out.push(n as u8 | 0x80);
                n >>= 7;
            }
            out.push(n as u8);
        }

        /// Appends a list header: `n` elements of type `element`.
        pub(super) fn list_header(out: &mut Vec<u8>, n: usize, element: u8) {
            if n < 15 {
                out.push((n as u8) << 4 | element);
            } else {
                out.push(0xf0 | element);
                varint(out, n as u64);
            }
        }

        struct Reader<'a> {
            bytes: &'a [u8],
            at: usize,
        }

        impl Reader<'_> {
            fn byte(&mut self) -> Result<u8> {
                let b = *self.bytes.get(self.at).context("truncated Thrift")?;
                self.at += 1;
                Ok(b)
            }

            fn advance(&mut self, n: usize) -> Result<()> {
                self.at = self.at.checked_add(n).context("truncated Thrift")?;
                if self.at > self.bytes.len() {
                    bail!("truncated Thrift");
                }
                Ok(())
            }

            fn varint(&mut self) -> Result<u64> {
                let mut value = 0u64;
                for shift in (0..64).step_by(7) {
                    let b = self.byte()?;
                    value |= u64::from(b & 0x7f) << shift;
                    if b & 0x80 == 0 {
                        return Ok(value);
                    }
                }
                bail!("overlong Thrift varint")
            }

            /// A field's id and type, or None at the end of the struct.
            fn field_header(&mut self, last: &mut i16) -> Result<Option<(i16, u8)>> {
                let b = self.byte()?;
                if b == 0 {
                    return Ok(None);
                }
                let delta = i16::from(b >> 4);
                *last = if delta == 0 {
                    let v = self.varint()?;
                    i16::try_from((v >> 1) as i64 ^ -((v & 1) as i64))?
                } else {
                    *last + delta
                };
                Ok(Some((*last, b & 0x0f)))
            }

            fn list_header(&mut self) -> Result<(usize, u8)> {
                let b = self.byte()?;
                let n = match b >> 4 {
                    15 => usize::try_from(self.varint()?)?,
                    n => usize::from(n),
                };
                Ok((n, b & 0x0f))
            }

            /// Skips a field's value of type `kind` (a boolean's is in its header).
            fn skip(&mut self, kind: u8) -> Result<()> {
                self.skip_value(kind, false)
            }

            fn skip_value(&mut self, kind: u8, element: bool) -> Result<()> {
                match kind {
                    1 | 2 => {
                        if element {
                            self.advance(1)?;
                        }
                    }
                    3 => self.advance(1)?,
                    4..=6 => {
                        self.varint()?;
                    }
                    7 => self.advance(8)?,
                    8 => {
                        let n = usize::try_from(self.varint()?)?;
                        self.advance(n)?;
                    }
                    9 | 10 => {
                        let (n, element) = self.list_header()?;
                        for _ in 0..n {
                            self.skip_value(element, true)?;
                        }
                    }
                    11 => {
                        let n = self.varint()?;
                        if n > 0 {
                            let kinds = self.byte()?;
                            for _ in 0..n {
                                self.skip_value(kinds >> 4, true)?;
                                self.skip_value(kinds & 0x0f, true)?;
                            }
                        }
                    }
                    STRUCT => {
                        let mut last = 0;
                        while let Some((_, kind)) = self.field_header(&mut last)? {
                            self.skip(kind)?;
                        }
                    }
                    other => bail!("unknown Thrift type {other}"),
                }
                Ok(())
            }
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
