//! Text to token ids and back: a Hugging Face `tokenizer.json` (the `tokenizers` crate), and the
//! character-level toy tokenizer the tests and the embedded defaults use.

use crate::model::error::ModelError;
use std::path::Path;

/// A loaded tokenizer.
#[derive(Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
}

impl Tokenizer {
    pub fn from_file(path: &Path) -> Result<Tokenizer, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
        Tokenizer::parse(&text, format!("reading {}", path.display()))
    }

    pub fn from_json(json: &str) -> Result<Tokenizer, ModelError> {
        Tokenizer::parse(json, "reading a tokenizer.json".into())
    }

    fn parse(json: &str, context: String) -> Result<Tokenizer, ModelError> {
        let inner: tokenizers::Tokenizer = json
            .parse()
            .map_err(|source| ModelError::Tokenizer { context, source })?;
        Ok(Tokenizer { inner })
    }

    /// The `tokenizer.json` text (what a checkpoint saves next to the weights).
    pub fn to_json(&self) -> Result<String, ModelError> {
        self.inner
            .to_string(false)
            .map_err(|source| ModelError::Tokenizer {
                context: "serialising the tokenizer".into(),
                source,
            })
    }

    /// Token ids of `text`; special tokens written in the text (`<|im_end|>`) become their ids,
    /// and nothing is added around it (templates place BOS/EOS themselves).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        let encoding = self
            .inner
            .encode(text, false)
            .map_err(|source| ModelError::Tokenizer {
                context: "tokenizing".into(),
                source,
            })?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Text of `ids`, special tokens included (rewards check tags such as `</answer>`).
    pub fn decode(&self, ids: &[u32]) -> Result<String, ModelError> {
        self.inner
            .decode(ids, false)
            .map_err(|source| ModelError::Tokenizer {
                context: "detokenizing".into(),
                source,
            })
    }

    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Ids 0..vocab_size, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }
}

/// Tokens the toy tokenizer treats as units: chat markers, reasoning tags and `\boxed{`.
pub const TOY_SPECIAL_TOKENS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];
const TOY_UNIT_TOKENS: [&str; 5] = ["<think>", "</think>", "<answer>", "</answer>", "\\boxed{"];

/// A character-level tokenizer over printable ASCII and newline, with the chat markers as
/// special tokens and the reasoning tags as single tokens: small enough for a model with a few
/// thousand parameters per layer, real enough to round-trip every toy prompt and answer.
pub fn toy_tokenizer() -> Tokenizer {
    let mut vocab = serde_json::Map::new();
    let mut added = Vec::new();
    for (id, token) in TOY_SPECIAL_TOKENS.iter().enumerate() {
        vocab.insert(token.to_string(), id.into());
        added.push(added_token(id, token, true));
    }
    for token in TOY_UNIT_TOKENS {
        let id = vocab.len();
        vocab.insert(token.to_string(), id.into());
        added.push(added_token(id, token, false));
    }
    for c in std::iter::once('\n').chain((32u8..127).map(char::from)) {
        let id = vocab.len();
        vocab.insert(c.to_string(), id.into());
    }
    let json = serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "[\\s\\S]"}, "behavior": "Isolated", "invert": false},
        "post_processor": null,
        "decoder": {"type": "Fuse"},
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                  "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
                  "ignore_merges": false, "vocab": vocab, "merges": []}
    });
    Tokenizer::from_json(&json.to_string()).expect("the toy tokenizer is well formed")
}

fn added_token(id: usize, content: &str, special: bool) -> serde_json::Value {
    serde_json::json!({"id": id, "content": content, "single_word": false, "lstrip": false,
                       "rstrip": false, "normalized": false, "special": special})
}
