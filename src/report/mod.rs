//! Writing what people read: one file per output format, as hyperfine does.
//!
//! * [`csv`] — tables: the classification report (`label,precision,recall,f1,support`, laid out
//!   like scikit-learn's text report), the confusion matrix, and the training curve.
//! * [`svg`] — pictures drawn with plotters' SVG backend: the confusion matrix as a heatmap and
//!   the training curve (loss and validation accuracy per epoch).
//!
//! Every file is written atomically through [`crate::data::write_atomic`] (a temporary file
//! beside it, renamed into place), so a reader never sees half a report. Numbers come from
//! [`crate::metrics`]; nothing here computes a metric.
//!
//! A training curve is a slice of [`EpochPoint`]s, `(epoch, loss, validation_accuracy)`; from
//! the models' history that is
//! `history.iter().map(|e| (e.epoch, e.loss, e.validation_accuracy)).collect::<Vec<_>>()`.

pub mod csv;
pub mod svg;

pub use self::csv::{classification_report_csv, confusion_csv, training_curve_csv};
pub use self::svg::{confusion_svg, training_curve_svg};

/// One epoch of a training curve: `(epoch, training loss, validation accuracy if measured)`.
pub type EpochPoint = (usize, f64, Option<f64>);
