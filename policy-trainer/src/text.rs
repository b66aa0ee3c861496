//! Text in and out of the model: a Hugging Face `tokenizer.json` (the `tokenizers` crate), chat
//! templates with their stop sequences, and the character-level toy tokenizer the tests and the
//! embedded default use.

use crate::error::TrainError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A loaded tokenizer.
#[derive(Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
}

impl Tokenizer {
    pub fn from_file(path: &Path) -> Result<Tokenizer, TrainError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| TrainError::Io(format!("reading {}: {e}", path.display())))?;
        Tokenizer::from_json(&text)
            .map_err(|e| TrainError::Input(format!("{}: {e}", path.display())))
    }

    pub fn from_json(json: &str) -> Result<Tokenizer, TrainError> {
        let inner: tokenizers::Tokenizer = json
            .parse()
            .map_err(|e| TrainError::Input(format!("not a tokenizer.json: {e}")))?;
        Ok(Tokenizer { inner })
    }

    /// The `tokenizer.json` text (what a checkpoint saves next to the weights).
    pub fn to_json(&self) -> Result<String, TrainError> {
        self.inner
            .to_string(false)
            .map_err(|e| TrainError::Input(format!("serialising the tokenizer: {e}")))
    }

    /// Token ids of `text`; special tokens written in the text (`<|im_end|>`) become their ids,
    /// and nothing is added around it (templates place BOS/EOS themselves).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, TrainError> {
        let encoding = self
            .inner
            .encode(text, false)
            .map_err(|e| TrainError::Input(format!("tokenizing: {e}")))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Text of `ids`, special tokens included (rewards check tags such as `</answer>`).
    pub fn decode(&self, ids: &[u32]) -> Result<String, TrainError> {
        self.inner
            .decode(ids, false)
            .map_err(|e| TrainError::Input(format!("detokenizing: {e}")))
    }

    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Ids 0..vocab_size, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }
}

/// How a prompt is wrapped before generation, and where generation ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ChatTemplate {
    /// `<|im_start|>user … <|im_end|> <|im_start|>assistant` (Qwen, SmolLM2); ends at `<|im_end|>`.
    #[default]
    Chatml,
    /// DeepSeek-R1-Zero's plain-text template: the policy answers in `<think>`/`<answer>` tags
    /// after "Assistant:"; ends at `</answer>`.
    R1Zero,
    /// DeepSeek-R1(-Distill)'s chat template, opening the reasoning block with `<think>\n`.
    DeepseekR1,
    /// The prompt as is (base-model completion); ends at the end-of-text token only.
    Plain,
}

const R1_ZERO_PREAMBLE: &str = "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>.";

impl ChatTemplate {
    /// The text the model continues for one user turn (with an optional system message).
    pub fn prompt(&self, system: Option<&str>, user: &str) -> String {
        match self {
            ChatTemplate::Chatml => {
                let mut text = String::new();
                if let Some(system) = system {
                    text.push_str(&format!("<|im_start|>system\n{system}<|im_end|>\n"));
                }
                text.push_str(&format!(
                    "<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
                ));
                text
            }
            ChatTemplate::R1Zero => {
                let preamble = system.unwrap_or(R1_ZERO_PREAMBLE);
                format!("{preamble} User: {user} Assistant:")
            }
            ChatTemplate::DeepseekR1 => format!(
                "<｜begin▁of▁sentence｜>{}<｜User｜>{user}<｜Assistant｜><think>\n",
                system.unwrap_or("")
            ),
            ChatTemplate::Plain => user.to_string(),
        }
    }

    /// Text appended after a supervised completion (so SFT teaches the model to stop).
    pub fn end_of_turn(&self) -> &'static str {
        match self {
            ChatTemplate::Chatml => "<|im_end|>",
            ChatTemplate::R1Zero => "",
            ChatTemplate::DeepseekR1 => "<｜end▁of▁sentence｜>",
            ChatTemplate::Plain => "",
        }
    }

    /// Texts that end generation (each is tokenized and matched as a token sequence).
    pub fn stop_texts(&self) -> &'static [&'static str] {
        match self {
            ChatTemplate::Chatml => &["<|im_end|>", "<|endoftext|>"],
            ChatTemplate::R1Zero => &["</answer>", "<|endoftext|>"],
            ChatTemplate::DeepseekR1 => &["<｜end▁of▁sentence｜>"],
            ChatTemplate::Plain => &["<|endoftext|>"],
        }
    }

    /// Stop sequences as token ids; texts the tokenizer cannot spell are left out.
    pub fn stop_sequences(&self, tokenizer: &Tokenizer) -> Vec<Vec<u32>> {
        self.stop_texts()
            .iter()
            .filter_map(|text| {
                let ids = tokenizer.encode(text).ok()?;
                (!ids.is_empty() && tokenizer.decode(&ids).ok()?.as_str() == *text).then_some(ids)
            })
            .collect()
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
