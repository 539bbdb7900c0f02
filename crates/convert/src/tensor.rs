//! Host tensors as they cross the command line: `.npy` files, and `.npz` archives keyed by input name.
//!
//! Types are checked, never guessed: float32 and int64 are read as they are, int32 (token ids) is
//! widened to int64, and everything else (float64 included) is refused with the dtype named rather
//! than silently converted. Fortran-order arrays are reordered to row-major on reading; everything
//! written is row-major, little-endian on little-endian hosts.
use std::io::{Cursor, Read, Write};
use std::path::Path;

use npyz::{DType, Order, TypeChar, WriterBuilder};

#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub data: HostData,
}

/// Row-major values.
#[derive(Clone, Debug, PartialEq)]
pub enum HostData {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

/// What can go wrong reading or writing a tensor. `what` is the file (or `archive[key]` for an
/// `.npz` entry, or the caller's label for bytes); every message names it.
#[derive(Debug, thiserror::Error)]
pub enum TensorError {
    #[error("cannot access '{path}': {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("'{what}' is not a valid .npy array: {reason}")]
    Format { what: String, reason: String },
    #[error(
        "'{what}': dtype '{dtype}'{} is not supported: use float32, or int64/int32 for token ids",
        friendly(.dtype)
    )]
    DType { what: String, dtype: String },
    #[error("'{what}': shape {shape:?} holds {need} values but {len} are given")]
    Shape {
        what: String,
        shape: Vec<usize>,
        need: usize,
        len: usize,
    },
    #[error("'{what}': shape {shape:?} is too large")]
    TooLarge { what: String, shape: Vec<u64> },
    #[error("'{what}' is truncated: shape {shape:?} needs {need} data bytes, the file has {have}")]
    Truncated {
        what: String,
        shape: Vec<usize>,
        need: usize,
        have: usize,
    },
    #[error(
        "'{what}' has {extra} bytes after the array (several arrays saved into one file? \
         use an .npz archive for several arrays)"
    )]
    TrailingBytes { what: String, extra: usize },
    #[error("'{what}' is not a valid .npz archive: {reason}")]
    Archive { what: String, reason: String },
    #[error("'{what}' holds no arrays")]
    EmptyArchive { what: String },
    #[error("'{what}' has no array named '{key}' (it has {have:?})")]
    MissingKey {
        what: String,
        key: String,
        have: Vec<String>,
    },
    #[error("'{what}' names the array '{key}' twice")]
    DuplicateKey { what: String, key: String },
}

/// The numpy name of a refused type string, for the error message.
fn friendly(dtype: &str) -> &'static str {
    match dtype.trim_start_matches(['<', '>', '|', '=']) {
        "f8" => " (float64)",
        "f2" => " (float16)",
        "f16" | "f12" => " (long double)",
        "b1" => " (bool)",
        "u1" => " (uint8)",
        "i1" => " (int8)",
        "i2" => " (int16)",
        "u2" => " (uint16)",
        "u4" => " (uint32)",
        "u8" => " (uint64)",
        "c8" => " (complex64)",
        "c16" => " (complex128)",
        _ => "",
    }
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

    /// The number of values held (not the product of the shape, should they disagree).
    pub fn len(&self) -> usize {
        match &self.data {
            HostData::F32(v) => v.len(),
            HostData::I64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `"float32"` or `"int64"`, as numpy names them.
    pub fn dtype_name(&self) -> &'static str {
        match self.data {
            HostData::F32(_) => "float32",
            HostData::I64(_) => "int64",
        }
    }

    /// Checks that the values fill the shape exactly.
    fn check(&self, what: &str) -> Result<(), TensorError> {
        let shape: Vec<u64> = self.shape.iter().map(|&d| d as u64).collect();
        let need = numel(&shape).ok_or_else(|| TensorError::TooLarge {
            what: what.to_owned(),
            shape,
        })?;
        if need != self.len() {
            return Err(TensorError::Shape {
                what: what.to_owned(),
                shape: self.shape.clone(),
                need,
                len: self.len(),
            });
        }
        Ok(())
    }
}

/// The product of the dimensions, if it fits a `usize`.
fn numel(shape: &[u64]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| {
        usize::try_from(d).ok().and_then(|d| acc.checked_mul(d))
    })
}

/// Reorders Fortran-order data (first axis fastest) into row-major order.
/// `data.len()` must be the product of `shape`.
fn fortran_to_c<T: Copy>(shape: &[usize], data: Vec<T>) -> Vec<T> {
    if shape.len() < 2 || data.is_empty() {
        return data;
    }
    // Fortran strides: axis 0 moves by one.
    let mut strides = Vec::with_capacity(shape.len());
    let mut s = 1usize;
    for &d in shape {
        strides.push(s);
        s *= d;
    }
    let mut out = Vec::with_capacity(data.len());
    let mut idx = vec![0usize; shape.len()];
    let mut off = 0usize;
    for _ in 0..data.len() {
        out.push(data[off]);
        // Advance the row-major index (last axis fastest), keeping `off` in step.
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            off += strides[d];
            if idx[d] < shape[d] {
                break;
            }
            off -= strides[d] * shape[d];
            idx[d] = 0;
        }
    }
    out
}

/// The `'shape'` of an NPY header, read loosely from the header text before npyz parses it: npyz
/// multiplies the dimensions without overflow checks, so absurd shapes are refused here first.
/// `None` when the header is not understood here; npyz then gives the error.
fn header_shape(bytes: &[u8]) -> Option<Vec<u64>> {
    let rest = bytes.strip_prefix(b"\x93NUMPY")?;
    let (len, text_start): (usize, usize) = match rest.first()? {
        1 => (
            usize::from(u16::from_le_bytes([*rest.get(2)?, *rest.get(3)?])),
            10,
        ),
        2 | 3 => (
            usize::try_from(u32::from_le_bytes([
                *rest.get(2)?,
                *rest.get(3)?,
                *rest.get(4)?,
                *rest.get(5)?,
            ]))
            .ok()?,
            12,
        ),
        _ => return None,
    };
    let text = bytes.get(text_start..text_start.checked_add(len)?)?;
    let text = std::str::from_utf8(text).ok()?;
    // numpy writes the shape last, after a descr that may itself name a field 'shape'.
    let key = text.rfind("'shape'").or_else(|| text.rfind("\"shape\""))?;
    let after = &text[key + "'shape'".len()..];
    let open = after.find(['(', '['])?;
    let close = after[open..].find([')', ']'])? + open;
    after[open + 1..close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<u64>().ok())
        .collect()
}

/// The element types that can be read, and how.
#[derive(Clone, Copy)]
enum Kind {
    F32,
    I64,
    I32,
}

fn decode(bytes: &[u8], what: &str) -> Result<HostTensor, TensorError> {
    let format = |reason: String| TensorError::Format {
        what: what.to_owned(),
        reason,
    };
    if let Some(shape) = header_shape(bytes) {
        // Even one byte per value must fit in memory.
        if numel(&shape).is_none() {
            return Err(TensorError::TooLarge {
                what: what.to_owned(),
                shape,
            });
        }
    }
    let mut rest = bytes;
    let header = npyz::NpyHeader::from_reader(&mut rest).map_err(|e| format(e.to_string()))?;
    let kind = match header.dtype() {
        DType::Plain(ts) => match (ts.type_char(), ts.size_field()) {
            (TypeChar::Float, 4) => Kind::F32,
            (TypeChar::Int, 8) => Kind::I64,
            (TypeChar::Int, 4) => Kind::I32,
            _ => {
                return Err(TensorError::DType {
                    what: what.to_owned(),
                    dtype: ts.to_string(),
                })
            }
        },
        other => {
            return Err(TensorError::DType {
                what: what.to_owned(),
                dtype: other.descr(),
            })
        }
    };
    let too_large = || TensorError::TooLarge {
        what: what.to_owned(),
        shape: header.shape().to_vec(),
    };
    let shape: Vec<usize> = header
        .shape()
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<_, _>>()
        .map_err(|_| too_large())?;
    let n = numel(header.shape()).ok_or_else(too_large)?;
    let item = match kind {
        Kind::F32 | Kind::I32 => 4,
        Kind::I64 => 8,
    };
    let need = n.checked_mul(item).ok_or_else(too_large)?;
    if rest.len() < need {
        return Err(TensorError::Truncated {
            what: what.to_owned(),
            shape,
            need,
            have: rest.len(),
        });
    }
    if rest.len() > need {
        return Err(TensorError::TrailingBytes {
            what: what.to_owned(),
            extra: rest.len() - need,
        });
    }
    let fortran = header.order() == Order::Fortran;
    let npy = npyz::NpyFile::with_header(header, rest);
    let read_err = |e: std::io::Error| format(e.to_string());
    let data = match kind {
        Kind::F32 => HostData::F32(npy.into_vec::<f32>().map_err(read_err)?),
        Kind::I64 => HostData::I64(npy.into_vec::<i64>().map_err(read_err)?),
        Kind::I32 => HostData::I64(
            npy.into_vec::<i32>()
                .map_err(read_err)?
                .into_iter()
                .map(i64::from)
                .collect(),
        ),
    };
    let t = HostTensor { shape, data };
    t.check(what)?;
    if !fortran {
        return Ok(t);
    }
    let data = match t.data {
        HostData::F32(v) => HostData::F32(fortran_to_c(&t.shape, v)),
        HostData::I64(v) => HostData::I64(fortran_to_c(&t.shape, v)),
    };
    Ok(HostTensor {
        shape: t.shape,
        data,
    })
}

fn read_file(path: &Path) -> Result<Vec<u8>, TensorError> {
    std::fs::read(path).map_err(|source| TensorError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Decodes the bytes of an `.npy` file; `what` names them in errors.
pub fn read_npy_bytes(bytes: &[u8], what: &str) -> Result<HostTensor, TensorError> {
    decode(bytes, what)
}

pub fn read_npy(path: &Path) -> Result<HostTensor, TensorError> {
    decode(&read_file(path)?, &path.display().to_string())
}

/// The arrays of an `.npz` archive held in memory, in archive order, keyed without `.npy`.
/// Entries that are not `.npy` files (directories, other files) are skipped, as numpy does.
pub fn read_npz_bytes(bytes: &[u8], what: &str) -> Result<Vec<(String, HostTensor)>, TensorError> {
    let archive_err = |reason: String| TensorError::Archive {
        what: what.to_owned(),
        reason,
    };
    let mut npz =
        npyz::npz::NpzArchive::new(Cursor::new(bytes)).map_err(|e| archive_err(e.to_string()))?;
    let zip = npz.zip_archive();
    let mut out: Vec<(String, HostTensor)> = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let mut file = zip.by_index(i).map_err(|e| archive_err(e.to_string()))?;
        if file.is_dir() {
            continue;
        }
        let Some(key) = npyz::npz::array_name_from_file_name(file.name()).map(str::to_owned) else {
            continue;
        };
        let entry = format!("{what}[{key}]");
        let mut npy = Vec::new();
        file.read_to_end(&mut npy)
            .map_err(|e| archive_err(format!("entry '{}': {e}", file.name())))?;
        if out.iter().any(|(k, _)| *k == key) {
            return Err(TensorError::DuplicateKey {
                what: what.to_owned(),
                key,
            });
        }
        let t = decode(&npy, &entry)?;
        out.push((key, t));
    }
    if out.is_empty() {
        return Err(TensorError::EmptyArchive {
            what: what.to_owned(),
        });
    }
    Ok(out)
}

/// The arrays of an `.npz` archive, in archive order, keyed without `.npy`.
pub fn read_npz(path: &Path) -> Result<Vec<(String, HostTensor)>, TensorError> {
    read_npz_bytes(&read_file(path)?, &path.display().to_string())
}

/// The array named `key` in arrays read from the archive `what`, or an error listing the names.
pub fn find_named<'a>(
    named: &'a [(String, HostTensor)],
    key: &str,
    what: &str,
) -> Result<&'a HostTensor, TensorError> {
    named
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, t)| t)
        .ok_or_else(|| TensorError::MissingKey {
            what: what.to_owned(),
            key: key.to_owned(),
            have: named.iter().map(|(k, _)| k.clone()).collect(),
        })
}

fn encode(t: &HostTensor, what: &str) -> Result<Vec<u8>, TensorError> {
    t.check(what)?;
    let shape: Vec<u64> = t.shape.iter().map(|&d| d as u64).collect();
    let e = |e: std::io::Error| TensorError::Format {
        what: what.to_owned(),
        reason: e.to_string(),
    };
    let mut out = Vec::new();
    match &t.data {
        HostData::F32(v) => {
            let mut w = npyz::WriteOptions::new()
                .default_dtype()
                .shape(&shape)
                .writer(&mut out)
                .begin_nd()
                .map_err(e)?;
            w.extend(v.iter().copied()).map_err(e)?;
            w.finish().map_err(e)?;
        }
        HostData::I64(v) => {
            let mut w = npyz::WriteOptions::new()
                .default_dtype()
                .shape(&shape)
                .writer(&mut out)
                .begin_nd()
                .map_err(e)?;
            w.extend(v.iter().copied()).map_err(e)?;
            w.finish().map_err(e)?;
        }
    }
    Ok(out)
}

/// The bytes of an `.npy` file holding `t` (NPY 1.0, row-major).
pub fn npy_bytes(t: &HostTensor) -> Result<Vec<u8>, TensorError> {
    encode(t, "array")
}

pub fn write_npy(path: &Path, t: &HostTensor) -> Result<(), TensorError> {
    let bytes = encode(t, &path.display().to_string())?;
    std::fs::write(path, bytes).map_err(|source| TensorError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// The bytes of an `.npz` archive holding the arrays under their names, in order (deflated entries
/// with a fixed timestamp, so equal arrays give equal bytes).
pub fn npz_bytes(named: &[(String, HostTensor)]) -> Result<Vec<u8>, TensorError> {
    let archive_err = |reason: String| TensorError::Archive {
        what: "archive".to_owned(),
        reason,
    };
    let mut zip = npyz::zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (i, (key, t)) in named.iter().enumerate() {
        if named[..i].iter().any(|(k, _)| k == key) {
            return Err(TensorError::DuplicateKey {
                what: "archive".to_owned(),
                key: key.clone(),
            });
        }
        let npy = encode(t, key)?;
        let options = npyz::zip::write::FileOptions::default()
            .compression_method(npyz::zip::CompressionMethod::Deflated)
            .last_modified_time(npyz::zip::DateTime::default())
            .large_file(npy.len() >= u32::MAX as usize);
        zip.start_file(npyz::npz::file_name_from_array_name(key), options)
            .map_err(|e| archive_err(e.to_string()))?;
        zip.write_all(&npy)
            .map_err(|e| archive_err(e.to_string()))?;
    }
    let cursor = zip.finish().map_err(|e| archive_err(e.to_string()))?;
    Ok(cursor.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An NPY v1.0 file written by hand from the format description, independent of npyz's writer.
    fn npy_v1(descr: &str, fortran: bool, shape: &str, payload: &[u8]) -> Vec<u8> {
        npy_v1_raw(&format!("'{descr}'"), fortran, shape, payload)
    }

    /// As `npy_v1`, with the descr given as a Python literal.
    fn npy_v1_raw(descr: &str, fortran: bool, shape: &str, payload: &[u8]) -> Vec<u8> {
        let dict = format!(
            "{{'descr': {descr}, 'fortran_order': {}, 'shape': {shape}, }}",
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
        assert_eq!((out.len() - payload.len()) % 64, 0);
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
        assert_eq!(t.dtype_name(), "float32");
        assert_eq!(t.len(), 6);
    }

    #[test]
    fn reads_hand_written_int64_and_big_endian() {
        let ids: Vec<u8> = [3i64, -9].iter().flat_map(|x| x.to_le_bytes()).collect();
        let t = read_npy_bytes(&npy_v1("<i8", false, "(1, 2)", &ids), "t").unwrap();
        assert_eq!(t, HostTensor::i64(vec![1, 2], vec![3, -9]));
        assert_eq!(t.dtype_name(), "int64");
        let be: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|x| x.to_be_bytes())
            .collect();
        let t = read_npy_bytes(&npy_v1(">f4", false, "(2,)", &be), "t").unwrap();
        assert_eq!(t, HostTensor::f32(vec![2], vec![1.5, -2.0]));
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
        assert_eq!(t.shape, vec![2, 3]);
        assert_eq!(t.data, HostData::F32(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));

        // Three axes: element [i][j][k] = 100 i + 10 j + k, stored with i fastest.
        let (a, b, c) = (2usize, 3usize, 4usize);
        let mut fortran = Vec::new();
        for k in 0..c {
            for j in 0..b {
                for i in 0..a {
                    fortran.push((100 * i + 10 * j + k) as i64);
                }
            }
        }
        let payload: Vec<u8> = fortran.iter().flat_map(|x| x.to_le_bytes()).collect();
        let t = read_npy_bytes(&npy_v1("<i8", true, "(2, 3, 4)", &payload), "t").unwrap();
        let mut row_major = Vec::new();
        for i in 0..a {
            for j in 0..b {
                for k in 0..c {
                    row_major.push((100 * i + 10 * j + k) as i64);
                }
            }
        }
        assert_eq!(t, HostTensor::i64(vec![2, 3, 4], row_major));

        // Empty Fortran arrays are fine too.
        let t = read_npy_bytes(&npy_v1("<f4", true, "(0, 3)", &[]), "t").unwrap();
        assert_eq!(t, HostTensor::f32(vec![0, 3], vec![]));
        assert!(t.is_empty());
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
        assert!(
            e.contains("float64") && e.contains("<f8") && e.contains("x.npy"),
            "{e}"
        );
        assert!(e.contains("use float32"), "{e}");
    }

    #[test]
    fn other_dtypes_are_refused_by_name() {
        for (descr, name) in [("|b1", "bool"), ("|u1", "uint8"), ("<f2", "float16")] {
            let file = npy_v1(descr, false, "(2,)", &[0, 1, 0, 1]);
            let e = read_npy_bytes(&file, "m.npy").unwrap_err().to_string();
            assert!(e.contains(descr) && e.contains(name), "{e}");
        }
        let rec = npy_v1_raw("[('shape', '<f4'), ('b', '<i4')]", false, "(1,)", &[0; 8]);
        let e = read_npy_bytes(&rec, "r.npy").unwrap_err();
        assert!(matches!(e, TensorError::DType { .. }), "{e}");
    }

    #[test]
    fn malformed_files_are_errors() {
        let short = npy_v1("<f4", false, "(4,)", &f32_bytes(&[1.0, 2.0]));
        let e = read_npy_bytes(&short, "s.npy").unwrap_err();
        assert!(
            matches!(
                e,
                TensorError::Truncated {
                    need: 16,
                    have: 8,
                    ..
                }
            ),
            "{e}"
        );
        let long = npy_v1("<f4", false, "(1,)", &f32_bytes(&[1.0, 2.0]));
        let e = read_npy_bytes(&long, "l.npy").unwrap_err();
        assert!(
            matches!(e, TensorError::TrailingBytes { extra: 4, .. }),
            "{e}"
        );
        let e = read_npy_bytes(b"not numpy", "n.npy").unwrap_err();
        assert!(e.to_string().contains("n.npy"), "{e}");
        // A header cut short.
        let e = read_npy_bytes(&short[..20], "h.npy").unwrap_err();
        assert!(matches!(e, TensorError::Format { .. }), "{e}");
        // Dimensions whose product overflows must not panic inside the reader.
        let huge = npy_v1("<f4", false, "(4294967296, 4294967296, 16)", &[]);
        let e = read_npy_bytes(&huge, "b.npy").unwrap_err();
        assert!(matches!(e, TensorError::TooLarge { .. }), "{e}");
        let big = npy_v1("<f4", false, "(4611686018427387904,)", &[]);
        assert!(read_npy_bytes(&big, "b.npy").is_err());
    }

    #[test]
    fn npy_round_trips() {
        for t in [
            HostTensor::f32(vec![2, 2], vec![1.0, -2.0, 3.5, f32::MIN_POSITIVE]),
            HostTensor::i64(vec![3], vec![1, i64::MIN, i64::MAX]),
            HostTensor::f32(vec![], vec![0.25]),
            HostTensor::i64(vec![], vec![-4]),
            HostTensor::f32(vec![0, 5], vec![]),
        ] {
            let bytes = npy_bytes(&t).unwrap();
            assert_eq!(&bytes[..6], b"\x93NUMPY");
            assert_eq!(read_npy_bytes(&bytes, "t").unwrap(), t);
        }
        let nan = HostTensor::f32(vec![1], vec![f32::NAN]);
        let back = read_npy_bytes(&npy_bytes(&nan).unwrap(), "t").unwrap();
        assert!(matches!(&back.data, HostData::F32(v) if v[0].is_nan()));
    }

    #[test]
    fn writing_checks_the_shape() {
        let bad = HostTensor::f32(vec![2, 2], vec![1.0]);
        let e = npy_bytes(&bad).unwrap_err();
        assert!(
            matches!(
                e,
                TensorError::Shape {
                    need: 4,
                    len: 1,
                    ..
                }
            ),
            "{e}"
        );
        assert!(npz_bytes(&[("x".into(), bad)]).is_err());
    }

    #[test]
    fn files_round_trip() {
        let dir = std::env::temp_dir().join(format!("rill-tensor-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let t = HostTensor::f32(vec![1, 3], vec![0.5, 1.5, 2.5]);
        let p = dir.join("t.npy");
        write_npy(&p, &t).unwrap();
        assert_eq!(read_npy(&p).unwrap(), t);
        let z = dir.join("t.npz");
        std::fs::write(&z, npz_bytes(&[("x".into(), t.clone())]).unwrap()).unwrap();
        assert_eq!(read_npz(&z).unwrap(), vec![("x".to_owned(), t)]);
        let e = read_npy(&dir.join("absent.npy")).unwrap_err().to_string();
        assert!(e.contains("absent.npy"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn npz_round_trips_in_archive_order() {
        let a = HostTensor::f32(vec![2, 2], vec![1.0, -2.0, 3.5, 0.0]);
        let b = HostTensor::i64(vec![3], vec![1, 2, 3]);
        let s = HostTensor::f32(vec![], vec![7.0]);
        let named = vec![
            ("x".to_owned(), a.clone()),
            ("input_ids".to_owned(), b.clone()),
            ("a.b/c".to_owned(), s.clone()),
        ];
        let z = npz_bytes(&named).unwrap();
        assert_eq!(z, npz_bytes(&named).unwrap(), "deterministic");
        let back = read_npz_bytes(&z, "z.npz").unwrap();
        assert_eq!(back, named);
        assert_eq!(find_named(&back, "input_ids", "z.npz").unwrap(), &b);
        let e = find_named(&back, "y", "z.npz").unwrap_err().to_string();
        assert!(
            e.contains("z.npz") && e.contains("'y'") && e.contains("input_ids"),
            "{e}"
        );
        let dup = npz_bytes(&[("x".into(), a.clone()), ("x".into(), a)]).unwrap_err();
        assert!(matches!(dup, TensorError::DuplicateKey { .. }), "{dup}");
    }

    /// An archive as `np.savez` writes it (stored entries), built with the zip writer directly from
    /// hand-written NPY bytes; the float64 entry is refused with the entry named.
    #[test]
    fn npz_entries_are_checked() {
        let mut zip = npyz::zip::ZipWriter::new(Cursor::new(Vec::new()));
        let stored = npyz::zip::write::FileOptions::default()
            .compression_method(npyz::zip::CompressionMethod::Stored);
        zip.start_file("notes.txt", stored).unwrap();
        zip.write_all(b"ignored").unwrap();
        zip.start_file("ids.npy", stored).unwrap();
        let ids: Vec<u8> = [5i32, 6].iter().flat_map(|x| x.to_le_bytes()).collect();
        zip.write_all(&npy_v1("<i4", false, "(2,)", &ids)).unwrap();
        let good = zip.finish().unwrap().into_inner();
        assert_eq!(
            read_npz_bytes(&good, "in.npz").unwrap(),
            vec![("ids".to_owned(), HostTensor::i64(vec![2], vec![5, 6]))]
        );

        let mut zip = npyz::zip::ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("x.npy", stored).unwrap();
        zip.write_all(&npy_v1("<f8", false, "()", &1.0f64.to_le_bytes()))
            .unwrap();
        let bad = zip.finish().unwrap().into_inner();
        let e = read_npz_bytes(&bad, "in.npz").unwrap_err().to_string();
        assert!(e.contains("in.npz[x]") && e.contains("float64"), "{e}");

        let empty = npyz::zip::ZipWriter::new(Cursor::new(Vec::new()))
            .finish()
            .unwrap()
            .into_inner();
        assert!(matches!(
            read_npz_bytes(&empty, "e.npz"),
            Err(TensorError::EmptyArchive { .. })
        ));
        let e = read_npz_bytes(b"PK not really", "j.npz").unwrap_err();
        assert!(matches!(e, TensorError::Archive { .. }), "{e}");
    }
}
