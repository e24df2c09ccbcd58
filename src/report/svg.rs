//! Pictures drawn with plotters' SVG backend: the confusion matrix as a heatmap and the training
//! curve. Each is rendered to a string first and then written atomically.
//!
//! The crate builds plotters without a font engine, so text widths are estimates; layouts here
//! leave room from the label lengths rather than trusting measured text.

use std::path::Path;

use anyhow::{anyhow, ensure, Result};
use ndarray::Array2;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::EpochPoint;

const FONT: &str = "sans-serif";
const INK: RGBColor = RGBColor(33, 33, 33);
const MUTED: RGBColor = RGBColor(110, 110, 110);
const LOSS_COLOUR: RGBColor = RGBColor(31, 119, 180);
const ACCURACY_COLOUR: RGBColor = RGBColor(214, 95, 14);

/// plotters' SVG backend writes `font-size = size / 1.24`; this gives a size in pixels.
fn px(size: f64) -> f64 {
    size * 1.24
}

fn text_style(size: f64, colour: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    styled((FONT, px(size)).into_font(), colour, h, v)
}

fn styled(font: FontDesc<'static>, colour: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    TextStyle {
        font,
        color: colour.to_backend_color(),
        pos: Pos::new(h, v),
    }
}

/// A rough width in pixels of `text` at `size` px (sans-serif averages about 0.6 em).
fn text_width(text: &str, size: f64) -> i32 {
    (text.chars().count() as f64 * size * 0.6).ceil() as i32
}

fn drawing_error<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing failed: {e:?}")
}

/// Renders with `draw` onto a `width` x `height` SVG and writes it to `path` atomically.
fn render(
    path: &Path,
    (width, height): (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<()>,
) -> Result<()> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(drawing_error)?;
        draw(&root)?;
        root.present().map_err(drawing_error)?;
    }
    crate::data::write_text_atomic(path, &svg)
}

/// matplotlib's "Blues" colour map, linearly interpolated between five of its stops.
fn blues(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 5] = [
        (247, 251, 255),
        (198, 219, 239),
        (107, 174, 214),
        (33, 113, 181),
        (8, 48, 107),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Draws a confusion matrix (rows true, columns predicted) as a heatmap: each cell is coloured
/// by its share of the true class (row-normalised, so every class reads on the same scale
/// whatever its support), and shows its count and that share. Row supports are written at the
/// right, with a colour bar.
pub fn confusion_svg(path: &Path, cm: &Array2<u64>, labels: &[String], title: &str) -> Result<()> {
    let k = labels.len();
    ensure!(k > 0, "no labels to draw a confusion matrix for");
    ensure!(
        cm.dim() == (k, k),
        "confusion matrix is {}x{} but there are {k} labels",
        cm.nrows(),
        cm.ncols()
    );

    // Layout, in pixels.
    let label_px = 13.0;
    let cell = (560 / k as i32).clamp(34, 76);
    let longest = labels
        .iter()
        .map(|l| text_width(l, label_px))
        .max()
        .unwrap_or(0);
    let vertical_columns = longest > cell - 6;
    let margin = 16;
    let axis_title = 24; // room for "true" / "predicted"
    let row_labels = longest + 12;
    let grid_left = margin + axis_title + row_labels;
    let grid_top = margin + 40; // title
    let grid = cell * k as i32;
    let column_labels = if vertical_columns { longest + 12 } else { 24 };
    let support_width = text_width("n = 00000", 12.0) + 14;
    let bar_left = grid_left + grid + support_width;
    let bar_width = 16;
    let bar_labels = text_width("100%", 12.0) + 10;
    let bar_title = 22;
    let width = (bar_left + bar_width + bar_labels + bar_title + margin)
        .max(text_width(title, 17.0) + 2 * margin);
    let height = grid_top + grid + column_labels + axis_title + margin;

    render(path, (width as u32, height as u32), |root| {
        let draw_text = |text: &str, at: (i32, i32), style: &TextStyle| {
            root.draw(&Text::new(text.to_owned(), at, style.clone()))
                .map_err(drawing_error)
        };
        draw_text(
            title,
            (width / 2, margin + 8),
            &text_style(17.0, INK, HPos::Center, VPos::Center),
        )?;

        let count_px = if cell >= 50 { 15.0 } else { 12.0 };
        let share_px = if cell >= 50 { 11.0 } else { 9.0 };
        for (t, row) in cm.rows().into_iter().enumerate() {
            let support: u64 = row.sum();
            for (p, &count) in row.iter().enumerate() {
                let share = if support == 0 {
                    0.0
                } else {
                    count as f64 / support as f64
                };
                let x0 = grid_left + p as i32 * cell;
                let y0 = grid_top + t as i32 * cell;
                root.draw(&Rectangle::new(
                    [(x0, y0), (x0 + cell, y0 + cell)],
                    blues(share).filled(),
                ))
                .map_err(drawing_error)?;
                let ink = if share > 0.5 { WHITE } else { INK };
                let centre = (x0 + cell / 2, y0 + cell / 2);
                if cell >= 44 {
                    draw_text(
                        &count.to_string(),
                        (centre.0, centre.1 - 7),
                        &text_style(count_px, ink, HPos::Center, VPos::Center),
                    )?;
                    draw_text(
                        &format!("{:.0}%", 100.0 * share),
                        (centre.0, centre.1 + 11),
                        &text_style(share_px, ink, HPos::Center, VPos::Center),
                    )?;
                } else {
                    draw_text(
                        &count.to_string(),
                        centre,
                        &text_style(count_px, ink, HPos::Center, VPos::Center),
                    )?;
                }
            }
            // The class's support, right of its row.
            draw_text(
                &format!("n = {support}"),
                (grid_left + grid + 8, grid_top + t as i32 * cell + cell / 2),
                &text_style(12.0, MUTED, HPos::Left, VPos::Center),
            )?;
        }
        // Grid lines and a frame.
        for i in 0..=k as i32 {
            let at = i * cell;
            let line = ShapeStyle::from(&WHITE).stroke_width(1);
            root.draw(&PathElement::new(
                vec![
                    (grid_left + at, grid_top),
                    (grid_left + at, grid_top + grid),
                ],
                line,
            ))
            .map_err(drawing_error)?;
            root.draw(&PathElement::new(
                vec![
                    (grid_left, grid_top + at),
                    (grid_left + grid, grid_top + at),
                ],
                line,
            ))
            .map_err(drawing_error)?;
        }
        root.draw(&Rectangle::new(
            [(grid_left, grid_top), (grid_left + grid, grid_top + grid)],
            ShapeStyle::from(&MUTED).stroke_width(1),
        ))
        .map_err(drawing_error)?;

        // Class names: rows at the left, columns below.
        for (i, label) in labels.iter().enumerate() {
            let mid = i as i32 * cell + cell / 2;
            draw_text(
                label,
                (grid_left - 8, grid_top + mid),
                &text_style(label_px, INK, HPos::Right, VPos::Center),
            )?;
            if vertical_columns {
                // Rotated a quarter turn anticlockwise, reading upwards, ending at the grid.
                let style = TextStyle::from(
                    (FONT, px(label_px))
                        .into_font()
                        .transform(FontTransform::Rotate270),
                )
                .color(&INK)
                .pos(Pos::new(HPos::Right, VPos::Center));
                draw_text(label, (grid_left + mid, grid_top + grid + 8), &style)?;
            } else {
                draw_text(
                    label,
                    (grid_left + mid, grid_top + grid + 8),
                    &text_style(label_px, INK, HPos::Center, VPos::Top),
                )?;
            }
        }

        // Axis titles.
        let axis =
            |size| TextStyle::from((FONT, px(size)).into_font().style(FontStyle::Bold)).color(&INK);
        draw_text(
            "predicted",
            (
                grid_left + grid / 2,
                grid_top + grid + column_labels + axis_title / 2,
            ),
            &axis(14.0).pos(Pos::new(HPos::Center, VPos::Center)),
        )?;
        let rotated = TextStyle::from(
            (FONT, px(14.0))
                .into_font()
                .style(FontStyle::Bold)
                .transform(FontTransform::Rotate270),
        )
        .color(&INK)
        .pos(Pos::new(HPos::Center, VPos::Center));
        draw_text(
            "true",
            (margin + axis_title / 2, grid_top + grid / 2),
            &rotated,
        )?;

        // Colour bar: share of the true class, 0% at the bottom.
        let steps = 64;
        for s in 0..steps {
            let y1 = grid_top + grid - grid * s / steps;
            let y0 = grid_top + grid - grid * (s + 1) / steps;
            let t = (s as f64 + 0.5) / steps as f64;
            root.draw(&Rectangle::new(
                [(bar_left, y0), (bar_left + bar_width, y1)],
                blues(t).filled(),
            ))
            .map_err(drawing_error)?;
        }
        root.draw(&Rectangle::new(
            [
                (bar_left, grid_top),
                (bar_left + bar_width, grid_top + grid),
            ],
            ShapeStyle::from(&MUTED).stroke_width(1),
        ))
        .map_err(drawing_error)?;
        for (frac, tick) in [(0.0, "0%"), (0.5, "50%"), (1.0, "100%")] {
            let y = grid_top + grid - (grid as f64 * frac).round() as i32;
            root.draw(&PathElement::new(
                vec![(bar_left + bar_width, y), (bar_left + bar_width + 4, y)],
                ShapeStyle::from(&MUTED).stroke_width(1),
            ))
            .map_err(drawing_error)?;
            draw_text(
                tick,
                (bar_left + bar_width + 7, y),
                &text_style(12.0, MUTED, HPos::Left, VPos::Center),
            )?;
        }
        let bar_caption = TextStyle::from(
            (FONT, px(12.0))
                .into_font()
                .transform(FontTransform::Rotate90),
        )
        .color(&MUTED)
        .pos(Pos::new(HPos::Center, VPos::Center));
        draw_text(
            "share of the true class",
            (
                bar_left + bar_width + bar_labels + bar_title / 2,
                grid_top + grid / 2,
            ),
            &bar_caption,
        )?;
        Ok(())
    })
}

/// Draws a training curve in two panels sharing the epoch axis: the training loss above, the
/// validation accuracy (where measured, e.g. with early stopping) below. Non-finite values are
/// left out; a panel with nothing to show says so.
pub fn training_curve_svg(path: &Path, epochs: &[EpochPoint], title: &str) -> Result<()> {
    let (width, height) = (820u32, 620u32);
    let losses: Vec<(usize, f64)> = epochs
        .iter()
        .filter(|e| e.1.is_finite())
        .map(|e| (e.0, e.1))
        .collect();
    let accuracies: Vec<(usize, f64)> = epochs
        .iter()
        .filter_map(|e| e.2.filter(|a| a.is_finite()).map(|a| (e.0, a)))
        .collect();
    let first = epochs.iter().map(|e| e.0).min().unwrap_or(1);
    let last = epochs.iter().map(|e| e.0).max().unwrap_or(1).max(first + 1);
    let marks = epochs.len() <= 60;

    render(path, (width, height), |root| {
        let root = root
            .titled(title, (FONT, px(17.0)).into_font().color(&INK))
            .map_err(drawing_error)?;
        let (upper, lower) = root.split_vertically(root.dim_in_pixel().1 / 2);

        // Loss.
        if losses.is_empty() {
            empty_panel(&upper, "training loss", "no finite loss recorded")?;
        } else {
            let lo = losses.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
            let hi = losses.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
            let pad = ((hi - lo) * 0.08).max(hi.abs() * 0.02).max(1e-9);
            let bottom = if lo >= 0.0 {
                (lo - pad).max(0.0)
            } else {
                lo - pad
            };
            let mut chart = ChartBuilder::on(&upper)
                .margin(14)
                .x_label_area_size(46)
                .y_label_area_size(64)
                .build_cartesian_2d(first..last, bottom..hi + pad)
                .map_err(drawing_error)?;
            let decimals = tick_decimals(hi + pad - bottom);
            let y_fmt = move |v: &f64| format!("{v:.decimals$}");
            chart
                .configure_mesh()
                .x_desc("epoch")
                .y_desc("training loss")
                .y_label_formatter(&y_fmt)
                .label_style((FONT, px(12.0)).into_font().color(&INK))
                .axis_desc_style((FONT, px(13.0)).into_font().color(&INK))
                .max_light_lines(2)
                .light_line_style(RGBColor(244, 244, 244))
                .bold_line_style(RGBColor(220, 220, 220))
                .draw()
                .map_err(drawing_error)?;
            chart
                .draw_series(LineSeries::new(
                    losses.iter().copied(),
                    LOSS_COLOUR.stroke_width(2),
                ))
                .map_err(drawing_error)?;
            if marks {
                chart
                    .draw_series(
                        losses
                            .iter()
                            .map(|&p| Circle::new(p, 3, LOSS_COLOUR.filled())),
                    )
                    .map_err(drawing_error)?;
            }
        }

        // Validation accuracy, on a fixed 0-100% scale.
        if accuracies.is_empty() {
            empty_panel(
                &lower,
                "validation accuracy",
                "no validation accuracy recorded (early stopping off)",
            )?;
        } else {
            let mut chart = ChartBuilder::on(&lower)
                .margin(14)
                .x_label_area_size(46)
                .y_label_area_size(64)
                .build_cartesian_2d(first..last, 0.0..1.0)
                .map_err(drawing_error)?;
            let y_fmt = |v: &f64| format!("{:.0}%", 100.0 * v);
            chart
                .configure_mesh()
                .x_desc("epoch")
                .y_desc("validation accuracy")
                .y_label_formatter(&y_fmt)
                .label_style((FONT, px(12.0)).into_font().color(&INK))
                .axis_desc_style((FONT, px(13.0)).into_font().color(&INK))
                .max_light_lines(2)
                .light_line_style(RGBColor(244, 244, 244))
                .bold_line_style(RGBColor(220, 220, 220))
                .draw()
                .map_err(drawing_error)?;
            chart
                .draw_series(LineSeries::new(
                    accuracies.iter().copied(),
                    ACCURACY_COLOUR.stroke_width(2),
                ))
                .map_err(drawing_error)?;
            if marks {
                chart
                    .draw_series(
                        accuracies
                            .iter()
                            .map(|&p| Circle::new(p, 3, ACCURACY_COLOUR.filled())),
                    )
                    .map_err(drawing_error)?;
            }
            // The best epoch, labelled.
            let best = accuracies
                .iter()
                .copied()
                .reduce(|b, p| if p.1 > b.1 { p } else { b })
                .expect("not empty");
            // Labelled on the side with room: left of the point in the right half.
            let right_half = 2 * (best.0 - first) > last - first;
            let (dx, h) = if right_half {
                (-9, HPos::Right)
            } else {
                (9, HPos::Left)
            };
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at(best)
                        + Circle::new((0, 0), 5, ACCURACY_COLOUR.stroke_width(2))
                        + Text::new(
                            format!("best {:.1}% (epoch {})", 100.0 * best.1, best.0),
                            (dx, 22),
                            text_style(12.0, INK, h, VPos::Center),
                        ),
                ))
                .map_err(drawing_error)?;
        }
        Ok(())
    })
}

/// A panel with its name and a note in place of a chart.
fn empty_panel(area: &DrawingArea<SVGBackend<'_>, Shift>, name: &str, note: &str) -> Result<()> {
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    area.draw(&Rectangle::new(
        [(14, 14), (w - 14, h - 14)],
        ShapeStyle::from(&RGBColor(215, 215, 215)).stroke_width(1),
    ))
    .map_err(drawing_error)?;
    area.draw(&Text::new(
        name.to_owned(),
        (w / 2, h / 2 - 12),
        text_style(14.0, INK, HPos::Center, VPos::Center),
    ))
    .map_err(drawing_error)?;
    area.draw(&Text::new(
        note.to_owned(),
        (w / 2, h / 2 + 12),
        text_style(12.0, MUTED, HPos::Center, VPos::Center),
    ))
    .map_err(drawing_error)?;
    Ok(())
}

/// Decimals for tick labels on an axis spanning `span`: enough to tell about ten ticks apart.
fn tick_decimals(span: f64) -> usize {
    if !(span.is_finite() && span > 0.0) {
        return 2;
    }
    (-(span / 10.0).log10().floor()).clamp(0.0, 8.0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMOTIONS: [&str; 8] = [
        "neutral",
        "calm",
        "happy",
        "sad",
        "angry",
        "fearful",
        "disgust",
        "surprised",
    ];

    fn labels() -> Vec<String> {
        EMOTIONS.iter().map(|s| s.to_string()).collect()
    }

    fn sample_matrix() -> Array2<u64> {
        let k = EMOTIONS.len();
        Array2::from_shape_fn((k, k), |(t, p)| {
            if t == p {
                20 + 3 * t as u64
            } else if (t + 1) % k == p {
                4
            } else if t == 1 && p == 0 {
                7
            } else {
                (t * 7 + p * 3) as u64 % 3
            }
        })
    }

    fn sample_curve() -> Vec<EpochPoint> {
        (1..=40)
            .map(|e| {
                let x = e as f64;
                let val = (e > 1).then(|| 0.9 - 0.6 * (-x / 8.0).exp() + 0.02 * (x * 1.7).sin());
                (e, 2.1 * (-x / 10.0).exp() + 0.15, val)
            })
            .collect()
    }

    fn assert_svg(text: &str) {
        assert!(text.starts_with("<svg"), "not an SVG: {}", &text[..40]);
        assert!(text.trim_end().ends_with("</svg>"));
        assert_eq!(text.matches("<svg").count(), 1);
        assert_eq!(
            text.matches("<text").count(),
            text.matches("</text>").count()
        );
    }

    /// The text of every `<text>` element, trimmed.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .map(|t| {
                let body = &t[t.find('>').unwrap() + 1..];
                body[..body.find("</text>").unwrap()].trim().to_owned()
            })
            .collect()
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Copies a picture to the folder `SER_KEEP_SVG` names, if set, for a look by eye.
    fn keep(path: &Path) {
        if let Some(dir) = std::env::var_os("SER_KEEP_SVG") {
            let dir = Path::new(&dir);
            std::fs::create_dir_all(dir).unwrap();
            std::fs::copy(path, dir.join(path.file_name().unwrap())).unwrap();
        }
    }

    #[test]
    fn confusion_svg_is_written_with_labels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("confusion.svg");
        confusion_svg(&path, &sample_matrix(), &labels(), "MLP — test fold").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_svg(&text);
        let texts = texts(&text);
        for label in EMOTIONS {
            // Once at the rows, once at the columns.
            assert_eq!(texts.iter().filter(|t| *t == label).count(), 2, "{label}");
        }
        for word in [
            "true",
            "predicted",
            "MLP — test fold",
            "n = 24",
            "23",
            "83%",
        ] {
            assert!(texts.iter().any(|t| t == word), "{word} missing");
        }
        assert_eq!(names_in(dir.path()), ["confusion.svg"]);
        keep(&path);
    }

    #[test]
    fn confusion_svg_handles_long_names_empty_rows_and_markup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("confusion_long_names.svg");
        let labels: Vec<String> = ["a very long class name", "<b>&", "c"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let cm = ndarray::array![[3, 1, 0], [0, 0, 0], [2, 0, 5]];
        confusion_svg(&path, &cm, &labels, "t").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_svg(&text);
        assert!(texts(&text).iter().any(|t| t == "a very long class name"));
        assert!(text.contains("&lt;b&gt;&amp;"));
        assert!(!text.contains("<b>"));
        assert!(text.contains("rotate(270"));
        assert!(!text.contains("NaN"));

        let bad = dir.path().join("bad.svg");
        assert!(confusion_svg(&bad, &cm, &labels[..2], "t").is_err());
        assert!(!bad.exists());
        assert_eq!(names_in(dir.path()), ["confusion_long_names.svg"]);
        keep(&path);
    }

    #[test]
    fn training_curve_svg_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("training_curve.svg");
        training_curve_svg(&path, &sample_curve(), "MLP training").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_svg(&text);
        for word in [
            "MLP training",
            "training loss",
            "validation accuracy",
            "epoch",
            "best",
        ] {
            assert!(text.contains(word), "{word} missing");
        }
        assert!(text.contains("<polyline"), "no curve drawn");
        assert_eq!(names_in(dir.path()), ["training_curve.svg"]);
        keep(&path);
    }

    #[test]
    fn training_curve_svg_without_validation_or_epochs() {
        let dir = tempfile::tempdir().unwrap();
        let no_val = dir.path().join("curve_no_validation.svg");
        let epochs: Vec<EpochPoint> = vec![(1, 1.0, None), (2, f64::NAN, None), (3, 0.5, None)];
        training_curve_svg(&no_val, &epochs, "no validation").unwrap();
        let text = std::fs::read_to_string(&no_val).unwrap();
        assert_svg(&text);
        assert!(text.contains("no validation accuracy recorded"));
        assert!(!text.contains("NaN"));

        let one = dir.path().join("curve_one_epoch.svg");
        training_curve_svg(&one, &[(1, 0.7, Some(0.5))], "one epoch").unwrap();
        assert_svg(&std::fs::read_to_string(&one).unwrap());

        let none = dir.path().join("curve_empty.svg");
        training_curve_svg(&none, &[], "nothing").unwrap();
        let text = std::fs::read_to_string(&none).unwrap();
        assert_svg(&text);
        assert!(text.contains("no finite loss recorded"));
        assert_eq!(
            names_in(dir.path()),
            [
                "curve_empty.svg",
                "curve_no_validation.svg",
                "curve_one_epoch.svg"
            ]
        );
        for path in [no_val, one, none] {
            keep(&path);
        }
    }

    #[test]
    fn tick_decimals_follow_the_span() {
        assert_eq!(tick_decimals(2.0), 1);
        assert_eq!(tick_decimals(0.05), 3);
        assert_eq!(tick_decimals(500.0), 0);
        assert_eq!(tick_decimals(0.0), 2);
    }

    #[test]
    fn blues_runs_from_white_to_navy() {
        assert_eq!(blues(0.0), RGBColor(247, 251, 255));
        assert_eq!(blues(1.0), RGBColor(8, 48, 107));
        assert_eq!(blues(f64::NAN), blues(0.0));
        assert_eq!(blues(2.0), blues(1.0));
    }
}
