//! Why a file was refused. Every variant says where: the byte offset, the section, or the index of the
//! tensor or op at fault.
use crate::records::SectionKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatError {
    /// Fewer bytes than the header, or than the header says the file holds.
    Truncated {
        expected: usize,
        actual: usize,
    },
    /// The first four bytes are not `RILL`.
    BadMagic {
        found: [u8; 4],
    },
    UnsupportedVersion {
        found: u16,
        supported: u16,
    },
    /// The file is longer than the header says.
    TrailingBytes {
        expected: usize,
        actual: usize,
    },
    Checksum {
        stored: u32,
        computed: u32,
    },
    /// The model bytes must start on a 16-byte boundary (weights are read in place).
    Misaligned {
        address_mod_16: usize,
    },
    BadHeader {
        reason: &'static str,
    },
    /// A section's range falls outside the file, overlaps the header, or is not aligned.
    BadSection {
        kind: u32,
        offset: u32,
        len: u32,
        reason: &'static str,
    },
    MissingSection {
        kind: SectionKind,
    },
    DuplicateSection {
        kind: SectionKind,
    },
    BadTensor {
        tensor: usize,
        reason: &'static str,
    },
    BadOp {
        op: usize,
        reason: &'static str,
    },
    UnknownOpcode {
        op: usize,
        opcode: u16,
    },
    /// A string reference points outside the strings section or at invalid UTF-8.
    BadString {
        offset: u32,
    },
    BadGraph {
        reason: &'static str,
    },
    BadStream {
        reason: &'static str,
    },
}

impl core::fmt::Display for FormatError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use FormatError::*;
        match *self {
            Truncated { expected, actual } => {
                write!(f, "file truncated: expected {expected} bytes, got {actual}")
            }
            BadMagic { found } => write!(f, "not a .rill file: magic is {found:02x?}, expected \"RILL\""),
            UnsupportedVersion { found, supported } => {
                write!(f, "unsupported format version {found} (this build reads version {supported})")
            }
            TrailingBytes { expected, actual } => {
                write!(f, "file is {actual} bytes but its header says {expected}")
            }
            Checksum { stored, computed } => write!(
                f,
                "checksum mismatch: header says {stored:#010x}, contents hash to {computed:#010x} (file corrupt)"
            ),
            Misaligned { address_mod_16 } => write!(
                f,
                "model bytes start at address {address_mod_16} mod 16; they must be 16-byte aligned"
            ),
            BadHeader { reason } => write!(f, "bad header: {reason}"),
            BadSection { kind, offset, len, reason } => write!(
                f,
                "bad section (kind {kind}) at byte offset {offset}, length {len}: {reason}"
            ),
            MissingSection { kind } => write!(f, "missing required section '{}'", kind.name()),
            DuplicateSection { kind } => write!(f, "section '{}' appears twice", kind.name()),
            BadTensor { tensor, reason } => write!(f, "tensor #{tensor}: {reason}"),
            BadOp { op, reason } => write!(f, "op #{op}: {reason}"),
            UnknownOpcode { op, opcode } => write!(
                f,
                "op #{op}: unknown opcode {opcode} (file written by a newer converter?)"
            ),
            BadString { offset } => write!(f, "string at byte offset {offset} of the strings section is out of bounds or not UTF-8"),
            BadGraph { reason } => write!(f, "bad graph record: {reason}"),
            BadStream { reason } => write!(f, "bad stream section: {reason}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for FormatError {}

#[cfg(feature = "defmt")]
impl defmt::Format for FormatError {
    fn format(&self, f: defmt::Formatter<'_>) {
        // Keeps the variant name and numbers; reasons are &'static str so they cost no formatting code.
        match *self {
            FormatError::Truncated { expected, actual } => {
                defmt::write!(f, "Truncated {=usize} {=usize}", expected, actual)
            }
            FormatError::Checksum { stored, computed } => {
                defmt::write!(f, "Checksum {=u32:x} {=u32:x}", stored, computed)
            }
            FormatError::BadTensor { tensor, reason } => {
                defmt::write!(f, "tensor #{=usize}: {=str}", tensor, reason)
            }
            FormatError::BadOp { op, reason } => {
                defmt::write!(f, "op #{=usize}: {=str}", op, reason)
            }
            FormatError::UnknownOpcode { op, opcode } => {
                defmt::write!(f, "op #{=usize}: opcode {=u16}", op, opcode)
            }
            _ => defmt::write!(f, "{=str}", self.kind_name()),
        }
    }
}

impl FormatError {
    /// The variant's name, for logs that cannot afford formatting.
    pub const fn kind_name(&self) -> &'static str {
        match self {
            FormatError::Truncated { .. } => "Truncated",
            FormatError::BadMagic { .. } => "BadMagic",
            FormatError::UnsupportedVersion { .. } => "UnsupportedVersion",
            FormatError::TrailingBytes { .. } => "TrailingBytes",
            FormatError::Checksum { .. } => "Checksum",
            FormatError::Misaligned { .. } => "Misaligned",
            FormatError::BadHeader { .. } => "BadHeader",
            FormatError::BadSection { .. } => "BadSection",
            FormatError::MissingSection { .. } => "MissingSection",
            FormatError::DuplicateSection { .. } => "DuplicateSection",
            FormatError::BadTensor { .. } => "BadTensor",
            FormatError::BadOp { .. } => "BadOp",
            FormatError::UnknownOpcode { .. } => "UnknownOpcode",
            FormatError::BadString { .. } => "BadString",
            FormatError::BadGraph { .. } => "BadGraph",
            FormatError::BadStream { .. } => "BadStream",
        }
    }
}
