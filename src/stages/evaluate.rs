//! evaluate: from `predictions.parquet`, per protocol and model a classification report and a
//! confusion matrix (CSV and SVG) over the pooled test predictions of all its folds, and
//! `reports/metrics.csv` with one row per protocol/model/fold plus a `mean` row per
//! protocol/model, each with the acceptance criteria's pass/fail. Test recordings judged as lone
//! clips (`normalisation` = `lone` in `predictions.parquet`) get rows, reports and confusion
//! matrices of their own (`reports/<protocol>/<model>/lone/`).

use std::borrow::Cow;
use std::collections::BTreeMap;

use anyhow::{anyhow, Context, Result};

use super::{Paths, Settings};
use crate::data::{self, parquet};
use crate::metrics::{self, Criteria, Report};
use crate::report;

/// Header of `reports/metrics.csv`.
pub const METRICS_HEADER: &[&str] = &[
    "protocol",
    "model",
    "fold",
    "n_test",
    "accuracy",
    "accuracy_std",
    "macro_f1",
    "weighted_f1",
    "min_recall",
    "weakest_class",
    "accuracy_pass",
    "macro_f1_pass",
    "recall_pass",
    "all_pass",
    "classes",
    "normalisation",
];

#[derive(Clone)]
struct Group {
    y_true: Vec<usize>,
    y_pred: Vec<usize>,
}

pub fn run(paths: &Paths, settings: &Settings) -> Result<()> {
    let criteria = &settings.config.evaluate;
    let df = parquet::read(&paths.predictions())?;
    let labels: Vec<String> = df
        .get_column_names()
        .iter()
        .filter_map(|c| c.strip_prefix("prob_").map(str::to_string))
        .collect();
    if labels.is_empty() {
        return Err(anyhow!(
            "{} has no prob_* columns; rerun the train stage",
            paths.predictions().display()
        ));
    }
    let text = |name: &str| -> Result<Vec<String>> {
        Ok(df
            .column(name)
            .with_context(|| format!("predictions.parquet: missing column {name}"))?
            .str()?
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect())
    };
    let (protocol, model, fold) = (text("protocol")?, text("model")?, text("fold")?);
    // Tables written before the column existed judged every recording one way.
    let normalisation = if df.column("normalisation").is_ok() {
        text("normalisation")?
    } else {
        let own = if settings.config.train.speaker_normalization {
            "speaker"
        } else {
            "none"
        };
        vec![own.to_string(); df.height()]
    };
    let (truth, predicted) = (text("true")?, text("predicted")?);
    let id = |l: &str| {
        labels
            .iter()
            .position(|x| x == l)
            .ok_or_else(|| anyhow!("predictions.parquet: label {l:?} has no prob_ column"))
    };
    // (protocol, model, normalisation, fold) -> the fold's test recordings.
    let mut groups: BTreeMap<(String, String, String, String), Group> = BTreeMap::new();
    for i in 0..df.height() {
        let g = groups
            .entry((
                protocol[i].clone(),
                model[i].clone(),
                normalisation[i].clone(),
                fold[i].clone(),
            ))
            .or_insert(Group {
                y_true: Vec::new(),
                y_pred: Vec::new(),
            });
        g.y_true.push(id(&truth[i])?);
        g.y_pred.push(id(&predicted[i])?);
    }
    let all_classes = crate::stages::train::classes_note(&settings.config);

    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut pooled: BTreeMap<(String, String, String), Group> = BTreeMap::new();
    let mut per_fold: BTreeMap<(String, String, String), Vec<Report>> = BTreeMap::new();
    let mut notes: BTreeMap<(String, String, String), String> = BTreeMap::new();
    for ((p, m, n, f), g) in &groups {
        // A cross-corpus split is judged on the classes both sides share (its test rows and
        // predictions hold no other), not on every class of the run.
        let (g, shown, classes) = if is_cross_corpus(p) {
            let (g, shown) = restrict(g, &labels);
            let note = format!("shared: {}", shown.join(" "));
            (Cow::Owned(g), Cow::Owned(shown), note)
        } else {
            (
                Cow::Borrowed(g),
                Cow::Borrowed(&labels[..]),
                all_classes.clone(),
            )
        };
        let g = &*g;
        let r = metrics::classification_report(&g.y_true, &g.y_pred, &shown);
        rows.push(metrics_row(p, m, f, &r, criteria, &classes, n));
        let key = (p.clone(), m.clone(), n.clone());
        notes.insert(key.clone(), classes);
        let pool = pooled.entry(key.clone()).or_insert(Group {
            y_true: Vec::new(),
            y_pred: Vec::new(),
        });
        // Pooled by label id of the run's labels.
        let back = |c: &usize| {
            labels
                .iter()
                .position(|l| *l == shown[*c])
                .expect("a label")
        };
        pool.y_true.extend(g.y_true.iter().map(back));
        pool.y_pred.extend(g.y_pred.iter().map(back));
        per_fold.entry(key).or_default().push(r);
    }
    for ((p, m, norm), reports) in &per_fold {
        let n = reports.len() as f64;
        let mean = |f: fn(&Report) -> f64| reports.iter().map(f).sum::<f64>() / n;
        let acc = mean(|r| r.accuracy);
        let std = (reports
            .iter()
            .map(|r| (r.accuracy - acc).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        let macro_f1 = mean(Report::macro_f1);
        let weighted_f1 = mean(Report::weighted_f1);
        // Every class's recall, averaged over the folds that judge it; the criterion applies to
        // the weakest.
        let recalls: Vec<(usize, f64)> = labels
            .iter()
            .enumerate()
            .filter_map(|(c, label)| {
                let of: Vec<f64> = reports
                    .iter()
                    .filter_map(|r| r.classes.iter().find(|k| k.label == *label))
                    .map(|k| k.recall)
                    .collect();
                (!of.is_empty()).then(|| (c, of.iter().sum::<f64>() / of.len() as f64))
            })
            .collect();
        let (weakest, min_recall) =
            recalls.iter().fold(
                (0, f64::INFINITY),
                |b, &(c, v)| if v < b.1 { (c, v) } else { b },
            );
        let acc_pass = acc > criteria.min_accuracy;
        let f1_pass = macro_f1 > criteria.min_macro_f1;
        let rec_pass = min_recall > criteria.min_class_recall;
        rows.push(vec![
            p.clone(),
            m.clone(),
            "mean".into(),
            reports
                .iter()
                .map(|r| r.n_samples())
                .sum::<u64>()
                .to_string(),
            fmt(acc),
            fmt(std),
            fmt(macro_f1),
            fmt(weighted_f1),
            fmt(min_recall),
            labels[weakest].clone(),
            acc_pass.to_string(),
            f1_pass.to_string(),
            rec_pass.to_string(),
            (acc_pass && f1_pass && rec_pass).to_string(),
            notes[&(p.clone(), m.clone(), norm.clone())].clone(),
            norm.clone(),
        ]);
    }
    // By protocol, model and fold; a fold's lone-clip row after its other row.
    rows.sort_by(|a, b| {
        let key = |r: &Vec<String>| (r[0].clone(), r[1].clone(), r[2].clone(), r[15] == "lone");
        key(a).cmp(&key(b))
    });
    let metrics_path = paths.reports_dir.join("metrics.csv");
    data::csv::write(&metrics_path, METRICS_HEADER, &rows)?;

    for ((p, m, n), g) in &pooled {
        let dir = match n.as_str() {
            "lone" => paths.reports_dir.join(p).join(m).join("lone"),
            _ => paths.reports_dir.join(p).join(m),
        };
        let judged = if n == "lone" { ", as lone clips" } else { "" };
        let (g, labels) = if is_cross_corpus(p) {
            let (g, shown) = restrict(g, &labels);
            (Cow::Owned(g), Cow::Owned(shown))
        } else {
            (Cow::Borrowed(g), Cow::Borrowed(&labels[..]))
        };
        let g = &*g;
        let r = metrics::classification_report(&g.y_true, &g.y_pred, &labels);
        let cm = metrics::confusion_matrix(&g.y_true, &g.y_pred, labels.len());
        report::classification_report_csv(&dir.join("classification_report.csv"), &r)?;
        report::confusion_csv(&dir.join("confusion_matrix.csv"), &cm, &labels)?;
        report::confusion_svg(
            &dir.join("confusion_matrix.svg"),
            &cm,
            &labels,
            &format!(
                "{m}, {p}{judged} (all folds pooled): accuracy {:.3}, macro F1 {:.3}",
                r.accuracy,
                r.macro_f1()
            ),
        )?;
    }
    for row in rows.iter().filter(|r| r[2] == "mean") {
        log::info!(
            "evaluate: {:<14} {:<20} accuracy {} (sd {}), macro F1 {}, min recall {} ({}), criteria {}",
            row[0],
            if row[15] == "lone" {
                format!("{} (lone clips)", row[1])
            } else {
                row[1].clone()
            },
            row[4],
            row[5],
            row[6],
            row[8],
            row[9],
            if row[13] == "true" { "pass" } else { "fail" }
        );
    }
    log::info!("evaluate: wrote {}", metrics_path.display());
    Ok(())
}

/// The protocols that train on some corpora and test on others.
fn is_cross_corpus(protocol: &str) -> bool {
    matches!(protocol, "leave_one_corpus_out" | "cross_corpus")
}

/// The group with its labels restricted to those that occur in it (true or predicted), in the
/// run's order, and the ids renumbered.
fn restrict(g: &Group, labels: &[String]) -> (Group, Vec<String>) {
    let present: std::collections::BTreeSet<usize> =
        g.y_true.iter().chain(&g.y_pred).copied().collect();
    let ids: Vec<usize> = present.into_iter().collect();
    let new = |c: &usize| ids.binary_search(c).expect("present");
    (
        Group {
            y_true: g.y_true.iter().map(new).collect(),
            y_pred: g.y_pred.iter().map(new).collect(),
        },
        ids.iter().map(|&c| labels[c].clone()).collect(),
    )
}

fn fmt(v: f64) -> String {
    format!("{v:.4}")
}

fn metrics_row(
    protocol: &str,
    model: &str,
    fold: &str,
    r: &Report,
    criteria: &Criteria,
    classes: &str,
    normalisation: &str,
) -> Vec<String> {
    let pass = criteria.evaluate(r);
    vec![
        protocol.into(),
        model.into(),
        fold.into(),
        r.n_samples().to_string(),
        fmt(r.accuracy),
        String::new(), // accuracy_std: on mean rows only
        fmt(r.macro_f1()),
        fmt(r.weighted_f1()),
        fmt(r.min_recall()),
        r.weakest_class()
            .map(|c| c.label.clone())
            .unwrap_or_default(),
        pass.accuracy_pass.to_string(),
        pass.macro_f1_pass.to_string(),
        pass.recall_pass.to_string(),
        pass.all_pass.to_string(),
        classes.into(),
        normalisation.into(),
    ]
}
