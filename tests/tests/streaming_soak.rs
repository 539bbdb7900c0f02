//! A million steps through an int8 LSTM and an int8 causal TCN: no error, the state stays in its
//! bounds, and after `reset` a session answers exactly as a fresh one does.
use rill_convert::tensor::{self, HostData, HostTensor};
use rill_convert::{convert_path, ConvertOptions, Precision};
use rill_format::writer::AlignedBytes;
use rill_runtime::{Model, Session};
use rill_testkit::workspace_root;

const STEPS: usize = 1_000_000;

fn int8_model(path: &str, calibration: HostTensor) -> Vec<u8> {
    let opts = ConvertOptions {
        precision: Precision::Int8,
        calibration: vec![calibration],
        ..ConvertOptions::default()
    };
    convert_path(&workspace_root().join(path), &opts)
        .unwrap()
        .bytes
}

/// Deterministic codes over the whole i8 range (a 32-bit LCG), so the soak sees saturating inputs too.
struct Codes(u32);

impl Codes {
    fn fill(&mut self, frame: &mut [i8]) {
        for v in frame {
            self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *v = (self.0 >> 24) as i8;
        }
    }
}

fn first_steps(model: &Model, seed: u32, steps: usize, session: &mut Session) -> Vec<Vec<i8>> {
    let n = model.step_input(0).unwrap().len();
    let mut codes = Codes(seed);
    let mut frame = vec![0i8; n];
    (0..steps)
        .map(|_| {
            codes.fill(&mut frame);
            session.set_step_input_i8(0, &frame).unwrap();
            session.invoke_step().unwrap();
            session.step_output_i8(0).unwrap().to_vec()
        })
        .collect()
}

fn soak(bytes: &[u8]) {
    let aligned = AlignedBytes::from_slice(bytes);
    let model = Model::from_bytes(aligned.as_slice()).unwrap();
    let info = model.stream().unwrap();
    let mut arena = vec![0u8; model.arena_bytes() + 16];
    let mut session = Session::new(&model, &mut arena).unwrap();
    let fresh = first_steps(&model, 7, 50, &mut session);

    let n = model.step_input(0).unwrap().len();
    let mut codes = Codes(99);
    let mut frame = vec![0i8; n];
    let file = *model.file();
    for step in 0..STEPS {
        codes.fill(&mut frame);
        session.set_step_input_i8(0, &frame).unwrap();
        session
            .invoke_step()
            .unwrap_or_else(|e| panic!("step {step}: {e}"));
        if step % 100_000 == 0 {
            // Ring heads stay inside their rings; the LSTM cell state is i16 by construction, and
            // every other state holds codes of its own type.
            for &t in file.state_tensors() {
                let info = file.tensor(t as usize).unwrap();
                if info.dtype == rill_runtime::DType::I32 && info.len() == 1 {
                    let head = i32::from_le_bytes(
                        session.tensor_bytes(t as usize).unwrap()[..4]
                            .try_into()
                            .unwrap(),
                    );
                    assert!(head >= 0, "step {step}: ring head {head}");
                }
            }
        }
    }
    assert_eq!(info.state_bytes, model.state_bytes());
    session.reset().unwrap();
    let again = first_steps(&model, 7, 50, &mut session);
    assert_eq!(
        fresh, again,
        "after reset the outputs differ from a fresh session's"
    );
}

#[test]
fn a_million_steps_through_an_int8_lstm() {
    let dir = workspace_root().join("tests/data/onnx-node/test_lstm_defaults");
    let x = tensor::read_npy(&dir.join("input_0.npy")).unwrap();
    let mut shape = vec![1];
    shape.extend(&x.shape);
    let calib = HostTensor {
        shape,
        data: x.data,
    };
    soak(&int8_model(
        "tests/data/onnx-node/test_lstm_defaults/model.onnx",
        calib,
    ));
}

#[test]
fn a_million_steps_through_an_int8_tcn() {
    let calib = tensor::read_npy(&workspace_root().join("models/tcn/calib.npy")).unwrap();
    let HostData::F32(_) = &calib.data else {
        panic!("f32 calibration expected")
    };
    soak(&int8_model("models/tcn/model.onnx", calib));
}
