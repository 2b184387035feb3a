//! G.711, the telephone network's 8-bit companded audio: μ-law (North America, Japan; what AudioHook streams
//! as PCMU) and A-law (everywhere else). One home for both because two paths need them: the AudioHook
//! listener's media frames and WAV recordings or live chunks stored in either law (`wav`).
//!
//! Decoding is a table lookup: the tables are built at compile time from the G.711 formulas, since decoding
//! is the listener's hottest loop.

/// G.711 μ-law to 16-bit linear PCM.
#[inline]
pub fn ulaw_to_linear(byte: u8) -> i16 {
    ULAW_TO_LINEAR[usize::from(byte)]
}

/// G.711 A-law to 16-bit linear PCM.
#[inline]
pub fn alaw_to_linear(byte: u8) -> i16 {
    ALAW_TO_LINEAR[usize::from(byte)]
}

/// 16-bit linear PCM to G.711 μ-law (for the AudioHook simulator, which streams as Genesys does).
pub fn linear_to_ulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32_635;
    let s = i32::from(sample);
    let sign = if s < 0 { 0x80 } else { 0 };
    let magnitude = s.abs().min(CLIP) + BIAS;
    let exponent = (7 - (magnitude as u32).leading_zeros().saturating_sub(17)).min(7) as i32;
    let mantissa = (magnitude >> (exponent + 3)) & 0x0f;
    !((sign | (exponent << 4) | mantissa) as u8)
}

/// Every code of one law decoded by `formula` (a macro: const fns cannot call through a function pointer).
macro_rules! table {
    ($formula:ident) => {{
        let mut table = [0i16; 256];
        let mut i = 0;
        while i < 256 {
            table[i] = $formula(i as u8);
            i += 1;
        }
        table
    }};
}

static ULAW_TO_LINEAR: [i16; 256] = table!(ulaw_formula);
static ALAW_TO_LINEAR: [i16; 256] = table!(alaw_formula);

/// ITU-T G.711 μ-law expansion: bits inverted, then sign, 3-bit exponent, 4-bit mantissa over a bias of 0x84.
const fn ulaw_formula(byte: u8) -> i16 {
    let u = !byte;
    let exponent = (u >> 4) & 0x07;
    let mantissa = (u & 0x0f) as i16;
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    if u & 0x80 != 0 { -magnitude } else { magnitude }
}

/// ITU-T G.711 A-law expansion: even bits inverted (0x55), then sign (set means positive), 3-bit segment,
/// 4-bit mantissa; segment 0 is linear.
const fn alaw_formula(byte: u8) -> i16 {
    let a = byte ^ 0x55;
    let segment = (a >> 4) & 0x07;
    let mantissa = ((a & 0x0f) as i16) << 4;
    let magnitude = if segment == 0 { mantissa + 8 } else { (mantissa + 0x108) << (segment - 1) };
    if a & 0x80 != 0 { magnitude } else { -magnitude }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_round_trips_every_code() {
        for byte in 0..=255u8 {
            let linear = ulaw_to_linear(byte);
            // 0x7f and 0xff both mean zero; every other code maps back to itself.
            let expected = if byte == 0x7f { 0xff } else { byte };
            assert_eq!(linear_to_ulaw(linear), expected, "code {byte:#x} ({linear})");
        }
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
    }

    #[test]
    fn mulaw_decodes_per_g711() {
        assert_eq!(ulaw_to_linear(0xff), 0);
        assert_eq!(ulaw_to_linear(0x7f), 0);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(ulaw_to_linear(0xf0), 120);
        assert_eq!(ulaw_to_linear(0x70), -120);
    }

    /// Values from the ITU-T G.711 reference tables (and sox's, which agree).
    #[test]
    fn alaw_decodes_per_g711() {
        assert_eq!(alaw_to_linear(0xd5), 8, "the smallest positive step");
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xaa), 32256, "the largest");
        assert_eq!(alaw_to_linear(0x2a), -32256);
        assert_eq!(alaw_to_linear(0xc5), 264, "segment 1 starts at 256 + 8");
        // Monotonic within each sign: codes 0x80..=0xff (after un-inverting) rise with the magnitude.
        let positives: Vec<i16> = (0..128u8).map(|c| alaw_to_linear((c | 0x80) ^ 0x55)).collect();
        assert!(positives.windows(2).all(|w| w[0] < w[1]), "{positives:?}");
    }
}
