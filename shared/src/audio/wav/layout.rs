//! The layout of a RIFF/WAVE file as telephony systems and recorders really write it: where the format and
//! the audio are, read leniently and checked against the bytes present. One parser serves both ways audio
//! arrives: uploads (`audio::decode` hands symphonia the audio behind [`Layout::canonical_header`]) and live
//! chunks (`wav::decode` turns the audio into 16-bit PCM itself).
//!
//! Why not leave it to the decoders: symphonia refuses a G.711 `fmt ` chunk of 16 bytes (no `cbSize`, as
//! Genesys and many PBXs write it) and a RIFF size of 0, and looks for extensible μ-law under the wrong
//! sub-format GUID (tag 4 instead of 7); hound knows no G.711 at all; both trust a data size over the bytes
//! present. Tolerated here:
//! - `fmt ` of 16, 18 or more bytes, with or without `cbSize`; `WAVE_FORMAT_EXTENSIBLE` whose sub-format is
//!   PCM, IEEE float, μ-law or A-law (read as the plain format);
//! - chunks in any order and of any kind (LIST, fact, JUNK, bext…) before or after `fmt `, odd sizes with
//!   their pad byte, or without it when the writer forgot it;
//! - the streaming sizes 0 and 0xFFFFFFFF (RIFF or data) meaning "to the end of the file";
//! - a data size larger than the file: only the bytes present are ever addressed.

use thiserror::Error;

/// Data sizes a recorder writes when it does not know the length yet (and never comes back to fix).
const STREAMING_SIZES: [u32; 2] = [0, u32::MAX];
const WAVE_FORMAT_PCM: u16 = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT: u16 = 0x0003;
const WAVE_FORMAT_ALAW: u16 = 0x0006;
const WAVE_FORMAT_MULAW: u16 = 0x0007;
const WAVE_FORMAT_EXTENSIBLE: u16 = 0xfffe;
/// The sub-format GUID of `WAVE_FORMAT_EXTENSIBLE` after its first two bytes, which hold the plain format's
/// tag (`XXXX0000-0000-0010-8000-00AA00389B71`, ksmedia.h). Other GUIDs (ambisonics…) are passed on as written.
const KSDATAFORMAT_TAIL: [u8; 14] = [0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71];

/// What the samples are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Integer PCM: 8-bit unsigned, or 16, 24 or 32-bit signed little-endian.
    Pcm,
    /// IEEE float, 32 or 64-bit.
    Float,
    /// G.711 μ-law, 8 bits a sample.
    MuLaw,
    /// G.711 A-law, 8 bits a sample.
    ALaw,
    /// Another codec (ADPCM, GSM…) with its format tag: its `fmt ` chunk is passed on as written.
    Other(u16),
}

/// The format of a WAV's samples, normalised (extensible read as plain, G.711 always 8 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    pub encoding: Encoding,
    pub channels: u16,
    pub sample_rate: u32,
    /// Bits one sample takes in the data.
    pub bits: u16,
    /// Bytes one frame (a sample of every channel) takes; never 0.
    pub block_align: u16,
}

impl Encoding {
    /// The `fmt ` chunk's format tag for this encoding (plain, never extensible).
    fn tag(self) -> u16 {
        match self {
            Encoding::Pcm => WAVE_FORMAT_PCM,
            Encoding::Float => WAVE_FORMAT_IEEE_FLOAT,
            Encoding::MuLaw => WAVE_FORMAT_MULAW,
            Encoding::ALaw => WAVE_FORMAT_ALAW,
            Encoding::Other(tag) => tag,
        }
    }
}

impl Format {
    /// The canonical `fmt ` chunk body: 16 bytes, plus a zero `cbSize` for G.711 (which symphonia requires).
    /// For [`Encoding::Other`] the writer's own chunk, which may carry codec data, is the one to use.
    pub fn chunk_body(&self) -> Vec<u8> {
        let byte_rate = self.sample_rate.saturating_mul(u32::from(self.block_align));
        let mut body = Vec::with_capacity(18);
        body.extend_from_slice(&self.encoding.tag().to_le_bytes());
        body.extend_from_slice(&self.channels.to_le_bytes());
        body.extend_from_slice(&self.sample_rate.to_le_bytes());
        body.extend_from_slice(&byte_rate.to_le_bytes());
        body.extend_from_slice(&self.block_align.to_le_bytes());
        body.extend_from_slice(&self.bits.to_le_bytes());
        if matches!(self.encoding, Encoding::MuLaw | Encoding::ALaw) {
            body.extend_from_slice(&0u16.to_le_bytes());
        }
        body
    }
}

/// Where a WAV's format and audio are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout<'a> {
    pub format: Format,
    /// The `fmt ` chunk body as written.
    fmt: &'a [u8],
    /// The audio bytes present: the data chunk, cut at the end of the file (a partial last frame included).
    pub data: &'a [u8],
    /// The data size the header announces; `None` for a streaming size (0 or 0xFFFFFFFF: to the end).
    pub declared_data: Option<u32>,
}

impl Layout<'_> {
    /// Whole frames in the bytes present; `None` for [`Encoding::Other`], whose blocks hold a number of
    /// frames only its codec knows.
    pub fn frames_present(&self) -> Option<u64> {
        self.frames(self.data.len() as u64)
    }

    /// The frames the header announces: `None` for a streaming size, or for [`Encoding::Other`].
    pub fn frames_declared(&self) -> Option<u64> {
        self.frames(u64::from(self.declared_data?))
    }

    fn frames(&self, bytes: u64) -> Option<u64> {
        let per_frame = u64::from(self.format.block_align);
        (!matches!(self.format.encoding, Encoding::Other(_))).then_some(bytes / per_frame)
    }

    /// A header in the plainest form every reader accepts (RIFF, `fmt `, `data`, nothing else) for the
    /// audio present: the `fmt ` chunk normalised, the data size what the file holds. What the header
    /// claimed beyond that is for the caller to judge ([`Layout::frames_declared`]), except for
    /// [`Encoding::Other`]: only its decoder can count its frames, so it gets the claim to judge itself.
    pub fn canonical_header(&self) -> Vec<u8> {
        let present = u32::try_from(self.data.len()).unwrap_or(u32::MAX);
        match self.format.encoding {
            Encoding::Other(_) => header(self.fmt, self.declared_data.unwrap_or(present)),
            _ => header(&self.format.chunk_body(), present),
        }
    }
}

/// `RIFF…WAVE`, a `fmt ` chunk with `fmt_body`, and a `data` chunk header announcing `data_size` bytes.
pub fn header(fmt_body: &[u8], data_size: u32) -> Vec<u8> {
    let fmt_size = u32::try_from(fmt_body.len()).unwrap_or(u32::MAX);
    let pad = fmt_size % 2;
    // A RIFF size past 4 GiB is written as the streaming size, which every reader takes as "to the end".
    let riff_size = 4 + 8 + u64::from(fmt_size) + u64::from(pad) + 8 + u64::from(data_size);
    let riff_size = u32::try_from(riff_size).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(28 + fmt_body.len());
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&riff_size.to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&fmt_size.to_le_bytes());
    out.extend_from_slice(fmt_body);
    out.resize(out.len() + pad as usize, 0);
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_size.to_le_bytes());
    out
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LayoutError {
    #[error("not a RIFF/WAVE file")]
    NotWave,
    #[error("the WAV file ends before its format and audio chunks")]
    Cut,
    #[error("the WAV file has no fmt chunk describing its audio")]
    NoFormat,
    #[error("the WAV file has no data chunk holding its audio")]
    NoData,
    #[error("the WAV fmt chunk {0}")]
    BadFormat(&'static str),
    /// Names the format only ("12-bit PCM"): the caller's sentence says it is not supported.
    #[error("{bits}-bit {encoding}")]
    UnsupportedSampleSize { encoding: &'static str, bits: u16 },
}

/// Finds the format and the audio of the WAV in `bytes`.
pub fn parse(bytes: &[u8]) -> Result<Layout<'_>, LayoutError> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(LayoutError::NotWave);
    }
    let (mut fmt, mut data) = (None, None);
    let mut at = 12;
    while let Some(chunk) = Chunk::at(bytes, at) {
        match &chunk.id {
            b"fmt " if fmt.is_none() => fmt = Some(chunk.whole_body(bytes).ok_or(LayoutError::Cut)?),
            b"data" if data.is_none() => data = Some(chunk),
            _ => {}
        }
        if (fmt.is_some() && data.is_some()) || chunk.end >= bytes.len() {
            break;
        }
        at = chunk.next(bytes);
    }
    // Without one of the two: a file cut short when the RIFF size says there is more (or does not say).
    let riff_size = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    let cut = STREAMING_SIZES.contains(&riff_size) || u64::from(riff_size) + 8 > bytes.len() as u64;
    let missing = |err| if cut { LayoutError::Cut } else { err };
    let fmt = fmt.ok_or_else(|| missing(LayoutError::NoFormat))?;
    let data = data.ok_or_else(|| missing(LayoutError::NoData))?;
    Ok(Layout {
        format: parse_format(fmt)?,
        fmt,
        data: &bytes[data.body..data.end],
        declared_data: Some(data.size).filter(|s| !STREAMING_SIZES.contains(s)),
    })
}

/// A chunk header at some offset: its id, and where its body starts and ends within the bytes present.
#[derive(Clone, Copy)]
struct Chunk {
    id: [u8; 4],
    size: u32,
    body: usize,
    /// The end of the body, cut at the end of the file; a data chunk of streaming size runs to it.
    end: usize,
}

impl Chunk {
    fn at(bytes: &[u8], at: usize) -> Option<Self> {
        let header = bytes.get(at..at.checked_add(8)?)?;
        let id = [header[0], header[1], header[2], header[3]];
        let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let body = at + 8;
        let end = if &id == b"data" && STREAMING_SIZES.contains(&size) {
            bytes.len()
        } else {
            body.saturating_add(size as usize).min(bytes.len())
        };
        Some(Self { id, size, body, end })
    }

    /// The body, if the file holds all of it.
    fn whole_body<'a>(&self, bytes: &'a [u8]) -> Option<&'a [u8]> {
        bytes.get(self.body..self.body.checked_add(self.size as usize)?)
    }

    /// Where the next chunk starts: after the pad byte that follows an odd-sized body, unless the writer
    /// left it out (a chunk id right at the end of the body, none a byte later).
    fn next(&self, bytes: &[u8]) -> usize {
        let end = self.body.saturating_add(self.size as usize);
        let odd = self.size % 2 == 1;
        if odd && !looks_like_id(bytes, end + 1) && looks_like_id(bytes, end) { end } else { end + usize::from(odd) }
    }
}

/// Whether four printable ASCII characters, as every chunk id is, start at `at`.
fn looks_like_id(bytes: &[u8], at: usize) -> bool {
    bytes.get(at..at.saturating_add(4)).is_some_and(|id| id.len() == 4 && id.iter().all(|b| (b' '..=b'~').contains(b)))
}

/// Reads a `fmt ` chunk body (WAVEFORMAT, WAVEFORMATEX or WAVEFORMATEXTENSIBLE).
fn parse_format(body: &[u8]) -> Result<Format, LayoutError> {
    let u16_at = |at: usize| body.get(at..at + 2).map_or(0, |b| u16::from_le_bytes([b[0], b[1]]));
    if body.len() < 16 {
        return Err(LayoutError::BadFormat("is shorter than 16 bytes"));
    }
    let (tag, channels, bits) = (u16_at(0), u16_at(2), u16_at(14));
    let sample_rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
    let tag = if tag == WAVE_FORMAT_EXTENSIBLE { extensible_sub_format(body)? } else { tag };
    let encoding = match tag {
        WAVE_FORMAT_PCM => Encoding::Pcm,
        WAVE_FORMAT_IEEE_FLOAT => Encoding::Float,
        WAVE_FORMAT_MULAW => Encoding::MuLaw,
        WAVE_FORMAT_ALAW => Encoding::ALaw,
        other => Encoding::Other(other),
    };
    if channels == 0 {
        return Err(LayoutError::BadFormat("declares no channels"));
    }
    let unsupported = |encoding| Err(LayoutError::UnsupportedSampleSize { encoding, bits });
    let bits = match encoding {
        Encoding::MuLaw | Encoding::ALaw => 8,
        Encoding::Pcm if matches!(bits, 8 | 16 | 24 | 32) => bits,
        Encoding::Pcm => return unsupported("PCM"),
        Encoding::Float if matches!(bits, 32 | 64) => bits,
        Encoding::Float => return unsupported("floating-point"),
        Encoding::Other(_) => bits,
    };
    // Known encodings: the frame size follows from the format (writers get the field wrong); others say it.
    let block_align = match encoding {
        Encoding::Other(_) => u16_at(12),
        _ => channels.checked_mul(bits / 8).ok_or(LayoutError::BadFormat("declares too many channels"))?,
    };
    if block_align == 0 {
        return Err(LayoutError::BadFormat("declares frames of 0 bytes"));
    }
    Ok(Format { encoding, channels, sample_rate, bits, block_align })
}

/// The plain format tag a `WAVE_FORMAT_EXTENSIBLE` chunk's sub-format stands for, or the extensible tag
/// itself when the sub-format is not one of the standard ones.
fn extensible_sub_format(body: &[u8]) -> Result<u16, LayoutError> {
    let guid = body.get(24..40).ok_or(LayoutError::BadFormat("is extensible but shorter than 40 bytes"))?;
    let standard = guid[2..] == KSDATAFORMAT_TAIL;
    Ok(if standard { u16::from_le_bytes([guid[0], guid[1]]) } else { WAVE_FORMAT_EXTENSIBLE })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layouts telephony writes are tested through both decoders (`tests/wav_layouts.rs`); what is left
    /// is the codec this module only passes on.
    #[test]
    fn other_codecs_keep_their_own_fmt_chunk_and_claimed_size() {
        // IMA ADPCM at 8 kHz: a 20-byte fmt whose last field (505 samples a block) only its decoder reads.
        let fmt = [0x11, 0, 1, 0, 0x40, 0x1f, 0, 0, 0xd7, 0x0f, 0, 0, 0, 1, 4, 0, 2, 0, 0xf9, 1];
        let riff_size = (4 + 8 + 20 + 8 + 256u32).to_le_bytes();
        let claimed = 1000u32.to_le_bytes();
        let wav =
            [&b"RIFF"[..], &riff_size, b"WAVEfmt ", &20u32.to_le_bytes(), &fmt, b"data", &claimed, &[0; 256]].concat();
        let layout = parse(&wav).unwrap();
        assert_eq!(layout.format.encoding, Encoding::Other(0x11));
        assert_eq!((layout.data.len(), layout.frames_present(), layout.frames_declared()), (256, None, None));
        let header = layout.canonical_header();
        assert_eq!((&header[16..20], &header[20..40]), (&20u32.to_le_bytes()[..], &fmt[..]));
        assert_eq!((&header[40..44], &header[44..48]), (&b"data"[..], &claimed[..]));
    }
}
