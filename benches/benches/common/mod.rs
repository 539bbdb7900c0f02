//! What the model benches share: a shipped model converted as `rill convert` would.
use std::path::Path;

use rill_convert::tensor::read_npy;
use rill_convert::{convert_path, ConvertOptions, Precision};

/// `models/<dir>` in `precision`, fixed point calibrated on its calib.npy; the file bytes.
pub fn converted(dir: &Path, precision: Precision) -> Vec<u8> {
    let calibration = match precision {
        Precision::F32 => vec![],
        _ => vec![read_npy(&dir.join("calib.npy")).expect("calib.npy")],
    };
    let opts = ConvertOptions {
        precision,
        calibration,
        ..ConvertOptions::default()
    };
    convert_path(&dir.join("model.onnx"), &opts)
        .expect("convert")
        .bytes
}
