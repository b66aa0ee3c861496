//! Weights in and out: Hugging Face folders (`config.json`, `model.safetensors` or sharded with
//! `model.safetensors.index.json`, `tokenizer.json`) and GGUF files (dequantized; llama.cpp's
//! Q/K row permutation for Llama undone; the tokenizer rebuilt from the GGUF vocabulary).

use crate::model::decoder::{Decoder, ModelConfig};
use crate::model::eos;
use crate::model::error::ModelError;
use crate::model::tokenizer::Tokenizer;
use candle_core::quantized::gguf_file;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use std::collections::HashMap;
use std::path::Path;

/// A model ready to train: its architecture, its parameters and (when known) its tokenizer and
/// end-of-sequence ids.
pub struct Loaded {
    pub config: ModelConfig,
    pub vars: VarMap,
    pub tokenizer: Option<Tokenizer>,
    pub eos_tokens: Vec<u32>,
}

/// Read an HF `config.json` (Llama, Mistral or Qwen2 family).
pub fn read_hf_config(path: &Path) -> Result<ModelConfig, ModelError> {
    let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
    let raw: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| ModelError::json(path, e))?;
    let model_type = raw["model_type"].as_str().unwrap_or("llama");
    if !matches!(model_type, "llama" | "qwen2" | "mistral") {
        return Err(ModelError::Config(format!(
            "{}: model_type {model_type:?} is not supported (llama, qwen2, mistral)",
            path.display()
        )));
    }
    if raw.get("rope_scaling").is_some_and(|v| !v.is_null()) {
        return Err(ModelError::Config(format!(
            "{}: rope_scaling is not supported",
            path.display()
        )));
    }
    let mut config: ModelConfig =
        serde_json::from_value(raw.clone()).map_err(|e| ModelError::json(path, e))?;
    // transformers 5 keeps the RoPE base under `rope_parameters`.
    if let Some(theta) = raw["rope_parameters"]["rope_theta"].as_f64() {
        config.rope_theta = theta;
    }
    if model_type == "qwen2" {
        config.attention_bias = true;
    }
    if let Some(head_dim) = raw["head_dim"].as_u64() {
        if head_dim as usize != config.head_dim() {
            return Err(ModelError::Config(format!(
                "{}: head_dim {head_dim} differs from hidden_size / heads",
                path.display()
            )));
        }
    }
    config.validate()?;
    Ok(config)
}

/// Load an HF model folder. Weights are converted to `dtype` on `device`.
pub fn load_hf(dir: &Path, dtype: DType, device: &Device) -> Result<Loaded, ModelError> {
    let config = read_hf_config(&dir.join("config.json"))?;
    let index = dir.join("model.safetensors.index.json");
    let files: Vec<std::path::PathBuf> = if index.exists() {
        let text = std::fs::read_to_string(&index).map_err(|e| ModelError::io(&index, e))?;
        let index: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| ModelError::json(&index, e))?;
        let mut shards: Vec<String> = index["weight_map"]
            .as_object()
            .ok_or_else(|| ModelError::Input(format!("{}: no weight_map", dir.display())))?
            .values()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        shards.sort();
        shards.dedup();
        shards.iter().map(|s| dir.join(s)).collect()
    } else {
        vec![dir.join("model.safetensors")]
    };
    let mut tensors = HashMap::new();
    for file in &files {
        let shard = candle_core::safetensors::load(file, &Device::Cpu)
            .map_err(|e| ModelError::weights(file, e))?;
        tensors.extend(shard);
    }
    let vars = fill_vars(&config, tensors, dtype, device)?;
    let tokenizer_path = dir.join("tokenizer.json");
    let tokenizer = if tokenizer_path.exists() {
        Some(Tokenizer::from_file(&tokenizer_path)?)
    } else {
        None
    };
    let eos_tokens = eos::from_hf_folder(dir, tokenizer.as_ref())?;
    Ok(Loaded {
        config,
        vars,
        eos_tokens,
        tokenizer,
    })
}

/// Create the decoder's parameters and copy `tensors` into them by HF name. Every parameter must
/// be present with the right shape; an `lm_head.weight` beside tied embeddings is ignored.
pub fn fill_vars(
    config: &ModelConfig,
    tensors: HashMap<String, Tensor>,
    dtype: DType,
    device: &Device,
) -> Result<VarMap, ModelError> {
    let vars = VarMap::new();
    Decoder::new(config, &vars, dtype, device)?;
    {
        let data = vars.data().lock().unwrap_or_else(|e| e.into_inner());
        for (name, var) in data.iter() {
            let tensor = tensors
                .get(name)
                .ok_or_else(|| ModelError::Input(format!("weights lack {name}")))?;
            if tensor.dims() != var.dims() {
                return Err(ModelError::Input(format!(
                    "{name}: shape {:?}, the config needs {:?}",
                    tensor.dims(),
                    var.dims()
                )));
            }
            var.set(&tensor.to_dtype(var.dtype())?.to_device(device)?)?;
        }
    }
    Ok(vars)
}

/// Write `config.json`, `generation_config.json` (the end-of-sequence ids), `model.safetensors`
/// (f32) and `tokenizer.json` into `dir` (which must exist) in the layout `transformers` loads:
/// `LlamaForCausalLM`, or `Qwen2ForCausalLM` when the q/k/v projections have biases.
pub fn save_hf(dir: &Path, loaded: &Saved<'_>) -> Result<(), ModelError> {
    let Saved {
        config,
        vars,
        tokenizer,
        eos_tokens,
    } = *loaded;
    let (architecture, model_type) = if config.attention_bias {
        ("Qwen2ForCausalLM", "qwen2")
    } else {
        ("LlamaForCausalLM", "llama")
    };
    let mut json = serde_json::to_value(config).expect("the config serialises");
    let object = json.as_object_mut().expect("an object");
    object.insert("architectures".into(), serde_json::json!([architecture]));
    object.insert("model_type".into(), model_type.into());
    object.insert("hidden_act".into(), "silu".into());
    object.insert("head_dim".into(), config.head_dim().into());
    object.insert("torch_dtype".into(), "float32".into());
    if !config.attention_bias {
        object.insert("mlp_bias".into(), false.into());
    }
    if !eos_tokens.is_empty() {
        object.insert("eos_token_id".into(), eos::to_json(eos_tokens));
        let generation = serde_json::json!({"eos_token_id": eos::to_json(eos_tokens)});
        write_synced(
            &dir.join("generation_config.json"),
            generation.to_string().as_bytes(),
        )?;
    }
    let config_path = dir.join("config.json");
    write_synced(
        &config_path,
        serde_json::to_string_pretty(&json)
            .expect("json")
            .as_bytes(),
    )?;
    let tensors: HashMap<String, Tensor> = {
        let data = vars.data().lock().unwrap_or_else(|e| e.into_inner());
        data.iter()
            .map(|(name, var)| {
                Ok((
                    name.clone(),
                    var.as_tensor()
                        .to_dtype(DType::F32)?
                        .to_device(&Device::Cpu)?,
                ))
            })
            .collect::<Result<_, candle_core::Error>>()?
    };
    let weights = dir.join("model.safetensors");
    candle_core::safetensors::save(&tensors, &weights)
        .map_err(|e| ModelError::weights(&weights, e))?;
    sync_file(&weights)?;
    if let Some(tokenizer) = tokenizer {
        write_synced(&dir.join("tokenizer.json"), tokenizer.to_json()?.as_bytes())?;
    }
    Ok(())
}

/// Write a file and flush it to disk (checkpoints must survive a crash right after).
pub fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    std::fs::write(path, bytes).map_err(|e| ModelError::io(path, e))?;
    sync_file(path)
}

pub fn sync_file(path: &Path) -> Result<(), ModelError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| ModelError::io(path, e))
}

/// Load a Llama- or Qwen2-architecture GGUF file, dequantized to `dtype`.
pub fn load_gguf(path: &Path, dtype: DType, device: &Device) -> Result<Loaded, ModelError> {
    let mut file = std::fs::File::open(path).map_err(|e| ModelError::io(path, e))?;
    let content = gguf_file::Content::read(&mut file).map_err(|source| ModelError::NotGguf {
        path: path.to_path_buf(),
        source,
    })?;
    let meta = |key: &str| {
        content
            .metadata
            .get(key)
            .ok_or_else(|| ModelError::Input(format!("{}: GGUF lacks {key}", path.display())))
    };
    let architecture = meta("general.architecture")?.to_string()?.clone();
    if !matches!(architecture.as_str(), "llama" | "qwen2") {
        return Err(ModelError::Config(format!(
            "{}: GGUF architecture {architecture:?} is not supported (llama, qwen2)",
            path.display()
        )));
    }
    let key = |name: &str| format!("{architecture}.{name}");
    let number =
        |name: &str| -> Result<usize, ModelError> { Ok(meta(&key(name))?.to_u32()? as usize) };
    let tokens = meta("tokenizer.ggml.tokens")?.to_vec()?;
    let heads = number("attention.head_count")?;
    let kv_heads = number("attention.head_count_kv").unwrap_or(heads);
    let has_output = content.tensor_infos.contains_key("output.weight");
    let config = ModelConfig {
        vocab_size: tokens.len(),
        hidden_size: number("embedding_length")?,
        intermediate_size: number("feed_forward_length")?,
        num_hidden_layers: number("block_count")?,
        num_attention_heads: heads,
        num_key_value_heads: kv_heads,
        rms_norm_eps: f64::from(meta(&key("attention.layer_norm_rms_epsilon"))?.to_f32()?),
        rope_theta: content
            .metadata
            .get(&key("rope.freq_base"))
            .map(|v| v.to_f32().map(f64::from))
            .transpose()?
            .unwrap_or(10_000.0),
        tie_word_embeddings: !has_output,
        attention_bias: architecture == "qwen2",
        max_position_embeddings: number("context_length").unwrap_or(2048),
    };
    config.validate()?;
    let head_dim = config.head_dim();
    let mut tensors = HashMap::new();
    for name in content.tensor_infos.keys() {
        let Some(hf_name) = hf_name(name) else {
            continue;
        };
        let mut tensor = content
            .tensor(&mut file, name, &Device::Cpu)?
            .dequantize(&Device::Cpu)?;
        // llama.cpp's converter interleaves the two RoPE halves of each Llama Q/K head.
        if architecture == "llama"
            && (name.ends_with("attn_q.weight") || name.ends_with("attn_k.weight"))
        {
            let n = if name.ends_with("attn_q.weight") {
                heads
            } else {
                kv_heads
            };
            let columns = tensor.dim(1)?;
            tensor = tensor
                .reshape((n, head_dim / 2, 2, columns))?
                .transpose(1, 2)?
                .reshape((n * head_dim, columns))?;
        }
        tensors.insert(hf_name, tensor);
    }
    let vars = fill_vars(&config, tensors, dtype, device)?;
    let tokenizer = gguf_tokenizer(&content, path)?;
    Ok(Loaded {
        config,
        vars,
        tokenizer: Some(tokenizer),
        eos_tokens: eos::from_gguf(&content),
    })
}

/// The HF name of a GGUF tensor (`None` for tensors the decoder does not use).
fn hf_name(gguf: &str) -> Option<String> {
    let fixed = match gguf {
        "token_embd.weight" => Some("model.embed_tokens.weight"),
        "output_norm.weight" => Some("model.norm.weight"),
        "output.weight" => Some("lm_head.weight"),
        _ => None,
    };
    if let Some(name) = fixed {
        return Some(name.to_string());
    }
    let rest = gguf.strip_prefix("blk.")?;
    let (layer, part) = rest.split_once('.')?;
    let part = match part {
        "attn_q.weight" => "self_attn.q_proj.weight",
        "attn_k.weight" => "self_attn.k_proj.weight",
        "attn_v.weight" => "self_attn.v_proj.weight",
        "attn_q.bias" => "self_attn.q_proj.bias",
        "attn_k.bias" => "self_attn.k_proj.bias",
        "attn_v.bias" => "self_attn.v_proj.bias",
        "attn_output.weight" => "self_attn.o_proj.weight",
        "ffn_gate.weight" => "mlp.gate_proj.weight",
        "ffn_up.weight" => "mlp.up_proj.weight",
        "ffn_down.weight" => "mlp.down_proj.weight",
        "attn_norm.weight" => "input_layernorm.weight",
        "ffn_norm.weight" => "post_attention_layernorm.weight",
        _ => return None,
    };
    Some(format!("model.layers.{layer}.{part}"))
}

/// Rebuild an HF byte-level BPE `tokenizer.json` from a GGUF's `gpt2`-model vocabulary.
fn gguf_tokenizer(content: &gguf_file::Content, path: &Path) -> Result<Tokenizer, ModelError> {
    let get = |key: &str| content.metadata.get(key);
    let model = get("tokenizer.ggml.model")
        .map(|v| v.to_string())
        .transpose()?;
    if model.map(String::as_str) != Some("gpt2") {
        return Err(ModelError::Config(format!(
            "{}: only byte-level BPE (gpt2) GGUF tokenizers are supported",
            path.display()
        )));
    }
    let strings = |key: &str| -> Result<Vec<String>, ModelError> {
        match get(key) {
            Some(value) => value
                .to_vec()?
                .iter()
                .map(|v| Ok(v.to_string()?.clone()))
                .collect(),
            None => Ok(Vec::new()),
        }
    };
    let tokens = strings("tokenizer.ggml.tokens")?;
    let merges = strings("tokenizer.ggml.merges")?;
    let types: Vec<i32> = match get("tokenizer.ggml.token_type") {
        Some(value) => value
            .to_vec()?
            .iter()
            .map(|v| v.to_i32())
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let pre = get("tokenizer.ggml.pre")
        .map(|v| v.to_string())
        .transpose()?
        .cloned()
        .unwrap_or_default();
    let byte_level = serde_json::json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true});
    let pre_tokenizer = match pre.as_str() {
        // llama.cpp's smollm/starcoder pre-tokenizers split digits one by one before the GPT-2 regex.
        "smollm" | "starcoder" | "refact" => {
            serde_json::json!({"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": true}, byte_level]})
        }
        "qwen2" | "deepseek-r1-qwen" => serde_json::json!({"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN_SPLIT}, "behavior": "Isolated", "invert": false},
            {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}]}),
        _ => byte_level,
    };
    let mut vocab = serde_json::Map::new();
    let mut added = Vec::new();
    for (id, token) in tokens.iter().enumerate() {
        vocab.insert(token.clone(), id.into());
        // 3: control (special), 4: user-defined.
        if let Some(kind @ (3 | 4)) = types.get(id) {
            added.push(serde_json::json!({"id": id, "content": token, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": *kind == 3}));
        }
    }
    let json = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": added,
        "normalizer": null, "pre_tokenizer": pre_tokenizer,
        "post_processor": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                  "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
                  "ignore_merges": false, "vocab": vocab, "merges": merges}
    });
    Tokenizer::from_json(&json.to_string())
}

const QWEN_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Convert a GGUF file (dequantized to f32) into a Hugging Face folder.
pub fn convert_gguf(gguf: &Path, output: &Path) -> Result<(), ModelError> {
    let loaded = load_gguf(gguf, DType::F32, &Device::Cpu)?;
    std::fs::create_dir_all(output).map_err(|e| ModelError::io(output, e))?;
    save_hf(
        output,
        &Saved {
            config: &loaded.config,
            vars: &loaded.vars,
            tokenizer: loaded.tokenizer.as_ref(),
            eos_tokens: &loaded.eos_tokens,
        },
    )
}

/// What [`save_hf`] writes.
#[derive(Clone, Copy)]
pub struct Saved<'a> {
    pub config: &'a ModelConfig,
    pub vars: &'a VarMap,
    pub tokenizer: Option<&'a Tokenizer>,
    pub eos_tokens: &'a [u32],
}
