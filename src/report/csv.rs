//! CSV tables for people and spreadsheets. Numbers are written in full (Rust's shortest
//! round-trip form), so reading a table back gives the exact values.

use std::path::Path;

use anyhow::{ensure, Result};
use ndarray::Array2;

use super::EpochPoint;
use crate::metrics::{Average, Report};

/// Header of [`classification_report_csv`].
pub const REPORT_HEADER: [&str; 5] = ["label", "precision", "recall", "f1", "support"];
/// Header of [`training_curve_csv`].
pub const CURVE_HEADER: [&str; 3] = ["epoch", "loss", "validation_accuracy"];
/// First header cell of [`confusion_csv`]: the row is the true class, the column the predicted.
pub const CONFUSION_CORNER: &str = "true\\predicted";

/// Writes `report` as `label,precision,recall,f1,support`: one row per class, then `accuracy`
/// (as scikit-learn's text report: precision and recall empty, accuracy in the f1 column,
/// support the number of samples), `macro avg` and `weighted avg`.
pub fn classification_report_csv(path: &Path, report: &Report) -> Result<()> {
    let mut rows: Vec<[String; 5]> = report
        .classes
        .iter()
        .map(|c| {
            [
                c.label.clone(),
                num(c.precision),
                num(c.recall),
                num(c.f1),
                c.support.to_string(),
            ]
        })
        .collect();
    rows.push([
        "accuracy".into(),
        String::new(),
        String::new(),
        num(report.accuracy),
        report.n_samples().to_string(),
    ]);
    let avg = |name: &str, a: &Average| {
        [
            name.to_owned(),
            num(a.precision),
            num(a.recall),
            num(a.f1),
            a.support.to_string(),
        ]
    };
    rows.push(avg("macro avg", &report.macro_avg));
    rows.push(avg("weighted avg", &report.weighted_avg));
    crate::data::csv::write(path, &REPORT_HEADER, rows)
}

/// Writes a confusion matrix (rows true, columns predicted) as header
/// `true\predicted,<labels...>` and one row per true class: its label, then its counts.
pub fn confusion_csv(path: &Path, cm: &Array2<u64>, labels: &[String]) -> Result<()> {
    let k = labels.len();
    ensure!(
        cm.dim() == (k, k),
        "confusion matrix is {}x{} but there are {k} labels",
        cm.nrows(),
        cm.ncols()
    );
    let mut header = vec![CONFUSION_CORNER];
    header.extend(labels.iter().map(String::as_str));
    let rows = labels.iter().zip(cm.rows()).map(|(label, row)| {
        std::iter::once(label.clone())
            .chain(row.iter().map(u64::to_string))
            .collect::<Vec<_>>()
    });
    crate::data::csv::write(path, &header, rows)
}

/// Writes a training curve as `epoch,loss,validation_accuracy`, the last empty for epochs
/// without a validation score.
pub fn training_curve_csv(path: &Path, epochs: &[EpochPoint]) -> Result<()> {
    let rows = epochs.iter().map(|&(epoch, loss, val)| {
        [
            epoch.to_string(),
            num(loss),
            val.map(num).unwrap_or_default(),
        ]
    });
    crate::data::csv::write(path, &CURVE_HEADER, rows)
}

fn num(x: f64) -> String {
    x.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{classification_report, confusion_matrix};

    fn labels() -> Vec<String> {
        ["neutral", "calm, quiet", "happy"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn read(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
        let mut r = ::csv::Reader::from_path(path).unwrap();
        let header = r.headers().unwrap().iter().map(str::to_owned).collect();
        let rows = r
            .records()
            .map(|rec| rec.unwrap().iter().map(str::to_owned).collect())
            .collect();
        (header, rows)
    }

    fn only_files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn report_csv_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.csv");
        let (t, p) = ([0, 1, 1, 2, 2, 2], [0, 1, 0, 2, 2, 1]);
        let report = classification_report(&t, &p, &labels());
        classification_report_csv(&path, &report).unwrap();

        let (header, rows) = read(&path);
        assert_eq!(header, REPORT_HEADER);
        assert_eq!(rows.len(), 3 + 3);
        // The label with a comma survives quoting.
        assert_eq!(rows[1][0], "calm, quiet");
        for (row, c) in rows.iter().zip(&report.classes) {
            assert_eq!(row[0], c.label);
            assert_eq!(row[1].parse::<f64>().unwrap(), c.precision);
            assert_eq!(row[2].parse::<f64>().unwrap(), c.recall);
            assert_eq!(row[3].parse::<f64>().unwrap(), c.f1);
            assert_eq!(row[4].parse::<u64>().unwrap(), c.support);
        }
        assert_eq!(rows[3][..3], ["accuracy", "", ""]);
        assert_eq!(rows[3][3].parse::<f64>().unwrap(), report.accuracy);
        assert_eq!(rows[3][4], "6");
        assert_eq!(rows[4][0], "macro avg");
        assert_eq!(rows[4][3].parse::<f64>().unwrap(), report.macro_f1());
        assert_eq!(rows[5][0], "weighted avg");
        assert_eq!(
            rows[5][1].parse::<f64>().unwrap(),
            report.weighted_avg.precision
        );
        assert_eq!(rows[5][4], "6");
        assert_eq!(only_files(dir.path()), ["report.csv"]);
    }

    #[test]
    fn confusion_csv_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/confusion.csv");
        let cm = confusion_matrix(&[0, 1, 1, 2, 2, 2], &[0, 1, 0, 2, 2, 1], 3);
        confusion_csv(&path, &cm, &labels()).unwrap();
        let (header, rows) = read(&path);
        assert_eq!(
            header,
            ["true\\predicted", "neutral", "calm, quiet", "happy"]
        );
        assert_eq!(
            rows,
            [
                ["neutral", "1", "0", "0"],
                ["calm, quiet", "1", "1", "0"],
                ["happy", "0", "1", "2"],
            ]
        );
        assert_eq!(only_files(&dir.path().join("sub")), ["confusion.csv"]);
    }

    #[test]
    fn confusion_csv_rejects_mismatched_labels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.csv");
        let cm = Array2::<u64>::zeros((2, 2));
        assert!(confusion_csv(&path, &cm, &labels()).is_err());
        assert!(!path.exists());
    }

    #[test]
    fn training_curve_csv_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curve.csv");
        let epochs = [
            (1, 2.25, None),
            (2, 1.5, Some(0.5)),
            (3, 0.1 + 0.2, Some(0.75)),
        ];
        training_curve_csv(&path, &epochs).unwrap();
        let (header, rows) = read(&path);
        assert_eq!(header, CURVE_HEADER);
        assert_eq!(rows[0], ["1", "2.25", ""]);
        assert_eq!(rows[1], ["2", "1.5", "0.5"]);
        assert_eq!(rows[2][1].parse::<f64>().unwrap(), 0.1 + 0.2);
        assert_eq!(only_files(dir.path()), ["curve.csv"]);

        let empty = dir.path().join("empty.csv");
        training_curve_csv(&empty, &[]).unwrap();
        assert_eq!(
            read(&empty),
            (CURVE_HEADER.map(String::from).to_vec(), vec![])
        );
    }
}
