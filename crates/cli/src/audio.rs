//! What `convert --frontend/--labels` store in a `.rill` file and what `detect` reads back: the MFCC
//! front end's parameters (`frontend.json`), class labels (`classes.json`), and 16-bit PCM WAV files.
use std::path::Path;

use anyhow::{bail, Context, Result};
use rill_dsp::FrontendConfig;
use serde_json::{Map, Value};

/// Meta key of the front end's canonical JSON.
pub const FRONTEND_KEY: &str = "frontend";
/// Meta key of the class labels (a JSON array of strings, in output order).
pub const LABELS_KEY: &str = "labels";

/// Descriptive keys of `frontend.json` that name a fixed step of `tools/frontend.py`. rill-dsp
/// implements exactly these steps, so any other value describes a front end it would not reproduce.
const FIXED_STEPS: [(&str, &str); 6] = [
    ("window", "hann"),
    ("power", "re^2 + im^2, unscaled"),
    ("mel_scale", "htk"),
    ("log", "natural"),
    ("dct", "DCT-II, orthonormal"),
    ("input_scale", "int16 / 32768"),
];

/// A validated front end: the rill-dsp configuration plus the clip length the model was trained on.
#[derive(Clone, Debug, PartialEq)]
pub struct FrontendSpec {
    pub config: FrontendConfig,
    /// Samples per training clip and the frames it yields, when the file says.
    pub clip_samples: Option<usize>,
    pub n_frames: Option<usize>,
}

fn uint(map: &Map<String, Value>, key: &str, required: bool) -> Result<Option<usize>> {
    match map.get(key) {
        None if required => bail!("missing key '{key}'"),
        None => Ok(None),
        Some(v) => match v.as_u64().and_then(|n| usize::try_from(n).ok()) {
            Some(n) => Ok(Some(n)),
            None => bail!("key '{key}': expected a non-negative integer, found {v}"),
        },
    }
}

fn real(map: &Map<String, Value>, key: &str) -> Result<f32> {
    let v = map
        .get(key)
        .with_context(|| format!("missing key '{key}'"))?;
    match v.as_f64() {
        Some(x) if x.is_finite() && (x as f32).is_finite() => Ok(x as f32),
        _ => bail!("key '{key}': expected a finite number, found {v}"),
    }
}

impl FrontendSpec {
    /// Parses and validates `frontend.json` text (the shape of `models/kws_dscnn/frontend.json`).
    /// Errors name the offending key and value.
    pub fn parse(text: &str) -> Result<FrontendSpec> {
        let v: Value = serde_json::from_str(text).context("not valid JSON")?;
        let Value::Object(map) = v else {
            bail!("expected a JSON object like models/kws_dscnn/frontend.json, found {v}");
        };
        let known = [
            "sample_rate",
            "clip_samples",
            "frame_len",
            "hop",
            "n_frames",
            "fft_len",
            "n_mels",
            "fmin",
            "fmax",
            "log_floor",
            "n_mfcc",
        ];
        for (key, value) in &map {
            if let Some((_, want)) = FIXED_STEPS.iter().find(|(k, _)| k == key) {
                if value.as_str() != Some(want) {
                    bail!("key '{key}': rill-dsp implements \"{want}\", the file says {value}");
                }
            } else if !known.contains(&key.as_str()) {
                bail!(
                    "unknown key '{key}' (known: {}, and the fixed steps {})",
                    known.join(", "),
                    FIXED_STEPS
                        .iter()
                        .map(|(k, _)| *k)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        let req = |k: &str| uint(&map, k, true).map(|n| n.unwrap_or(0));
        let sample_rate = req("sample_rate")?;
        let config = FrontendConfig {
            sample_rate: u32::try_from(sample_rate)
                .with_context(|| format!("key 'sample_rate': {sample_rate} is too large"))?,
            frame_len: req("frame_len")?,
            hop: req("hop")?,
            fft_len: req("fft_len")?,
            n_mels: req("n_mels")?,
            fmin_hz: real(&map, "fmin")?,
            fmax_hz: real(&map, "fmax")?,
            log_floor: real(&map, "log_floor")?,
            n_mfcc: req("n_mfcc")?,
        };
        config.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
        let clip_samples = uint(&map, "clip_samples", false)?;
        let n_frames = uint(&map, "n_frames", false)?;
        if let (Some(c), Some(n)) = (clip_samples, n_frames) {
            let derived = config.n_frames(c);
            if derived != n {
                bail!("key 'n_frames': {n}, but clip_samples {c} with frame_len {} and hop {} gives {derived} frames",
                    config.frame_len, config.hop);
            }
        }
        Ok(FrontendSpec {
            config,
            clip_samples,
            n_frames,
        })
    }

    /// Reads and validates a `frontend.json` file.
    pub fn read(path: &Path) -> Result<FrontendSpec> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read '{}'", path.display()))?;
        FrontendSpec::parse(&text).with_context(|| format!("front end '{}'", path.display()))
    }

    /// The canonical JSON stored in the model: every key, fixed order, compact. Parsing it gives back
    /// the same spec.
    pub fn to_json(&self) -> Value {
        let c = &self.config;
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_owned(), v);
        };
        put("sample_rate", c.sample_rate.into());
        if let Some(n) = self.clip_samples {
            put("clip_samples", n.into());
        }
        put("frame_len", c.frame_len.into());
        put("hop", c.hop.into());
        if let Some(n) = self.n_frames {
            put("n_frames", n.into());
        }
        put("fft_len", c.fft_len.into());
        put("n_mels", c.n_mels.into());
        put("fmin", f64::from(c.fmin_hz).into());
        put("fmax", f64::from(c.fmax_hz).into());
        put("log_floor", f64::from(c.log_floor).into());
        put("n_mfcc", c.n_mfcc.into());
        for (k, v) in FIXED_STEPS {
            put(k, v.into());
        }
        Value::Object(m)
    }

    /// One line for `inspect`.
    pub fn describe(&self) -> String {
        let c = &self.config;
        format!(
            "{} Hz, frame {} hop {} ({:.0} ms / {:.0} ms), {}-point FFT, {} mels {}-{} Hz, {} MFCCs{}",
            c.sample_rate,
            c.frame_len,
            c.hop,
            c.frame_len as f64 * 1e3 / c.sample_rate as f64,
            c.hop as f64 * 1e3 / c.sample_rate as f64,
            c.fft_len,
            c.n_mels,
            c.fmin_hz,
            c.fmax_hz,
            c.n_mfcc,
            self.n_frames
                .map_or_else(String::new, |n| format!(", {n} frames per clip"))
        )
    }
}

/// Parses a class-label file: a JSON array of distinct non-empty strings without commas. `detect`
/// picks classes by name (`--background yes,no` splits on commas) and reports events by name, so a
/// name that repeats or holds a comma would pick or report the wrong class.
pub fn parse_labels(text: &str) -> Result<Vec<String>> {
    let v: Value = serde_json::from_str(text).context("not valid JSON")?;
    let Value::Array(items) = v else {
        bail!("expected a JSON array of class names like [\"yes\", \"no\"], found {v}");
    };
    let mut labels: Vec<String> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Some(s) = item.as_str().filter(|s| !s.is_empty()) else {
            bail!("entry {i}: expected a non-empty string, found {item}");
        };
        if s.contains(',') {
            bail!("entry {i}: label '{s}' contains a comma: class names are given comma-separated (rill detect --background), so a name cannot hold one");
        }
        if let Some(first) = labels.iter().position(|l| l == s) {
            bail!("entry {i}: label '{s}' repeats entry {first}: each class needs its own name");
        }
        labels.push(s.to_owned());
    }
    Ok(labels)
}

pub fn read_labels(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read '{}'", path.display()))?;
    parse_labels(&text).with_context(|| format!("labels '{}'", path.display()))
}

/// Mono 16-bit PCM audio.
pub struct Wav {
    pub sample_rate: u32,
    pub samples: Vec<i16>,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Reads a RIFF/WAVE file holding 16-bit PCM mono. Anything else is refused, naming what was found
/// and where.
pub fn read_wav(path: &Path) -> Result<Wav> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read '{}'", path.display()))?;
    parse_wav(&bytes).with_context(|| format!("'{}'", path.display()))
}

pub fn parse_wav(b: &[u8]) -> Result<Wav> {
    if b.len() < 12 || &b[0..4] != b"RIFF" || &b[8..12] != b"WAVE" {
        bail!("not a WAV file (no RIFF/WAVE header in the first 12 bytes)");
    }
    let mut fmt: Option<(u16, u16, u32, u16)> = None;
    let mut at = 12;
    while at + 8 <= b.len() {
        let id = &b[at..at + 4];
        let size = u32_at(b, at + 4) as usize;
        let body = at + 8;
        let end = body.saturating_add(size);
        match id {
            b"fmt " => {
                if end > b.len() {
                    bail!(
                        "'fmt ' chunk at byte {at} is cut short: {size} bytes declared, {} in the file",
                        b.len() - body
                    );
                }
                if size < 16 {
                    bail!("'fmt ' chunk at byte {at} holds {size} bytes, 16 or more needed");
                }
                let mut format = u16_at(b, body);
                // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the sub-format GUID.
                if format == 0xFFFE && size >= 40 {
                    format = u16_at(b, body + 24);
                }
                fmt = Some((
                    format,
                    u16_at(b, body + 2),
                    u32_at(b, body + 4),
                    u16_at(b, body + 14),
                ));
            }
            b"data" => {
                let Some((format, channels, rate, bits)) = fmt else {
                    bail!("'data' chunk at byte {at} comes before any 'fmt ' chunk");
                };
                if format != 1 {
                    bail!("audio format {format} (1 = integer PCM is supported; 3 = float, 6/7 = A/mu-law)");
                }
                if bits != 16 {
                    bail!("{bits}-bit samples: 16-bit PCM is supported");
                }
                if channels != 1 {
                    bail!("{channels} channels: mono is supported (mix down first, e.g. sox in.wav -c 1 out.wav)");
                }
                // A data chunk that declares more bytes than the file holds is a cut-short file (or
                // a stream whose size was never written): running on part of it would answer for
                // audio the user did not give, so it is refused. A pad byte after it is fine.
                if end > b.len() {
                    bail!(
                        "'data' chunk at byte {at} declares {size} bytes, but the file holds only {} after its header: the file is cut short",
                        b.len().saturating_sub(body)
                    );
                }
                let data = &b[body..end];
                let samples = data
                    .chunks_exact(2)
                    .map(|c| i16::from_le_bytes([c[0], c[1]]))
                    .collect();
                return Ok(Wav {
                    sample_rate: rate,
                    samples,
                });
            }
            _ => {}
        }
        // Chunks are padded to an even size.
        at = end.saturating_add(size & 1);
    }
    if fmt.is_none() {
        bail!("no 'fmt ' chunk in {} bytes", b.len());
    }
    bail!("no 'data' chunk in {} bytes", b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KWS_JSON: &str = include_str!("../../../models/kws_dscnn/frontend.json");

    #[test]
    fn the_shipped_frontend_is_rill_dsps_kws_config_and_round_trips() {
        let spec = FrontendSpec::parse(KWS_JSON).unwrap();
        assert_eq!(spec.config, FrontendConfig::KWS);
        assert_eq!((spec.clip_samples, spec.n_frames), (Some(16000), Some(49)));
        let again = FrontendSpec::parse(&spec.to_json().to_string()).unwrap();
        assert_eq!(again, spec);
    }

    #[test]
    fn bad_frontends_name_the_key() {
        let edit = |k: &str, v: Value| {
            let mut m: Map<String, Value> = serde_json::from_str(KWS_JSON).unwrap();
            m.insert(k.into(), v);
            FrontendSpec::parse(&Value::Object(m).to_string())
                .unwrap_err()
                .to_string()
        };
        let e = edit("hop", Value::from(0));
        assert!(e.contains("hop 0"), "{e}");
        let e = edit("hop", Value::from("320"));
        assert!(e.contains("'hop'") && e.contains("\"320\""), "{e}");
        let e = edit("window", Value::from("hamming"));
        assert!(e.contains("'window'") && e.contains("hamming"), "{e}");
        let e = edit("n_frames", Value::from(50));
        assert!(e.contains("'n_frames'") && e.contains("49"), "{e}");
        let e = edit("fft_size", Value::from(512));
        assert!(e.contains("unknown key 'fft_size'"), "{e}");
        let mut m: Map<String, Value> = serde_json::from_str(KWS_JSON).unwrap();
        m.remove("n_mfcc");
        let e = FrontendSpec::parse(&Value::Object(m).to_string()).unwrap_err();
        assert!(e.to_string().contains("missing key 'n_mfcc'"), "{e}");
        assert!(FrontendSpec::parse("[1, 2]").is_err());
    }

    /// A 16 kHz mono 16-bit WAV: header, then a `data` chunk declaring `declared` bytes and holding
    /// `data`, then `tail`.
    fn wav_bytes(declared: u32, data: &[u8], tail: &[u8]) -> Vec<u8> {
        let mut b = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        b.extend_from_slice(&16u32.to_le_bytes());
        for v in [1u16, 1] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&16000u32.to_le_bytes());
        b.extend_from_slice(&32000u32.to_le_bytes());
        for v in [2u16, 16] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(b"data");
        b.extend_from_slice(&declared.to_le_bytes());
        b.extend_from_slice(data);
        b.extend_from_slice(tail);
        b
    }

    #[test]
    fn a_data_chunk_longer_than_the_file_is_refused_by_offset_and_sizes() {
        let e = parse_wav(&wav_bytes(100, &[0; 40], &[]))
            .err()
            .expect("a cut-short file must be refused")
            .to_string();
        assert!(
            e.contains("byte 36") && e.contains("declares 100 bytes") && e.contains("only 40"),
            "{e}"
        );
        // One byte short of the declared size: still cut short.
        let e = parse_wav(&wav_bytes(4, &[0; 3], &[]))
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("declares 4 bytes") && e.contains("only 3"),
            "{e}"
        );
    }

    #[test]
    fn whole_data_chunks_are_read_pad_byte_and_empty_included() {
        let w = parse_wav(&wav_bytes(4, &[1, 0, 0xff, 0xff], &[])).unwrap();
        assert_eq!((w.sample_rate, w.samples), (16000, vec![1, -1]));
        // A trailing chunk with a pad byte after the data chunk.
        let w = parse_wav(&wav_bytes(2, &[2, 0], b"LIST\x01\0\0\0x\0")).unwrap();
        assert_eq!(w.samples, [2]);
        assert!(parse_wav(&wav_bytes(0, &[], &[]))
            .unwrap()
            .samples
            .is_empty());
        // The final pad byte after an odd-sized chunk, and one after an even-sized chunk.
        let w = parse_wav(&wav_bytes(3, &[3, 0, 9], &[0])).unwrap();
        assert_eq!(w.samples, [3]);
        let w = parse_wav(&wav_bytes(2, &[4, 0], &[0])).unwrap();
        assert_eq!(w.samples, [4]);
    }

    #[test]
    fn labels_are_an_array_of_names() {
        assert_eq!(parse_labels("[\"a\", \"b\"]").unwrap(), ["a", "b"]);
        let e = parse_labels("[\"a\", 3]").unwrap_err().to_string();
        assert!(e.contains("entry 1"), "{e}");
        assert!(parse_labels("{\"a\": 1}").is_err());
    }
}
