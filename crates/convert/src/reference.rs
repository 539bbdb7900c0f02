//! The ONNX float reference: the original model run by tract-onnx on the same inputs, which
//! `rill verify` and the tests compare the converted model against.
use std::path::Path;

use anyhow::{bail, ensure, Context, Result};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

use crate::tensor::{HostData, HostTensor};

/// The tract tensor for input `name`, in the type the model declares for it where that differs
/// from the host type only by width: int64 token ids for an int32 input (range-checked), float32
/// values for a float64 input.
fn to_tract(t: &HostTensor, declared: Option<DatumType>, name: &str) -> Result<Tensor> {
    let need: usize = t.shape.iter().product();
    ensure!(
        need == t.len(),
        "input '{name}': shape {:?} holds {need} values but {} are given",
        t.shape,
        t.len()
    );
    Ok(match (&t.data, declared) {
        (HostData::I64(v), Some(DatumType::I32)) => {
            let narrowed = v
                .iter()
                .map(|&x| i32::try_from(x))
                .collect::<Result<Vec<i32>, _>>()
                .map_err(|_| {
                    anyhow::anyhow!("input '{name}' is int32 in the model but a value does not fit")
                })?;
            Tensor::from_shape(&t.shape, &narrowed)?
        }
        (HostData::F32(v), Some(DatumType::F64)) => {
            let widened: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
            Tensor::from_shape(&t.shape, &widened)?
        }
        (HostData::F32(v), Some(DatumType::F32) | None) => Tensor::from_shape(&t.shape, v)?,
        (HostData::I64(v), Some(DatumType::I64) | None) => Tensor::from_shape(&t.shape, v)?,
        (_, Some(dt)) => bail!(
            "input '{name}' is {} but the model declares {}",
            t.dtype_name(),
            dt_name(dt)
        ),
    })
}

/// numpy's name for a tract type.
fn dt_name(dt: DatumType) -> String {
    match dt {
        DatumType::F32 => "float32".to_owned(),
        DatumType::F64 => "float64".to_owned(),
        DatumType::F16 => "float16".to_owned(),
        DatumType::I64 => "int64".to_owned(),
        DatumType::I32 => "int32".to_owned(),
        DatumType::Bool => "bool".to_owned(),
        other => format!("{other:?}"),
    }
}

/// Row-major values of a tract output, as a host tensor.
fn from_tract(t: &Tensor, name: &str) -> Result<HostTensor> {
    let shape = t.shape().to_vec();
    let view = |e: TractError| e.context(format!("reading output '{name}'"));
    Ok(match t.datum_type() {
        DatumType::F32 => HostTensor::f32(
            shape,
            t.to_plain_array_view::<f32>()
                .map_err(view)?
                .iter()
                .copied()
                .collect(),
        ),
        DatumType::F64 => HostTensor::f32(
            shape,
            t.to_plain_array_view::<f64>()
                .map_err(view)?
                .iter()
                .map(|&v| v as f32)
                .collect(),
        ),
        DatumType::I64 => HostTensor::i64(
            shape,
            t.to_plain_array_view::<i64>()
                .map_err(view)?
                .iter()
                .copied()
                .collect(),
        ),
        DatumType::I32 => HostTensor::i64(
            shape,
            t.to_plain_array_view::<i32>()
                .map_err(view)?
                .iter()
                .map(|&v| i64::from(v))
                .collect(),
        ),
        other => bail!(
            "output '{name}' has type {}: only float32/float64 and int32/int64 outputs \
             can be compared",
            dt_name(other)
        ),
    })
}

/// The name of each outlet: its label (the ONNX value name), else its node's name.
fn outlet_names<F, O>(model: &Graph<F, O>, outlets: &[OutletId]) -> Vec<String>
where
    F: Fact + Clone + 'static,
    O: std::fmt::Debug + std::fmt::Display + AsRef<dyn Op> + AsMut<dyn Op> + Clone + 'static,
{
    outlets
        .iter()
        .map(|&o| {
            model
                .outlet_label(o)
                .map_or_else(|| model.node(o.node).name.clone(), str::to_owned)
        })
        .collect()
}

/// An ONNX model prepared by tract for inputs of fixed shapes and types, to run many samples.
pub struct OnnxReference {
    runnable: std::sync::Arc<TypedSimplePlan>,
    declared: Vec<Option<DatumType>>,
    input_names: Vec<String>,
    output_names: Vec<String>,
    path: String,
}

impl OnnxReference {
    /// Loads the model at `path` for inputs shaped and typed like `examples` (model input order).
    pub fn load(path: &Path, examples: &[HostTensor]) -> Result<OnnxReference> {
        let mut model = tract_onnx::onnx()
            .model_for_path(path)
            .with_context(|| format!("tract cannot load '{}'", path.display()))?;
        let input_names = outlet_names(&model, model.input_outlets()?);
        ensure!(
            input_names.len() == examples.len(),
            "'{}' takes {} input(s) ({}), {} given",
            path.display(),
            input_names.len(),
            input_names.join(", "),
            examples.len()
        );
        let mut declared = Vec::with_capacity(examples.len());
        for (i, (t, name)) in examples.iter().zip(&input_names).enumerate() {
            let dt = model.input_fact(i)?.datum_type.concretize();
            let tensor = to_tract(t, dt, name)?;
            declared.push(dt);
            let fact = InferenceFact::dt_shape(tensor.datum_type(), &t.shape);
            model = model
                .with_input_fact(i, fact)
                .with_context(|| format!("input '{name}' cannot take shape {:?}", t.shape))?;
        }
        let shapes: Vec<&[usize]> = examples.iter().map(|t| t.shape.as_slice()).collect();
        let typed = model.into_typed().with_context(|| {
            format!(
                "tract cannot type '{}' for inputs of shape {shapes:?}",
                path.display()
            )
        })?;
        let output_names = outlet_names(&typed, typed.output_outlets()?);
        // Optimisation only speeds the reference up: a model tract cannot optimise still runs.
        let runnable = match typed.clone().into_optimized() {
            Ok(m) => m.into_runnable(),
            Err(_) => typed.into_runnable(),
        }
        .with_context(|| format!("tract cannot prepare '{}'", path.display()))?;
        Ok(OnnxReference {
            runnable,
            declared,
            input_names,
            output_names,
            path: path.display().to_string(),
        })
    }

    pub fn output_names(&self) -> &[String] {
        &self.output_names
    }

    /// Runs one sample; inputs must have the shapes given to [`OnnxReference::load`].
    pub fn run(&self, inputs: &[HostTensor]) -> Result<Vec<HostTensor>> {
        ensure!(
            inputs.len() == self.input_names.len(),
            "{} inputs given, the model takes {}",
            inputs.len(),
            self.input_names.len()
        );
        let values = inputs
            .iter()
            .zip(&self.declared)
            .zip(&self.input_names)
            .map(|((t, &dt), name)| to_tract(t, dt, name).map(|t| t.into_tvalue()))
            .collect::<Result<TVec<_>>>()?;
        let outs = self
            .runnable
            .run(values)
            .with_context(|| format!("tract failed to run '{}'", self.path))?;
        ensure!(
            outs.len() == self.output_names.len(),
            "tract returned {} outputs for the model's {}",
            outs.len(),
            self.output_names.len()
        );
        outs.iter()
            .zip(&self.output_names)
            .map(|(t, name)| from_tract(t, name))
            .collect()
    }
}

/// Runs the ONNX model at `path` on `inputs` (in model input order) with tract, returning the
/// outputs in model output order. Input shapes and types are fixed from the tensors given.
pub fn run_onnx(path: &Path, inputs: &[HostTensor]) -> Result<Vec<HostTensor>> {
    OnnxReference::load(path, inputs)?.run(inputs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::read_npy;

    fn models() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models")
    }

    fn f32s(t: &HostTensor) -> &[f32] {
        match &t.data {
            HostData::F32(v) => v,
            HostData::I64(_) => panic!("float tensor expected"),
        }
    }

    /// onnxruntime's outputs, to rtol 1e-4 and atol 1e-5.
    fn assert_close(got: &[f32], expected: &[f32], what: &str) {
        assert_eq!(got.len(), expected.len(), "{what}");
        for (i, (a, b)) in got.iter().zip(expected).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 + 1e-4 * b.abs(),
                "{what}, element {i}: tract {a} vs onnxruntime {b}"
            );
        }
    }

    #[test]
    fn tract_agrees_with_onnxruntime_on_the_lstm_classifier() {
        let dir = models().join("lstm_classifier");
        let model = dir.join("model.onnx");
        let x = read_npy(&dir.join("input.npy")).unwrap();
        let expected = read_npy(&dir.join("reference_output.npy")).unwrap();
        let got = run_onnx(&model, &[x]).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].shape, expected.shape);
        assert_close(f32s(&got[0]), f32s(&expected), "input.npy");

        // The held-out set: [32, 1, 50, 6] inputs, [32, 1, 4] onnxruntime outputs.
        let xs = read_npy(&dir.join("test.npy")).unwrap();
        let ys = read_npy(&dir.join("test_reference.npy")).unwrap();
        let (n, per_x, per_y) = (xs.shape[0], xs.len() / xs.shape[0], ys.len() / ys.shape[0]);
        assert_eq!(ys.shape[0], n);
        for s in 0..n {
            let x = HostTensor::f32(
                xs.shape[1..].to_vec(),
                f32s(&xs)[s * per_x..(s + 1) * per_x].to_vec(),
            );
            let got = run_onnx(&model, &[x]).unwrap();
            assert_eq!(got[0].shape, ys.shape[1..]);
            assert_close(
                f32s(&got[0]),
                &f32s(&ys)[s * per_y..(s + 1) * per_y],
                &format!("test.npy sample {s}"),
            );
        }
    }

    #[test]
    fn wrong_inputs_are_named() {
        let model = models().join("lstm_classifier/model.onnx");
        let e = run_onnx(&model, &[]).unwrap_err().to_string();
        assert!(e.contains("takes 1 input"), "{e}");
        let x = read_npy(&models().join("lstm_classifier/input.npy")).unwrap();
        let ids = HostTensor::i64(x.shape.clone(), vec![0; x.len()]);
        let e = format!("{:#}", run_onnx(&model, &[ids]).unwrap_err());
        assert!(
            e.contains("'x' is int64") && e.contains("declares float32"),
            "{e}"
        );
        let e = run_onnx(&models().join("absent.onnx"), &[x])
            .unwrap_err()
            .to_string();
        assert!(e.contains("absent.onnx"), "{e}");
    }
}
