//! The ONNX float reference: the original model run by tract-onnx on the same inputs.
use std::path::Path;

use anyhow::{bail, Context, Result};
use tract_onnx::prelude::*;

use crate::tensor::{HostData, HostTensor};

fn to_tract(t: &HostTensor) -> Result<Tensor> {
    Ok(match &t.data {
        HostData::F32(v) => Tensor::from_shape(&t.shape, v)?,
        HostData::I64(v) => Tensor::from_shape(&t.shape, v)?,
    })
}

fn from_tract(t: &Tensor, k: usize) -> Result<HostTensor> {
    let shape = t.shape().to_vec();
    Ok(match t.datum_type() {
        DatumType::F32 => HostTensor::f32(
            shape,
            t.to_plain_array_view::<f32>()?
                .iter()
                .copied()
                .collect::<Vec<_>>(),
        ),
        DatumType::F64 => HostTensor::f32(
            shape,
            t.to_plain_array_view::<f64>()?
                .iter()
                .copied()
                .collect::<Vec<_>>()
                .into_iter()
                .map(|v| v as f32)
                .collect(),
        ),
        DatumType::I64 => HostTensor::i64(
            shape,
            t.to_plain_array_view::<i64>()?
                .iter()
                .copied()
                .collect::<Vec<_>>(),
        ),
        DatumType::I32 => HostTensor::i64(
            shape,
            t.to_plain_array_view::<i32>()?
                .iter()
                .copied()
                .collect::<Vec<_>>()
                .into_iter()
                .map(i64::from)
                .collect(),
        ),
        other => bail!("reference output {k} has type {other:?}, which cannot be compared"),
    })
}

/// Runs the ONNX model at `path` on `inputs` (model input order) with tract.
pub fn run_onnx(path: &Path, inputs: &[HostTensor]) -> Result<Vec<HostTensor>> {
    let mut model = tract_onnx::onnx()
        .model_for_path(path)
        .with_context(|| format!("tract cannot load '{}'", path.display()))?;
    for (i, t) in inputs.iter().enumerate() {
        let fact = match t.data {
            HostData::F32(_) => f32::fact(&t.shape),
            HostData::I64(_) => i64::fact(&t.shape),
        };
        model = model.with_input_fact(i, fact.into())?;
    }
    let typed = model.into_typed().context("tract cannot type the model")?;
    let runnable = match typed.clone().into_optimized() {
        Ok(m) => m.into_runnable()?,
        Err(_) => typed.into_runnable()?,
    };
    let values = inputs
        .iter()
        .map(|t| to_tract(t).map(|t| t.into_tvalue()))
        .collect::<Result<TVec<_>>>()?;
    let outs = runnable
        .run(values)
        .context("tract failed to run the model")?;
    outs.iter()
        .enumerate()
        .map(|(k, t)| from_tract(t, k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tract_agrees_with_onnxruntime_on_the_lstm_classifier() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/lstm_classifier");
        let x = crate::tensor::read_npy(&dir.join("input.npy")).unwrap();
        let expected = crate::tensor::read_npy(&dir.join("reference_output.npy")).unwrap();
        let got = run_onnx(&dir.join("model.onnx"), &[x]).unwrap();
        let (HostData::F32(g), HostData::F32(e)) = (&got[0].data, &expected.data) else {
            panic!("float outputs")
        };
        assert_eq!(g.len(), e.len());
        for (a, b) in g.iter().zip(e) {
            assert!(
                (a - b).abs() <= 1e-5 + 1e-4 * b.abs(),
                "tract {a} vs onnxruntime {b}"
            );
        }
    }
}
