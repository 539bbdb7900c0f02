//! The only board-specific file. It hands the application an I2C bus, an LED pin and a delay, all
//! as `embedded-hal` 1.0 traits. As committed it targets no particular board, so the image links
//! for any Cortex-M4F: the bus answers nothing (the log then says so) and the delay counts core
//! cycles. To run on hardware, replace `init` with your HAL's set-up (README.md, "Adapting to a
//! board", has STM32F4 and nRF52840 versions) and keep the `Board` fields' trait bounds.
use embedded_hal::delay::DelayNs;
use embedded_hal::digital::{self, OutputPin};
use embedded_hal::i2c::{self, ErrorKind, I2c, NoAcknowledgeSource, Operation};

/// Core clock after reset: STM32F4's HSI. nRF52840 runs at 64 MHz; set what your clock tree gives.
pub const CORE_HZ: u32 = 16_000_000;

pub struct Board<I2C: I2c, LED: OutputPin, D: DelayNs> {
    pub i2c: I2C,
    pub led: LED,
    pub delay: D,
}

pub fn init() -> Board<impl I2c, impl OutputPin, impl DelayNs> {
    Board {
        i2c: Unwired,
        led: Unwired,
        delay: CycleDelay { hz: CORE_HZ },
    }
}

/// Stands in for a real bus and pin: nobody acknowledges, writes to the pin go nowhere.
pub struct Unwired;

#[derive(Debug)]
pub struct NoBus;

impl i2c::Error for NoBus {
    fn kind(&self) -> ErrorKind {
        ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address)
    }
}

impl i2c::ErrorType for Unwired {
    type Error = NoBus;
}

impl I2c for Unwired {
    fn transaction(&mut self, _: u8, _: &mut [Operation<'_>]) -> Result<(), NoBus> {
        Err(NoBus)
    }
}

impl digital::ErrorType for Unwired {
    type Error = core::convert::Infallible;
}

impl OutputPin for Unwired {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Busy-waits on the core clock: portable to every Cortex-M, with no timer to claim. A HAL's timer
/// delay (or SysTick) frees the core for sleep instead.
pub struct CycleDelay {
    pub hz: u32,
}

impl DelayNs for CycleDelay {
    fn delay_ns(&mut self, ns: u32) {
        let cycles = u64::from(ns) * u64::from(self.hz) / 1_000_000_000;
        cortex_m::asm::delay(u32::try_from(cycles).unwrap_or(u32::MAX));
    }
}
