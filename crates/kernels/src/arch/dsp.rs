//! The Cortex-M DSP extension's SMLAD and SXTB16 through `asm!`: LLVM has no stable intrinsics for
//! them and does not form SMLAD from plain Rust. Same semantics as `portable.rs`.
use core::arch::asm;

/// SXTB16: bytes 0 and 2 of `v`, each sign-extended to a halfword (byte 0 in the low half).
#[inline(always)]
pub(crate) fn sxtb16(v: u32) -> u32 {
    let r: u32;
    // SAFETY: a register-only instruction of ARMv7E-M (this module is built only for DSP targets).
    unsafe {
        asm!("sxtb16 {r}, {v}", v = in(reg) v, r = lateout(reg) r,
             options(pure, nomem, nostack, preserves_flags));
    }
    r
}

/// SXTB16 with ROR #8: bytes 1 and 3 of `v`, each sign-extended to a halfword.
#[inline(always)]
pub(crate) fn sxtb16_ror8(v: u32) -> u32 {
    let r: u32;
    // SAFETY: as `sxtb16`.
    unsafe {
        asm!("sxtb16 {r}, {v}, ror #8", v = in(reg) v, r = lateout(reg) r,
             options(pure, nomem, nostack, preserves_flags));
    }
    r
}

/// SMLAD: `acc + lo(a) lo(b) + hi(a) hi(b)` on signed halfwords, modulo 2^32.
#[inline(always)]
pub(crate) fn smlad(a: u32, b: u32, mut acc: i32) -> i32 {
    // SAFETY: a register-only instruction of ARMv7E-M; it may set the sticky Q flag, which nothing
    // in Rust code reads (hence no `preserves_flags`). The accumulator is read and written in place
    // so the register allocator keeps it in one register across a loop.
    unsafe {
        asm!("smlad {acc}, {a}, {b}, {acc}", a = in(reg) a, b = in(reg) b, acc = inout(reg) acc,
             options(pure, nomem, nostack));
    }
    acc
}

/// SMLAL: the 64-bit `acc + a b` of `acc` as high and low words, returning the high word (the
/// low one is what a rounding constant needs only as a carry). LLVM forms SMLAL itself only
/// when it can see both operands are sign-extended i32s, which a clamp or a select hides.
#[inline(always)]
pub(crate) fn smlal_hi(lo: u32, hi: i32, a: i32, b: i32) -> i32 {
    let (mut lo, mut hi) = (lo, hi);
    // SAFETY: a register-only instruction of ARMv7-M.
    unsafe {
        asm!("smlal {lo}, {hi}, {a}, {b}", lo = inout(reg) lo, hi = inout(reg) hi,
             a = in(reg) a, b = in(reg) b, options(pure, nomem, nostack, preserves_flags));
    }
    let _ = lo;
    hi
}

/// One row's two multiply-accumulates of a group of four inputs: weight word in `{t}`, input
/// pairs in `{x02}`, `{x13}`; `{t2}` is clobbered.
macro_rules! row_mac {
    ($acc:literal) => {
        concat!(
            "sxtb16 {t2}, {t}\n",
            "smlad {",
            $acc,
            "}, {x02}, {t2}, {",
            $acc,
            "}\n",
            "sxtb16 {t}, {t}, ror #8\n",
            "smlad {",
            $acc,
            "}, {x13}, {t}, {",
            $acc,
            "}\n",
        )
    };
}

/// One group of four inputs against four rows: rows 1 and 2 at `k` and `2 k` past row 0's
/// pointer, row 3 through its own pointer; both pointers and the input step on.
macro_rules! rows4_group {
    () => {
        concat!(
            "ldrd {x02}, {x13}, [{xp}], #8\n",
            "ldr {t}, [{wa}, {k}]\n",
            row_mac!("a1"),
            "ldr {t}, [{wa}, {k}, lsl #1]\n",
            row_mac!("a2"),
            "ldr {t}, [{wb}], #4\n",
            row_mac!("a3"),
            "ldr {t}, [{wa}], #4\n",
            row_mac!("a0"),
        )
    };
}

/// One group of four inputs against one row for four inputs: the row's weight word split once,
/// each input's pairs in turn.
macro_rules! quad_group {
    () => {
        concat!(
            "ldr {t}, [{wa}], #4\n",
            "sxtb16 {t2}, {t}\n",
            "sxtb16 {t}, {t}, ror #8\n",
            "ldrd {x02}, {x13}, [{xp}], #8\n",
            "smlad {a0}, {x02}, {t2}, {a0}\n",
            "smlad {a0}, {x13}, {t}, {a0}\n",
            "ldrd {x02}, {x13}, [{xp}], #8\n",
            "smlad {a1}, {x02}, {t2}, {a1}\n",
            "smlad {a1}, {x13}, {t}, {a1}\n",
            "ldrd {x02}, {x13}, [{xp}], #8\n",
            "smlad {a2}, {x02}, {t2}, {a2}\n",
            "smlad {a2}, {x13}, {t}, {a2}\n",
            "ldrd {x02}, {x13}, [{xp}], #8\n",
            "smlad {a3}, {x02}, {t2}, {a3}\n",
            "smlad {a3}, {x13}, {t}, {a3}\n",
        )
    };
}

/// [`super::rows::quads_rust`]: the groups of four inputs in pairs in one `asm!` loop per four
/// rows, so that the four accumulators, the input pairs and the row pointers stay in registers
/// (separate `asm!` blocks per instruction leave LLVM spilling around them). The Rust loop body
/// when `x` is not a whole number of pairs of groups (or is empty), in the same loop: `f` (the
/// caller's completion of the sums, often the larger part) is then inlined at one call only.
#[inline(always)]
pub(crate) fn quads(x: &[u32], w: &[i8], k: usize, n: usize, mut f: impl FnMut(usize, [i32; 4])) {
    let inputs = 2 * x.len();
    let by_asm = !x.is_empty() && x.len().is_multiple_of(4) && k >= inputs;
    let (Some(span), Some(step)) = (k.checked_mul(3), k.checked_mul(4)) else {
        return;
    };
    let Some(span) = span.checked_add(inputs) else {
        return;
    };
    let (mut j, mut at) = (0, 0);
    while j + 4 <= n {
        let Some(rows) = w.get(at..).filter(|r| r.len() >= span) else {
            return;
        };
        let acc = if by_asm {
            // SAFETY: `rows` holds rows at strides of `k >= inputs` and at least `3 k + inputs`
            // codes, so each of the four rows has `inputs` codes; `x` is a whole number of pairs
            // of groups (at least one).
            unsafe { rows4_raw(x.as_ptr(), x.as_ptr().add(x.len()), rows.as_ptr(), k) }
        } else {
            super::rows::rows4_rust([0; 4], x, rows, k)
        };
        f(j, acc);
        j += 4;
        at += step;
    }
}

/// Four rows from `wa` (stride `k` bytes) against the groups of four inputs from `xp` to `end`.
///
/// # Safety
/// `end - xp` is a positive multiple of 4 words, and each of the four rows holds at least
/// `2 (end - xp)` readable bytes.
#[inline(always)]
unsafe fn rows4_raw(xp: *const u32, end: *const u32, wa: *const i8, k: usize) -> [i32; 4] {
    let (mut a0, mut a1, mut a2, mut a3) = (0i32, 0i32, 0i32, 0i32);
    // SAFETY: reads within the bounds the caller guarantees; writes only the eight bytes it
    // pushes below `sp` (hence no `nostack`) to hold `end`, and pops them. Word loads need no
    // alignment on ARMv7E-M (LDRD reads the aligned `u32` input).
    unsafe {
        asm!(
            "str {t2}, [sp, #-8]!",
            "2:",
            rows4_group!(),
            rows4_group!(),
            "ldr {t2}, [sp]",
            "cmp {xp}, {t2}",
            "bne 2b",
            "add sp, sp, #8",
            a0 = inout(reg) a0,
            a1 = inout(reg) a1,
            a2 = inout(reg) a2,
            a3 = inout(reg) a3,
            xp = inout(reg) xp => _,
            wa = inout(reg) wa => _,
            wb = inout(reg) wa.add(3 * k) => _,
            t2 = inout(reg) end => _,
            k = in(reg) k,
            x02 = out(reg) _,
            x13 = out(reg) _,
            t = out(reg) _,
        );
    }
    [a0, a1, a2, a3]
}

#[cfg_attr(feature = "small", allow(dead_code))]
/// [`super::rows::sums_rust`]: every quad of rows in one `asm!` block, the loop over quads too,
/// so that nothing is spilled and reloaded around each quad (the quad's end work is nine
/// instructions: store four sums, step the weight pointers, rewind the input). The Rust loop
/// when the shapes do not fit the DSP loop.
#[inline(always)]
pub(crate) fn sums(x: &[u32], w: &[i8], k: usize, out: &mut [i32]) {
    let inputs = 2 * x.len();
    let n = out.len() - out.len() % 4;
    let fits = !x.is_empty()
        && x.len().is_multiple_of(4)
        && k >= inputs
        && n > 0
        && (n - 1)
            .checked_mul(k)
            .and_then(|v| v.checked_add(inputs))
            .is_some_and(|span| w.len() >= span)
        && k.checked_mul(4).is_some();
    if !fits {
        return super::rows::sums_rust(x, w, k, out);
    }
    // SAFETY: quad `q` reads rows `4 q .. 4 q + 3`, each `inputs` codes at stride `k`: at most
    // `(n - 1) k + inputs <= w.len()` bytes; `x` is a whole number of pairs of groups; `out`
    // has `n` words.
    unsafe {
        sums_raw(
            x.as_ptr(),
            x.as_ptr().add(x.len()),
            w.as_ptr(),
            k,
            out.as_mut_ptr(),
            out.as_mut_ptr().add(n),
        )
    }
}

#[cfg_attr(feature = "small", allow(dead_code))]
/// # Safety
/// As [`sums`]: `out..out_end` a positive multiple of four words, each quad's rows readable.
#[inline(always)]
unsafe fn sums_raw(
    xp: *const u32,
    end: *const u32,
    wa: *const i8,
    k: usize,
    out: *mut i32,
    out_end: *mut i32,
) {
    // Stack frame (16 bytes, below `sp`): [sp] the input's end, [sp + 4] the output pointer,
    // [sp + 8] the output's end, [sp + 12] the input's start.
    // SAFETY: reads and writes within the bounds the caller guarantees, plus the frame it pushes
    // and pops.
    unsafe {
        asm!(
            "sub sp, sp, #16",
            "str {t2}, [sp]",
            "str {a0}, [sp, #4]",
            "str {a1}, [sp, #8]",
            "str {xp}, [sp, #12]",
            "3:",
            "movs {a0}, #0",
            "movs {a1}, #0",
            "movs {a2}, #0",
            "movs {a3}, #0",
            "add {wb}, {wa}, {k}, lsl #1",
            "add {wb}, {wb}, {k}",
            "2:",
            rows4_group!(),
            rows4_group!(),
            "ldr {t2}, [sp]",
            "cmp {xp}, {t2}",
            "bne 2b",
            // The quad's sums out; the next quad's rows start 4 k past this one's, whose
            // pointer has moved on by `inputs` = 2 (xp - start) bytes.
            "ldr {t2}, [sp, #4]",
            "strd {a0}, {a1}, [{t2}], #8",
            "strd {a2}, {a3}, [{t2}], #8",
            "str {t2}, [sp, #4]",
            "ldr {t}, [sp, #12]",
            "sub {x02}, {xp}, {t}",
            "mov {xp}, {t}",
            "sub {wa}, {wa}, {x02}, lsr #1",
            "add {wa}, {wa}, {k}, lsl #2",
            "ldr {t}, [sp, #8]",
            "cmp {t2}, {t}",
            "bne 3b",
            "add sp, sp, #16",
            a0 = inout(reg) out => _,
            a1 = inout(reg) out_end => _,
            a2 = out(reg) _,
            a3 = out(reg) _,
            xp = inout(reg) xp => _,
            wa = inout(reg) wa => _,
            wb = out(reg) _,
            t2 = inout(reg) end => _,
            k = in(reg) k,
            x02 = out(reg) _,
            x13 = out(reg) _,
            t = out(reg) _,
        );
    }
}

/// [`super::rows::block2x2_rust`] from zero for rows at `w[0]` and `w[k]`: one `asm!` loop,
/// accumulators in registers; the Rust loop when `x` is empty or not whole groups.
#[inline(always)]
pub(crate) fn block2x2(x: &[u32], w: &[i8], k: usize) -> [i32; 4] {
    let inputs = x.len();
    let fits = !x.is_empty()
        && x.len().is_multiple_of(4)
        && k >= inputs
        && k.checked_add(inputs).is_some_and(|span| w.len() >= span);
    if !fits {
        return super::rows::block2x2_rust([0; 4], x, w, k);
    }
    // SAFETY: both rows hold `inputs` codes (checked above); `x` is a whole number of groups.
    unsafe { block2x2_raw(x.as_ptr(), x.as_ptr().add(x.len()), w.as_ptr(), k) }
}

/// The 2 x 2 block loop shared by [`block2x2_raw`] and [`blocks2x2_raw`]: both rows' next word
/// (row 1 at `wa + k`) against the next two interleaved input groups at `xp`, until `end`.
macro_rules! block2x2_loop {
    () => {
        concat!(
            "2:\n",
            "ldr {t}, [{wa}, {k}]\n",
            "sxtb16 {t2}, {t}\n",
            "sxtb16 {t}, {t}, ror #8\n",
            "ldrd {x02}, {x13}, [{xp}]\n",
            "smlad {a10}, {x02}, {t2}, {a10}\n",
            "smlad {a10}, {x13}, {t}, {a10}\n",
            "ldrd {x02}, {x13}, [{xp}, #8]\n",
            "smlad {a11}, {x02}, {t2}, {a11}\n",
            "smlad {a11}, {x13}, {t}, {a11}\n",
            "ldr {t}, [{wa}], #4\n",
            "sxtb16 {t2}, {t}\n",
            "sxtb16 {t}, {t}, ror #8\n",
            "smlad {a01}, {x02}, {t2}, {a01}\n",
            "smlad {a01}, {x13}, {t}, {a01}\n",
            "ldrd {x02}, {x13}, [{xp}], #16\n",
            "smlad {a00}, {x02}, {t2}, {a00}\n",
            "smlad {a00}, {x13}, {t}, {a00}\n",
            "cmp {xp}, {end}\n",
            "bne 2b",
        )
    };
}

/// Two rows from `wa` (stride `k` bytes) against two inputs interleaved from `xp` to `end`.
///
/// # Safety
/// `end - xp` is a positive multiple of 4 words, and both rows hold at least `end - xp`
/// readable bytes.
#[inline(always)]
unsafe fn block2x2_raw(xp: *const u32, end: *const u32, wa: *const i8, k: usize) -> [i32; 4] {
    let (mut a00, mut a01, mut a10, mut a11) = (0i32, 0i32, 0i32, 0i32);
    // SAFETY: reads within the bounds the caller guarantees, writes no memory.
    unsafe {
        asm!(
            block2x2_loop!(),
            a00 = inout(reg) a00,
            a01 = inout(reg) a01,
            a10 = inout(reg) a10,
            a11 = inout(reg) a11,
            xp = inout(reg) xp => _,
            wa = inout(reg) wa => _,
            end = in(reg) end,
            k = in(reg) k,
            x02 = out(reg) _,
            x13 = out(reg) _,
            t = out(reg) _,
            t2 = out(reg) _,
            options(nostack, readonly),
        );
    }
    [a00, a01, a10, a11]
}

#[cfg_attr(feature = "small", allow(dead_code))]
/// [`super::rows::blocks2x2_rust`]: the 2 x 2 blocks of every pair of inputs in one `asm!` block,
/// the loop over pairs too (a pair's end work: store four sums, rewind the rows, step the end).
/// The Rust loop when the shapes do not fit.
#[inline(always)]
pub(crate) fn blocks2x2(x: &[u32], w: &[i8], k: usize, out: &mut [i32]) {
    let pairs = out.len() / 4;
    let fits = k > 0
        && k.is_multiple_of(4)
        && pairs > 0
        && k.checked_mul(pairs).is_some_and(|words| x.len() >= words)
        && k.checked_mul(2).is_some_and(|span| w.len() >= span)
        && k.checked_mul(4).is_some();
    if !fits {
        return super::rows::blocks2x2_rust(x, w, k, out);
    }
    // SAFETY: pair `p` reads `x[p k..(p + 1) k]` (within `x`) and both rows' `k` codes (within
    // `w`), and writes `out[4 p..4 p + 4]`.
    unsafe {
        blocks2x2_raw(
            x.as_ptr(),
            w.as_ptr(),
            k,
            out.as_mut_ptr(),
            out.as_mut_ptr().add(4 * pairs),
        )
    }
}

#[cfg_attr(feature = "small", allow(dead_code))]
/// # Safety
/// As [`blocks2x2`]: `k` a positive multiple of 4, `(out_end - out) / 4` pairs of `k` words
/// from `xp`, two rows of `k` codes from `wa`.
#[inline(always)]
unsafe fn blocks2x2_raw(xp: *const u32, wa: *const i8, k: usize, out: *mut i32, out_end: *mut i32) {
    // Stack frame (8 bytes below `sp`): [sp] the output pointer, [sp + 4] the output's end.
    // SAFETY: reads and writes within the bounds the caller guarantees, plus the frame.
    unsafe {
        asm!(
            "sub sp, sp, #8",
            "str {a00}, [sp]",
            "str {a01}, [sp, #4]",
            "add {end}, {xp}, {k}, lsl #2",
            "3:",
            "movs {a00}, #0",
            "movs {a01}, #0",
            "movs {a10}, #0",
            "movs {a11}, #0",
            block2x2_loop!(),
            "ldr {t}, [sp]",
            "strd {a00}, {a01}, [{t}], #8",
            "strd {a10}, {a11}, [{t}], #8",
            "str {t}, [sp]",
            "ldr {t2}, [sp, #4]",
            "sub {wa}, {wa}, {k}",
            "add {end}, {end}, {k}, lsl #2",
            "cmp {t}, {t2}",
            "bne 3b",
            "add sp, sp, #8",
            a00 = inout(reg) out => _,
            a01 = inout(reg) out_end => _,
            a10 = out(reg) _,
            a11 = out(reg) _,
            xp = inout(reg) xp => _,
            wa = inout(reg) wa => _,
            end = out(reg) _,
            k = in(reg) k,
            x02 = out(reg) _,
            x13 = out(reg) _,
            t = out(reg) _,
            t2 = out(reg) _,
        );
    }
}

#[cfg_attr(feature = "small", allow(dead_code))]
/// [`super::rows::rows1x4_rust`]: each row against four inputs at once (each weight word loaded
/// and split once for four inputs), every row in one `asm!` block. The Rust loop when the shapes
/// do not fit (`k` not a positive multiple of 8).
#[inline(always)]
pub(crate) fn rows1x4(x: &[u32], w: &[i8], k: usize, out: &mut [i32]) {
    let rows = out.len() / 4;
    let fits = k > 0
        && k.is_multiple_of(8)
        && rows > 0
        && k.checked_mul(2).is_some_and(|words| x.len() >= words)
        && k.checked_mul(rows).is_some_and(|span| w.len() >= span)
        && k.checked_mul(8).is_some();
    if !fits {
        return super::rows::rows1x4_rust(x, w, k, out);
    }
    // SAFETY: every row reads `x[..2 k]` and its own `k` codes (rows back to back, within `w`),
    // and writes `out[4 r..4 r + 4]`.
    unsafe {
        rows1x4_raw(
            x.as_ptr(),
            x.as_ptr().add(2 * k),
            w.as_ptr(),
            out.as_mut_ptr(),
            out.as_mut_ptr().add(4 * rows),
        )
    }
}

#[cfg_attr(feature = "small", allow(dead_code))]
/// # Safety
/// As [`rows1x4`]: `xs..end` a positive multiple of 16 words, `(out_end - out) / 4` rows of
/// `(end - xs) / 2` codes back to back from `wa`.
#[inline(always)]
unsafe fn rows1x4_raw(
    xs: *const u32,
    end: *const u32,
    wa: *const i8,
    out: *mut i32,
    out_end: *mut i32,
) {
    // Stack frame (8 bytes below `sp`): [sp] the output pointer, [sp + 4] the output's end.
    // SAFETY: reads and writes within the bounds the caller guarantees, plus the frame.
    unsafe {
        asm!(
            "sub sp, sp, #8",
            "str {a0}, [sp]",
            "str {a1}, [sp, #4]",
            "3:",
            "mov {xp}, {xs}",
            "movs {a0}, #0",
            "movs {a1}, #0",
            "movs {a2}, #0",
            "movs {a3}, #0",
            "2:",
            quad_group!(),
            quad_group!(),
            "cmp {xp}, {end}",
            "bne 2b",
            "ldr {x02}, [sp]",
            "strd {a0}, {a1}, [{x02}], #8",
            "strd {a2}, {a3}, [{x02}], #8",
            "str {x02}, [sp]",
            "ldr {x13}, [sp, #4]",
            "cmp {x02}, {x13}",
            "bne 3b",
            "add sp, sp, #8",
            a0 = inout(reg) out => _,
            a1 = inout(reg) out_end => _,
            a2 = out(reg) _,
            a3 = out(reg) _,
            xp = out(reg) _,
            xs = in(reg) xs,
            end = in(reg) end,
            wa = inout(reg) wa => _,
            x02 = out(reg) _,
            x13 = out(reg) _,
            t = out(reg) _,
            t2 = out(reg) _,
        );
    }
}

/// [`super::rows::dw3_rows_rust`]: the output rows of a 3x3 stride-1 depthwise kernel in one
/// `asm!` loop, the five weight words in registers: per output, three pairs and three single
/// codes loaded (post-incremented) and six multiply-accumulates; per row, the pointers step over
/// the padding columns. The Rust loop when the shapes do not fit.
#[inline(always)]
pub(crate) fn dw3_rows(buf: &[i16], width: usize, out_w: usize, taps: [u32; 5], out: &mut [i32]) {
    let rows = out.len() / out_w.max(1);
    let fits = out_w > 0
        && rows > 0
        && width >= out_w + 2
        && (rows + 2)
            .checked_mul(width)
            .is_some_and(|len| buf.len() >= len)
        && width.checked_mul(4).is_some();
    if !fits {
        return super::rows::dw3_rows_rust(buf, width, out_w, taps, out);
    }
    let [w01, w34, w67, w25, w8] = taps;
    // [sp] bytes from a row's last window to the next row's first, [sp + 4] an output row's
    // bytes, [sp + 8] the outputs' end.
    let frame = [
        2 * (width - out_w) as u32,
        4 * out_w as u32,
        out.as_mut_ptr().wrapping_add(rows * out_w) as u32,
    ];
    // SAFETY: output `(r, i)` reads codes `i..i + 3` of padded rows `r..r + 3` (within `buf`:
    // `(rows + 2) width` codes, `width >= out_w + 2`; the pair at `i` as one word: unaligned word
    // loads are allowed on ARMv7E-M) and writes `out[r out_w + i]`, `r < rows`.
    unsafe {
        asm!(
            "sub sp, sp, #16",
            "ldr {t}, [{acc}]",
            "str {t}, [sp]",
            "ldr {t}, [{acc}, #4]",
            "str {t}, [sp, #4]",
            "add {end}, {out}, {t}",
            "ldr {t}, [{acc}, #8]",
            "str {t}, [sp, #8]",
            "2:",
            "ldr {t}, [{p0}], #2",
            "smuad {acc}, {t}, {w01}",
            "ldrsh {t}, [{p0}, #2]",
            "smlabb {acc}, {t}, {w25}, {acc}",
            "ldr {t}, [{p1}], #2",
            "smlad {acc}, {t}, {w34}, {acc}",
            "ldrsh {t}, [{p1}, #2]",
            "smlabt {acc}, {t}, {w25}, {acc}",
            "ldr {t}, [{p2}], #2",
            "smlad {acc}, {t}, {w67}, {acc}",
            "ldrsh {t}, [{p2}, #2]",
            "smlabb {acc}, {t}, {w8}, {acc}",
            "str {acc}, [{out}], #4",
            "cmp {out}, {end}",
            "bne 2b",
            "ldr {t}, [sp]",
            "add {p0}, {p0}, {t}",
            "add {p1}, {p1}, {t}",
            "add {p2}, {p2}, {t}",
            "ldr {t}, [sp, #4]",
            "add {end}, {end}, {t}",
            "ldr {t}, [sp, #8]",
            "cmp {out}, {t}",
            "bne 2b",
            "add sp, sp, #16",
            p0 = inout(reg) buf.as_ptr() => _,
            p1 = inout(reg) buf.as_ptr().add(width) => _,
            p2 = inout(reg) buf.as_ptr().add(2 * width) => _,
            out = inout(reg) out.as_mut_ptr() => _,
            end = out(reg) _,
            w01 = in(reg) w01,
            w34 = in(reg) w34,
            w67 = in(reg) w67,
            w25 = in(reg) w25,
            w8 = in(reg) w8,
            acc = inout(reg) frame.as_ptr() => _,
            t = out(reg) _,
        );
    }
}
