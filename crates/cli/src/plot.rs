//! `rill verify --plot`: output traces (truth, ONNX float, Rill float, Rill fixed point) over the
//! samples as a PNG, so a time-series user sees where quantization bends the curve.
use std::path::Path;

use anyhow::{anyhow, Result};

use crate::files;
use plotters::prelude::*;
use plotters::style::register_font;

/// Labels need a font; one is embedded so the plot looks the same on any machine.
const FONT: &[u8] = include_bytes!("../assets/DejaVuSansMono.ttf");

/// At most this many points per trace: beyond it a trace is a solid band.
const MAX_POINTS: usize = 2000;

/// The first bytes of every PNG file.
const PNG_SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

pub struct Trace<'a> {
    pub label: &'a str,
    pub values: &'a [f32],
    pub color: RGBColor,
}

/// Draws `traces` into a PNG at `path`, written atomically. Refuses `path` if it is one of
/// `protected` (the command's inputs) or an existing file that is not a PNG, before drawing.
pub fn write_png(
    path: &Path,
    title: &str,
    traces: &[Trace<'_>],
    protected: &[&Path],
) -> Result<()> {
    files::check_writable(path, protected)?;
    files::check_replaceable(path, None, "is not a PNG", |head| {
        head.starts_with(PNG_SIGNATURE)
    })?;
    register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| anyhow!("the embedded plot font cannot be read"))?;
    let n = traces
        .iter()
        .map(|t| t.values.len().min(MAX_POINTS))
        .max()
        .unwrap_or(0);
    let (lo, hi) = traces
        .iter()
        .flat_map(|t| t.values.iter().take(MAX_POINTS))
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if n == 0 || lo > hi {
        anyhow::bail!("nothing to plot: the output has no finite values");
    }
    let pad = ((hi - lo) * 0.05).max(1e-6);
    files::write_atomic_with(path, protected, |tmp| {
        draw(tmp, title, traces, n, lo - pad, hi + pad)
            .map_err(|e| std::io::Error::other(format!("drawing the plot failed: {e}")))
    })
}

/// Draws the chart into the PNG file `path`, x over `0..n`, y over `lo..hi`.
fn draw(path: &Path, title: &str, traces: &[Trace<'_>], n: usize, lo: f32, hi: f32) -> Result<()> {
    let fail = |e: &dyn std::fmt::Display| anyhow!("{e}");
    let root = BitMapBackend::new(path, (1200, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .build_cartesian_2d(0f32..(n.max(2) - 1) as f32, lo..hi)
        .map_err(|e| fail(&e))?;
    chart
        .configure_mesh()
        .x_desc("output value index (samples in order)")
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(|e| fail(&e))?;
    for t in traces {
        let color = t.color;
        chart
            .draw_series(LineSeries::new(
                t.values
                    .iter()
                    .take(MAX_POINTS)
                    .enumerate()
                    .map(|(i, &v)| (i as f32, v)),
                color.stroke_width(2),
            ))
            .map_err(|e| fail(&e))?
            .label(t.label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| fail(&e))?;
    root.present().map_err(|e| fail(&e))?;
    Ok(())
}
