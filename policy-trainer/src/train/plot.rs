//! PNG training curves drawn from `metrics.jsonl` files (plotters, bitmap backend, an embedded
//! font so the output is the same on every machine).

use crate::error::TrainError;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
const COLOURS: [RGBColor; 6] = [BLUE, RED, GREEN, MAGENTA, RGBColor(230, 140, 0), BLACK];

/// One chart: metrics (one line each) from one run's metrics file.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub title: String,
    pub metrics: PathBuf,
    pub series: Vec<String>,
}

/// Draw `series` (metric names) from a metrics file as one panel each into a PNG.
pub fn plot_curves(metrics: &Path, series: &[&str], png: &Path) -> Result<(), TrainError> {
    let panels: Vec<Panel> = series
        .iter()
        .map(|name| Panel {
            title: name.to_string(),
            metrics: metrics.to_path_buf(),
            series: vec![name.to_string()],
        })
        .collect();
    plot_panels(&panels, 4, png)
}

/// Draw panels on a grid `columns` wide into a PNG.
pub fn plot_panels(panels: &[Panel], columns: usize, png: &Path) -> Result<(), TrainError> {
    let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    let plot_error = |e: &dyn std::fmt::Display| TrainError::Plot {
        path: png.to_path_buf(),
        source: e.to_string().into(),
    };
    let columns = columns.clamp(1, panels.len().max(1));
    let rows = panels.len().max(1).div_ceil(columns);
    let root =
        BitMapBackend::new(png, (480 * columns as u32, 360 * rows as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_error(&e))?;
    let areas = root.split_evenly((rows, columns));
    for (area, panel) in areas.iter().zip(panels) {
        let lines = series_points(panel)?;
        draw_panel(area, panel, lines).map_err(|e| plot_error(&e))?;
    }
    root.present().map_err(|e| plot_error(&e))?;
    Ok(())
}

/// Each series of a panel as (x, y) points: x is a global step (the SFT phase first, then GRPO).
fn series_points(panel: &Panel) -> Result<Vec<Vec<(f64, f64)>>, TrainError> {
    let text =
        std::fs::read_to_string(&panel.metrics).map_err(|e| TrainError::io(&panel.metrics, e))?;
    let records: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    Ok(panel
        .series
        .iter()
        .map(|name| {
            let mut sft_steps = 0.0f64;
            let mut points = Vec::new();
            for record in &records {
                let step = record["step"].as_f64().unwrap_or(0.0);
                let x = if record["phase"] == "sft" {
                    sft_steps = sft_steps.max(step);
                    step
                } else {
                    sft_steps + step
                };
                if let Some(y) = record[name.as_str()].as_f64().filter(|y| y.is_finite()) {
                    points.push((x, y));
                }
            }
            points
        })
        .collect())
}

/// The axes' ranges: x from 0, y over the data (0..1 when there is none).
fn ranges(lines: &[Vec<(f64, f64)>]) -> (f64, f64, f64) {
    let (x_max, mut y_min, mut y_max) = lines.iter().flatten().fold(
        (1.0f64, f64::INFINITY, f64::NEG_INFINITY),
        |(x, lo, hi), p| (x.max(p.0), lo.min(p.1), hi.max(p.1)),
    );
    if !y_min.is_finite() {
        (y_min, y_max) = (0.0, 1.0);
    }
    if y_max - y_min < 1e-9 {
        y_max = y_min + 1.0;
    }
    (x_max, y_min, y_max)
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;
type DrawResult<'a> =
    Result<(), DrawingAreaErrorKind<<BitMapBackend<'a> as DrawingBackend>::ErrorType>>;

fn draw_panel<'a>(area: &Area<'a>, panel: &Panel, lines: Vec<Vec<(f64, f64)>>) -> DrawResult<'a> {
    let (x_max, y_min, y_max) = ranges(&lines);
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..x_max, y_min..y_max)?;
    chart.configure_mesh().x_desc("step").draw()?;
    for (i, (points, name)) in lines.into_iter().zip(&panel.series).enumerate() {
        draw_series(
            &mut chart,
            points,
            name,
            COLOURS[i % COLOURS.len()],
            panel.series.len() > 1,
        )?;
    }
    if panel.series.len() > 1 {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
    }
    Ok(())
}

type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// One metric: a line, or dots when it was measured only before and after.
fn draw_series<'b>(
    chart: &mut Chart<'_, 'b>,
    points: Vec<(f64, f64)>,
    name: &str,
    colour: RGBColor,
    legend: bool,
) -> DrawResult<'b> {
    let series = if points.len() <= 2 {
        chart.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 4, colour.filled())),
        )?
    } else {
        chart.draw_series(LineSeries::new(points, colour))?
    };
    if legend {
        series
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour));
    }
    Ok(())
}
