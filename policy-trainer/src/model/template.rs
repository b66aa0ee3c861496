//! Chat templates: how a user turn is wrapped before generation, what ends a supervised
//! completion, and which texts stop generation.

use crate::model::tokenizer::Tokenizer;
use serde::{Deserialize, Serialize};

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

/// A template by its config name (`chatml`, `r1_zero`, `deepseek_r1`, `plain`).
impl std::str::FromStr for ChatTemplate {
    type Err = String;

    fn from_str(name: &str) -> Result<ChatTemplate, String> {
        serde_json::from_value(serde_json::Value::String(name.into()))
            .map_err(|_| format!("{name:?}: use chatml, r1_zero, deepseek_r1 or plain"))
    }
}
