//! `rill detect`: audio in, keyword events out. The WAV goes through rill-dsp's streaming MFCC front
//! end (parameters from the model's `frontend` metadata), the model scores a window of frames every
//! `--stride-frames` frames, and rill-dsp's detector turns the scores into events.
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use rill_convert::exec::quantize_value;
use rill_dsp::{mfcc_to_f32, Detector, DetectorConfig, Frontend};
use rill_format::{DType, OpKind};
use rill_runtime::{Model, Session};

use crate::audio::{self, FrontendSpec};
use crate::files;

#[derive(clap::Args)]
pub struct Args {
    /// A .rill keyword model converted with --frontend (and ideally --labels).
    pub model: PathBuf,
    /// 16-bit mono PCM WAV at the front end's sample rate.
    pub audio: PathBuf,
    /// Print the events as JSON.
    #[arg(long)]
    pub json: bool,
    /// Smoothed probability at which a keyword fires, in (0, 1).
    #[arg(long, default_value_t = 0.7)]
    pub threshold: f64,
    /// Answers the detector averages (one answer per --stride-frames frames).
    #[arg(long, default_value_t = 2)]
    pub smooth: usize,
    /// Milliseconds after an event during which nothing else fires. A 1 s model fires once a word
    /// is partly in its window and misreads the word as it leaves the window's start about a
    /// window later; the default (a 1 s window plus 200 ms) outlasts that.
    #[arg(long, default_value_t = 1200.0, value_name = "MS")]
    pub suppress: f64,
    /// Frames between model answers: every answer covers the last window of frames (49 for a 1 s
    /// keyword model). Smaller finds keywords sooner and costs more.
    #[arg(long, default_value_t = 4, value_name = "K")]
    pub stride_frames: usize,
    /// Classes that never fire, by label or index (default: the labels silence/unknown, with or
    /// without underscores, and background/noise).
    #[arg(long, value_delimiter = ',', value_name = "CLASS,...")]
    pub background: Option<Vec<String>>,
}

/// One model answer's raw output values, or one frame's (or window's) input values, in the
/// tensor's own element type.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    F32(Vec<f32>),
    I8(Vec<i8>),
    I16(Vec<i16>),
}

impl Values {
    fn zeros(dtype: DType, n: usize) -> Result<Values> {
        Ok(match dtype {
            DType::F32 => Values::F32(vec![0.0; n]),
            DType::I8 => Values::I8(vec![0; n]),
            DType::I16 => Values::I16(vec![0; n]),
            other => bail!("{other:?} tensors are not supported by detect (f32, i8 or i16)"),
        })
    }

    /// Reals: codes dequantized with `scale` and `zero_point`.
    pub fn to_f32(&self, scale: f32, zero_point: i32) -> Vec<f32> {
        let dq = |c: i32| (c - zero_point) as f32 * scale;
        match self {
            Values::F32(v) => v.clone(),
            Values::I8(v) => v.iter().map(|&c| dq(c as i32)).collect(),
            Values::I16(v) => v.iter().map(|&c| dq(c as i32)).collect(),
        }
    }

    /// Drops the oldest `frame.len()` values and appends `frame` (same variant).
    fn shift_in(&mut self, frame: &Values) {
        fn go<T: Copy>(ring: &mut [T], new: &[T]) {
            let n = new.len();
            ring.copy_within(n.., 0);
            let len = ring.len();
            ring[len - n..].copy_from_slice(new);
        }
        match (self, frame) {
            (Values::F32(r), Values::F32(f)) => go(r, f),
            (Values::I8(r), Values::I8(f)) => go(r, f),
            (Values::I16(r), Values::I16(f)) => go(r, f),
            _ => {}
        }
    }
}

/// How a model answers for a window of frames.
enum Engine<'m, 'a> {
    /// `sessions[m % S]` steps through window `m` (frames `m K .. m K + W`), reset at its start.
    /// With `S = ceil(W / K)`, `S K >= W`: window `m - S` has ended before window `m` starts, so
    /// no session serves two windows at once, and each frame costs at most `S` steps.
    Staggered(Vec<Session<'m, 'a>>),
    /// The last `W` frames, run whole every `K` frames.
    Window {
        session: Session<'m, 'a>,
        ring: Values,
    },
}

/// Turns a stream of MFCC frames into one model answer every `stride` frames, each exactly the
/// model's answer for the last `window` frames from a zero state (how the keyword models were
/// trained: 1 s clips).
pub struct Scorer<'m, 'a> {
    engine: Engine<'m, 'a>,
    window: usize,
    stride: usize,
    n_mfcc: usize,
    input: (DType, f32, i32),
    output: DType,
    frames: usize,
}

/// Output 0 of the step program (`step`) or of the whole window.
fn read_output(session: &Session, dtype: DType, step: bool) -> Result<Values> {
    let err = |e: rill_runtime::Error| anyhow!("{e}");
    Ok(match (dtype, step) {
        (DType::F32, true) => Values::F32(session.step_output_f32(0).map_err(err)?.to_vec()),
        (DType::F32, false) => Values::F32(session.output_f32(0).map_err(err)?.to_vec()),
        (DType::I8, true) => Values::I8(session.step_output_i8(0).map_err(err)?.to_vec()),
        (DType::I8, false) => Values::I8(session.output_i8(0).map_err(err)?.to_vec()),
        (DType::I16, true) => Values::I16(session.step_output_i16(0).map_err(err)?.to_vec()),
        (DType::I16, false) => Values::I16(session.output_i16(0).map_err(err)?.to_vec()),
        (other, _) => bail!("{other:?} model output: detect reads f32, i8 or i16"),
    })
}

/// Arena buffers for a [`Scorer`] of `model`: one per staggered session for a streamable model, one
/// whole-window arena otherwise.
pub fn arenas(model: &Model, window: usize, stride: usize) -> Vec<Vec<u8>> {
    match model.stream() {
        Ok(info) if streams_frames(model) => {
            vec![vec![0u8; info.step_arena_bytes + 16]; window.div_ceil(stride)]
        }
        _ => vec![vec![0u8; model.arena_bytes() + 16]],
    }
}

/// Whether the step program takes one frame: the model streams along the frame axis (the
/// second-to-last input axis), not along the coefficients.
fn streams_frames(model: &Model) -> bool {
    let (Ok(info), Ok(input)) = (model.stream(), model.input(0)) else {
        return false;
    };
    info.input_axes[0] == input.shape.len().checked_sub(2)
}

/// The number of frames a window holds, after checking that `model` takes `[1.., frames, n_mfcc]`.
pub fn window_frames(model: &Model, n_mfcc: usize) -> Result<usize> {
    if model.input_count() != 1 {
        bail!(
            "the model has {} inputs; detect feeds one (MFCC frames)",
            model.input_count()
        );
    }
    let t = model.input(0).map_err(|e| anyhow!("{e}"))?;
    let dims = t.shape;
    let ok = dims.len() >= 2
        && dims[dims.len() - 1] as usize == n_mfcc
        && dims[..dims.len() - 2].iter().all(|&d| d == 1)
        && dims[dims.len() - 2] >= 1;
    if !ok {
        bail!(
            "the model's input '{}' has shape {:?}, but the front end gives frames of {n_mfcc} MFCCs (n_mfcc): expected [1, ..., frames, {n_mfcc}]",
            t.name(),
            dims
        );
    }
    Ok(dims[dims.len() - 2] as usize)
}

/// Refuses a stride of 0 or longer than the window: the frames between two windows would never be
/// examined, so a keyword there could not be found.
fn check_stride(stride: usize, window: usize) -> Result<()> {
    if stride == 0 {
        bail!("--stride-frames must be at least 1");
    }
    if stride > window {
        bail!(
            "--stride-frames {stride} is longer than the model's window of {window} frames: the audio between windows would never be examined (use at most {window})"
        );
    }
    Ok(())
}

impl<'m, 'a> Scorer<'m, 'a> {
    /// `arenas` from [`arenas`] with the same `window` and `stride`.
    pub fn new(
        model: &'m Model<'m>,
        arenas: &'a mut [Vec<u8>],
        n_mfcc: usize,
        stride: usize,
    ) -> Result<Scorer<'m, 'a>> {
        let window = window_frames(model, n_mfcc)?;
        check_stride(stride, window)?;
        let input = model.input(0).map_err(|e| anyhow!("{e}"))?;
        let err = |e: rill_runtime::Error| anyhow!("{e}");
        let engine = if streams_frames(model) {
            let sessions = arenas
                .iter_mut()
                .map(|a| Session::new_streaming(model, a).map_err(err))
                .collect::<Result<Vec<_>>>()?;
            if sessions.len() != window.div_ceil(stride) {
                bail!(
                    "{} arenas for {} sessions",
                    sessions.len(),
                    window.div_ceil(stride)
                );
            }
            Engine::Staggered(sessions)
        } else {
            let arena = arenas.first_mut().context("no arena")?;
            Engine::Window {
                session: Session::new(model, arena).map_err(err)?,
                ring: Values::zeros(input.dtype, window * n_mfcc)?,
            }
        };
        Ok(Scorer {
            engine,
            window,
            stride,
            n_mfcc,
            input: (input.dtype, input.scale, input.zero_point),
            output: model.output(0).map_err(err)?.dtype,
            frames: 0,
        })
    }

    /// Staggered streaming sessions (0: whole-window runs).
    pub fn sessions(&self) -> usize {
        match &self.engine {
            Engine::Staggered(s) => s.len(),
            Engine::Window { .. } => 0,
        }
    }

    /// The model's input values for one frame of Q16 MFCCs: reals, or codes quantized as the
    /// converter quantizes (round half away from zero, saturate).
    fn frame_values(&self, mfcc: &[i32]) -> Result<Values> {
        if mfcc.len() != self.n_mfcc {
            bail!("{} MFCCs in a frame, {} expected", mfcc.len(), self.n_mfcc);
        }
        let (dtype, scale, zp) = self.input;
        let x = mfcc.iter().map(|&v| mfcc_to_f32(v));
        Ok(match dtype {
            DType::F32 => Values::F32(x.collect()),
            DType::I8 => Values::I8(
                x.map(|v| quantize_value(v, scale, zp, dtype) as i8)
                    .collect(),
            ),
            DType::I16 => Values::I16(
                x.map(|v| quantize_value(v, scale, zp, dtype) as i16)
                    .collect(),
            ),
            other => bail!("{other:?} model input: detect feeds f32, i8 or i16"),
        })
    }

    /// Feeds the next frame. Returns the raw output 0 when this frame completes a window (frame
    /// index `W - 1 + m K`).
    pub fn push(&mut self, mfcc: &[i32]) -> Result<Option<Values>> {
        let frame = self.frame_values(mfcc)?;
        let f = self.frames;
        self.frames += 1;
        let (w, k, out) = (self.window, self.stride, self.output);
        let err = |e: rill_runtime::Error| anyhow!("{e}");
        match &mut self.engine {
            Engine::Staggered(sessions) => {
                let s = sessions.len();
                // Windows m with m K <= f <= m K + W - 1 contain frame f.
                let first = (f + 1).saturating_sub(w).div_ceil(k);
                let mut answer = None;
                for m in first..=f / k {
                    let session = &mut sessions[m % s];
                    if f == m * k {
                        session.reset().map_err(err)?;
                    }
                    match &frame {
                        Values::F32(v) => session.set_step_input_f32(0, v),
                        Values::I8(v) => session.set_step_input_i8(0, v),
                        Values::I16(v) => session.set_step_input_i16(0, v),
                    }
                    .map_err(err)?;
                    session.invoke_step().map_err(err)?;
                    if f == m * k + w - 1 {
                        answer = Some(read_output(session, out, true)?);
                    }
                }
                Ok(answer)
            }
            Engine::Window { session, ring } => {
                ring.shift_in(&frame);
                if f + 1 < w || !(f + 1 - w).is_multiple_of(k) {
                    return Ok(None);
                }
                match ring {
                    Values::F32(v) => session.set_input_f32(0, v),
                    Values::I8(v) => session.set_input_i8(0, v),
                    Values::I16(v) => session.set_input_i16(0, v),
                }
                .map_err(err)?;
                session.invoke().map_err(err)?;
                Ok(Some(read_output(session, out, false)?))
            }
        }
    }
}

/// `u8` class probabilities (`p = score / 256`, as rill-dsp's detector reads them) of one answer:
/// softmax of the logits, unless the model's last op already is a softmax.
fn probabilities(values: &[f32], is_softmax: bool) -> Vec<u8> {
    let p: Vec<f64> = if is_softmax {
        values.iter().map(|&v| v as f64).collect()
    } else {
        let max = values
            .iter()
            .fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
        let e: Vec<f64> = values.iter().map(|&v| (v as f64 - max).exp()).collect();
        let sum: f64 = e.iter().sum();
        e.iter().map(|x| x / sum).collect()
    };
    p.iter()
        .map(|&p| (p * 256.0).round().clamp(0.0, 255.0) as u8)
        .collect()
}

fn is_background(label: &str) -> bool {
    let l = label.trim_matches('_').to_ascii_lowercase();
    matches!(l.as_str(), "silence" | "unknown" | "background" | "noise")
}

/// The background class mask: `--background` names/indices, or the labels that mean "no keyword".
fn background_mask(
    given: Option<&[String]>,
    labels: Option<&[String]>,
    n_classes: usize,
) -> Result<u32> {
    let mut mask = 0u32;
    match given {
        Some(list) => {
            for item in list {
                let c = match labels.and_then(|l| l.iter().position(|x| x == item)) {
                    Some(c) => c,
                    None => item.parse::<usize>().ok().filter(|&c| c < n_classes).with_context(|| {
                        format!("--background '{item}' is neither a label nor a class index below {n_classes}")
                    })?,
                };
                mask |= 1u32.checked_shl(c as u32).unwrap_or(0);
            }
        }
        None => {
            for (c, l) in labels.unwrap_or(&[]).iter().enumerate() {
                if is_background(l) {
                    mask |= 1u32.checked_shl(c as u32).unwrap_or(0);
                }
            }
        }
    }
    Ok(mask)
}

pub fn run(a: Args) -> Result<()> {
    if !(a.threshold > 0.0 && a.threshold < 1.0) {
        bail!("--threshold {} is not a probability in (0, 1)", a.threshold);
    }
    if !(1..=rill_dsp::detect::MAX_WINDOW).contains(&a.smooth) {
        bail!(
            "--smooth {} is not in 1..={} answers",
            a.smooth,
            rill_dsp::detect::MAX_WINDOW
        );
    }
    if a.stride_frames == 0 {
        bail!("--stride-frames must be at least 1");
    }
    if !(a.suppress.is_finite() && a.suppress >= 0.0) {
        bail!(
            "--suppress {} is not a non-negative number of milliseconds",
            a.suppress
        );
    }
    let bytes = files::read_model(&a.model)?;
    let model = Model::from_bytes(bytes.as_slice())
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| format!("cannot load '{}'", a.model.display()))?;
    let file = model.file();
    let spec = match file.meta(audio::FRONTEND_KEY) {
        Some(text) => FrontendSpec::parse(text)
            .with_context(|| format!("'{}': its front end metadata", a.model.display()))?,
        None => bail!(
            "'{}' has no front end: convert the model with --frontend frontend.json (the MFCC parameters it was trained with)",
            a.model.display()
        ),
    };
    let labels = match file.meta(audio::LABELS_KEY) {
        Some(text) => Some(
            audio::parse_labels(text)
                .with_context(|| format!("'{}': its labels metadata", a.model.display()))?,
        ),
        None => None,
    };
    let cfg = spec.config;
    let wav = audio::read_wav(&a.audio)?;
    if wav.sample_rate != cfg.sample_rate {
        bail!(
            "'{}' is sampled at {} Hz; the model's front end takes {} Hz (resample first, e.g. sox in.wav -r {} out.wav)",
            a.audio.display(),
            wav.sample_rate,
            cfg.sample_rate,
            cfg.sample_rate
        );
    }

    let window = window_frames(&model, cfg.n_mfcc)
        .with_context(|| format!("'{}' does not fit its front end", a.model.display()))?;
    check_stride(a.stride_frames, window)?;
    let out = model.output(0).map_err(|e| anyhow!("{e}"))?;
    let n_classes = out.len();
    if let Some(l) = &labels {
        if l.len() != n_classes {
            bail!("the model has {n_classes} outputs but {} labels", l.len());
        }
    }
    let is_softmax = file.window_ops() > 0
        && file
            .op(file.window_ops() - 1)
            .is_some_and(|v| v.op.kind() == OpKind::Softmax);
    let (out_scale, out_zp) = (out.scale, out.zero_point);

    let hop_s = cfg.hop as f64 / cfg.sample_rate as f64;
    let answer_s = hop_s * a.stride_frames as f64;
    let det_cfg = DetectorConfig {
        n_classes,
        background: background_mask(a.background.as_deref(), labels.as_deref(), n_classes)?,
        window: a.smooth,
        threshold: (a.threshold * 256.0).round().clamp(1.0, 255.0) as u8,
        suppression: (a.suppress / 1000.0 / answer_s).ceil() as u32,
    };
    let mut detector = Detector::new(det_cfg).map_err(|e| anyhow!("detector: {e}"))?;
    let mut fe = Frontend::new(cfg).map_err(|e| anyhow!("front end: {e}"))?;

    let mut arenas = arenas(&model, window, a.stride_frames);
    let arena_bytes: usize = arenas.iter().map(|a| a.len() - 16).sum();
    let mut scorer = Scorer::new(&model, &mut arenas, cfg.n_mfcc, a.stride_frames)?;
    let mut events = Vec::new();
    let mut frames = 0usize;
    let mut answers = 0usize;
    for &s in &wav.samples {
        let Some(mfcc) = fe.push_sample(s) else {
            continue;
        };
        let f = frames;
        frames += 1;
        let Some(raw) = scorer.push(mfcc)? else {
            continue;
        };
        answers += 1;
        let scores = probabilities(&raw.to_f32(out_scale, out_zp), is_softmax);
        if let Some(d) = detector.push(&scores).map_err(|e| anyhow!("{e}"))? {
            // The window that fired ends with frame f: the keyword was heard by the end of that frame.
            let end = (f * cfg.hop + cfg.frame_len) as f64 / cfg.sample_rate as f64;
            let start = ((f + 1 - window) * cfg.hop) as f64 / cfg.sample_rate as f64;
            events.push((end, start, d));
        }
    }

    // Too little audio for one window: nothing was scored, which "0 events" alone would hide.
    let note = (frames < window).then(|| {
        format!(
            "'{}' holds {frames} frame{} ({} sample{}), fewer than the model's window of {window} frames, so no answer was computed",
            a.audio.display(),
            if frames == 1 { "" } else { "s" },
            wav.samples.len(),
            if wav.samples.len() == 1 { "" } else { "s" }
        )
    });
    if let Some(n) = &note {
        eprintln!("note: {n}");
    }
    let name = |c: usize| match &labels {
        Some(l) => l[c].clone(),
        None => format!("class {c}"),
    };
    let duration = wav.samples.len() as f64 / cfg.sample_rate as f64;
    let how = match scorer.sessions() {
        0 => format!("whole-window runs ({arena_bytes} arena bytes)"),
        n => format!(
            "{n} staggered streaming sessions ({n} x {} arena bytes)",
            arena_bytes / n
        ),
    };
    if a.json {
        let v = serde_json::json!({
            "model": a.model,
            "audio": a.audio,
            "duration_s": duration,
            "frames": frames,
            "window_frames": window,
            "stride_frames": a.stride_frames,
            "answers": answers,
            "sessions": scorer.sessions(),
            "arena_bytes": arena_bytes,
            "threshold": det_cfg.threshold as f64 / 256.0,
            "smooth": det_cfg.window,
            "suppress_answers": det_cfg.suppression,
            "note": note,
            "events": events.iter().map(|(end, start, d)| serde_json::json!({
                "time_s": (end * 1000.0).round() / 1000.0,
                "window_start_s": (start * 1000.0).round() / 1000.0,
                "keyword": name(d.class),
                "class": d.class,
                "score": d.score as f64 / 256.0,
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{}: {:.2} s, {frames} frames; a {window}-frame window every {} frames ({:.0} ms) by {how}; {} event{}",
            a.audio.display(),
            duration,
            a.stride_frames,
            answer_s * 1000.0,
            events.len(),
            if events.len() == 1 { "" } else { "s" }
        );
        for (end, _, d) in &events {
            println!(
                "{end:8.2} s  {:<10} {:.2}",
                name(d.class),
                d.score as f64 / 256.0
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rill_convert::tensor::read_npy;
    use rill_convert::{ConvertOptions, Precision};
    use rill_format::writer::AlignedBytes;
    use std::path::Path;

    fn root() -> &'static Path {
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
    }

    fn convert(name: &str, precision: Precision) -> AlignedBytes {
        let dir = root().join("models").join(name);
        let calibration = if precision == Precision::F32 {
            vec![]
        } else {
            vec![read_npy(&dir.join("calib.npy")).unwrap()]
        };
        let opts = ConvertOptions {
            precision,
            calibration,
            ..ConvertOptions::default()
        };
        let c = rill_convert::convert_path(&dir.join("model.onnx"), &opts).unwrap();
        AlignedBytes::from_slice(&c.bytes)
    }

    /// The MFCC frames of the demo recording.
    fn demo_frames() -> Vec<Vec<i32>> {
        let wav = audio::read_wav(&root().join("models/kws_dscnn/demo.wav")).unwrap();
        let mut fe = Frontend::new(rill_dsp::FrontendConfig::KWS).unwrap();
        let mut frames = Vec::new();
        fe.push(&wav.samples, |f| frames.push(f.to_vec()));
        frames
    }

    /// Each staggered-session answer must be the model's whole-window answer (a fresh session,
    /// `invoke`) on the same frames: bit for bit, codes for int8.
    fn staggered_equals_whole_window(precision: Precision, stride: usize) {
        let bytes = convert("kws_gru", precision);
        let model = Model::from_bytes(bytes.as_slice()).unwrap();
        assert!(streams_frames(&model));
        let frames = demo_frames();
        let mut arenas = arenas(&model, 49, stride);
        let mut scorer = Scorer::new(&model, &mut arenas, 10, stride).unwrap();
        assert_eq!(scorer.sessions(), 49usize.div_ceil(stride));
        let mut answers = Vec::new();
        for (f, mfcc) in frames.iter().enumerate() {
            if let Some(v) = scorer.push(mfcc).unwrap() {
                answers.push((f, v));
            }
        }
        assert_eq!(answers.len(), (frames.len() - 49) / stride + 1);

        let input = model.input(0).unwrap();
        let mut arena = vec![0u8; model.arena_bytes() + 16];
        let mut whole = Session::new(&model, &mut arena).unwrap();
        for (f, got) in &answers {
            let reals: Vec<f32> = frames[f + 1 - 49..=*f]
                .iter()
                .flatten()
                .map(|&v| mfcc_to_f32(v))
                .collect();
            let q = |x: f32| quantize_value(x, input.scale, input.zero_point, input.dtype);
            let want = match input.dtype {
                DType::F32 => {
                    whole.set_input_f32(0, &reals).unwrap();
                    whole.invoke().unwrap();
                    Values::F32(whole.output_f32(0).unwrap().to_vec())
                }
                DType::I8 => {
                    let codes: Vec<i8> = reals.iter().map(|&x| q(x) as i8).collect();
                    whole.set_input_i8(0, &codes).unwrap();
                    whole.invoke().unwrap();
                    Values::I8(whole.output_i8(0).unwrap().to_vec())
                }
                other => panic!("{other:?}"),
            };
            assert_eq!(got, &want, "window ending at frame {f}");
        }
    }

    #[test]
    fn staggered_sessions_equal_whole_window_f32() {
        staggered_equals_whole_window(Precision::F32, 4);
    }

    #[test]
    fn staggered_sessions_equal_whole_window_int8() {
        staggered_equals_whole_window(Precision::Int8, 7);
        // A stride that does not divide the window leaves sessions idle between windows.
        staggered_equals_whole_window(Precision::Int8, 10);
    }

    #[test]
    fn probabilities_are_a_softmax_in_256ths() {
        let p = probabilities(&[0.0, 0.0, 0.0, 0.0], false);
        assert_eq!(p, [64, 64, 64, 64]);
        assert_eq!(probabilities(&[100.0, 0.0], false), [255, 0]);
        assert_eq!(probabilities(&[0.25, 0.75], true), [64, 192]);
    }

    #[test]
    fn background_from_labels_or_flag() {
        let labels: Vec<String> = ["yes", "no", "_unknown_", "silence"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(background_mask(None, Some(&labels), 4).unwrap(), 0b1100);
        let given = vec!["no".to_owned(), "3".to_owned()];
        assert_eq!(
            background_mask(Some(&given), Some(&labels), 4).unwrap(),
            0b1010
        );
        let bad = vec!["7".to_owned()];
        assert!(background_mask(Some(&bad), Some(&labels), 4).is_err());
    }
}
