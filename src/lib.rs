//! ser-pipeline: a batch pipeline for speech emotion recognition on RAVDESS.
//!
//! The numeric core (`features`) knows nothing of files or the CLI; `audio` is the decoding
//! edge; `data` and `tables` are the Parquet/CSV boundary; `stages` orchestrates them;
//! `download` fetches the corpus itself.
//!
//! `config` gathers the modules' own parameter types into `pipeline.toml`'s sections, and the
//! stages take it. `models` holds the classifiers and a saved model's card, saving and loading,
//! shared by the train stage, `predict` and `serve`. Only `stages`, `main.rs` and `cli.rs` use a
//! stage, and no modules import each other in a circle (`tests/architecture.rs` checks both).

pub mod audio;
pub mod augment;
pub mod cli;
pub mod config;
pub mod corpus;
pub mod data;
pub mod download;
pub mod features;
pub mod lock;
pub mod metrics;
pub mod models;
pub mod predict;
pub mod preprocess;
pub mod progress;
pub mod report;
pub mod serve;
pub mod split;
pub mod stages;
pub mod tables;
