//! The portable instruction semantics against direct definitions.
use super::{smlad, sxtb16, sxtb16_ror8};

#[test]
fn sxtb16_sign_extends_bytes_0_and_2() {
    assert_eq!(sxtb16(0x0080_017F), 0xFF80_007F);
    assert_eq!(sxtb16(0x12FF_34FE), 0xFFFF_FFFE);
    assert_eq!(sxtb16_ror8(0x7F00_8000), 0x007F_FF80);
}

#[test]
fn smlad_sums_both_halfword_products_wrapping() {
    let pack = |lo: i16, hi: i16| lo as u16 as u32 | (hi as u16 as u32) << 16;
    assert_eq!(smlad(pack(3, -4), pack(5, 6), 10), 10 + 15 - 24);
    let m = i16::MIN;
    // 2^30 + 2^30 + 0 = 2^31 wraps to i32::MIN, as the hardware's.
    assert_eq!(smlad(pack(m, m), pack(m, m), 0), i32::MIN);
    assert_eq!(
        smlad(pack(-128, 127), pack(127, -128), i32::MAX),
        i32::MAX.wrapping_sub(2 * 16256)
    );
}
