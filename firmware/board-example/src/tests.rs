//! Host tests of the generic logic against a fake LSM6DSO (a register file behind `I2c`) and a fake
//! pin, with the real int8 model from generated/.
use std::cell::RefCell;
use std::rc::Rc;
use std::vec::Vec;

use embedded_hal::digital::{self, OutputPin};
use embedded_hal::i2c::{self, ErrorKind, I2c, NoAcknowledgeSource, Operation};

use super::*;
use crate::lsm6dso::*;

#[derive(Debug)]
struct Nack;

impl i2c::Error for Nack {
    fn kind(&self) -> ErrorKind {
        ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address)
    }
}

/// 128 registers with the chip's auto-increment; `samples` are served one per read of OUTX_L_G.
struct FakeImu {
    addr: u8,
    regs: [u8; 128],
    writes: Vec<(u8, u8)>,
    samples: Vec<RawSample>,
    reads: usize,
}

impl FakeImu {
    fn new(addr: u8) -> Self {
        let mut f = FakeImu {
            addr,
            regs: [0; 128],
            writes: Vec::new(),
            samples: Vec::new(),
            reads: 0,
        };
        f.regs[WHO_AM_I as usize] = WHO_AM_I_VALUE;
        f
    }

    /// Puts a sample in the output registers the way the chip lays it out: gyro first.
    fn load(&mut self, s: RawSample) {
        let chip_order = [s.0[3], s.0[4], s.0[5], s.0[0], s.0[1], s.0[2]];
        for (i, v) in chip_order.iter().enumerate() {
            let b = v.to_le_bytes();
            self.regs[OUTX_L_G as usize + 2 * i] = b[0];
            self.regs[OUTX_L_G as usize + 2 * i + 1] = b[1];
        }
    }
}

impl i2c::ErrorType for FakeImu {
    type Error = Nack;
}

impl I2c for FakeImu {
    fn transaction(&mut self, addr: u8, ops: &mut [Operation<'_>]) -> Result<(), Nack> {
        if addr != self.addr {
            return Err(Nack);
        }
        let mut reg = 0usize;
        for op in ops {
            match op {
                Operation::Write(bytes) => {
                    reg = usize::from(bytes[0]);
                    for (k, &b) in bytes[1..].iter().enumerate() {
                        self.writes.push(((reg + k) as u8, b));
                        self.regs[reg + k] = b;
                    }
                }
                Operation::Read(buf) => {
                    if reg == usize::from(OUTX_L_G) {
                        if let Some(&s) = self.samples.get(self.reads) {
                            self.load(s);
                        }
                        self.reads += 1;
                    }
                    buf.copy_from_slice(&self.regs[reg..reg + buf.len()]);
                }
            }
        }
        Ok(())
    }
}

/// Records every level it is set to; shared so the test can look while the detector owns it.
#[derive(Clone, Default)]
struct FakeLed(Rc<RefCell<Vec<bool>>>);

impl digital::ErrorType for FakeLed {
    type Error = core::convert::Infallible;
}

impl OutputPin for FakeLed {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        self.0.borrow_mut().push(false);
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Self::Error> {
        self.0.borrow_mut().push(true);
        Ok(())
    }
}

fn model() -> Model<'static> {
    Model::from_bytes(&model::MODEL.0).expect("generated/model.rill loads")
}

fn arena() -> Vec<u8> {
    vec![0u8; model::ARENA_BYTES]
}

#[test]
fn init_checks_identity_and_configures_both_sensors() {
    let mut imu = Lsm6dso::init(FakeImu::new(ADDR_SA0_LOW), ADDR_SA0_LOW).expect("init");
    imu.read().expect("read");
    let fake = imu.release();
    assert_eq!(
        fake.writes,
        [
            (CTRL3_C, CTRL3_C_VALUE),
            (CTRL1_XL, CTRL1_XL_VALUE),
            (CTRL2_G, CTRL2_G_VALUE)
        ]
    );
    assert_eq!(CTRL1_XL_VALUE, 0x1C);
    assert_eq!(CTRL2_G_VALUE, 0x1C);
    assert_eq!(CTRL3_C_VALUE, 0x44);

    let mut other = FakeImu::new(ADDR_SA0_LOW);
    other.regs[WHO_AM_I as usize] = 0x68;
    assert!(matches!(
        Lsm6dso::init(other, ADDR_SA0_LOW),
        Err(ImuError::WrongChip(0x68))
    ));
    assert!(matches!(
        Lsm6dso::init(FakeImu::new(ADDR_SA0_HIGH), ADDR_SA0_LOW),
        Err(ImuError::Bus(Nack))
    ));
}

#[test]
fn read_puts_accel_first() {
    let mut fake = FakeImu::new(ADDR_SA0_LOW);
    let s = RawSample([1, -2, 300, -32768, 32767, 7]);
    fake.samples.push(s);
    let mut imu = Lsm6dso::init(fake, ADDR_SA0_LOW).expect("init");
    assert_eq!(imu.read().ok(), Some(s));
}

#[test]
fn quantizer_matches_float_rounding() {
    let (scale, zp) = (0.245_836_29_f32, -15);
    let q = InputQuant::new(scale, zp).expect("quant");
    let mut off_by_one = 0;
    for raw in (-32768..=32767).step_by(7) {
        let r = raw as i16;
        let got = q.quantize(&RawSample([r; 6]));
        for (c, &g) in got.iter().enumerate() {
            let want = (f64::from(r) * f64::from(RawSample::UNITS[c]) / f64::from(scale)).round()
                + f64::from(zp);
            let want = want.clamp(-128.0, 127.0) as i32;
            let d = (i32::from(g) - want).abs();
            assert!(d <= 1, "raw {r} channel {c}: {g} vs {want}");
            off_by_one += d;
        }
    }
    // Only exact ties (and Q24 rounding next to them) may differ.
    assert!(off_by_one < 20, "{off_by_one} codes off by one");
    assert!(InputQuant::new(0.0, 0).is_err());
    assert!(InputQuant::new(f32::NAN, 0).is_err());
    assert!(InputQuant::new(1e-30, 0).is_err());
}

#[test]
fn rejects_a_small_arena() {
    let m = model();
    let mut small = vec![0u8; m.arena_bytes() / 2];
    let r = Detector::new(
        FakeImu::new(ADDR_SA0_LOW),
        FakeLed::default(),
        &m,
        &mut small,
        Config::default(),
    );
    assert!(matches!(
        r.err(),
        Some(Error::Runtime(rill_runtime::Error::ArenaTooSmall { .. }))
    ));
}

#[test]
fn answers_every_stride_and_at_each_segment_end_and_drives_the_led() {
    let m = model();
    let mut arena = arena();
    let led = FakeLed::default();
    let still = RawSample([0, 0, 4096, 0, 0, 0]); // 1 g on z at ±8 g
    let mut fake = FakeImu::new(ADDR_SA0_LOW);
    fake.samples = vec![still; 200];
    let config = Config {
        stride: 30,
        ..Config::default()
    };
    let mut det = Detector::new(fake, led.clone(), &m, &mut arena, config).expect("new");
    assert_eq!(*led.0.borrow(), [false]);

    let mut runs = Vec::new();
    for t in 1..=200 {
        if let Some(d) = det.poll().expect("poll") {
            runs.push((t, d));
        }
    }
    let at: Vec<usize> = runs.iter().map(|r| r.0).collect();
    assert_eq!(at, [30, 60, 90, 100, 130, 160, 190, 200]);
    let complete: Vec<usize> = runs.iter().filter(|r| r.1.complete).map(|r| r.0).collect();
    assert_eq!(complete, [100, 200]);
    // The state is reset between segments: the second segment answers exactly as the first.
    for k in 0..4 {
        assert_eq!(runs[k].1, runs[k + 4].1, "answer {k}");
    }
    let levels = led.0.borrow().clone();
    assert_eq!(levels.len(), 1 + runs.len());
    for (on, r) in levels[1..].iter().zip(&runs) {
        assert_eq!(*on, r.1.class == config.led_class);
    }
}

#[test]
fn a_streamed_segment_answers_exactly_as_the_whole_window() {
    // The same 100 varying samples, streamed by the detector and fed as one window to a second
    // session: the logit codes must agree bit for bit.
    let m = model();
    let mut arena1 = arena();
    let samples: Vec<RawSample> = (0..WINDOW as i32)
        .map(|t| {
            let v = |k: i32| ((t * 37 + k * 101) % 4001 - 2000) as i16;
            RawSample([v(0), v(1), v(2) + 4096, v(3), v(4), v(5)])
        })
        .collect();
    let mut fake = FakeImu::new(ADDR_SA0_LOW);
    fake.samples = samples.clone();
    let config = Config {
        stride: WINDOW,
        ..Config::default()
    };
    let mut det = Detector::new(fake, FakeLed::default(), &m, &mut arena1, config).expect("new");
    let mut streamed = None;
    for _ in 0..WINDOW {
        streamed = det.poll().expect("poll").or(streamed);
    }
    let streamed = streamed.expect("an answer at the segment end");
    assert!(streamed.complete);

    let input = m.input(0).unwrap();
    let quant = InputQuant::new(input.scale, input.zero_point).unwrap();
    let window: Vec<i8> = samples.iter().flat_map(|s| quant.quantize(s)).collect();
    let mut arena2 = arena();
    let mut whole = Session::new(&m, &mut arena2).unwrap();
    whole.set_input_i8(0, &window).unwrap();
    whole.invoke().unwrap();
    let logits = whole.output_i8(0).unwrap();
    let best = (0..logits.len())
        .max_by_key(|&i| (logits[i], std::cmp::Reverse(i)))
        .unwrap();
    let info = m.output(0).unwrap();
    assert_eq!(streamed.class, best);
    assert_eq!(
        streamed.logit,
        info.scale * (i32::from(logits[best]) - info.zero_point) as f32
    );
}

/// Minimal .npy reader: little-endian f32 or i64, C order; returns the payload.
fn npy(path: &str) -> Vec<u8> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(&b[..6], b"\x93NUMPY");
    let (len, start) = if b[6] == 1 {
        (usize::from(u16::from_le_bytes([b[8], b[9]])), 10)
    } else {
        (u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize, 12)
    };
    let header = std::str::from_utf8(&b[start..start + len]).expect("header");
    assert!(header.contains("'fortran_order': False"), "{header}");
    b[start + len..].to_vec()
}

/// The held-out set through the whole device path: physical units back to sensor LSBs, the fake
/// bus, the integer quantizer, the ring and the model.
#[test]
fn classifies_the_test_set_through_the_sensor_path() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/motion_lstm/");
    let x: Vec<f32> = npy(&format!("{dir}test.npy"))
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let labels: Vec<i64> = npy(&format!("{dir}labels.npy"))
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(x.len(), labels.len() * WINDOW * CHANNELS);

    let m = model();
    let mut arena = arena();
    let mut correct = 0;
    for (window, &label) in x.chunks_exact(WINDOW * CHANNELS).zip(&labels) {
        let mut fake = FakeImu::new(ADDR_SA0_LOW);
        for s in window.chunks_exact(CHANNELS) {
            let mut raw = [0i16; CHANNELS];
            for c in 0..CHANNELS {
                raw[c] = (s[c] / RawSample::UNITS[c]).round() as i16;
            }
            fake.samples.push(RawSample(raw));
        }
        let config = Config {
            stride: WINDOW,
            ..Config::default()
        };
        let mut det = Detector::new(fake, FakeLed::default(), &m, &mut arena, config).expect("new");
        let mut last = None;
        for _ in 0..WINDOW {
            last = det.poll().expect("poll").or(last);
        }
        let d = last.expect("one inference after 100 samples");
        correct += usize::from(d.class as i64 == label);
    }
    println!("int8 on-device path: {correct}/{} correct", labels.len());
    assert!(
        correct * 10 >= labels.len() * 9,
        "{correct}/{}",
        labels.len()
    );
}
