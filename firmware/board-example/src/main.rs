//! Samples the IMU at 10 Hz, classifies the last 10 s every second and logs the class over
//! defmt/RTT; the LED shows one class. Everything board-specific is in `board.rs`.
#![no_std]
#![no_main]

mod board;

use board_example::model::{ARENA_BYTES, MODEL};
use board_example::{Aligned, Config, Detector, CLASSES};
use cortex_m_rt::entry;
use defmt_rtt as _;
use embedded_hal::delay::DelayNs;
use panic_probe as _;
use rill_runtime::Model;

/// 10 Hz, the model's sample rate. The inference time adds to one period in ten (see README).
const SAMPLE_PERIOD_MS: u32 = 100;

#[entry]
fn main() -> ! {
    let board::Board {
        i2c,
        led,
        mut delay,
    } = board::init();

    // In .bss, not on the stack; `singleton!` hands it out once, so the `&'static mut` is unique.
    let Some(arena) =
        cortex_m::singleton!(: Aligned<[u8; ARENA_BYTES]> = Aligned([0; ARENA_BYTES]))
    else {
        halt()
    };
    let model = match Model::from_bytes(&MODEL.0) {
        Ok(m) => m,
        Err(e) => {
            defmt::error!("model: {}", e);
            halt()
        }
    };
    defmt::info!(
        "motion_lstm: {=usize} bytes, arena {=usize} of {=usize} bytes",
        MODEL.0.len(),
        model.arena_bytes(),
        ARENA_BYTES
    );

    let config = Config::default();
    let mut detector = match Detector::new(i2c, led, &model, &mut arena.0, config) {
        Ok(d) => d,
        Err(e) => {
            defmt::error!("start-up: {} (is src/board.rs set up for your board?)", e);
            halt()
        }
    };
    defmt::info!(
        "streaming at 10 Hz; a class every {=usize} samples, a complete one every 100; LED = {=str}",
        config.stride,
        CLASSES.get(config.led_class).copied().unwrap_or("?")
    );

    loop {
        match detector.poll() {
            Ok(Some(d)) => defmt::info!(
                "class={=str} ({=usize}) logit={=f32} complete={=bool}",
                d.name(),
                d.class,
                d.logit,
                d.complete
            ),
            Ok(None) => {}
            // A bus glitch costs one sample; keep going.
            Err(e) => defmt::warn!("{}", e),
        }
        delay.delay_ms(SAMPLE_PERIOD_MS);
    }
}

fn halt() -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}
