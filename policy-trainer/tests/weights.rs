//! Weights and text in and out: HF folders round-trip exactly, GGUF import undoes llama.cpp's
//! Q/K permutation and dequantizes, tokenizers and chat templates round-trip.

mod common;

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use policy_trainer::model::weights::{fill_vars, load_gguf, load_hf, save_hf, Saved};
use policy_trainer::model::{tokenizer::toy_tokenizer, ChatTemplate};
use policy_trainer::model::{Decoder, ModelConfig};
use std::collections::HashMap;

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn random_model(config: &ModelConfig) -> (VarMap, Decoder) {
    let vars = VarMap::new();
    let model = Decoder::new(config, &vars, DType::F32, &Device::Cpu).unwrap();
    // Deterministic weights (candle's CPU init is unseeded), uniform in ±0.7 so that the logits
    // differ visibly between tokens.
    let data = vars.data().lock().unwrap();
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for name in names {
        let var = &data[name];
        let values: Vec<f32> = (0..var.elem_count())
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 1.4
            })
            .collect();
        var.set(&Tensor::from_vec(values, var.dims(), &Device::Cpu).unwrap())
            .unwrap();
    }
    drop(data);
    (vars, model)
}

#[test]
fn hf_folder_round_trips_exactly_for_llama_and_qwen2_layouts() {
    for (tied, bias) in [(true, false), (false, true)] {
        let config = common::tiny_config(40, tied, bias);
        let (vars, model) = random_model(&config);
        let dir = tempdir();
        let tokenizer = toy_tokenizer();
        let saved = Saved {
            config: &config,
            vars: &vars,
            tokenizer: Some(&tokenizer),
            eos_tokens: &[7],
        };
        save_hf(dir.path(), &saved).unwrap();
        let saved: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("config.json")).unwrap())
                .unwrap();
        assert_eq!(saved["model_type"], if bias { "qwen2" } else { "llama" });
        let loaded = load_hf(dir.path(), DType::F32, &Device::Cpu).unwrap();
        assert_eq!(loaded.config, config);
        assert!(loaded.tokenizer.is_some());
        // The end-of-sequence ids survive the round trip (a stage's model keeps stopping).
        assert_eq!(loaded.eos_tokens, vec![7]);
        let reloaded =
            Decoder::new(&loaded.config, &loaded.vars, DType::F32, &Device::Cpu).unwrap();
        let tokens = [3u32, 17, 5, 39, 0, 8];
        assert_eq!(
            common::logits(&model, &tokens),
            common::logits(&reloaded, &tokens)
        );
    }
}

#[test]
fn sharded_checkpoints_load_through_the_index() {
    let config = common::tiny_config(40, false, false);
    let (vars, model) = random_model(&config);
    let dir = tempdir();
    let all: Vec<(String, Tensor)> = vars
        .data()
        .lock()
        .unwrap()
        .iter()
        .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
        .collect();
    let (first, second): (Vec<_>, Vec<_>) =
        all.into_iter().partition(|(n, _)| n.contains("layers.0"));
    let mut weight_map = serde_json::Map::new();
    for (file, part) in [
        ("model-00001-of-00002.safetensors", first),
        ("model-00002-of-00002.safetensors", second),
    ] {
        for (name, _) in &part {
            weight_map.insert(name.clone(), file.into());
        }
        let part: HashMap<String, Tensor> = part.into_iter().collect();
        candle_core::safetensors::save(&part, dir.path().join(file)).unwrap();
    }
    std::fs::write(
        dir.path().join("model.safetensors.index.json"),
        serde_json::json!({"metadata": {}, "weight_map": weight_map}).to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        serde_json::to_string(&config).unwrap(),
    )
    .unwrap();
    let loaded = load_hf(dir.path(), DType::F32, &Device::Cpu).unwrap();
    let reloaded = Decoder::new(&loaded.config, &loaded.vars, DType::F32, &Device::Cpu).unwrap();
    assert_eq!(
        common::logits(&model, &[1, 2, 3]),
        common::logits(&reloaded, &[1, 2, 3])
    );
}

#[test]
fn missing_or_misshapen_weights_are_clear_errors() {
    let config = common::tiny_config(40, true, false);
    let error = fill_vars(&config, HashMap::new(), DType::F32, &Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("weights lack"), "{error}");
    let dir = tempdir();
    std::fs::write(
        dir.path().join("config.json"),
        r#"{"model_type": "gemma3"}"#,
    )
    .unwrap();
    let error = load_hf(dir.path(), DType::F32, &Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("not supported"), "{error}");
    let error = load_gguf(&dir.path().join("config.json"), DType::F32, &Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("not a GGUF file"), "{error}");
}

/// llama.cpp's converter: rows of each head reordered from (half, i) to (i, half).
fn permute_like_llama_cpp(weight: &Tensor, heads: usize) -> Tensor {
    let (rows, columns) = weight.dims2().unwrap();
    let head_dim = rows / heads;
    weight
        .reshape((heads, 2, head_dim / 2, columns))
        .unwrap()
        .transpose(1, 2)
        .unwrap()
        .reshape((rows, columns))
        .unwrap()
}

#[test]
fn gguf_import_undoes_the_llama_qk_permutation_and_dequantizes() {
    // Dimensions are multiples of 32 so that Q8_0 blocks fit.
    let config = ModelConfig {
        hidden_size: 64,
        intermediate_size: 96,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        ..common::tiny_config(0, true, false)
    };
    let alphabet: Vec<char> = {
        let mut chars: Vec<char> = tokenizers::pre_tokenizers::byte_level::ByteLevel::alphabet()
            .into_iter()
            .collect();
        chars.sort_unstable();
        chars
    };
    let mut tokens: Vec<String> = vec!["<|endoftext|>".into(), "<|im_end|>".into()];
    tokens.extend(alphabet.iter().map(char::to_string));
    tokens.push("he".into());
    tokens.push("Ġw".into());
    let config = ModelConfig {
        vocab_size: tokens.len(),
        ..config
    };
    let (vars, model) = random_model(&config);
    let named: HashMap<String, Tensor> = vars
        .data()
        .lock()
        .unwrap()
        .iter()
        .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
        .collect();
    let gguf_name = |hf: &str| -> String {
        let hf = hf.strip_prefix("model.").unwrap_or(hf);
        match hf {
            "embed_tokens.weight" => "token_embd.weight".into(),
            "norm.weight" => "output_norm.weight".into(),
            _ => {
                let rest = hf.strip_prefix("layers.").unwrap();
                let (layer, part) = rest.split_once('.').unwrap();
                let part = match part {
                    "self_attn.q_proj.weight" => "attn_q.weight",
                    "self_attn.k_proj.weight" => "attn_k.weight",
                    "self_attn.v_proj.weight" => "attn_v.weight",
                    "self_attn.o_proj.weight" => "attn_output.weight",
                    "mlp.gate_proj.weight" => "ffn_gate.weight",
                    "mlp.up_proj.weight" => "ffn_up.weight",
                    "mlp.down_proj.weight" => "ffn_down.weight",
                    "input_layernorm.weight" => "attn_norm.weight",
                    "post_attention_layernorm.weight" => "ffn_norm.weight",
                    other => panic!("unexpected {other}"),
                };
                format!("blk.{layer}.{part}")
            }
        }
    };
    for quantization in [GgmlDType::F32, GgmlDType::Q8_0] {
        let mut quantized = Vec::new();
        for (name, tensor) in &named {
            let mut tensor = tensor.clone();
            if name.ends_with("q_proj.weight") {
                tensor = permute_like_llama_cpp(&tensor, config.num_attention_heads);
            }
            if name.ends_with("k_proj.weight") {
                tensor = permute_like_llama_cpp(&tensor, config.num_key_value_heads);
            }
            let dtype = if name.contains("norm") {
                GgmlDType::F32
            } else {
                quantization
            };
            quantized.push((gguf_name(name), QTensor::quantize(&tensor, dtype).unwrap()));
        }
        use gguf_file::Value;
        let n = |v: usize| Value::U32(v as u32);
        let metadata: Vec<(&str, Value)> = vec![
            ("general.architecture", Value::String("llama".into())),
            ("llama.block_count", n(config.num_hidden_layers)),
            ("llama.embedding_length", n(config.hidden_size)),
            ("llama.feed_forward_length", n(config.intermediate_size)),
            ("llama.attention.head_count", n(config.num_attention_heads)),
            (
                "llama.attention.head_count_kv",
                n(config.num_key_value_heads),
            ),
            (
                "llama.attention.layer_norm_rms_epsilon",
                Value::F32(config.rms_norm_eps as f32),
            ),
            ("llama.rope.freq_base", Value::F32(config.rope_theta as f32)),
            ("llama.context_length", n(config.max_position_embeddings)),
            ("tokenizer.ggml.model", Value::String("gpt2".into())),
            ("tokenizer.ggml.eos_token_id", n(1)),
            ("tokenizer.ggml.pre", Value::String("smollm".into())),
            (
                "tokenizer.ggml.tokens",
                Value::Array(tokens.iter().map(|t| Value::String(t.clone())).collect()),
            ),
            (
                "tokenizer.ggml.token_type",
                Value::Array(
                    (0..tokens.len())
                        .map(|i| Value::I32(if i < 2 { 3 } else { 1 }))
                        .collect(),
                ),
            ),
            (
                "tokenizer.ggml.merges",
                Value::Array(vec![
                    Value::String("h e".into()),
                    Value::String("Ġ w".into()),
                ]),
            ),
        ];
        let dir = tempdir();
        let path = dir.path().join("tiny.gguf");
        let mut file = std::fs::File::create(&path).unwrap();
        let metadata_refs: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
        let tensor_refs: Vec<(&str, &QTensor)> =
            quantized.iter().map(|(k, v)| (k.as_str(), v)).collect();
        gguf_file::write(&mut file, &metadata_refs, &tensor_refs).unwrap();
        drop(file);
        let loaded = load_gguf(&path, DType::F32, &Device::Cpu).unwrap();
        assert_eq!(loaded.config.vocab_size, config.vocab_size);
        assert_eq!(loaded.eos_tokens, vec![1]);
        assert!(loaded.config.tie_word_embeddings);
        let imported =
            Decoder::new(&loaded.config, &loaded.vars, DType::F32, &Device::Cpu).unwrap();
        // The reference: the original weights passed through the same quantization, unpermuted.
        // Q8_0 blocks run along rows, so reordering rows commutes with it and the import must
        // match this exactly (up to float rounding), whatever the quantization error.
        let rounded: HashMap<String, Tensor> = named
            .iter()
            .map(|(name, tensor)| {
                let dtype = if name.contains("norm") {
                    GgmlDType::F32
                } else {
                    quantization
                };
                let q = QTensor::quantize(tensor, dtype).unwrap();
                (name.clone(), q.dequantize(&Device::Cpu).unwrap())
            })
            .collect();
        let reference_vars = fill_vars(&config, rounded, DType::F32, &Device::Cpu).unwrap();
        let reference = Decoder::new(&config, &reference_vars, DType::F32, &Device::Cpu).unwrap();
        let ids = [5u32, 70, 2, 100, 33, 9];
        let expected = common::logits(&reference, &ids);
        let scale = expected.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let difference = max_difference(&expected, &common::logits(&imported, &ids)) / scale;
        assert!(
            difference < 1e-5,
            "{quantization:?}: max |Δlogit| / max |logit| = {difference}"
        );
        if quantization == GgmlDType::F32 {
            let original = common::logits(&model, &ids);
            assert!(max_difference(&original, &expected) / scale < 1e-6);
        }
        // The rebuilt tokenizer: merges apply, digits split, specials are single ids.
        let tokenizer = loaded.tokenizer.unwrap();
        let ids = tokenizer.encode("hello w<|im_end|>").unwrap();
        assert_eq!(tokenizer.decode(&ids).unwrap(), "hello w<|im_end|>");
        assert_eq!(ids.first(), tokenizer.token_id("he").as_ref());
        assert_eq!(ids.last(), Some(&1));
        assert!(ids.contains(&tokenizer.token_id("Ġw").unwrap()));
    }
}

#[test]
fn toy_tokenizer_and_templates_round_trip() {
    let tokenizer = toy_tokenizer();
    let text = ChatTemplate::Chatml.prompt(Some("be brief"), "sort 3 1 2");
    let ids = tokenizer.encode(&text).unwrap();
    assert_eq!(tokenizer.decode(&ids).unwrap(), text);
    assert_eq!(ids[0], tokenizer.token_id("<|im_start|>").unwrap());
    let answer = "<think>123</think><answer>\\boxed{123}</answer><|im_end|>";
    assert_eq!(tokenizer.encode(answer).unwrap().len(), 13);
    // Every template's stop text the toy tokenizer can spell becomes a stop sequence.
    let stops = ChatTemplate::R1Zero.stop_sequences(&tokenizer);
    assert_eq!(stops[0], vec![tokenizer.token_id("</answer>").unwrap()]);
    assert!(ChatTemplate::R1Zero
        .prompt(None, "2+2?")
        .ends_with("User: 2+2? Assistant:"));
    assert!(ChatTemplate::DeepseekR1
        .prompt(None, "q")
        .ends_with("<｜Assistant｜><think>\n"));
}

fn tempdir() -> TempDir {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let path = std::env::temp_dir().join(format!("r1-weights-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&path).unwrap();
    TempDir(path)
}

/// A folder removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_models_own_end_of_sequence_ids_end_its_rollouts() {
    use policy_trainer::model::sampling::Completion;
    use policy_trainer::model::ModelSource;
    use policy_trainer::train::policy::Policy;
    let tokenizer = toy_tokenizer();
    let config = common::tiny_config(tokenizer.vocab_size(), true, false);
    let (vars, _) = random_model(&config);
    let dir = tempdir();
    let saved = Saved {
        config: &config,
        vars: &vars,
        tokenizer: Some(&tokenizer),
        eos_tokens: &[],
    };
    save_hf(dir.path(), &saved).unwrap();
    // A Llama-3-style generation_config with two end ids, beside a config.json without any.
    std::fs::write(
        dir.path().join("generation_config.json"),
        r#"{"eos_token_id": [9, 12]}"#,
    )
    .unwrap();
    let source = ModelSource::from_path(dir.path(), ChatTemplate::Plain);
    let policy = Policy::load(&source, None, 0).unwrap();
    assert_eq!(policy.eos_tokens, vec![9, 12]);
    let stops = policy.stop_sequences();
    assert!(
        stops.contains(&vec![9]) && stops.contains(&vec![12]),
        "{stops:?}"
    );
    // The end id is not part of the text the rewards see.
    let completion = Completion {
        tokens: vec![3, 4, 12],
        logprobs: vec![0.0; 3],
        stopped: true,
    };
    let text = policy.completion_text(&completion).unwrap();
    assert_eq!(text, tokenizer.decode(&[3, 4]).unwrap());
    // Checkpoints write them back, so a later stage's model stops too.
    let again = tempdir();
    save_hf(again.path(), &policy.saved()).unwrap();
    let reloaded = load_hf(again.path(), DType::F32, &Device::Cpu).unwrap();
    assert_eq!(reloaded.eos_tokens, vec![9, 12]);
}
