//! AudioHook media: choosing one of the client's offers (stereo PCMU first), validating binary frames and
//! turning them into 16-bit samples per channel (G.711 μ-law decode, little-endian L16, de-interleave).
//! Channel roles: `external` is the customer, `internal` the agent.

use serde_json::Value;
use shared::audio::g711;

/// The only rate AudioHook Monitor defines.
pub const RATE: u32 = 8000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Pcmu,
    L16,
}

impl Codec {
    /// The format's name in the protocol.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::L16 => "L16",
        }
    }

    pub fn bytes_per_sample(self) -> usize {
        match self {
            Codec::Pcmu => 1,
            Codec::L16 => 2,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The far end: the customer.
    External,
    /// The agent or IVR side.
    Internal,
}

impl Channel {
    /// The channel's name in the protocol.
    pub fn label(self) -> &'static str {
        match self {
            Channel::External => "external",
            Channel::Internal => "internal",
        }
    }

    /// Our speaker role for this channel.
    pub fn role(self) -> &'static str {
        match self {
            Channel::External => "customer",
            Channel::Internal => "agent",
        }
    }
}

/// The media the server selected: the offer as sent (echoed verbatim in `opened`) and what it means.
#[derive(Debug, Clone, PartialEq)]
pub struct Media {
    pub offer: Value,
    pub codec: Codec,
    pub channels: Vec<Channel>,
}

impl Media {
    fn parse(offer: &Value) -> Option<Self> {
        if offer.get("type").and_then(Value::as_str) != Some("audio")
            || offer.get("rate").and_then(Value::as_u64) != Some(u64::from(RATE))
        {
            return None;
        }
        let codec = match offer.get("format").and_then(Value::as_str)? {
            "PCMU" => Codec::Pcmu,
            "L16" => Codec::L16,
            _ => return None,
        };
        let channels: Vec<Channel> = offer
            .get("channels")?
            .as_array()?
            .iter()
            .map(|c| match c.as_str() {
                Some("external") => Some(Channel::External),
                Some("internal") => Some(Channel::Internal),
                _ => None,
            })
            .collect::<Option<_>>()?;
        let distinct = channels.first() != channels.get(1);
        (matches!(channels.len(), 1 | 2) && distinct).then(|| Self { offer: offer.clone(), codec, channels })
    }

    /// The best offer we can take: stereo before mono, PCMU before L16 (smaller frames, what Genesys sends).
    pub fn choose(offers: &[Value]) -> Option<Self> {
        let rank = |m: &Media| (m.channels.len() == 2, m.codec == Codec::Pcmu);
        offers.iter().filter_map(Self::parse).fold(None, |best: Option<Media>, m| match best {
            Some(b) if rank(&b) >= rank(&m) => Some(b),
            _ => Some(m),
        })
    }

    /// Bytes one sample of every channel takes.
    pub fn frame_unit(&self) -> usize {
        self.codec.bytes_per_sample() * self.channels.len()
    }

    /// One binary frame as interleaved 16-bit samples (channels in `channels` order); `None` unless it
    /// holds whole samples.
    pub fn decode(&self, frame: &[u8]) -> Option<Frames> {
        if frame.is_empty() || frame.len() % self.frame_unit() != 0 {
            return None;
        }
        let samples = match self.codec {
            Codec::Pcmu => frame.iter().map(|b| g711::ulaw_to_linear(*b)).collect(),
            Codec::L16 => frame.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect(),
        };
        Some(Frames { channels: self.channels.len(), samples })
    }
}

/// Interleaved samples: one frame holds one sample of each channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frames {
    pub channels: usize,
    pub samples: Vec<i16>,
}

impl Frames {
    /// Frames (samples per channel).
    pub fn len(&self) -> usize {
        self.samples.len() / self.channels.max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn offer(format: &str, channels: &[&str]) -> Value {
        json!({"type": "audio", "format": format, "channels": channels, "rate": 8000})
    }

    #[test]
    fn prefers_stereo_pcmu_and_echoes_the_offer() {
        let offers = [
            offer("L16", &["external", "internal"]),
            offer("PCMU", &["external"]),
            offer("PCMU", &["internal", "external"]),
        ];
        let m = Media::choose(&offers).unwrap();
        assert_eq!(m.offer, offers[2]);
        assert_eq!(m.channels, [Channel::Internal, Channel::External], "the order offered is kept");
        assert_eq!(Media::choose(&offers[..2]).unwrap().codec, Codec::L16, "stereo before PCMU");
        let unusable = [
            json!({"type": "audio", "format": "PCMU", "channels": ["external"], "rate": 16000}),
            offer("opus", &["external"]),
            offer("PCMU", &["external", "external"]),
            offer("PCMU", &[]),
            json!("x"),
        ];
        assert_eq!(Media::choose(&unusable), None);
    }

    #[test]
    fn frames_are_validated_and_deinterleaved() {
        let stereo = Media::choose(&[offer("PCMU", &["external", "internal"])]).unwrap();
        assert_eq!(
            stereo.decode(&[0x80, 0x00, 0xff, 0x80]),
            Some(Frames { channels: 2, samples: vec![32124, -32124, 0, 32124] })
        );
        assert_eq!(stereo.decode(&[0x80, 0x00, 0xff]), None, "half a stereo sample");
        assert_eq!(stereo.decode(&[]), None);
        let l16 = Media::choose(&[offer("L16", &["internal"])]).unwrap();
        assert_eq!(
            l16.decode(&[0x01, 0x00, 0xff, 0xff]),
            Some(Frames { channels: 1, samples: vec![1, -1] }),
            "little-endian"
        );
        assert_eq!(l16.decode(&[0x01]), None);
        assert_eq!(l16.channels[0].role(), "agent");
    }
}
