use rill_format::GatherParams;
use std::vec;

use super::gather;
use crate::testutil::{prod, Rng};
use crate::KernelError;

fn gp(outer: u32, axis_len: u32, inner: u32, n_indices: u32) -> GatherParams {
    GatherParams {
        outer,
        axis_len,
        inner,
        n_indices,
    }
}

#[test]
fn rows_with_negative_index() {
    // data [2, 3, 2]: rows (o, a) = [10 o + a, 10 o + a + 0.5]
    let data = [
        0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 10.0, 10.5, 11.0, 11.5, 12.0, 12.5,
    ];
    let mut y = [0.0; 8];
    // indices [2, -3] = rows 2 and 0
    gather(&gp(2, 3, 2, 2), &data, &[2, -3], &mut y).unwrap();
    assert_eq!(y, [2.0, 2.5, 0.0, 0.5, 12.0, 12.5, 10.0, 10.5]);
}

#[test]
fn embedding_lookup_i32() {
    // an i32 table [4] gathered by [3, -1, 0]
    let mut y = [0i32; 3];
    gather(&gp(1, 4, 1, 3), &[5, 6, 7, 8], &[3, -1, 0], &mut y).unwrap();
    assert_eq!(y, [8, 8, 5]);
}

#[test]
fn errors() {
    let data = [1.0f32; 6];
    let mut y = [0.0; 4];
    let p = gp(2, 3, 1, 2);
    assert!(gather(&p, &data, &[0, 2], &mut y[..4]).is_ok());
    assert_eq!(
        gather(&p, &data, &[0, 3], &mut y),
        Err(KernelError::IndexOutOfRange { index: 3, len: 3 })
    );
    assert_eq!(
        gather(&p, &data, &[-4, 0], &mut y),
        Err(KernelError::IndexOutOfRange { index: -4, len: 3 })
    );
    assert!(gather(&p, &data, &[i32::MIN, 0], &mut y).is_err());
    assert!(gather(&p, &data, &[i32::MAX, 0], &mut y).is_err());
    // checked before writing, and even when there is nothing to write
    let mut y0 = [9.0; 4];
    assert!(gather(&p, &data, &[1, 5], &mut y0).is_err());
    assert_eq!(y0, [9.0; 4]);
    assert!(gather::<f32>(&gp(0, 3, 1, 1), &[], &[3], &mut []).is_err());
    assert!(gather(&gp(1, 0, 1, 1), &[], &[0], &mut [0.0]).is_err());
    assert!(matches!(
        gather(&p, &data, &[0, 1], &mut y[..3]),
        Err(KernelError::Length { .. })
    ));
    assert!(gather(&p, &data[..5], &[0, 1], &mut y).is_err());
    assert!(gather(&p, &data, &[0], &mut y).is_err());
    assert!(matches!(
        gather(&gp(u32::MAX, u32::MAX, u32::MAX, 1), &data, &[0], &mut y),
        Err(KernelError::Overflow { .. })
    ));
}

#[test]
fn fuzz() {
    let mut rng = Rng::new(51);
    let mut ok = 0;
    for _ in 0..4000 {
        let p = gp(rng.dim(), rng.dim(), rng.dim(), rng.dim());
        let data = rng.vec_near(prod(&[p.outer, p.axis_len, p.inner]));
        let idx: std::vec::Vec<i32> = (0..rng.len(Some(p.n_indices as usize)))
            .map(|_| match rng.below(8) {
                0 => i32::MIN,
                1 => i32::MAX,
                _ => rng.below(9) as i32 - 4,
            })
            .collect();
        let mut y = vec![0.0; rng.len(prod(&[p.outer, p.n_indices, p.inner]))];
        ok += gather(&p, &data, &idx, &mut y).is_ok() as usize;
    }
    assert!(ok > 100, "too few valid cases: {ok}");
}
