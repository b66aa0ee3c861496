//! The model being trained: its parameters, the decoder over them, and what turns text into its
//! tokens and back (tokenizer, chat template, system message).

use crate::error::TrainError;
use crate::model::decoder::{Decoder, ModelConfig};
use crate::model::sampling::Completion;
use crate::model::source::ModelSource;
use crate::model::template::ChatTemplate;
use crate::model::tokenizer::Tokenizer;
use crate::model::weights;
use candle_nn::VarMap;
use std::path::Path;

/// The model being trained, with what turns text into its tokens and back.
pub struct Policy {
    pub config: ModelConfig,
    pub vars: VarMap,
    pub model: Decoder,
    pub tokenizer: Tokenizer,
    pub template: ChatTemplate,
    pub system: Option<String>,
    /// The model's end-of-sequence ids (its files' and the template's end-of-turn token).
    pub eos_tokens: Vec<u32>,
}

impl Policy {
    /// Load the configured initial weights, or a checkpoint folder (HF layout) instead.
    pub fn load(
        source: &ModelSource,
        checkpoint: Option<&Path>,
        seed: u64,
    ) -> Result<Policy, TrainError> {
        let loaded = source.load(checkpoint, seed)?;
        Ok(Policy {
            config: loaded.config,
            vars: loaded.vars,
            model: loaded.decoder,
            tokenizer: loaded.tokenizer,
            template: source.template,
            system: source.system.clone(),
            eos_tokens: loaded.eos_tokens,
        })
    }

    /// What ends a rollout: the model's end-of-sequence ids and the template's stop texts.
    pub fn stop_sequences(&self) -> Vec<Vec<u32>> {
        let mut stops = self.template.stop_sequences(&self.tokenizer);
        for id in &self.eos_tokens {
            if !stops.iter().any(|s| s.as_slice() == [*id]) {
                stops.push(vec![*id]);
            }
        }
        stops
    }

    /// The model as [`weights::save_hf`] writes it.
    pub fn saved(&self) -> weights::Saved<'_> {
        weights::Saved {
            config: &self.config,
            vars: &self.vars,
            tokenizer: Some(&self.tokenizer),
            eos_tokens: &self.eos_tokens,
        }
    }

    /// Completion text for the rewards: end-of-turn markers are cut, answer tags kept.
    pub fn completion_text(&self, completion: &Completion) -> Result<String, TrainError> {
        let tokens = match completion.tokens.split_last() {
            Some((last, rest)) if self.eos_tokens.contains(last) => rest,
            _ => &completion.tokens[..],
        };
        let mut text = self.tokenizer.decode(tokens)?;
        for marker in ["<|im_end|>", "<|endoftext|>", "<｜end▁of▁sentence｜>"] {
            if let Some(stripped) = text.strip_suffix(marker) {
                text = stripped.to_string();
            }
        }
        Ok(text)
    }

    /// Prompt tokens of a user turn, wrapped in the chat template.
    pub fn prompt_tokens(&self, user: &str) -> Result<Vec<u32>, TrainError> {
        let prompt = self.template.prompt(self.system.as_deref(), user);
        Ok(self.tokenizer.encode(&prompt)?)
    }

    /// A frozen copy of the current weights (the GRPO reference).
    pub fn frozen_copy(&self) -> Result<(VarMap, Decoder), TrainError> {
        let vars = VarMap::new();
        let model = Decoder::new(&self.config, &vars, self.model.dtype(), self.model.device())?;
        copy_vars(&self.vars, &vars)?;
        Ok((vars, model))
    }

    /// Parameters in all.
    pub fn parameter_count(&self) -> usize {
        self.vars.all_vars().iter().map(|v| v.elem_count()).sum()
    }
}

/// Copy every parameter of `from` into `to` (same names and shapes).
pub fn copy_vars(from: &VarMap, to: &VarMap) -> Result<(), TrainError> {
    let source = from.data().lock().unwrap_or_else(|e| e.into_inner());
    let target = to.data().lock().unwrap_or_else(|e| e.into_inner());
    for (name, var) in target.iter() {
        let value = source
            .get(name)
            .ok_or_else(|| TrainError::Input(format!("no parameter {name} to copy")))?;
        var.set(&value.as_tensor().detach())?;
    }
    Ok(())
}
