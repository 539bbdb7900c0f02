//! Element types a tensor can hold.

/// Element type of a tensor. Stored as one byte; values are append-only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DType {
    F32 = 1,
    I8 = 2,
    I16 = 3,
    I32 = 4,
    U8 = 5,
    F16 = 6,
}

impl DType {
    pub const fn from_u8(v: u8) -> Option<DType> {
        Some(match v {
            1 => DType::F32,
            2 => DType::I8,
            3 => DType::I16,
            4 => DType::I32,
            5 => DType::U8,
            6 => DType::F16,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub const fn size(self) -> usize {
        match self {
            DType::F32 | DType::I32 => 4,
            DType::I16 | DType::F16 => 2,
            DType::I8 | DType::U8 => 1,
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::I8 => "i8",
            DType::I16 => "i16",
            DType::I32 => "i32",
            DType::U8 => "u8",
            DType::F16 => "f16",
        }
    }
}

impl core::fmt::Display for DType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}
