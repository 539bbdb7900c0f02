//! Host tensors as they cross the command line: `.npy` files, and `.npz` archives keyed by input name.
//! Types are checked, never guessed: float64 data is refused rather than silently narrowed.
use std::io::{Cursor, Read, Seek};
use std::path::Path;

use npyz::WriterBuilder;

#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub data: HostData,
}

#[derive(Clone, Debug, PartialEq)]
pub enum HostData {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

#[derive(Debug, thiserror::Error)]
pub enum TensorError {
    #[error("cannot read '{path}': {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("'{what}' is not a valid .npy array: {reason}")]
    Format { what: String, reason: String },
    #[error(
        "'{what}': dtype '{dtype}' is not supported: use float32, or int64/int32 for token ids"
    )]
    DType { what: String, dtype: String },
    #[error("'{what}': {len} values do not fill shape {shape:?}")]
    Shape {
        what: String,
        shape: Vec<usize>,
        len: usize,
    },
    #[error("'{path}' holds no arrays")]
    EmptyArchive { path: String },
}

impl HostTensor {
    pub fn f32(shape: Vec<usize>, data: Vec<f32>) -> HostTensor {
        HostTensor {
            shape,
            data: HostData::F32(data),
        }
    }

    pub fn i64(shape: Vec<usize>, data: Vec<i64>) -> HostTensor {
        HostTensor {
            shape,
            data: HostData::I64(data),
        }
    }

    pub fn len(&self) -> usize {
        match &self.data {
            HostData::F32(v) => v.len(),
            HostData::I64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn dtype_name(&self) -> &'static str {
        match self.data {
            HostData::F32(_) => "float32",
            HostData::I64(_) => "int64",
        }
    }

    fn checked(self, what: &str) -> Result<HostTensor, TensorError> {
        let need: Option<usize> = self.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        if need != Some(self.len()) {
            let len = self.len();
            return Err(TensorError::Shape {
                what: what.to_owned(),
                shape: self.shape,
                len,
            });
        }
        Ok(self)
    }
}

/// Reorders Fortran-order data (first axis fastest) into row-major order.
fn fortran_to_c<T: Copy>(shape: &[usize], data: Vec<T>) -> Vec<T> {
    if shape.len() < 2 {
        return data;
    }
    let n = data.len();
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..n {
        // Fortran offset of the current row-major index.
        let mut off = 0;
        let mut stride = 1;
        for (i, &d) in idx.iter().zip(shape) {
            off += i * stride;
            stride *= d;
        }
        out.push(data[off]);
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

fn read_npy_from<R: Read>(r: R, what: &str) -> Result<HostTensor, TensorError> {
    let fmt = |e: std::io::Error| TensorError::Format {
        what: what.to_owned(),
        reason: e.to_string(),
    };
    let npy = npyz::NpyFile::new(r).map_err(fmt)?;
    let shape: Vec<usize> = npy
        .shape()
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<_, _>>()
        .map_err(|_| TensorError::Format {
            what: what.to_owned(),
            reason: "dimension too large".into(),
        })?;
    let fortran = npy.order() == npyz::Order::Fortran;
    let descr = npy.dtype().descr().trim_matches('\'').to_owned();
    let t = match descr.as_str() {
        "<f4" => {
            let v = npy.into_vec::<f32>().map_err(fmt)?;
            HostTensor::f32(
                shape.clone(),
                if fortran { fortran_to_c(&shape, v) } else { v },
            )
        }
        "<i8" => {
            let v = npy.into_vec::<i64>().map_err(fmt)?;
            HostTensor::i64(
                shape.clone(),
                if fortran { fortran_to_c(&shape, v) } else { v },
            )
        }
        "<i4" => {
            let v: Vec<i64> = npy
                .into_vec::<i32>()
                .map_err(fmt)?
                .into_iter()
                .map(i64::from)
                .collect();
            HostTensor::i64(
                shape.clone(),
                if fortran { fortran_to_c(&shape, v) } else { v },
            )
        }
        other => {
            let dtype = match other {
                "<f8" => "<f8 (float64)".to_owned(),
                o => o.to_owned(),
            };
            return Err(TensorError::DType {
                what: what.to_owned(),
                dtype,
            });
        }
    };
    t.checked(what)
}

pub fn read_npy_bytes(bytes: &[u8], what: &str) -> Result<HostTensor, TensorError> {
    read_npy_from(bytes, what)
}

pub fn read_npy(path: &Path) -> Result<HostTensor, TensorError> {
    let bytes = std::fs::read(path).map_err(|source| TensorError::Io {
        path: path.display().to_string(),
        source,
    })?;
    read_npy_from(&bytes[..], &path.display().to_string())
}

fn read_npz_from<R: Read + Seek>(
    r: R,
    what: &str,
) -> Result<Vec<(String, HostTensor)>, TensorError> {
    let fmt = |e: std::io::Error| TensorError::Format {
        what: what.to_owned(),
        reason: e.to_string(),
    };
    let mut archive = npyz::npz::NpzArchive::new(r).map_err(fmt)?;
    let mut names: Vec<String> = archive.array_names().map(str::to_owned).collect();
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let entry = format!("{what}[{name}]");
        let npy = archive
            .by_name(&name)
            .map_err(fmt)?
            .ok_or_else(|| TensorError::Format {
                what: entry.clone(),
                reason: "entry vanished".into(),
            })?;
        let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
        let fortran = npy.order() == npyz::Order::Fortran;
        let descr = npy.dtype().descr().trim_matches('\'').to_owned();
        let efmt = |e: std::io::Error| TensorError::Format {
            what: entry.clone(),
            reason: e.to_string(),
        };
        let t = match descr.as_str() {
            "<f4" => {
                let v = npy.into_vec::<f32>().map_err(efmt)?;
                HostTensor::f32(
                    shape.clone(),
                    if fortran { fortran_to_c(&shape, v) } else { v },
                )
            }
            "<i8" => {
                let v = npy.into_vec::<i64>().map_err(efmt)?;
                HostTensor::i64(
                    shape.clone(),
                    if fortran { fortran_to_c(&shape, v) } else { v },
                )
            }
            "<i4" => {
                let v: Vec<i64> = npy
                    .into_vec::<i32>()
                    .map_err(efmt)?
                    .into_iter()
                    .map(i64::from)
                    .collect();
                HostTensor::i64(
                    shape.clone(),
                    if fortran { fortran_to_c(&shape, v) } else { v },
                )
            }
            other => {
                return Err(TensorError::DType {
                    what: entry,
                    dtype: other.to_owned(),
                })
            }
        };
        out.push((name, t.checked(&entry)?));
    }
    if out.is_empty() {
        return Err(TensorError::EmptyArchive {
            path: what.to_owned(),
        });
    }
    Ok(out)
}

/// Arrays of an `.npz` archive, sorted by name.
pub fn read_npz(path: &Path) -> Result<Vec<(String, HostTensor)>, TensorError> {
    let bytes = std::fs::read(path).map_err(|source| TensorError::Io {
        path: path.display().to_string(),
        source,
    })?;
    read_npz_from(Cursor::new(bytes), &path.display().to_string())
}

fn io_err(what: &str) -> impl Fn(std::io::Error) -> TensorError + '_ {
    move |e| TensorError::Format {
        what: what.to_owned(),
        reason: e.to_string(),
    }
}

pub fn npy_bytes(t: &HostTensor) -> Result<Vec<u8>, TensorError> {
    let shape: Vec<u64> = t.shape.iter().map(|&d| d as u64).collect();
    let mut out = Vec::new();
    let e = io_err("output");
    match &t.data {
        HostData::F32(v) => {
            let mut w = npyz::WriteOptions::new()
                .default_dtype()
                .shape(&shape)
                .writer(&mut out)
                .begin_nd()
                .map_err(&e)?;
            w.extend(v.iter().copied()).map_err(&e)?;
            w.finish().map_err(&e)?;
        }
        HostData::I64(v) => {
            let mut w = npyz::WriteOptions::new()
                .default_dtype()
                .shape(&shape)
                .writer(&mut out)
                .begin_nd()
                .map_err(&e)?;
            w.extend(v.iter().copied()).map_err(&e)?;
            w.finish().map_err(&e)?;
        }
    }
    Ok(out)
}

pub fn write_npy(path: &Path, t: &HostTensor) -> Result<(), TensorError> {
    let bytes = npy_bytes(t)?;
    std::fs::write(path, bytes).map_err(|source| TensorError::Io {
        path: path.display().to_string(),
        source,
    })
}

pub fn npz_bytes(named: &[(String, HostTensor)]) -> Result<Vec<u8>, TensorError> {
    let mut cursor = Cursor::new(Vec::new());
    {
        let mut npz = npyz::npz::NpzWriter::new(&mut cursor);
        for (name, t) in named {
            let e = io_err(name);
            let shape: Vec<u64> = t.shape.iter().map(|&d| d as u64).collect();
            match &t.data {
                HostData::F32(v) => {
                    let mut w = npz
                        .array::<f32>(name, Default::default())
                        .map_err(&e)?
                        .default_dtype()
                        .shape(&shape)
                        .begin_nd()
                        .map_err(&e)?;
                    w.extend(v.iter().copied()).map_err(&e)?;
                    w.finish().map_err(&e)?;
                }
                HostData::I64(v) => {
                    let mut w = npz
                        .array::<i64>(name, Default::default())
                        .map_err(&e)?
                        .default_dtype()
                        .shape(&shape)
                        .begin_nd()
                        .map_err(&e)?;
                    w.extend(v.iter().copied()).map_err(&e)?;
                    w.finish().map_err(&e)?;
                }
            }
        }
        npz.zip_writer().finish().map_err(|e| TensorError::Format {
            what: "archive".into(),
            reason: e.to_string(),
        })?;
    }
    Ok(cursor.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An NPY v1.0 file written by hand from the format description, independent of npyz's writer.
    fn npy_v1(descr: &str, fortran: bool, shape: &str, payload: &[u8]) -> Vec<u8> {
        let dict = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
            if fortran { "True" } else { "False" }
        );
        let mut header = dict.into_bytes();
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(b' ');
        }
        header.push(b'\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(payload);
        out
    }

    fn f32_bytes(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn reads_a_hand_written_float32_file() {
        let file = npy_v1(
            "<f4",
            false,
            "(2, 3)",
            &f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        );
        let t = read_npy_bytes(&file, "t").unwrap();
        assert_eq!(
            t,
            HostTensor::f32(vec![2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
        );
    }

    #[test]
    fn fortran_order_is_reordered_to_row_major() {
        // [[1, 2, 3], [4, 5, 6]] stored column by column.
        let file = npy_v1(
            "<f4",
            true,
            "(2, 3)",
            &f32_bytes(&[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]),
        );
        let t = read_npy_bytes(&file, "t").unwrap();
        assert_eq!(t.data, HostData::F32(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
    }

    #[test]
    fn int32_token_ids_widen_and_scalars_work() {
        let ids: Vec<u8> = [7i32, -1].iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(
            read_npy_bytes(&npy_v1("<i4", false, "(2,)", &ids), "t").unwrap(),
            HostTensor::i64(vec![2], vec![7, -1])
        );
        let s = read_npy_bytes(&npy_v1("<f4", false, "()", &f32_bytes(&[2.5])), "t").unwrap();
        assert_eq!(s, HostTensor::f32(vec![], vec![2.5]));
    }

    #[test]
    fn float64_is_refused_by_name() {
        let file = npy_v1("<f8", false, "(1,)", &1.0f64.to_le_bytes());
        let e = read_npy_bytes(&file, "x.npy").unwrap_err().to_string();
        assert!(e.contains("float64") && e.contains("x.npy"), "{e}");
    }

    #[test]
    fn truncated_data_is_an_error() {
        let file = npy_v1("<f4", false, "(4,)", &f32_bytes(&[1.0, 2.0]));
        assert!(read_npy_bytes(&file, "t").is_err());
        assert!(read_npy_bytes(b"not numpy", "t").is_err());
    }

    #[test]
    fn npy_and_npz_round_trip() {
        let a = HostTensor::f32(vec![2, 2], vec![1.0, -2.0, 3.5, 0.0]);
        let b = HostTensor::i64(vec![3], vec![1, 2, 3]);
        assert_eq!(read_npy_bytes(&npy_bytes(&a).unwrap(), "a").unwrap(), a);
        assert_eq!(read_npy_bytes(&npy_bytes(&b).unwrap(), "b").unwrap(), b);
        let z = npz_bytes(&[("x".into(), a.clone()), ("ids".into(), b.clone())]).unwrap();
        let back = read_npz_from(Cursor::new(z), "z").unwrap();
        assert_eq!(back, vec![("ids".to_owned(), b), ("x".to_owned(), a)]);
    }
}
