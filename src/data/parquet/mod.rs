//! Parquet via polars: the format people open in pandas (`pd.read_parquet`) and DuckDB
//! (`SELECT * FROM 'data/features.parquet'`).
//!
//! The files: `write.rs` (whole tables, and tables written batch by batch: [`write_batched`],
//! [`BatchedWriter`]), `batched.rs` (the row-group writer behind them, on the `parquet` crate),
//! `thrift.rs` (the little of Thrift's compact protocol that writer needs to edit a footer), and
//! `read.rs`.

mod batched;
mod read;
mod thrift;
mod write;

pub use self::read::{read, read_columns, read_serial, read_with_metadata};
pub use self::write::{write, write_batched, write_with_metadata, BatchedWriter};
