//! How far one set of outputs is from another: the numbers `rill verify` reports.
use serde::Serialize;

/// Agreement of `actual` with `reference`, both `[samples * rows, classes]` row-major (a row is one
/// prediction: the last axis holds the classes or values).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Agreement {
    pub max_abs_err: f64,
    /// `10 log10(sum r^2 / sum (a - r)^2)`; infinite when the outputs are equal.
    pub sqnr_db: f64,
    pub cosine: f64,
    /// Fraction of rows whose arg-max agrees.
    pub top1_agreement: f64,
    /// Fraction of rows whose largest `actual` value is shared by more than one class, the
    /// reference's arg-max among them: quantized codes too coarse to tell those classes apart, so
    /// the arg-max is decided by the order of the classes. Included in the disagreement when that
    /// order does not favour the reference's class.
    pub top1_ties: f64,
    pub rows: usize,
}

fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// Compares two outputs of the same shape; `row_len` is the length of the last axis.
pub fn agreement(actual: &[f32], reference: &[f32], row_len: usize) -> Agreement {
    let (mut max_abs, mut sig, mut noise, mut dot, mut na, mut nr) =
        (0f64, 0f64, 0f64, 0f64, 0f64, 0f64);
    for (&a, &r) in actual.iter().zip(reference) {
        let (a, r) = (a as f64, r as f64);
        max_abs = max_abs.max((a - r).abs());
        sig += r * r;
        noise += (a - r) * (a - r);
        dot += a * r;
        na += a * a;
        nr += r * r;
    }
    let sqnr_db = if noise == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (sig / noise).log10()
    };
    let cosine = if na == 0.0 || nr == 0.0 {
        f64::from(u8::from(na == nr))
    } else {
        dot / (na.sqrt() * nr.sqrt())
    };
    let row_len = row_len.max(1);
    let rows = actual.len().min(reference.len()) / row_len;
    let (mut same, mut tied) = (0usize, 0usize);
    for i in 0..rows {
        let (a, r) = (
            &actual[i * row_len..(i + 1) * row_len],
            &reference[i * row_len..(i + 1) * row_len],
        );
        let (best, want) = (argmax(a), argmax(r));
        same += usize::from(best == want);
        let top = a[best];
        tied += usize::from(a[want] == top && a.iter().filter(|&&v| v == top).count() > 1);
    }
    let fraction = |n: usize| {
        if rows == 0 {
            0.0
        } else {
            n as f64 / rows as f64
        }
    };
    Agreement {
        max_abs_err: max_abs,
        sqnr_db,
        cosine,
        top1_agreement: fraction(same),
        top1_ties: fraction(tied),
        rows,
    }
}

/// Fraction of rows whose arg-max equals the label (one label per row).
pub fn accuracy(output: &[f32], row_len: usize, labels: &[i64]) -> f64 {
    let row_len = row_len.max(1);
    let rows = (output.len() / row_len).min(labels.len());
    if rows == 0 {
        return 0.0;
    }
    let right = (0..rows)
        .filter(|&i| argmax(&output[i * row_len..(i + 1) * row_len]) as i64 == labels[i])
        .count();
    right as f64 / rows as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_agreement() {
        // Two rows of two classes. Errors 0.1 and -0.1 on the first row, none on the second.
        let r = [1.0, 0.0, 0.0, 2.0];
        let a = [1.1, -0.1, 0.0, 2.0];
        let g = agreement(&a, &r, 2);
        assert!((g.max_abs_err - 0.1).abs() < 1e-6);
        // sum r^2 = 5, sum e^2 = 0.02: 10 log10(250) = 23.979 dB.
        assert!((g.sqnr_db - 23.979).abs() < 1e-3, "{}", g.sqnr_db);
        // a.r = 1.1 + 4 = 5.1; |a| = sqrt(1.21 + 0.01 + 4) = sqrt(5.22); |r| = sqrt(5).
        assert!((g.cosine - 5.1 / (5.22f64.sqrt() * 5f64.sqrt())).abs() < 1e-6);
        assert_eq!((g.top1_agreement, g.rows), (1.0, 2));
        let flipped = agreement(&[0.0, 1.0, 0.0, 2.0], &r, 2);
        assert_eq!(flipped.top1_agreement, 0.5);
        assert_eq!(agreement(&r, &r, 2).sqnr_db, f64::INFINITY);
        assert_eq!(g.top1_ties, 0.0);
    }

    #[test]
    fn ties_at_the_top_are_counted_only_with_the_reference_class_among_them() {
        let r = [
            [0.9, 1.0, 0.0],
            [1.0, 0.9, 0.0],
            [0.0, 0.9, 1.0],
            [0.0, 1.0, 0.2],
        ]
        .concat();
        // Row 0: tie of classes 0 and 1, the first wins and the reference's class 1 loses.
        // Row 1: the same tie, the reference's class 0 wins. Row 2: tie of 0 and 1 without the
        // reference's class 2. Row 3: no tie.
        let a = [
            [2.0, 2.0, 1.0],
            [2.0, 2.0, 1.0],
            [2.0, 2.0, 1.0],
            [0.0, 2.0, 1.0],
        ]
        .concat();
        let g = agreement(&a, &r, 3);
        assert_eq!((g.top1_agreement, g.top1_ties), (0.5, 0.5));
        assert_eq!(agreement(&[], &[], 3).top1_ties, 0.0);
    }

    #[test]
    fn accuracy_counts_rows_matching_labels() {
        assert_eq!(
            accuracy(&[0.1, 0.9, 0.8, 0.2, 0.3, 0.7], 2, &[1, 0, 0]),
            2.0 / 3.0
        );
    }
}

/// How far one layer's fixed-point output is from the float graph's value of the same tensor.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LayerError {
    /// Op index in the fixed-point file.
    pub index: usize,
    pub op: String,
    /// The ONNX node the op came from.
    pub node: String,
    /// The compared tensor (the op's first output).
    pub tensor: String,
    pub sqnr_db: f64,
    pub max_abs_err: f64,
}

/// Runs `fixed` and `float` (the same graph converted in f32 without fusion, so every ONNX value is
/// a tensor) on every sample and compares each fixed op's first output with the float tensor of the
/// same name. Worst SQNR first.
pub fn layer_errors(
    fixed: &rill_runtime::Model,
    float: &rill_runtime::Model,
    inputs: &[crate::tensor::HostTensor],
    samples: usize,
) -> anyhow::Result<Vec<LayerError>> {
    use std::collections::HashMap;

    use crate::exec;
    use crate::stream::MASKED;
    let file = fixed.file();
    let n_ops = file.ops.len();
    let mut sums = vec![(0f64, 0f64, 0f64); n_ops];
    let mut matched = vec![false; n_ops];
    for s in 0..samples {
        let x: Vec<_> = (0..inputs.len())
            .map(|i| exec::sample_of(fixed, i, &inputs[i], s))
            .collect::<anyhow::Result<_>>()?;
        let mut values: HashMap<String, Vec<f32>> = HashMap::new();
        let ffile = float.file();
        exec::run_samples_observed(float, &x, 1, |_, op, session| {
            if let Some(v) = ffile.op(op) {
                for &t in v.outputs.iter().filter(|&&t| t != rill_format::NONE) {
                    if let Some(info) = ffile.tensor(t as usize) {
                        values.insert(
                            info.name().to_owned(),
                            exec::tensor_values(session, t as usize)?,
                        );
                    }
                }
            }
            Ok(())
        })?;
        exec::run_samples_observed(fixed, &x, 1, |_, op, session| {
            let Some(v) = file.op(op) else { return Ok(()) };
            let Some(t) = v.outputs.iter().copied().find(|&t| t != rill_format::NONE) else {
                return Ok(());
            };
            let Some(info) = file.tensor(t as usize) else {
                return Ok(());
            };
            if let Some(reference) = values.get(info.name()) {
                let ours = exec::tensor_values(session, t as usize)?;
                if ours.len() == reference.len() {
                    matched[op] = true;
                    let acc = &mut sums[op];
                    // A score an attention mask hides (the sum at or below the mask's -1e4) is
                    // hidden in both paths, however far below the fixed point saturates it.
                    let shown = ours.iter().zip(reference).filter(|(_, &r)| r > MASKED);
                    for (&a, &r) in shown {
                        let d = (a - r) as f64;
                        acc.0 += (r as f64).powi(2);
                        acc.1 += d * d;
                        acc.2 = acc.2.max(d.abs());
                    }
                }
            }
            Ok(())
        })?;
    }
    let mut out: Vec<LayerError> = (0..n_ops)
        .filter(|&i| matched[i])
        .filter_map(|i| {
            let v = file.op(i)?;
            let t = v
                .outputs
                .iter()
                .copied()
                .find(|&t| t != rill_format::NONE)?;
            let (sig, noise, max) = sums[i];
            Some(LayerError {
                index: i,
                op: v.op.kind().name().to_owned(),
                node: fixed.op_name(i).to_owned(),
                tensor: file.tensor(t as usize)?.name().to_owned(),
                sqnr_db: if noise == 0.0 {
                    f64::INFINITY
                } else {
                    10.0 * (sig / noise).log10()
                },
                max_abs_err: max,
            })
        })
        .collect();
    out.sort_by(|a, b| a.sqnr_db.total_cmp(&b.sqnr_db));
    Ok(out)
}
