use super::*;
use crate::fixed::quantize_multiplier;

fn p(len: u32) -> RequantParams {
    RequantParams { len }
}

#[test]
fn int8_to_int16_hand_cases() {
    // x: scale 0.1, z -5; y: scale 0.1 / 256, z 0. Real 0.1 * (x + 5) = y / 2560 * 256 -> y = 256 (x + 5).
    let m = quantize_multiplier(256.0).unwrap();
    let x: [i8; 5] = [-128, -5, 0, 1, 127];
    let mut y = [0i16; 5];
    requant(&p(5), &x, -5, m, OutQ::plain::<i16>(0), &mut y).unwrap();
    assert_eq!(
        y,
        [-31488, 0, 1280, 1536, 32767],
        "127 + 5 = 132 -> 33792 saturates"
    );
}

#[test]
fn int16_to_int8_rounds_half_away_from_zero_and_saturates() {
    // y = round(x / 256) + 3.
    let m = quantize_multiplier(1.0 / 256.0).unwrap();
    let x: [i16; 7] = [128, -128, 127, -129, 32767, -32768, 0];
    let mut y = [0i8; 7];
    requant(&p(7), &x, 0, m, OutQ::plain::<i8>(3), &mut y).unwrap();
    assert_eq!(y, [4, 2, 3, 2, 127, -125, 3]);
}

#[test]
fn wrong_lengths_are_errors() {
    let m = quantize_multiplier(1.0).unwrap();
    let mut y = [0i8; 2];
    assert!(requant(&p(3), &[1i16, 2, 3], 0, m, OutQ::plain::<i8>(0), &mut y).is_err());
    assert!(requant(&p(2), &[1i16], 0, m, OutQ::plain::<i8>(0), &mut y).is_err());
}
