//! CTranslate2 Whisper weights → whisper.cpp's legacy ggml file: names mapped, the fused attention
//! projections split (Q|K|V, and K|V for cross attention; the key has no bias), biases, positional
//! embeddings and conv biases (as `[n, 1]`) in f32 and the rest in f16, exactly as `convert-pt-to-ggml.py`.

use super::ModelError;
use super::ct2::{Ct2Model, Variable};

const MAGIC: i32 = 0x6767_6d6c;

/// whisper.cpp's hyper-parameters, read off the weights' shapes and the head counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hparams {
    pub n_vocab: usize,
    pub n_audio_ctx: usize,
    pub n_audio_state: usize,
    pub n_audio_head: usize,
    pub n_audio_layer: usize,
    pub n_text_ctx: usize,
    pub n_text_state: usize,
    pub n_text_head: usize,
    pub n_text_layer: usize,
    pub n_mels: usize,
}

/// A tensor as whisper.cpp names it: numpy-order dims, f32 or f16 bytes.
struct Tensor {
    name: String,
    dims: Vec<usize>,
    f32: bool,
    data: Vec<u8>,
}

fn var<'a>(m: &'a Ct2Model, name: &str) -> Result<&'a Variable, ModelError> {
    m.variables.get(name).ok_or_else(|| ModelError::Missing(name.to_string()))
}

fn layers(m: &Ct2Model, side: &str) -> usize {
    let prefix = format!("{side}/layer_");
    let mut n: Vec<usize> =
        m.variables.keys().filter_map(|k| k.strip_prefix(&prefix)?.split('/').next()?.parse().ok()).collect();
    n.sort_unstable();
    n.dedup();
    n.len()
}

fn heads(m: &Ct2Model, name: &str) -> Result<usize, ModelError> {
    let v = var(m, name)?;
    v.scalar()
        .filter(|h| *h > 0)
        .map(|h| h as usize)
        .ok_or_else(|| ModelError::Shape { name: name.into(), why: "not a positive integer".into() })
}

fn rows(v: &Variable) -> usize {
    v.dims.first().copied().unwrap_or(0)
}

fn hparams(m: &Ct2Model) -> Result<Hparams, ModelError> {
    let conv1 = var(m, "encoder/conv1/weight")?;
    let embed = var(m, "decoder/embeddings/weight")?;
    if conv1.dims.len() != 3 || embed.dims.len() != 2 {
        return Err(ModelError::Shape { name: "encoder/conv1/weight".into(), why: "unexpected rank".into() });
    }
    Ok(Hparams {
        n_vocab: embed.dims[0],
        n_audio_ctx: rows(var(m, "encoder/position_encodings/encodings")?),
        n_audio_state: conv1.dims[0],
        n_audio_head: heads(m, "encoder/num_heads")?,
        n_audio_layer: layers(m, "encoder"),
        n_text_ctx: rows(var(m, "decoder/position_encodings/encodings")?),
        n_text_state: embed.dims[1],
        n_text_head: heads(m, "decoder/num_heads")?,
        n_text_layer: layers(m, "decoder"),
        n_mels: conv1.dims[1],
    })
}

/// Rows `part` of `parts` equal parts of a weight (or elements of a bias).
fn part(v: &Variable, name: &str, index: usize, parts: usize) -> Result<Variable, ModelError> {
    let total = rows(v);
    if total % parts != 0 {
        return Err(ModelError::Shape { name: name.into(), why: format!("{total} rows do not split in {parts}") });
    }
    let row_bytes = v.data.len() / total.max(1);
    let n = total / parts;
    let mut dims = v.dims.clone();
    dims[0] = n;
    Ok(Variable { dims, dtype: v.dtype, data: v.data[index * n * row_bytes..(index + 1) * n * row_bytes].to_vec() })
}

struct Out<'a> {
    model: &'a Ct2Model,
    tensors: Vec<Tensor>,
}

impl Out<'_> {
    /// Adds `v` as `name` with the script's storage rule.
    fn push(&mut self, name: String, v: &Variable) -> Result<(), ModelError> {
        let conv_bias = name == "encoder.conv1.bias" || name == "encoder.conv2.bias";
        let dims = if conv_bias { vec![v.dims[0], 1] } else { v.dims.clone() };
        let f32 = dims.len() < 2 || conv_bias || name.ends_with("positional_embedding");
        let bad =
            || ModelError::Shape { name: name.clone(), why: format!("{:?} weights are not floating point", v.dtype) };
        let data = if f32 {
            v.to_f32().ok_or_else(bad)?.into_iter().flat_map(f32::to_le_bytes).collect()
        } else {
            v.to_f16().ok_or_else(bad)?
        };
        self.tensors.push(Tensor { name, dims, f32, data });
        Ok(())
    }

    fn copy(&mut self, name: &str, from: &str) -> Result<(), ModelError> {
        let v = var(self.model, from)?;
        self.push(name.to_string(), v)
    }

    /// `<ct>/weight` and `<ct>/bias` (or LayerNorm's `gamma`/`beta`) as `<gg>.weight` and `<gg>.bias`.
    fn linear(&mut self, gg: &str, ct: &str, norm: bool) -> Result<(), ModelError> {
        let (w, b) = if norm { ("gamma", "beta") } else { ("weight", "bias") };
        self.copy(&format!("{gg}.weight"), &format!("{ct}/{w}"))?;
        self.copy(&format!("{gg}.bias"), &format!("{ct}/{b}"))
    }

    /// A fused projection split in equal row blocks; `None` targets get the weight only (the key).
    fn split(&mut self, ct: &str, targets: &[(&str, bool)]) -> Result<(), ModelError> {
        let (w, b) = (var(self.model, &format!("{ct}/weight"))?, var(self.model, &format!("{ct}/bias"))?);
        for (i, (gg, bias)) in targets.iter().enumerate() {
            self.push(format!("{gg}.weight"), &part(w, ct, i, targets.len())?)?;
            if *bias {
                self.push(format!("{gg}.bias"), &part(b, ct, i, targets.len())?)?;
            }
        }
        Ok(())
    }

    fn block(&mut self, side: &str, i: usize) -> Result<(), ModelError> {
        let (ct, gg) = (format!("{side}/layer_{i}"), format!("{side}.blocks.{i}"));
        self.linear(&format!("{gg}.attn_ln"), &format!("{ct}/self_attention/layer_norm"), true)?;
        let qkv =
            [(format!("{gg}.attn.query"), true), (format!("{gg}.attn.key"), false), (format!("{gg}.attn.value"), true)];
        self.split(
            &format!("{ct}/self_attention/linear_0"),
            &qkv.iter().map(|(n, b)| (n.as_str(), *b)).collect::<Vec<_>>(),
        )?;
        self.linear(&format!("{gg}.attn.out"), &format!("{ct}/self_attention/linear_1"), false)?;
        if side == "decoder" {
            self.linear(&format!("{gg}.cross_attn_ln"), &format!("{ct}/attention/layer_norm"), true)?;
            self.linear(&format!("{gg}.cross_attn.query"), &format!("{ct}/attention/linear_0"), false)?;
            let kv = [(format!("{gg}.cross_attn.key"), false), (format!("{gg}.cross_attn.value"), true)];
            self.split(
                &format!("{ct}/attention/linear_1"),
                &kv.iter().map(|(n, b)| (n.as_str(), *b)).collect::<Vec<_>>(),
            )?;
            self.linear(&format!("{gg}.cross_attn.out"), &format!("{ct}/attention/linear_2"), false)?;
        }
        self.linear(&format!("{gg}.mlp_ln"), &format!("{ct}/ffn/layer_norm"), true)?;
        self.linear(&format!("{gg}.mlp.0"), &format!("{ct}/ffn/linear_0"), false)?;
        self.linear(&format!("{gg}.mlp.2"), &format!("{ct}/ffn/linear_1"), false)
    }
}

/// The hyper-parameters of a ggml file, checking its magic and that they are plausible (a file from
/// elsewhere, or a download cut short, is refused before anything uses it).
pub fn inspect(bytes: &[u8]) -> Result<Hparams, ModelError> {
    let bad = |why: &str| ModelError::Shape { name: "ggml file".into(), why: why.into() };
    let int = |i: usize| {
        let b = bytes.get(i * 4..i * 4 + 4).ok_or_else(|| bad("truncated header"))?;
        let v = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        usize::try_from(v).map_err(|_| bad("negative hyper-parameter"))
    };
    if bytes.len() < 48 || i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) != MAGIC {
        return Err(bad("not a whisper.cpp ggml file (wrong magic)"));
    }
    let h = Hparams {
        n_vocab: int(1)?,
        n_audio_ctx: int(2)?,
        n_audio_state: int(3)?,
        n_audio_head: int(4)?,
        n_audio_layer: int(5)?,
        n_text_ctx: int(6)?,
        n_text_state: int(7)?,
        n_text_head: int(8)?,
        n_text_layer: int(9)?,
        n_mels: int(10)?,
    };
    let sane = h.n_vocab > 0 && h.n_audio_head > 0 && h.n_text_head > 0 && h.n_audio_layer > 0 && h.n_mels > 0;
    if !sane || h.n_audio_state % h.n_audio_head != 0 || h.n_text_state % h.n_text_head != 0 {
        return Err(bad("implausible hyper-parameters"));
    }
    Ok(h)
}

fn i32s(out: &mut Vec<u8>, values: impl IntoIterator<Item = usize>) {
    for v in values {
        out.extend((v as i32).to_le_bytes());
    }
}

/// The ggml file of `model` with the mel filterbank `(rows, cols, data)` and the vocabulary's tokens.
pub fn convert(
    model: &Ct2Model,
    mel: (usize, usize, &[f32]),
    vocab: &[Vec<u8>],
) -> Result<(Hparams, Vec<u8>), ModelError> {
    let h = hparams(model)?;
    let mut o = Out { model, tensors: Vec::new() };
    o.copy("encoder.positional_embedding", "encoder/position_encodings/encodings")?;
    o.linear("encoder.conv1", "encoder/conv1", false)?;
    o.linear("encoder.conv2", "encoder/conv2", false)?;
    for i in 0..h.n_audio_layer {
        o.block("encoder", i)?;
    }
    o.linear("encoder.ln_post", "encoder/layer_norm", true)?;
    o.copy("decoder.positional_embedding", "decoder/position_encodings/encodings")?;
    o.copy("decoder.token_embedding.weight", "decoder/embeddings/weight")?;
    for i in 0..h.n_text_layer {
        o.block("decoder", i)?;
    }
    o.linear("decoder.ln", "decoder/layer_norm", true)?;

    let mut out = Vec::new();
    out.extend(MAGIC.to_le_bytes());
    i32s(&mut out, [h.n_vocab, h.n_audio_ctx, h.n_audio_state, h.n_audio_head, h.n_audio_layer]);
    i32s(&mut out, [h.n_text_ctx, h.n_text_state, h.n_text_head, h.n_text_layer, h.n_mels, 1]);
    i32s(&mut out, [mel.0, mel.1]);
    out.extend(mel.2.iter().flat_map(|x| x.to_le_bytes()));
    i32s(&mut out, [vocab.len()]);
    for token in vocab {
        i32s(&mut out, [token.len()]);
        out.extend(token);
    }
    for t in o.tensors {
        i32s(&mut out, [t.dims.len(), t.name.len(), usize::from(!t.f32)]);
        i32s(&mut out, t.dims.iter().rev().copied());
        out.extend(t.name.as_bytes());
        out.extend(t.data);
    }
    Ok((h, out))
}
