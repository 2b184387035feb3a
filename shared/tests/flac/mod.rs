//! Test support: FLAC files of constant audio, written bit by bit (no encoder library). A CONSTANT subframe
//! stores a whole block as one sample value, so an hour of silence at a high rate weighs a few bytes per
//! 65535-sample block: the "decodes to far more than it weighs" upload a decoder must survive.
//! Included by path from the crates that use it.
#![allow(dead_code)] // each test binary uses a different part

/// The largest block FLAC allows, so the file is as small as it can be.
const BLOCK: u32 = 65_535;

/// Silence (every sample 0) at `rate` Hz on `channels` (1 to 8) channels, 16-bit. `declared` puts the length
/// in the STREAMINFO header; without it the header says "unknown" and only decoding finds the length.
pub fn silence(rate: u32, channels: u8, seconds: f64, declared: bool) -> Vec<u8> {
    let total = (seconds * f64::from(rate)).round() as u64;
    let mut out = b"fLaC".to_vec();
    let mut info = Bits::default();
    info.put(u64::from(BLOCK), 16); // min block size (the last block may be shorter, as FLAC allows)
    info.put(u64::from(BLOCK), 16); // max block size
    info.put(0, 24); // min frame size: unknown
    info.put(0, 24); // max frame size: unknown
    info.put(u64::from(rate), 20);
    info.put(u64::from(channels - 1), 3);
    info.put(15, 5); // bits per sample - 1
    info.put(if declared { total } else { 0 }, 36);
    info.put(0, 64); // MD5 of the audio: unknown (128 bits)
    info.put(0, 64);
    let info = info.bytes;
    out.push(0x80); // last metadata block, type STREAMINFO
    out.extend_from_slice(&(info.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(&info);
    let (mut frame, mut left) = (0u64, total);
    while left > 0 {
        let block = left.min(u64::from(BLOCK));
        out.extend(constant_frame(frame, block as u32, channels));
        left -= block;
        frame += 1;
    }
    out
}

/// One frame of `block` zero samples a channel, each channel a CONSTANT subframe.
fn constant_frame(number: u64, block: u32, channels: u8) -> Vec<u8> {
    let mut header = Bits::default();
    header.put(0b11_1111_1111_1110, 14); // sync code
    header.put(0, 1); // reserved
    header.put(0, 1); // fixed block size
    header.put(0b0111, 4); // block size: 16 bits (minus one) after the frame number
    header.put(0b0000, 4); // sample rate: from STREAMINFO
    header.put(u64::from(channels - 1), 4); // independent channels
    header.put(0b100, 3); // 16 bits per sample
    header.put(0, 1); // reserved
    let mut bytes = header.bytes;
    bytes.extend(utf8_number(number));
    bytes.extend_from_slice(&((block - 1) as u16).to_be_bytes());
    bytes.push(crc8(&bytes));
    for _ in 0..channels {
        bytes.push(0); // padding bit, type CONSTANT (000000), no wasted bits
        bytes.extend_from_slice(&0i16.to_be_bytes()); // the value, 16 bits
    }
    let crc = crc16(&bytes);
    bytes.extend_from_slice(&crc.to_be_bytes());
    bytes
}

/// FLAC's frame number: UTF-8's variable-length coding extended to 36 bits.
fn utf8_number(n: u64) -> Vec<u8> {
    if n < 0x80 {
        return vec![n as u8];
    }
    // k continuation bytes carry 6 bits each and the lead byte 6 - k: 5k + 6 bits in all.
    let continuation = (1..=6).find(|k| n < 1u64 << (5 * k + 6)).expect("a frame number fits in 36 bits");
    let lead_marker = !(0xffu8 >> (continuation + 1));
    let mut out = vec![lead_marker | (n >> (6 * continuation)) as u8];
    out.extend((0..continuation).rev().map(|i| 0x80 | ((n >> (6 * i)) & 0x3f) as u8));
    out
}

fn crc8(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |mut crc, b| {
        crc ^= b;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 { (crc << 1) ^ 0x07 } else { crc << 1 };
        }
        crc
    })
}

fn crc16(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0u16, |mut crc, b| {
        crc ^= u16::from(*b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x8005 } else { crc << 1 };
        }
        crc
    })
}

/// A big-endian bit writer.
#[derive(Default)]
struct Bits {
    bytes: Vec<u8>,
    used: u32,
}

impl Bits {
    fn put(&mut self, value: u64, bits: u32) {
        for i in (0..bits).rev() {
            if self.used % 8 == 0 {
                self.bytes.push(0);
            }
            let bit = ((value >> i) & 1) as u8;
            *self.bytes.last_mut().expect("a byte was pushed") |= bit << (7 - self.used % 8);
            self.used += 1;
        }
    }
}
