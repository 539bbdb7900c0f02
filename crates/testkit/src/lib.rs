//! Test support shared by the workspace tests: comparing against references with stated tolerances,
//! running a converted model on host tensors, and a tiny deterministic RNG for mutation tests.
use anyhow::{anyhow, bail, Result};
use rill_convert::tensor::{HostData, HostTensor};
use rill_format::writer::AlignedBytes;
use rill_format::DType;
use rill_runtime::{Model, Session};

/// Elementwise closeness in numpy's sense: `|a - e| <= atol + rtol * |e|`.
#[derive(Clone, Copy, Debug)]
pub struct Tolerance {
    pub rtol: f32,
    pub atol: f32,
}

/// The ONNX node conformance tolerance.
pub const ONNX_NODE: Tolerance = Tolerance {
    rtol: 1e-3,
    atol: 1e-4,
};

/// `|a - e| <= atol + rtol * |e|`; false when either is NaN.
fn within(a: f32, e: f32, tol: Tolerance) -> bool {
    (a - e).abs() <= tol.atol + tol.rtol * e.abs()
}

/// Compares `actual` with `expected`; the error names the worst element.
pub fn check_close(what: &str, actual: &[f32], expected: &[f32], tol: Tolerance) -> Result<()> {
    if actual.len() != expected.len() {
        bail!(
            "{what}: {} elements, expected {}",
            actual.len(),
            expected.len()
        );
    }
    let mut worst: Option<(usize, f32)> = None;
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let excess = (a - e).abs() - (tol.atol + tol.rtol * e.abs());
        if !within(a, e, tol) && worst.is_none_or(|(_, w)| excess > w || excess.is_nan()) {
            worst = Some((
                i,
                if excess.is_nan() {
                    f32::INFINITY
                } else {
                    excess
                },
            ));
        }
    }
    match worst {
        None => Ok(()),
        Some((i, _)) => {
            let bad = actual
                .iter()
                .zip(expected)
                .filter(|(a, e)| !within(**a, **e, tol))
                .count();
            bail!(
                "{what}: {bad} of {} elements off (rtol {}, atol {}); worst at {i}: got {}, expected {}",
                actual.len(),
                tol.rtol,
                tol.atol,
                actual[i],
                expected[i]
            )
        }
    }
}

/// Largest `|a - e| / max(|e|, floor)` over the elements.
pub fn max_rel_err(actual: &[f32], expected: &[f32], floor: f32) -> f32 {
    actual
        .iter()
        .zip(expected)
        .map(|(a, e)| (a - e).abs() / e.abs().max(floor))
        .fold(0.0, f32::max)
}

/// Largest `|a - e|` over the elements (0 for empty slices).
pub fn max_abs_err(actual: &[f32], expected: &[f32]) -> f32 {
    actual
        .iter()
        .zip(expected)
        .map(|(a, e)| (a - e).abs())
        .fold(0.0, f32::max)
}

/// Conversion options for a test case in `precision`, fixed point calibrated on the case's own
/// input `x` (as one sample).
pub fn case_options(
    x: &HostTensor,
    precision: rill_convert::Precision,
    time_axis: Option<usize>,
) -> rill_convert::ConvertOptions {
    let calibration = if precision == rill_convert::Precision::F32 {
        vec![]
    } else {
        let mut shape = vec![1];
        shape.extend(&x.shape);
        vec![HostTensor {
            shape,
            data: x.data.clone(),
        }]
    };
    rill_convert::ConvertOptions {
        precision,
        calibration,
        time_axis,
        ..rill_convert::ConvertOptions::default()
    }
}

/// A `.npy` test file, read or the test fails naming it.
pub fn npy(path: &std::path::Path) -> HostTensor {
    rill_convert::tensor::read_npy(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Host tensor as f32 elements (error for integer data).
pub fn as_f32(t: &HostTensor) -> Result<&[f32]> {
    match &t.data {
        HostData::F32(v) => Ok(v),
        HostData::I64(_) => bail!("expected float data, got int64"),
    }
}

/// Runs a `.rill` model once on `inputs` (model order) and returns every output as f32.
pub fn run_model(bytes: &[u8], inputs: &[&HostTensor]) -> Result<Vec<Vec<f32>>> {
    let aligned = AlignedBytes::from_slice(bytes);
    let model = Model::from_bytes(aligned.as_slice()).map_err(|e| anyhow!("load: {e}"))?;
    if inputs.len() != model.input_count() {
        bail!(
            "model takes {} inputs, {} given",
            model.input_count(),
            inputs.len()
        );
    }
    let mut arena = vec![0u8; model.arena_bytes() + 16];
    let mut session = Session::new(&model, &mut arena).map_err(|e| anyhow!("{e}"))?;
    for (i, t) in inputs.iter().enumerate() {
        let info = model.input(i).map_err(|e| anyhow!("{e}"))?;
        let r = match (&t.data, info.dtype) {
            (HostData::F32(v), DType::F32) => session.set_input_f32(i, v),
            (HostData::I64(v), DType::I32) => {
                let ids: Vec<i32> = v.iter().map(|&x| x as i32).collect();
                session.set_input_i32(i, &ids)
            }
            (_, dt) => bail!(
                "input {i} ('{}'): model takes {dt}, data has another type",
                info.name()
            ),
        };
        r.map_err(|e| anyhow!("input {i}: {e}"))?;
    }
    session.invoke().map_err(|e| match e {
        rill_runtime::Error::Op { op, .. } => anyhow!("{e} (node '{}')", model.op_name(op)),
        e => anyhow!("{e}"),
    })?;
    (0..model.output_count())
        .map(|i| {
            session
                .output_f32(i)
                .map(|y| y.to_vec())
                .map_err(|e| anyhow!("output {i}: {e}"))
        })
        .collect()
}

/// xorshift64*: deterministic, seedable, good enough to pick mutations.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Workspace root (for test data paths).
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
