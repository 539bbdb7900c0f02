//! Runs one fixed-point op: its codes, weights and aux operand (`rill_format::qaux`) handed to the
//! integer kernel. Nothing here touches a float.
use rill_format::{qaux, Op};
use rill_kernels as k;
use rill_kernels::fixed::{OutQ, QAct, QMul};

use crate::dispatch::{Operands, LOG_SOFTMAX};
use crate::error::OpError;

/// The recurrent cell kinds this build compiles in.
const CELLS: u8 = crate::features::Features::CELLS;

/// The convolution fast paths this build compiles in.
const CONV_PATHS: u8 = crate::features::Features::CONV_PATHS;

fn bad(what: &'static str) -> OpError {
    OpError::Kernel(k::KernelError::BadParam { what })
}

/// The multipliers stored as `(m0, shift)` word pairs.
fn muls(words: &[i32]) -> Result<&[QMul], OpError> {
    bytemuck::try_cast_slice(words).map_err(|_| bad("aux multipliers are not (m0, shift) pairs"))
}

/// `[lo, hi, rest..]` of an aux operand, with the output's zero point.
fn clamp(aux: &[i32], z_y: i32) -> Result<(OutQ, &[i32]), OpError> {
    match aux {
        [lo, hi, rest @ ..] => Ok((
            OutQ {
                z: z_y,
                lo: *lo,
                hi: *hi,
            },
            rest,
        )),
        _ => Err(bad("aux operand is shorter than its clamp")),
    }
}

fn one(m: &[QMul]) -> Result<QMul, OpError> {
    match m {
        [m] => Ok(*m),
        _ => Err(bad("aux operand must hold exactly one multiplier")),
    }
}

#[allow(unused_variables, unreachable_patterns)] // what is left when kernels are compiled out
pub(crate) fn run<T: QAct>(o: &mut Operands<'_, '_>) -> Result<(), OpError> {
    let kernel = |r: Result<(), k::KernelError>| r.map_err(OpError::Kernel);
    let view = o.view();
    let last = view.inputs.len().saturating_sub(1);
    let z_y = o.out_zero_point(0);
    match &view.op {
        #[cfg(feature = "dense")]
        Op::Dense(p) => {
            let (x, b, aux) = (o.req::<T>(0)?, o.req::<i32>(2)?, o.req(3)?);
            let (out, rest) = clamp(aux, z_y)?;
            let m = muls(rest)?;
            #[cfg(feature = "i16")]
            if o.input_dtype(1) == Some(rill_format::DType::I16) {
                let w = o.req::<i16>(1)?;
                return kernel(k::dense::fixed::dense(p, x, w, b, m, out, o.out(0)?));
            }
            let w = o.req::<i8>(1)?;
            kernel(k::dense::fixed::dense(p, x, w, b, m, out, o.out(0)?))
        }
        #[cfg(feature = "conv")]
        Op::Conv(p) => {
            let (x, b, aux) = (o.req::<T>(0)?, o.req::<i32>(2)?, o.req(3)?);
            let (out, rest) = clamp(aux, z_y)?;
            let (z_x, m) = (o.zero_point(0), muls(rest)?);
            #[cfg(feature = "i16")]
            if o.input_dtype(1) == Some(rill_format::DType::I16) {
                let w = o.req::<i16>(1)?;
                let y = o.out(0)?;
                return kernel(k::conv::fixed::conv_paths::<_, _, CONV_PATHS>(
                    p, x, z_x, w, b, m, out, y,
                ));
            }
            let w = o.req::<i8>(1)?;
            let y = o.out(0)?;
            kernel(k::conv::fixed::conv_paths::<_, _, CONV_PATHS>(
                p, x, z_x, w, b, m, out, y,
            ))
        }
        #[cfg(feature = "matmul")]
        Op::MatMul(p) => {
            let (a, b, aux) = (o.req::<T>(0)?, o.req::<T>(1)?, o.req(2)?);
            let (out, rest) = clamp(aux, z_y)?;
            let (za, zb) = (o.zero_point(0), o.zero_point(1));
            kernel(k::dense::fixed::matmul(
                p,
                a,
                za,
                b,
                zb,
                one(muls(rest)?)?,
                out,
                o.out(0)?,
            ))
        }
        #[cfg(feature = "pool")]
        Op::Pool(p) => {
            let x = o.req::<T>(0)?;
            let z = o.zero_point(0);
            let valid = o.opt::<i32>(1)?.and_then(|v| v.first().copied());
            kernel(k::pool::fixed::pool_step(p, x, z, valid, o.out(0)?))
        }
        #[cfg(feature = "reduce")]
        Op::Reduce(p) => {
            let (x, aux) = (o.req::<T>(0)?, o.req(1)?);
            let (out, rest) = clamp(aux, z_y)?;
            let z_x = o.zero_point(0);
            kernel(k::reduce::fixed::reduce(
                p,
                x,
                z_x,
                one(muls(rest)?)?,
                out,
                o.out(0)?,
            ))
        }
        #[cfg(feature = "binary")]
        Op::Binary(p) => {
            let (a, aux) = (o.req::<T>(0)?, o.req::<i32>(2)?);
            let (out, rest) = clamp(aux, z_y)?;
            let [shift, m @ ..] = rest else {
                return Err(bad("binary aux operand is too short"));
            };
            if aux.len() != qaux::BINARY_LEN {
                return Err(bad("binary aux operand has the wrong length"));
            }
            let m = muls(m)?;
            let q = k::elementwise::fixed::BinaryQ {
                z_a: o.zero_point(0),
                z_b: o.zero_point(1),
                m_a: m[0],
                m_b: m[1],
                m_y: m[2],
                left_shift: u32::try_from(*shift).map_err(|_| bad("negative binary shift"))?,
                out,
            };
            if o.input_dtype(1) == Some(rill_format::DType::I16) {
                let b = o.req::<i16>(1)?;
                kernel(k::elementwise::fixed::binary(p, a, b, &q, o.out(0)?))
            } else {
                let b = o.req::<T>(1)?;
                kernel(k::elementwise::fixed::binary(p, a, b, &q, o.out(0)?))
            }
        }
        #[cfg(feature = "activation")]
        Op::Unary(_) => lut(o),
        #[cfg(feature = "softmax")]
        Op::Softmax(p) => {
            let (x, table) = (o.req::<T>(0)?, o.req::<i32>(1)?);
            kernel(k::softmax::fixed::softmax_modes::<_, LOG_SOFTMAX>(
                p,
                x,
                table,
                o.out(0)?,
            ))
        }
        #[cfg(feature = "gather")]
        Op::Gather(p) => {
            let (d, idx) = (o.req::<T>(0)?, o.req::<i32>(1)?);
            kernel(k::gather::gather(p, d, idx, o.out(0)?))
        }
        #[cfg(feature = "copy")]
        Op::Copy(p) => {
            let x = o.req::<T>(0)?;
            kernel(k::copy::strided_copy(p, x, o.out(0)?))
        }
        #[cfg(feature = "concat")]
        Op::Concat(p) => {
            let aux = o.req::<i32>(last)?;
            let (out, rest) = clamp(aux, z_y)?;
            let m = muls(rest)?;
            if m.len() != last {
                return Err(bad("concat aux operand needs one multiplier per input"));
            }
            let mut ins: [(&[T], i32, QMul); 8] = [(&[], 0, QMul::default()); 8];
            for (kk, slot) in ins.iter_mut().enumerate().take(last) {
                *slot = (o.req::<T>(kk)?, o.zero_point(kk), m[kk]);
            }
            kernel(k::concat::fixed::concat(
                p,
                ins.get(..last).unwrap_or(&[]),
                out,
                o.out(0)?,
            ))
        }
        #[cfg(feature = "rnn")]
        Op::Rnn(p) => rnn::<T>(o, p),
        #[cfg(all(feature = "rnn", feature = "stream"))]
        Op::RnnStep(p) => rnn_step::<T>(o, p),
        #[cfg(feature = "layer-norm")]
        Op::LayerNorm(p) => {
            let (x, g, b, aux) = (
                o.req::<T>(0)?,
                o.req::<i16>(1)?,
                o.opt::<i32>(2)?,
                o.req(3)?,
            );
            let (out, rest) = clamp(aux, z_y)?;
            let [m0, shift, eps_lo, eps_hi] = rest else {
                return Err(bad("layer norm aux operand has the wrong length"));
            };
            let q = k::norm::fixed::LayerNormQ {
                z_x: o.zero_point(0),
                eps: ((*eps_hi as i64) << 32) | (*eps_lo as u32 as i64),
                mul: QMul {
                    m0: *m0,
                    shift: *shift,
                },
                out,
            };
            kernel(k::norm::fixed::layer_norm(p, x, g, b, &q, o.out(0)?))
        }
        _ => Err(OpError::Unsupported),
    }
}

/// Unary: a table lookup, i8 (256 entries) or interpolated i16 (513).
#[cfg(feature = "activation")]
fn lut(o: &mut Operands<'_, '_>) -> Result<(), OpError> {
    let kernel = |r: Result<(), k::KernelError>| r.map_err(OpError::Kernel);
    match o.input_dtype(0) {
        #[cfg(feature = "i8")]
        Some(rill_format::DType::I8) => {
            let (x, t) = (o.req::<i8>(0)?, o.req::<i8>(1)?);
            kernel(k::act::fixed::lut_i8(t, x, o.out(0)?))
        }
        #[cfg(feature = "i16")]
        Some(rill_format::DType::I16) => {
            let (x, t) = (o.req::<i16>(0)?, o.req::<i16>(1)?);
            kernel(k::act::fixed::lut_i16(t, x, o.out(0)?))
        }
        _ => Err(OpError::Unsupported),
    }
}

/// The integer parameters of a recurrent op from its aux operand; `z_h` is the hidden codes' zero point.
#[cfg(feature = "rnn")]
fn rnn_q<'s>(o: &Operands<'_, 's>, z_h: i32) -> Result<k::rnn::fixed::RnnQ<'s>, OpError> {
    use rill_format::rnn_operand as at;
    let aux = o.req::<i32>(qaux::RNN_POSITION)?;
    let (head, body) = aux
        .split_at_checked(qaux::RNN_HEADER)
        .ok_or(bad("rnn aux operand is shorter than its header"))?;
    let rows = body.len() / 6;
    let wrong = || bad("rnn aux operand has the wrong length");
    if body.len() != rows * 6 {
        return Err(wrong());
    }
    // Checked splits, though the length test above makes them exact: an optimiser that cannot
    // prove it would otherwise link a panic path.
    let (w_bias, rest) = body.split_at_checked(rows).ok_or_else(wrong)?;
    let (r_bias, rest) = rest.split_at_checked(rows).ok_or_else(wrong)?;
    let (w_mul, r_mul) = rest.split_at_checked(2 * rows).ok_or_else(wrong)?;
    let pair = |a: i32, b: i32| QMul { m0: a, shift: b };
    Ok(k::rnn::fixed::RnnQ {
        z_x: o.zero_point(at::X),
        z_h,
        w_bias,
        r_bias,
        w_mul: muls(w_mul)?,
        r_mul: muls(r_mul)?,
        h_mul: pair(head[2], head[3]),
        h_to_q15: pair(head[4], head[5]),
        cell_k: head[0],
        clip_q12: head[1],
    })
}

#[cfg(feature = "rnn")]
fn rnn<T: QAct>(o: &mut Operands<'_, '_>, p: &rill_format::RnnParams) -> Result<(), OpError> {
    use rill_format::rnn_operand as at;
    // The hidden state's zero point: of whichever hidden output the op writes.
    let z_h = if view_has_output(o, at::Y) {
        o.out_zero_point(at::Y)
    } else {
        o.out_zero_point(at::Y_H)
    };
    let q = rnn_q(o, z_h)?;
    let (x, initial_h) = (o.req::<T>(at::X)?, o.opt::<T>(at::INITIAL_H)?);
    let initial_c = o.opt::<i16>(at::INITIAL_C)?;
    let wide = o.input_dtype(at::W) == Some(rill_format::DType::I16);
    let scratch = o.scratch::<i32>()?;
    let outputs = k::rnn::fixed::RnnFixedOutputs {
        y: o.opt_out::<T>(at::Y)?,
        y_h: o.opt_out::<T>(at::Y_H)?,
        y_c: o.opt_out::<i16>(at::Y_C)?,
    };
    #[cfg(feature = "i16")]
    if wide {
        let inputs = k::rnn::fixed::RnnFixedInputs {
            x,
            w: o.req::<i16>(at::W)?,
            r: o.req::<i16>(at::R)?,
            initial_h,
            initial_c,
        };
        return k::rnn::fixed::rnn_cells::<_, _, CELLS>(p, &q, inputs, outputs, scratch)
            .map_err(OpError::Kernel);
    }
    let inputs = k::rnn::fixed::RnnFixedInputs {
        x,
        w: o.req::<i8>(at::W)?,
        r: o.req::<i8>(at::R)?,
        initial_h,
        initial_c,
    };
    k::rnn::fixed::rnn_cells::<_, _, CELLS>(p, &q, inputs, outputs, scratch)
        .map_err(OpError::Kernel)
}

#[cfg(feature = "rnn")]
fn view_has_output(o: &Operands<'_, '_>, w: usize) -> bool {
    o.view().output(w).is_some()
}

/// One step of a forward layer, state updated in place in y_h (and the LSTM's i16 cell state in y_c).
#[cfg(all(feature = "rnn", feature = "stream"))]
fn rnn_step<T: QAct>(o: &mut Operands<'_, '_>, p: &rill_format::RnnParams) -> Result<(), OpError> {
    use rill_format::rnn_operand as at;
    let q = rnn_q(o, o.out_zero_point(at::Y_H))?;
    let x = o.req::<T>(at::X)?;
    #[cfg(feature = "i16")]
    if o.input_dtype(at::W) == Some(rill_format::DType::I16) {
        let (w, r) = (o.req::<i16>(at::W)?, o.req::<i16>(at::R)?);
        return step_rows::<T, i16>(o, p, &q, x, w, r);
    }
    let (w, r) = (o.req::<i8>(at::W)?, o.req::<i8>(at::R)?);
    step_rows::<T, i8>(o, p, &q, x, w, r)
}

#[cfg(all(feature = "rnn", feature = "stream"))]
fn step_rows<T: QAct, W: QAct>(
    o: &mut Operands<'_, '_>,
    p: &rill_format::RnnParams,
    q: &k::rnn::fixed::RnnQ<'_>,
    x: &[T],
    w: &[W],
    r: &[W],
) -> Result<(), OpError> {
    use k::rnn::fixed::{gru_step_fixed, lstm_step_fixed, rnn_step_fixed};
    use rill_format::{rnn_operand as at, CellKind};
    let kernel = |r: Result<(), k::KernelError>| r.map_err(OpError::Kernel);
    let scratch = o.scratch::<i32>()?;
    let mut y = o.opt_out::<T>(at::Y)?;
    let h = o.out::<T>(at::Y_H)?;
    let mut c = o.opt_out::<i16>(at::Y_C)?;
    let (n_in, n_h) = (p.input_size as usize, p.hidden as usize);
    kernel(k::rnn::step_lengths(
        p,
        x.len(),
        h.len(),
        c.as_deref().map(<[i16]>::len),
        y.as_deref().map(<[T]>::len),
    ))?;
    for b in 0..p.batch as usize {
        let x = x
            .get(b * n_in..(b + 1) * n_in)
            .ok_or(bad("rnn x is shorter than batch x input"))?;
        let h = h
            .get_mut(b * n_h..(b + 1) * n_h)
            .ok_or(bad("rnn y_h is shorter than batch x hidden"))?;
        match k::rnn::cell_kind(p.cell) {
            #[cfg(feature = "simple-rnn")]
            Some(CellKind::Rnn) => kernel(rnn_step_fixed(p, q, w, r, 0, x, h, scratch))?,
            #[cfg(feature = "gru")]
            Some(CellKind::Gru) => kernel(gru_step_fixed(p, q, w, r, 0, x, h, scratch))?,
            #[cfg(feature = "lstm")]
            Some(CellKind::Lstm) => {
                let c = c
                    .as_deref_mut()
                    .and_then(|c| c.get_mut(b * n_h..(b + 1) * n_h))
                    .ok_or(bad("rnn y_c is shorter than batch x hidden"))?;
                kernel(lstm_step_fixed(p, q, w, r, 0, x, h, c, scratch))?
            }
            _ => return Err(OpError::Unsupported),
        }
        if let Some(y) = y.as_deref_mut() {
            y.get_mut(b * n_h..(b + 1) * n_h)
                .ok_or(bad("rnn y is shorter than batch x hidden"))?
                .copy_from_slice(h);
        }
    }
    Ok(())
}

/// Codes of one type and scale to another (mixed precision), whatever the two code types are.
#[cfg(all(feature = "requant", feature = "i8", feature = "i16"))]
pub(crate) fn requant(
    o: &mut Operands<'_, '_>,
    p: &rill_format::RequantParams,
) -> Result<(), OpError> {
    fn typed<X: QAct, Y: QAct>(
        o: &mut Operands<'_, '_>,
        p: &rill_format::RequantParams,
    ) -> Result<(), OpError> {
        let (x, aux) = (o.req::<X>(0)?, o.req::<i32>(1)?);
        let (out, rest) = clamp(aux, o.out_zero_point(0))?;
        let m = one(muls(rest)?)?;
        let z_x = o.zero_point(0);
        k::requant::requant(p, x, z_x, m, out, o.out::<Y>(0)?).map_err(OpError::Kernel)
    }
    use rill_format::DType;
    let y = o.view().output(0).and_then(|_| o.output_dtype(0));
    match (o.input_dtype(0), y) {
        (Some(DType::I8), Some(DType::I16)) => typed::<i8, i16>(o, p),
        (Some(DType::I16), Some(DType::I8)) => typed::<i16, i8>(o, p),
        _ => Err(OpError::Unsupported),
    }
}
