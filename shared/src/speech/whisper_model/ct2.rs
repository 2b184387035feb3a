//! Reading CTranslate2's `model.bin` (binary version 6): a spec name, then named variables with rank,
//! dimensions, data type and raw little-endian data, then aliases (names that share another's data).

use super::ModelError;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    I8,
    I16,
    I32,
    F16,
}

impl DType {
    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::F32,
            1 => Self::I8,
            2 => Self::I16,
            3 => Self::I32,
            4 => Self::F16,
            _ => return None,
        })
    }

    pub fn size(self) -> usize {
        match self {
            Self::I8 => 1,
            Self::I16 | Self::F16 => 2,
            Self::F32 | Self::I32 => 4,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub dims: Vec<usize>,
    pub dtype: DType,
    pub data: Vec<u8>,
}

impl Variable {
    /// The value of a scalar integer variable (`encoder/num_heads`).
    pub fn scalar(&self) -> Option<i64> {
        let d = &self.data;
        match (self.dtype, d.len()) {
            (DType::I8, 1) => Some(i64::from(d[0] as i8)),
            (DType::I16, 2) => Some(i64::from(i16::from_le_bytes([d[0], d[1]]))),
            (DType::I32, 4) => Some(i64::from(i32::from_le_bytes([d[0], d[1], d[2], d[3]]))),
            _ => None,
        }
    }

    /// The data as f32 (f16 widened exactly).
    pub fn to_f32(&self) -> Option<Vec<f32>> {
        match self.dtype {
            DType::F32 => {
                Some(self.data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
            }
            DType::F16 => {
                Some(self.data.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect())
            }
            _ => None,
        }
    }

    /// The data as f16 (f32 rounded to nearest, as numpy's `astype(float16)`).
    pub fn to_f16(&self) -> Option<Vec<u8>> {
        match self.dtype {
            DType::F16 => Some(self.data.clone()),
            DType::F32 => Some(self.to_f32()?.into_iter().flat_map(|x| half::f16::from_f32(x).to_le_bytes()).collect()),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ct2Model {
    pub spec: String,
    pub variables: BTreeMap<String, Variable>,
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

fn bad(why: impl Into<String>) -> ModelError {
    ModelError::Ct2(why.into())
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len()).ok_or_else(|| bad("truncated"))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, ModelError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, ModelError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, ModelError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A `u16` length (counting a trailing NUL) and the bytes.
    fn string(&mut self) -> Result<String, ModelError> {
        let n = usize::from(self.u16()?);
        let raw = self.take(n)?;
        let text = raw.strip_suffix(&[0]).unwrap_or(raw);
        String::from_utf8(text.to_vec()).map_err(|_| bad("a name is not UTF-8"))
    }
}

/// Parses a whole `model.bin`; aliases become copies under their own names.
pub fn read(bytes: &[u8]) -> Result<Ct2Model, ModelError> {
    let mut r = Reader { bytes, at: 0 };
    let version = r.u32()?;
    if version != 6 {
        return Err(bad(format!("binary version {version}, expected 6")));
    }
    let spec = r.string()?;
    let _revision = r.u32()?;
    let count = r.u32()? as usize;
    let mut variables = BTreeMap::new();
    for _ in 0..count {
        let name = r.string()?;
        let rank = usize::from(r.u8()?);
        let dims = (0..rank).map(|_| r.u32().map(|d| d as usize)).collect::<Result<Vec<_>, _>>()?;
        let dtype = DType::from_code(r.u8()?).ok_or_else(|| bad(format!("{name}: unknown data type")))?;
        let nbytes = r.u32()? as usize;
        let expected = dims.iter().product::<usize>() * dtype.size();
        if nbytes != expected {
            return Err(bad(format!("{name}: {nbytes} bytes for shape {dims:?}")));
        }
        let data = r.take(nbytes)?.to_vec();
        variables.insert(name, Variable { dims, dtype, data });
    }
    if r.at < bytes.len() {
        for _ in 0..r.u32()? {
            let (alias, target) = (r.string()?, r.string()?);
            let v = variables.get(&target).cloned().ok_or_else(|| bad(format!("alias {alias} of unknown {target}")))?;
            variables.insert(alias, v);
        }
    }
    Ok(Ct2Model { spec, variables })
}
