//! How prepared audio is held: 16-bit integers, half the memory of `f32` and exactly what the pieces sent to
//! the STT provider carry, so nothing is lost that would not be lost anyway. Processing (resampling, noise
//! suppression) runs on `f32` a block at a time; these are the two conversions between them.

/// Full scale: `-1.0..1.0` maps onto the whole `i16` range.
const FULL_SCALE: f32 = 32_768.0;

/// A `-1..1` sample as 16-bit, rounded; anything louder is clipped.
pub fn to_i16(v: f32) -> i16 {
    (v * FULL_SCALE).round().clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16
}

/// A 16-bit sample as `-1..1`.
pub fn to_f32(s: i16) -> f32 {
    f32::from(s) / FULL_SCALE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_clips() {
        for s in [i16::MIN, -1, 0, 1, 12_345, i16::MAX] {
            assert_eq!(to_i16(to_f32(s)), s);
        }
        assert_eq!((to_i16(1.0), to_i16(2.0), to_i16(-1.5), to_i16(f32::NAN)), (i16::MAX, i16::MAX, i16::MIN, 0));
    }
}
