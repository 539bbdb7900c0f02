//! Access to the ONNX protobuf as decoded by `tract-onnx`: attributes by name with ONNX's defaults,
//! tensor payloads in every storage ONNX allows, and value types.
use tract_onnx::pb::{self, AttributeProto, NodeProto, TensorProto};

use crate::consts::{CType, HConst};

/// ONNX `TensorProto.DataType` codes we meet.
pub mod elem {
    pub const FLOAT: i32 = 1;
    pub const UINT8: i32 = 2;
    pub const INT8: i32 = 3;
    pub const UINT16: i32 = 4;
    pub const INT16: i32 = 5;
    pub const INT32: i32 = 6;
    pub const INT64: i32 = 7;
    pub const BOOL: i32 = 9;
    pub const FLOAT16: i32 = 10;
    pub const DOUBLE: i32 = 11;
    pub const UINT32: i32 = 12;
    pub const UINT64: i32 = 13;

    pub fn name(code: i32) -> &'static str {
        match code {
            FLOAT => "float32",
            UINT8 => "uint8",
            INT8 => "int8",
            UINT16 => "uint16",
            INT16 => "int16",
            INT32 => "int32",
            INT64 => "int64",
            8 => "string",
            BOOL => "bool",
            FLOAT16 => "float16",
            DOUBLE => "float64",
            UINT32 => "uint32",
            UINT64 => "uint64",
            16 => "bfloat16",
            _ => "an unknown type",
        }
    }
}

/// Attribute lookups on one node. Errors are plain strings: the caller adds the node's name.
pub struct Attrs<'a>(pub &'a NodeProto);

impl<'a> Attrs<'a> {
    fn get(&self, name: &str) -> Option<&'a AttributeProto> {
        self.0.attribute.iter().find(|a| a.name == name)
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn int(&self, name: &str, default: i64) -> i64 {
        self.get(name).map_or(default, |a| a.i)
    }

    pub fn float(&self, name: &str, default: f32) -> f32 {
        self.get(name).map_or(default, |a| a.f)
    }

    pub fn ints(&self, name: &str) -> Option<&'a [i64]> {
        self.get(name).map(|a| a.ints.as_slice())
    }

    pub fn floats(&self, name: &str) -> Option<&'a [f32]> {
        self.get(name).map(|a| a.floats.as_slice())
    }

    pub fn string(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(|a| String::from_utf8_lossy(&a.s).into_owned())
    }

    pub fn strings(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|a| {
                a.strings
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn tensor(&self, name: &str) -> Option<&'a TensorProto> {
        self.get(name).and_then(|a| a.t.as_ref())
    }
}

fn chunks<const N: usize>(raw: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    raw.chunks_exact(N).map(|c| {
        let mut b = [0u8; N];
        b.copy_from_slice(c);
        b
    })
}

/// Decodes a tensor's payload into a host constant.
pub fn tensor_value(t: &TensorProto) -> Result<HConst, String> {
    let shape = t
        .dims
        .iter()
        .map(|&d| {
            usize::try_from(d)
                .map_err(|_| format!("tensor '{}' has a negative dimension {d}", t.name))
        })
        .collect::<Result<Vec<usize>, String>>()?;
    let numel: usize = shape.iter().product();
    if t.data_location == Some(1) {
        return Err(format!(
            "tensor '{}' keeps its data in an external file; re-export into one file (torch.onnx.export(..., external_data=False))",
            t.name
        ));
    }
    let raw = &t.raw_data;
    let from_raw = !raw.is_empty() || numel == 0;
    let (ty, data): (CType, Vec<f64>) = match t.data_type {
        elem::FLOAT if from_raw => (
            CType::F32,
            chunks::<4>(raw)
                .map(|b| f32::from_le_bytes(b) as f64)
                .collect(),
        ),
        elem::FLOAT => (CType::F32, t.float_data.iter().map(|&v| v as f64).collect()),
        elem::DOUBLE if from_raw => (
            CType::F32,
            chunks::<8>(raw).map(f64::from_le_bytes).collect(),
        ),
        elem::DOUBLE => (CType::F32, t.double_data.clone()),
        elem::FLOAT16 if from_raw => (
            CType::F32,
            chunks::<2>(raw)
                .map(|b| half::f16::from_le_bytes(b).to_f64())
                .collect(),
        ),
        elem::FLOAT16 => (
            CType::F32,
            t.int32_data
                .iter()
                .map(|&v| half::f16::from_bits(v as u16).to_f64())
                .collect(),
        ),
        elem::INT64 if from_raw => (
            CType::I64,
            chunks::<8>(raw)
                .map(|b| i64::from_le_bytes(b) as f64)
                .collect(),
        ),
        elem::INT64 => (CType::I64, t.int64_data.iter().map(|&v| v as f64).collect()),
        elem::UINT64 if from_raw => (
            CType::I64,
            chunks::<8>(raw)
                .map(|b| u64::from_le_bytes(b) as f64)
                .collect(),
        ),
        elem::UINT64 => (
            CType::I64,
            t.uint64_data.iter().map(|&v| v as f64).collect(),
        ),
        elem::INT32 if from_raw => (
            CType::I64,
            chunks::<4>(raw)
                .map(|b| i32::from_le_bytes(b) as f64)
                .collect(),
        ),
        elem::UINT32 if from_raw => (
            CType::I64,
            chunks::<4>(raw)
                .map(|b| u32::from_le_bytes(b) as f64)
                .collect(),
        ),
        elem::INT16 if from_raw => (
            CType::I64,
            chunks::<2>(raw)
                .map(|b| i16::from_le_bytes(b) as f64)
                .collect(),
        ),
        elem::UINT16 if from_raw => (
            CType::I64,
            chunks::<2>(raw)
                .map(|b| u16::from_le_bytes(b) as f64)
                .collect(),
        ),
        elem::INT8 if from_raw => (CType::I64, raw.iter().map(|&b| b as i8 as f64).collect()),
        elem::UINT8 if from_raw => (CType::I64, raw.iter().map(|&b| b as f64).collect()),
        elem::BOOL if from_raw => (
            CType::Bool,
            raw.iter().map(|&b| f64::from(u8::from(b != 0))).collect(),
        ),
        elem::INT32 | elem::UINT32 | elem::INT16 | elem::UINT16 | elem::INT8 | elem::UINT8 => {
            (CType::I64, t.int32_data.iter().map(|&v| v as f64).collect())
        }
        elem::BOOL => (
            CType::Bool,
            t.int32_data
                .iter()
                .map(|&v| f64::from(u8::from(v != 0)))
                .collect(),
        ),
        other => {
            return Err(format!(
                "tensor '{}' has element type {}, which Rill does not read",
                t.name,
                elem::name(other)
            ))
        }
    };
    if data.len() != numel {
        return Err(format!(
            "tensor '{}' holds {} elements but its shape {:?} needs {numel}",
            t.name,
            data.len(),
            shape
        ));
    }
    Ok(HConst { shape, ty, data })
}

/// Element type and dimensions (value or symbolic name) of a graph input or output.
pub fn value_type(v: &pb::ValueInfoProto) -> Option<(i32, Vec<Result<usize, String>>)> {
    let Some(pb::type_proto::Value::TensorType(t)) = v.r#type.as_ref()?.value.as_ref() else {
        return None;
    };
    let dims = t
        .shape
        .as_ref()?
        .dim
        .iter()
        .map(|d| match &d.value {
            Some(pb::tensor_shape_proto::dimension::Value::DimValue(v)) if *v >= 0 => {
                Ok(*v as usize)
            }
            Some(pb::tensor_shape_proto::dimension::Value::DimParam(p)) => Err(p.clone()),
            _ => Err(String::from("?")),
        })
        .collect();
    Some((t.elem_type, dims))
}
