//! The board-agnostic part: an LSM6DSO-class IMU on any `embedded_hal::i2c::I2c`, an LED on any
//! `OutputPin`, and motion_lstm (int8) classifying the last 10 s of motion.
//!
//! The model was trained on 10 s windows `[1, 100, 6]`. The detector streams: each sample goes
//! through `Session::step` (one LSTM step, O(1) work, the state kept in the arena), so no window is
//! buffered and nothing is recomputed. Every `stride` samples it reports the answer for the samples
//! of the current segment so far; after `WINDOW` samples the answer is exactly the whole-window one
//! (bit for bit) and the session is reset for the next segment.
#![cfg_attr(not(test), no_std)]

pub mod lsm6dso;

use embedded_hal::digital::OutputPin;
use embedded_hal::i2c::{Error as _, ErrorKind, I2c};
use rill_runtime::{DType, Model, Session};

use lsm6dso::{ImuError, Lsm6dso, RawSample};

/// 16-byte alignment for the embedded model and the arena.
#[repr(C, align(16))]
pub struct Aligned<T: ?Sized>(pub T);

/// `MODEL` (generated/model.rill) and `ARENA_BYTES`, written by build.rs.
pub mod model {
    use super::Aligned;
    include!(concat!(env!("OUT_DIR"), "/model.rs"));
}

/// Time steps per inference: 10 s at 10 Hz.
pub const WINDOW: usize = 100;
/// accel x/y/z, gyro x/y/z.
pub const CHANNELS: usize = 6;
/// models/motion_lstm/classes.json, in logit order.
pub const CLASSES: [&str; 4] = ["standing", "running", "walking", "badminton"];

#[derive(Clone, Copy, Debug, PartialEq, defmt::Format)]
pub enum Error {
    I2c(ErrorKind),
    /// Not an LSM6DSO at the address; holds the WHO_AM_I it returned.
    WrongImu(u8),
    Led,
    Runtime(rill_runtime::Error),
    /// The model file is valid but is not one this application can feed.
    Model(&'static str),
}

impl From<rill_runtime::Error> for Error {
    fn from(e: rill_runtime::Error) -> Self {
        Error::Runtime(e)
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// 7-bit I2C address of the IMU (`lsm6dso::ADDR_SA0_LOW` or `ADDR_SA0_HIGH`).
    pub imu_addr: u8,
    /// Report the answer every this many samples (10 = once a second at 10 Hz), besides at the end
    /// of each `WINDOW`-sample segment. At least 1.
    pub stride: usize,
    /// The LED is on while this class is detected.
    pub led_class: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            imu_addr: lsm6dso::ADDR_SA0_LOW,
            stride: 10,
            led_class: 1, // running
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, defmt::Format)]
pub struct Detection {
    /// Index into [`CLASSES`].
    pub class: usize,
    /// Its logit, dequantized.
    pub logit: f32,
    /// The answer covers a whole `WINDOW`-sample segment (earlier ones cover the segment so far).
    pub complete: bool,
}

impl Detection {
    pub fn name(&self) -> &'static str {
        CLASSES.get(self.class).copied().unwrap_or("?")
    }
}

/// Fractional bits of the input multipliers: enough that the multiplier keeps ~17 significant bits
/// for these scales, while `raw * mult` stays far inside i64.
const QUANT_SHIFT: u32 = 24;

/// Sensor LSBs straight to the model's i8 input codes, integer-only per sample:
/// `q = round(raw * unit / scale) + zero_point`, with `unit / scale` folded into a Q24 multiplier
/// once, at start-up (the only float math).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InputQuant {
    mult: [i32; CHANNELS],
    zero_point: i32,
}

impl InputQuant {
    pub fn new(scale: f32, zero_point: i32) -> Result<Self, Error> {
        if !(scale.is_finite() && scale > 0.0) {
            return Err(Error::Model("input scale is not a positive number"));
        }
        let mut mult = [0i32; CHANNELS];
        for (m, unit) in mult.iter_mut().zip(RawSample::UNITS) {
            let f = unit / scale * (1u32 << QUANT_SHIFT) as f32;
            // f is not NaN: scale is finite and positive.
            if f >= i32::MAX as f32 {
                return Err(Error::Model("input scale too small for the sensor range"));
            }
            // Rounds to nearest; the range was checked above.
            *m = (f + 0.5) as i32;
        }
        Ok(InputQuant { mult, zero_point })
    }

    pub fn quantize(&self, raw: &RawSample) -> [i8; CHANNELS] {
        let mut q = [0i8; CHANNELS];
        for ((q, &r), &m) in q.iter_mut().zip(&raw.0).zip(&self.mult) {
            let v = (i64::from(r) * i64::from(m) + (1 << (QUANT_SHIFT - 1))) >> QUANT_SHIFT;
            let v = v + i64::from(self.zero_point);
            *q = v.clamp(i8::MIN.into(), i8::MAX.into()) as i8;
        }
        q
    }
}

pub struct Detector<'m, 'a, I2C, LED> {
    imu: Lsm6dso<I2C>,
    led: LED,
    session: Session<'m, 'a>,
    quant: InputQuant,
    config: Config,
    /// Samples of the current segment streamed so far.
    steps: usize,
}

impl<'m, 'a, I2C: I2c, LED: OutputPin> Detector<'m, 'a, I2C, LED> {
    /// Checks that `model` takes i8 `[1, 100, 6]`, streams one `[6]` sample per step and gives one
    /// row of class scores, binds it to `arena` (at least `model.arena_bytes()` + 15 bytes), starts
    /// the IMU and turns the LED off.
    pub fn new(
        i2c: I2C,
        mut led: LED,
        model: &'m Model<'m>,
        arena: &'a mut [u8],
        config: Config,
    ) -> Result<Self, Error> {
        if model.input_count() != 1 || model.output_count() < 1 {
            return Err(Error::Model("expected one input and at least one output"));
        }
        let input = model.input(0)?;
        if input.dtype != DType::I8 {
            return Err(Error::Model(
                "input is not int8: convert with --precision int8",
            ));
        }
        if input.len() != WINDOW * CHANNELS || input.shape.last() != Some(&(CHANNELS as u32)) {
            return Err(Error::Model("input is not [1, 100, 6]"));
        }
        let frame = model.step_input(0)?;
        if frame.len() != CHANNELS
            || frame.dtype != DType::I8
            || frame.zero_point != input.zero_point
        {
            return Err(Error::Model(
                "the step input is not one int8 sample of 6 channels",
            ));
        }
        let quant = InputQuant::new(input.scale, input.zero_point)?;
        let session = Session::new(model, arena)?;
        let imu = Lsm6dso::init(i2c, config.imu_addr).map_err(|e| match e {
            ImuError::Bus(e) => Error::I2c(e.kind()),
            ImuError::WrongChip(id) => Error::WrongImu(id),
        })?;
        led.set_low().map_err(|_| Error::Led)?;
        Ok(Detector {
            imu,
            led,
            session,
            quant,
            config: Config {
                stride: config.stride.max(1),
                ..config
            },
            steps: 0,
        })
    }

    /// Reads one sample from the IMU; see [`Detector::push`]. Call it at 10 Hz.
    pub fn poll(&mut self) -> Result<Option<Detection>, Error> {
        let raw = self.imu.read().map_err(|e| Error::I2c(e.kind()))?;
        self.push(&raw)
    }

    /// Streams one sample through the model; every `stride`-th sample of a segment (and its last)
    /// sets the LED and returns the winning class so far. After `WINDOW` samples the segment is
    /// complete and the next sample starts a new one from a reset state.
    pub fn push(&mut self, raw: &RawSample) -> Result<Option<Detection>, Error> {
        self.session
            .set_step_input_i8(0, &self.quant.quantize(raw))?;
        self.session.invoke_step()?;
        self.steps += 1;
        let complete = self.steps == WINDOW;
        if !complete && !self.steps.is_multiple_of(self.config.stride) {
            return Ok(None);
        }
        let det = self.argmax(complete)?;
        if complete {
            self.session.reset()?;
            self.steps = 0;
        }

        let on = det.class == self.config.led_class;
        if on {
            self.led.set_high()
        } else {
            self.led.set_low()
        }
        .map_err(|_| Error::Led)?;
        Ok(Some(det))
    }

    /// Argmax over step output 0. With a positive scale the codes order like the logits, so only
    /// the winner is dequantized.
    fn argmax(&self, complete: bool) -> Result<Detection, Error> {
        let info = self.session.model().step_output(0)?;
        let dequant = |q: i32| info.scale * (q - info.zero_point) as f32;
        let best = match info.dtype {
            DType::I8 => best_by(self.session.step_output_i8(0)?, |&q| i32::from(q))
                .map(|(i, q)| (i, dequant(q))),
            DType::I16 => best_by(self.session.step_output_i16(0)?, |&q| i32::from(q))
                .map(|(i, q)| (i, dequant(q))),
            DType::F32 => best_by(self.session.step_output_f32(0)?, |&v| v),
            _ => return Err(Error::Model("output is not i8, i16 or f32")),
        };
        if info.dtype != DType::F32 && (info.scale.is_nan() || info.scale <= 0.0) {
            return Err(Error::Model("output scale is not positive"));
        }
        let (class, logit) = best.ok_or(Error::Model("output is empty"))?;
        Ok(Detection {
            class,
            logit,
            complete,
        })
    }

    pub fn release(self) -> (I2C, LED) {
        (self.imu.release(), self.led)
    }
}

/// Index and key of the first largest element.
fn best_by<T, K: PartialOrd + Copy>(xs: &[T], key: impl Fn(&T) -> K) -> Option<(usize, K)> {
    let mut best: Option<(usize, K)> = None;
    for (i, x) in xs.iter().enumerate() {
        let k = key(x);
        if best.is_none_or(|(_, b)| k > b) {
            best = Some((i, k));
        }
    }
    best
}

#[cfg(test)]
mod tests;
