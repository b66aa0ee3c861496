//! The model's own end-of-sequence ids, from wherever its files keep them: a Hugging Face
//! folder's `generation_config.json` and `config.json` (`eos_token_id`, a number or a list) and
//! `tokenizer_config.json` (`eos_token`, a string or `{"content": ...}`), or GGUF metadata
//! (`tokenizer.ggml.eos_token_id`, `tokenizer.ggml.eot_token_id`). Without them generation
//! stops only on the chat template's texts, and a model that ends with `</s>` or `<|eot_id|>`
//! runs every rollout to the budget.

use crate::model::error::ModelError;
use crate::model::tokenizer::Tokenizer;
use candle_core::quantized::gguf_file;
use serde_json::Value;
use std::path::Path;

/// End-of-sequence ids named by the files of the HF folder `dir`, sorted, without repeats.
pub fn from_hf_folder(dir: &Path, tokenizer: Option<&Tokenizer>) -> Result<Vec<u32>, ModelError> {
    let mut ids = Vec::new();
    for file in ["generation_config.json", "config.json"] {
        if let Some(json) = read_json(&dir.join(file))? {
            ids.extend(numbers(&json["eos_token_id"]));
        }
    }
    if let (Some(json), Some(tokenizer)) =
        (read_json(&dir.join("tokenizer_config.json"))?, tokenizer)
    {
        let token = &json["eos_token"];
        let text = token.as_str().or_else(|| token["content"].as_str());
        ids.extend(text.and_then(|t| tokenizer.token_id(t)));
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// End-of-sequence (and end-of-turn) ids in GGUF metadata.
pub fn from_gguf(content: &gguf_file::Content) -> Vec<u32> {
    let mut ids: Vec<u32> = ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"]
        .iter()
        .filter_map(|key| content.metadata.get(*key)?.to_u32().ok())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// `eos_token_id` as `config.json` and `generation_config.json` write it: one id or a list.
pub fn to_json(ids: &[u32]) -> Value {
    match ids {
        [one] => Value::from(*one),
        many => Value::from(many.to_vec()),
    }
}

fn numbers(value: &Value) -> Vec<u32> {
    match value {
        Value::Array(items) => items.iter().flat_map(numbers).collect(),
        other => other
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .into_iter()
            .collect(),
    }
}

fn read_json(path: &Path) -> Result<Option<Value>, ModelError> {
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| ModelError::json(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_and_shape_is_read_and_merged() {
        let dir = std::env::temp_dir().join(format!("r1-eos-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("generation_config.json"),
            r#"{"eos_token_id": [128001, 128009]}"#,
        )
        .unwrap();
        std::fs::write(dir.join("config.json"), r#"{"eos_token_id": 128001}"#).unwrap();
        assert_eq!(from_hf_folder(&dir, None).unwrap(), vec![128001, 128009]);
        std::fs::write(dir.join("config.json"), r#"{"eos_token_id": null}"#).unwrap();
        std::fs::remove_file(dir.join("generation_config.json")).unwrap();
        assert!(from_hf_folder(&dir, None).unwrap().is_empty());
        std::fs::write(dir.join("config.json"), "{not json").unwrap();
        assert!(from_hf_folder(&dir, None).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(to_json(&[2]), Value::from(2));
        assert_eq!(to_json(&[2, 7]), Value::from(vec![2, 7]));
    }
}
