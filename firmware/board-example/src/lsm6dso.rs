//! The IMU, at register level: ST LSM6DSO (also LSM6DSOX / LSM6DSO32 / ISM330DHCX, same map for
//! what is used here). Everything chip-specific lives in this module; another IMU (e.g. MPU-6050:
//! address 0x68, wake with PWR_MGMT_1 = 0, 14 big-endian bytes from ACCEL_XOUT_H 0x3B with the
//! temperature between accel and gyro) means replacing `init`, `read` and the two sensitivities.
use embedded_hal::i2c::I2c;

/// 7-bit address with SDO/SA0 tied low; 0x6B with it high (several breakout boards pull it high).
pub const ADDR_SA0_LOW: u8 = 0x6A;
pub const ADDR_SA0_HIGH: u8 = 0x6B;

pub const WHO_AM_I: u8 = 0x0F;
pub const WHO_AM_I_VALUE: u8 = 0x6C;
/// ODR_XL[7:4], FS_XL[3:2].
pub const CTRL1_XL: u8 = 0x10;
/// ODR_G[7:4], FS_G[3:2].
pub const CTRL2_G: u8 = 0x11;
/// BDU (bit 6), IF_INC (bit 2).
pub const CTRL3_C: u8 = 0x12;
/// First of 12 output bytes: gyro X/Y/Z then accel X/Y/Z, each i16 little-endian.
pub const OUTX_L_G: u8 = 0x22;

const ODR_12HZ5: u8 = 0b0001 << 4;
const FS_XL_8G: u8 = 0b11 << 2;
const FS_G_2000DPS: u8 = 0b11 << 2;
const BDU: u8 = 1 << 6;
const IF_INC: u8 = 1 << 2;
/// 12.5 Hz (the slowest rate above the model's 10 Hz), ±8 g: running wrist swings pass ±4 g.
pub const CTRL1_XL_VALUE: u8 = ODR_12HZ5 | FS_XL_8G;
/// 12.5 Hz, ±2000 dps: badminton swings pass ±1000 dps.
pub const CTRL2_G_VALUE: u8 = ODR_12HZ5 | FS_G_2000DPS;
/// Block data update, so the low and high bytes of an axis come from the same sample; keep the
/// auto-increment (the reset default) that the 12-byte burst read relies on.
pub const CTRL3_C_VALUE: u8 = BDU | IF_INC;

/// m/s² per LSB at ±8 g (datasheet: 0.244 mg/LSB).
pub const ACCEL_MS2_PER_LSB: f32 = 0.244e-3 * 9.806_65;
/// rad/s per LSB at ±2000 dps (datasheet: 70 mdps/LSB).
pub const GYRO_RADS_PER_LSB: f32 = 70e-3 * core::f32::consts::PI / 180.0;

/// One sample in sensor LSBs, in the model's channel order: accel x/y/z, gyro x/y/z.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawSample(pub [i16; 6]);

impl RawSample {
    /// Physical units per LSB of each channel, in the same order.
    pub const UNITS: [f32; 6] = [
        ACCEL_MS2_PER_LSB,
        ACCEL_MS2_PER_LSB,
        ACCEL_MS2_PER_LSB,
        GYRO_RADS_PER_LSB,
        GYRO_RADS_PER_LSB,
        GYRO_RADS_PER_LSB,
    ];
}

#[derive(Debug)]
pub enum ImuError<E> {
    Bus(E),
    /// Something else answered at the address; holds its WHO_AM_I.
    WrongChip(u8),
}

pub struct Lsm6dso<I2C> {
    i2c: I2C,
    addr: u8,
}

impl<I2C: I2c> Lsm6dso<I2C> {
    /// Checks the chip identity and starts both sensors.
    pub fn init(mut i2c: I2C, addr: u8) -> Result<Self, ImuError<I2C::Error>> {
        let mut id = [0u8];
        i2c.write_read(addr, &[WHO_AM_I], &mut id)
            .map_err(ImuError::Bus)?;
        if id[0] != WHO_AM_I_VALUE {
            return Err(ImuError::WrongChip(id[0]));
        }
        for reg in [
            [CTRL3_C, CTRL3_C_VALUE],
            [CTRL1_XL, CTRL1_XL_VALUE],
            [CTRL2_G, CTRL2_G_VALUE],
        ] {
            i2c.write(addr, &reg).map_err(ImuError::Bus)?;
        }
        Ok(Lsm6dso { i2c, addr })
    }

    /// The latest sample (one 12-byte burst, so all six axes belong together).
    pub fn read(&mut self) -> Result<RawSample, I2C::Error> {
        let mut b = [0u8; 12];
        self.i2c.write_read(self.addr, &[OUTX_L_G], &mut b)?;
        let v = |i: usize| i16::from_le_bytes([b[2 * i], b[2 * i + 1]]);
        // The chip sends gyro first; the model wants accel first.
        Ok(RawSample([v(3), v(4), v(5), v(0), v(1), v(2)]))
    }

    pub fn release(self) -> I2C {
        self.i2c
    }
}
