//! A round trip on a tiny synthetic CTranslate2 Whisper (2 encoder and 1 decoder layers, state 4, f16
//! weights): written in the CTranslate2 layout, converted, and the ggml file read back field by field.

use super::*;
use half::f16;
use std::collections::BTreeMap;

const STATE: usize = 4;
const MELS: usize = 3;

/// Writes a CTranslate2 `model.bin` (version 6) with `vars` (name, dims, dtype code, data) and aliases.
fn ct2_file(vars: &[(String, Vec<usize>, u8, Vec<u8>)], aliases: &[(&str, &str)]) -> Vec<u8> {
    let string = |out: &mut Vec<u8>, s: &str| {
        out.extend(((s.len() + 1) as u16).to_le_bytes());
        out.extend(s.as_bytes());
        out.push(0);
    };
    let mut out = 6u32.to_le_bytes().to_vec();
    string(&mut out, "WhisperSpec");
    out.extend(3u32.to_le_bytes());
    out.extend((vars.len() as u32).to_le_bytes());
    for (name, dims, dtype, data) in vars {
        string(&mut out, name);
        out.push(dims.len() as u8);
        dims.iter().for_each(|d| out.extend((*d as u32).to_le_bytes()));
        out.push(*dtype);
        out.extend((data.len() as u32).to_le_bytes());
        out.extend(data);
    }
    out.extend((aliases.len() as u32).to_le_bytes());
    for (a, t) in aliases {
        string(&mut out, a);
        string(&mut out, t);
    }
    out
}

/// f16 data counting up from `start` (distinct values, so splits and copies are checkable).
fn f16s(n: usize, start: f32) -> Vec<u8> {
    (0..n).flat_map(|i| f16::from_f32(start + i as f32 * 0.25).to_le_bytes()).collect()
}

fn model() -> Vec<u8> {
    let mut vars: Vec<(String, Vec<usize>, u8, Vec<u8>)> = Vec::new();
    let mut next = 0.0f32;
    let mut add = |name: String, dims: Vec<usize>| {
        let n = dims.iter().product();
        vars.push((name, dims, 4, f16s(n, next)));
        next += n as f32 * 0.25;
    };
    add("encoder/position_encodings/encodings".into(), vec![6, STATE]);
    add("encoder/conv1/weight".into(), vec![STATE, MELS, 3]);
    add("encoder/conv1/bias".into(), vec![STATE]);
    add("encoder/conv2/weight".into(), vec![STATE, STATE, 3]);
    add("encoder/conv2/bias".into(), vec![STATE]);
    add("encoder/layer_norm/gamma".into(), vec![STATE]);
    add("encoder/layer_norm/beta".into(), vec![STATE]);
    add("decoder/position_encodings/encodings".into(), vec![5, STATE]);
    add("decoder/embeddings/weight".into(), vec![7, STATE]);
    add("decoder/layer_norm/gamma".into(), vec![STATE]);
    add("decoder/layer_norm/beta".into(), vec![STATE]);
    for (side, n) in [("encoder", 2), ("decoder", 1)] {
        for i in 0..n {
            let p = format!("{side}/layer_{i}");
            let mut block = vec![
                ("self_attention/layer_norm/gamma", vec![STATE]),
                ("self_attention/layer_norm/beta", vec![STATE]),
                ("self_attention/linear_0/weight", vec![3 * STATE, STATE]),
                ("self_attention/linear_0/bias", vec![3 * STATE]),
                ("self_attention/linear_1/weight", vec![STATE, STATE]),
                ("self_attention/linear_1/bias", vec![STATE]),
                ("ffn/layer_norm/gamma", vec![STATE]),
                ("ffn/layer_norm/beta", vec![STATE]),
                ("ffn/linear_0/weight", vec![2 * STATE, STATE]),
                ("ffn/linear_0/bias", vec![2 * STATE]),
                ("ffn/linear_1/weight", vec![STATE, 2 * STATE]),
                ("ffn/linear_1/bias", vec![STATE]),
            ];
            if side == "decoder" {
                block.extend([
                    ("attention/layer_norm/gamma", vec![STATE]),
                    ("attention/layer_norm/beta", vec![STATE]),
                    ("attention/linear_0/weight", vec![STATE, STATE]),
                    ("attention/linear_0/bias", vec![STATE]),
                    ("attention/linear_1/weight", vec![2 * STATE, STATE]),
                    ("attention/linear_1/bias", vec![2 * STATE]),
                    ("attention/linear_2/weight", vec![STATE, STATE]),
                    ("attention/linear_2/bias", vec![STATE]),
                ]);
            }
            for (name, dims) in block {
                add(format!("{p}/{name}"), dims);
            }
        }
    }
    vars.push(("encoder/num_heads".into(), vec![], 3, 2i32.to_le_bytes().to_vec()));
    vars.push(("decoder/num_heads".into(), vec![], 3, 2i32.to_le_bytes().to_vec()));
    ct2_file(&vars, &[("decoder/projection/weight", "decoder/embeddings/weight")])
}

struct Ggml {
    ints: Vec<i32>,
    mel: Vec<f32>,
    tokens: Vec<Vec<u8>>,
    /// name → (numpy-order dims, ftype, bytes)
    tensors: BTreeMap<String, (Vec<usize>, i32, Vec<u8>)>,
}

fn read_ggml(b: &[u8]) -> Ggml {
    let mut at = 0;
    let i32_at = |at: &mut usize| {
        let v = i32::from_le_bytes(b[*at..*at + 4].try_into().unwrap());
        *at += 4;
        v
    };
    let ints: Vec<i32> = (0..12).map(|_| i32_at(&mut at)).collect();
    let (rows, cols) = (i32_at(&mut at) as usize, i32_at(&mut at) as usize);
    let mel = (0..rows * cols).map(|_| f32::from_bits(i32_at(&mut at) as u32)).collect();
    let n_tokens = i32_at(&mut at);
    let tokens = (0..n_tokens)
        .map(|_| {
            let n = i32_at(&mut at) as usize;
            at += n;
            b[at - n..at].to_vec()
        })
        .collect();
    let mut tensors = BTreeMap::new();
    while at < b.len() {
        let (n_dims, name_len, ftype) = (i32_at(&mut at), i32_at(&mut at) as usize, i32_at(&mut at));
        let mut dims: Vec<usize> = (0..n_dims).map(|_| i32_at(&mut at) as usize).collect();
        dims.reverse();
        let name = String::from_utf8(b[at..at + name_len].to_vec()).unwrap();
        at += name_len;
        let size = dims.iter().product::<usize>() * if ftype == 0 { 4 } else { 2 };
        tensors.insert(name, (dims, ftype, b[at..at + size].to_vec()));
        at += size;
    }
    Ggml { ints, mel, tokens, tensors }
}

#[test]
fn a_synthetic_model_converts_to_what_whisper_cpp_reads() {
    let ct2 = read_ct2(&model()).unwrap();
    assert_eq!(ct2.spec, "WhisperSpec");
    let mel = [0.5f32, 1.5, 2.5, 3.5, 4.5, 5.5];
    let vocab = vec![b"a".to_vec(), b" the".to_vec()];
    let (h, bytes) = convert(&ct2, (2, 3, &mel), &vocab).unwrap();
    assert_eq!(
        h,
        Hparams {
            n_vocab: 7,
            n_audio_ctx: 6,
            n_audio_state: STATE,
            n_audio_head: 2,
            n_audio_layer: 2,
            n_text_ctx: 5,
            n_text_state: STATE,
            n_text_head: 2,
            n_text_layer: 1,
            n_mels: MELS
        }
    );
    assert_eq!(inspect(&bytes), Ok(h), "the header reads back");
    assert!(inspect(&bytes[..40]).is_err() && inspect(b"GGUF and more bytes than a header needs........").is_err());
    let g = read_ggml(&bytes);
    assert_eq!(g.ints, [0x6767_6d6c, 7, 6, 4, 2, 2, 5, 4, 2, 1, 3, 1]);
    assert_eq!((g.mel, g.tokens), (mel.to_vec(), vocab));
    // 11 top-level tensors, 15 per encoder block, 24 per decoder block (tiny.en: 11 + 4·15 + 4·24 = 167, as
    // whisper.cpp's own file); no fused projection, key bias or alias.
    assert_eq!(g.tensors.len(), 11 + 2 * 15 + 24);
    assert!(!g.tensors.keys().any(|k| k.contains("key.bias") || k.contains("projection")));

    let src = |name: &str| ct2.variables[name].clone();
    let f16_bytes = |name: &str| src(name).data;
    let f32_bytes = |name: &str| src(name).to_f32().unwrap().iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let t = |name: &str| g.tensors[name].clone();
    // Fused Q|K|V split by rows; biases Q and V only.
    let qkv = f16_bytes("encoder/layer_1/self_attention/linear_0/weight");
    let third = qkv.len() / 3;
    assert_eq!(t("encoder.blocks.1.attn.query.weight"), (vec![STATE, STATE], 1, qkv[..third].to_vec()));
    assert_eq!(t("encoder.blocks.1.attn.key.weight").2, qkv[third..2 * third]);
    assert_eq!(t("encoder.blocks.1.attn.value.weight").2, qkv[2 * third..]);
    let qkv_bias = f32_bytes("encoder/layer_1/self_attention/linear_0/bias");
    assert_eq!(t("encoder.blocks.1.attn.value.bias"), (vec![STATE], 0, qkv_bias[2 * qkv_bias.len() / 3..].to_vec()));
    // Cross attention K|V split; f32 for 1-D, conv biases as [n, 1], positional embeddings.
    let kv = f16_bytes("decoder/layer_0/attention/linear_1/weight");
    assert_eq!(t("decoder.blocks.0.cross_attn.value.weight").2, kv[kv.len() / 2..]);
    assert_eq!(t("encoder.conv1.bias"), (vec![STATE, 1], 0, f32_bytes("encoder/conv1/bias")));
    assert_eq!(t("encoder.conv1.weight"), (vec![STATE, MELS, 3], 1, f16_bytes("encoder/conv1/weight")));
    assert_eq!(
        t("decoder.positional_embedding"),
        (vec![5, STATE], 0, f32_bytes("decoder/position_encodings/encodings"))
    );
    assert_eq!(t("encoder.ln_post.weight"), (vec![STATE], 0, f32_bytes("encoder/layer_norm/gamma")));
    assert_eq!(t("decoder.blocks.0.mlp.2.weight").0, vec![STATE, 2 * STATE]);
}

#[test]
fn damaged_or_foreign_models_are_errors() {
    let good = model();
    assert!(matches!(read_ct2(&good[..good.len() / 2]), Err(ModelError::Ct2(_))));
    let mut v5 = good.clone();
    v5[0] = 5;
    assert_eq!(read_ct2(&v5), Err(ModelError::Ct2("binary version 5, expected 6".into())));
    let mut ct2 = read_ct2(&good).unwrap();
    ct2.variables.remove("decoder/layer_0/attention/linear_2/bias");
    let err = convert(&ct2, (1, 1, &[0.0]), &[]).unwrap_err();
    assert_eq!(err, ModelError::Missing("decoder/layer_0/attention/linear_2/bias".into()));
}
