//! Constants known at convert time, and the host arithmetic that folds shape computations and constant
//! sub-graphs away so that they never reach the device.
//!
//! Values are held as `f64`: exact for every f32 and for integers up to 2^53, which covers shapes,
//! indices and the `i64::MAX` "to the end" markers exporters put in Slice (clamped before use).

/// Element type a constant had in ONNX, which decides how results round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CType {
    F32,
    I64,
    Bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HConst {
    pub shape: Vec<usize>,
    pub ty: CType,
    pub data: Vec<f64>,
}

pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Row-major element strides of `shape`.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Numpy broadcasting of two shapes.
pub fn broadcast(a: &[usize], b: &[usize]) -> Result<Vec<usize>, String> {
    let rank = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| {
        if i + s.len() < rank {
            1
        } else {
            s[i + s.len() - rank]
        }
    };
    (0..rank)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => Ok(x),
            (1, y) => Ok(y),
            (x, 1) => Ok(x),
            (x, y) => Err(format!(
                "shapes {a:?} and {b:?} do not broadcast (axis {i}: {x} vs {y})"
            )),
        })
        .collect()
}

/// Element strides of `shape` read as `out` (right-aligned, 0 on broadcast axes).
pub fn broadcast_strides(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let own = strides(shape);
    let lead = out.len() - shape.len();
    (0..out.len())
        .map(|i| {
            if i < lead || shape[i - lead] == 1 {
                0
            } else {
                own[i - lead]
            }
        })
        .collect()
}

/// Normalizes a possibly negative axis against `rank`.
pub fn axis(a: i64, rank: usize) -> Result<usize, String> {
    let r = rank as i64;
    let v = if a < 0 { a + r } else { a };
    if (0..r).contains(&v) {
        Ok(v as usize)
    } else {
        Err(format!("axis {a} is out of range for rank {rank}"))
    }
}

impl HConst {
    pub fn new(shape: Vec<usize>, ty: CType, data: Vec<f64>) -> HConst {
        HConst { shape, ty, data }
    }

    pub fn scalar(ty: CType, v: f64) -> HConst {
        HConst {
            shape: vec![],
            ty,
            data: vec![v],
        }
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// The values as integers (shapes, axes, indices).
    pub fn ints(&self) -> Vec<i64> {
        self.data
            .iter()
            .map(|&v| {
                if v >= 9.2e18 {
                    i64::MAX
                } else if v <= -9.2e18 {
                    i64::MIN
                } else {
                    v as i64
                }
            })
            .collect()
    }

    pub fn f32s(&self) -> Vec<f32> {
        self.data.iter().map(|&v| v as f32).collect()
    }

    /// Rounds values to what the element type can hold.
    fn normalized(mut self) -> HConst {
        match self.ty {
            CType::F32 => self.data.iter_mut().for_each(|v| *v = *v as f32 as f64),
            CType::I64 => self.data.iter_mut().for_each(|v| *v = v.trunc()),
            CType::Bool => self
                .data
                .iter_mut()
                .for_each(|v| *v = f64::from(u8::from(*v != 0.0))),
        }
        self
    }

    pub fn map(&self, f: impl Fn(f64) -> f64) -> HConst {
        HConst {
            shape: self.shape.clone(),
            ty: self.ty,
            data: self.data.iter().map(|&v| f(v)).collect(),
        }
        .normalized()
    }

    pub fn cast(&self, ty: CType) -> HConst {
        HConst {
            shape: self.shape.clone(),
            ty,
            data: self.data.clone(),
        }
        .normalized()
    }

    pub fn reshaped(&self, shape: Vec<usize>) -> Result<HConst, String> {
        if numel(&shape) != self.len() {
            return Err(format!("cannot reshape {:?} to {:?}", self.shape, shape));
        }
        Ok(HConst {
            shape,
            ty: self.ty,
            data: self.data.clone(),
        })
    }

    /// Elementwise binary op with broadcasting; the result takes `ty`.
    pub fn zip(
        &self,
        other: &HConst,
        ty: CType,
        f: impl Fn(f64, f64) -> f64,
    ) -> Result<HConst, String> {
        let out = broadcast(&self.shape, &other.shape)?;
        let (sa, sb) = (
            broadcast_strides(&self.shape, &out),
            broadcast_strides(&other.shape, &out),
        );
        let data = index_walk(&out, &[&sa, &sb])
            .map(|ix| f(self.data[ix[0]], other.data[ix[1]]))
            .collect();
        Ok(HConst {
            shape: out,
            ty,
            data,
        }
        .normalized())
    }

    /// General strided gather: `out[i] = self[offset + sum i_j * strides[j]]`.
    pub fn strided(&self, out_shape: &[usize], strides: &[isize], offset: usize) -> HConst {
        let data = walk_signed(out_shape, strides, offset)
            .map(|i| self.data[i])
            .collect();
        HConst {
            shape: out_shape.to_vec(),
            ty: self.ty,
            data,
        }
    }
}

/// Walks `shape` row-major, yielding for each position the flat index into each strided operand.
pub fn index_walk<'s>(
    shape: &'s [usize],
    strides: &'s [&'s [usize]],
) -> impl Iterator<Item = Vec<usize>> + 's {
    let total = numel(shape);
    let mut idx = vec![0usize; shape.len()];
    let mut first = true;
    (0..total).map(move |_| {
        if !first {
            for d in (0..shape.len()).rev() {
                idx[d] += 1;
                if idx[d] < shape[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
        first = false;
        strides
            .iter()
            .map(|s| idx.iter().zip(s.iter()).map(|(i, st)| i * st).sum())
            .collect()
    })
}

fn walk_signed<'s>(
    shape: &'s [usize],
    strides: &'s [isize],
    offset: usize,
) -> impl Iterator<Item = usize> + 's {
    let total = numel(shape);
    let mut idx = vec![0usize; shape.len()];
    let mut first = true;
    (0..total).map(move |_| {
        if !first {
            for d in (0..shape.len()).rev() {
                idx[d] += 1;
                if idx[d] < shape[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
        first = false;
        let off: isize = idx.iter().zip(strides).map(|(&i, &s)| i as isize * s).sum();
        (offset as isize + off) as usize
    })
}

/// Output shape and the strides/offset that read a Transpose from an input of `shape`.
pub fn transpose_view(shape: &[usize], perm: &[usize]) -> (Vec<usize>, Vec<isize>) {
    let st = strides(shape);
    (
        perm.iter().map(|&p| shape[p]).collect(),
        perm.iter().map(|&p| st[p] as isize).collect(),
    )
}

/// A resolved Slice: per-axis start, step and output length.
pub fn slice_view(
    shape: &[usize],
    starts: &[i64],
    ends: &[i64],
    axes: &[usize],
    steps: &[i64],
) -> Result<(Vec<usize>, Vec<isize>, usize), String> {
    let st = strides(shape);
    let mut out = shape.to_vec();
    let mut strides_out: Vec<isize> = st.iter().map(|&s| s as isize).collect();
    let mut offset = 0usize;
    for (k, &ax) in axes.iter().enumerate() {
        let dim = shape[ax] as i64;
        let step = steps.get(k).copied().unwrap_or(1);
        if step == 0 {
            return Err("Slice step is 0".into());
        }
        let clampv = |v: i64, lo: i64, hi: i64| v.max(lo).min(hi);
        let norm = |v: i64| if v < 0 { v.saturating_add(dim) } else { v };
        let (start, end) = if step > 0 {
            (
                clampv(norm(starts[k]), 0, dim),
                clampv(norm(ends[k]), 0, dim),
            )
        } else {
            (
                clampv(norm(starts[k]), 0, dim - 1),
                clampv(norm(ends[k]), -1, dim - 1),
            )
        };
        let len = if step > 0 {
            if end > start {
                (end - start + step - 1) / step
            } else {
                0
            }
        } else if start > end {
            (start - end + (-step) - 1) / (-step)
        } else {
            0
        };
        out[ax] = len as usize;
        if len > 0 {
            offset += start as usize * st[ax];
        }
        strides_out[ax] = st[ax] as isize * step as isize;
    }
    Ok((out, strides_out, offset))
}
