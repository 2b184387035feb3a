//! Test support: WAV files laid out as telephony systems and recorders write them, built byte by byte (no
//! writer library, which would only write its own tidy layout), with a known tone on each channel of a call.
//! Included by path from the crates that use it.
#![allow(dead_code)] // each test binary uses a different part

use shared::audio::g711;

pub const RATE: u32 = 8000;
/// The call's channels: 440 Hz for the customer (left), 1 kHz for the agent (right).
pub const TONES: [f64; 2] = [440.0, 1000.0];

pub const PCM: u16 = 0x0001;
pub const FLOAT: u16 = 0x0003;
pub const ALAW: u16 = 0x0006;
pub const MULAW: u16 = 0x0007;
pub const EXTENSIBLE: u16 = 0xfffe;

/// `seconds` of the two tones at 8 kHz, one `Vec` a channel.
pub fn tones(seconds: f64) -> Vec<Vec<i16>> {
    let frames = (seconds * f64::from(RATE)) as usize;
    let sample =
        |hz: f64, i: usize| (8000.0 * (2.0 * std::f64::consts::PI * hz * i as f64 / f64::from(RATE)).sin()) as i16;
    TONES.iter().map(|hz| (0..frames).map(|i| sample(*hz, i)).collect()).collect()
}

/// One byte a sample: `channels` interleaved through `encode`.
pub fn interleave_8bit(channels: &[Vec<i16>], encode: fn(i16) -> u8) -> Vec<u8> {
    (0..channels[0].len()).flat_map(|i| channels.iter().map(move |c| encode(c[i]))).collect()
}

/// Little-endian 16-bit samples, interleaved.
pub fn interleave_16bit(channels: &[Vec<i16>]) -> Vec<u8> {
    (0..channels[0].len()).flat_map(|i| channels.iter().flat_map(move |c| c[i].to_le_bytes())).collect()
}

/// What each channel holds once `encode`d and decoded with `decode` (G.711 is lossy).
pub fn through(channels: &[Vec<i16>], encode: fn(i16) -> u8, decode: fn(u8) -> i16) -> Vec<Vec<i16>> {
    channels.iter().map(|c| c.iter().map(|s| decode(encode(*s))).collect()).collect()
}

/// 16-bit linear PCM to G.711 A-law (ITU-T G.711; the product only ever decodes it).
pub fn linear_to_alaw(sample: i16) -> u8 {
    let (mask, magnitude) = if sample >= 0 { (0xd5, sample >> 3) } else { (0x55, -(sample >> 3) - 1) };
    let segment = (0..8i16).find(|s| magnitude <= (0x1f << s) | ((1 << s) - 1)).unwrap_or(8);
    if segment >= 8 {
        return 0x7f ^ mask;
    }
    let shift = if segment < 2 { 1 } else { segment };
    (((segment << 4) as u8) | ((magnitude >> shift) & 0x0f) as u8) ^ mask
}

pub fn mulaw(sample: i16) -> u8 {
    g711::linear_to_ulaw(sample)
}

/// A `fmt ` chunk body: the 16-byte WAVEFORMAT, then `extra` (a `cbSize` and what it counts, if any).
pub fn fmt(tag: u16, channels: u16, bits: u16, extra: &[u8]) -> Vec<u8> {
    let block_align = channels * bits.max(8) / 8;
    let mut b = Vec::new();
    b.extend(tag.to_le_bytes());
    b.extend(channels.to_le_bytes());
    b.extend(RATE.to_le_bytes());
    b.extend((RATE * u32::from(block_align)).to_le_bytes());
    b.extend(block_align.to_le_bytes());
    b.extend(bits.to_le_bytes());
    b.extend(extra);
    b
}

/// A 40-byte `WAVE_FORMAT_EXTENSIBLE` body whose sub-format is the plain format `sub_tag`.
pub fn extensible(sub_tag: u16, channels: u16, bits: u16, channel_mask: u32) -> Vec<u8> {
    let mut extra = Vec::new();
    extra.extend(22u16.to_le_bytes());
    extra.extend(bits.to_le_bytes()); // valid bits
    extra.extend(channel_mask.to_le_bytes());
    extra.extend(sub_tag.to_le_bytes());
    extra.extend([0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71]);
    fmt(EXTENSIBLE, channels, bits, &extra)
}

/// One chunk as a writer laid it out.
pub struct Chunk {
    pub id: [u8; 4],
    pub body: Vec<u8>,
    /// The size written, when not the body's length (streaming sizes, a header claiming more).
    pub size: Option<u32>,
    /// Whether an odd-sized body is followed by its pad byte (some writers forget it).
    pub pad: bool,
}

impl Chunk {
    pub fn new(id: &[u8; 4], body: Vec<u8>) -> Self {
        Self { id: *id, body, size: None, pad: true }
    }

    pub fn claiming(mut self, size: u32) -> Self {
        self.size = Some(size);
        self
    }

    pub fn without_pad(mut self) -> Self {
        self.pad = false;
        self
    }
}

/// `RIFF <size> WAVE` and the chunks; `riff_size` `None` writes the true size.
pub fn riff(riff_size: Option<u32>, chunks: Vec<Chunk>) -> Vec<u8> {
    let mut body = b"WAVE".to_vec();
    for c in chunks {
        body.extend(c.id);
        body.extend(c.size.unwrap_or(c.body.len() as u32).to_le_bytes());
        let odd = c.body.len() % 2 == 1;
        body.extend(c.body);
        if odd && c.pad {
            body.push(0);
        }
    }
    let mut out = b"RIFF".to_vec();
    out.extend(riff_size.unwrap_or(body.len() as u32).to_le_bytes());
    out.extend(body);
    out
}

/// The Genesys AudioHook reference recording's layout: stereo μ-law at 8 kHz, a 16-byte `fmt ` without
/// `cbSize`, then `data`; here `seconds` of the two tones.
pub fn genesys_mulaw(seconds: f64) -> Vec<u8> {
    let data = interleave_8bit(&tones(seconds), mulaw);
    riff(None, vec![Chunk::new(b"fmt ", fmt(MULAW, 2, 8, &[])), Chunk::new(b"data", data)])
}
