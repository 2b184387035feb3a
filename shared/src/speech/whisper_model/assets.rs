//! openai-whisper's assets a ggml file embeds: the mel filterbank (`mel_80.npy`, as extracted from
//! `mel_filters.npz`) and the vocabulary (`gpt2.tiktoken` or `multilingual.tiktoken`: base64 token, rank).

use super::ModelError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

fn npy(why: impl Into<String>) -> ModelError {
    ModelError::MelFilters(why.into())
}

/// The value of `'key': value` in a .npy header dict, up to the next top-level comma.
fn header_field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}':"))? + key.len() + 3;
    let rest = header[at..].trim_start();
    let end = if rest.starts_with('(') { rest.find(')')? + 1 } else { rest.find([',', '}'])? };
    Some(rest[..end].trim())
}

/// A little-endian f32 matrix from a `.npy` file: `(rows, cols, data)`.
pub fn mel_filters(bytes: &[u8]) -> Result<(usize, usize, Vec<f32>), ModelError> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(npy("not a .npy file"));
    }
    let (len, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        v => return Err(npy(format!("format version {v}"))),
    };
    let header =
        bytes.get(start..start + len).and_then(|h| std::str::from_utf8(h).ok()).ok_or_else(|| npy("bad header"))?;
    if header_field(header, "descr") != Some("'<f4'") || header_field(header, "fortran_order") != Some("False") {
        return Err(npy("expected a C-ordered little-endian float32 array"));
    }
    let shape: Vec<usize> = header_field(header, "shape")
        .ok_or_else(|| npy("no shape"))?
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().map_err(|_| npy("bad shape")))
        .collect::<Result<_, _>>()?;
    let [rows, cols] = shape[..] else { return Err(npy(format!("expected 2 dimensions, got {shape:?}"))) };
    let data = &bytes[start + len..];
    if data.len() != rows * cols * 4 {
        return Err(npy(format!("{} data bytes for {rows}×{cols}", data.len())));
    }
    Ok((rows, cols, data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()))
}

/// The tokens of a `.tiktoken` file in file order (each the base64-decoded first column). The multilingual
/// file ends with `= 50256`, an empty token that Python's lenient decoder (which convert-pt-to-ggml.py
/// uses) reads as no bytes.
pub fn vocabulary(text: &str) -> Result<Vec<Vec<u8>>, ModelError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            let mut parts = line.split_whitespace();
            let (Some(token), Some(rank), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(ModelError::Vocabulary(i + 1));
            };
            rank.parse::<u64>().map_err(|_| ModelError::Vocabulary(i + 1))?;
            if token.bytes().all(|b| b == b'=') {
                return Ok(Vec::new());
            }
            STANDARD.decode(token).map_err(|_| ModelError::Vocabulary(i + 1))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn npy_bytes(rows: usize, cols: usize, data: &[f32]) -> Vec<u8> {
        let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend((header.len() as u16).to_le_bytes());
        out.extend(header.as_bytes());
        out.extend(data.iter().flat_map(|x| x.to_le_bytes()));
        out
    }

    #[test]
    fn reads_numpys_files() {
        let (r, c, d) = mel_filters(&npy_bytes(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.5])).unwrap();
        assert_eq!((r, c, d), (2, 3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.5]));
        assert!(mel_filters(b"PK\x03\x04 a zip, not npy").is_err());
        let mut f64s = npy_bytes(1, 1, &[1.0]);
        let at = f64s.windows(3).position(|w| w == b"<f4").unwrap();
        f64s[at + 2] = b'8';
        assert!(mel_filters(&f64s).is_err());
    }

    #[test]
    fn reads_tiktoken_files() {
        assert_eq!(
            vocabulary("IQ== 0\nIg== 1\n\nIGhlbGxv 2\n").unwrap(),
            [b"!".to_vec(), b"\"".to_vec(), b" hello".to_vec()]
        );
        assert_eq!(vocabulary("IQ== 0\n= 1\n").unwrap(), [b"!".to_vec(), Vec::new()], "multilingual's last token");
        assert_eq!(vocabulary("IQ== 0\nnot-base64! 1\n"), Err(ModelError::Vocabulary(2)));
        assert_eq!(vocabulary("IQ==\n"), Err(ModelError::Vocabulary(1)));
    }
}
