//! The model being trained: its parameters, the decoder over them, and what turns text into its
//! tokens and back (tokenizer, chat template, system message).

use crate::error::TrainError;
use crate::model::decoder::{Decoder, ModelConfig};
use crate::model::generate::Completion;
use crate::model::source::ModelSource;
use crate::model::template::ChatTemplate;
use crate::model::tokenizer::Tokenizer;
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
        })
    }

    /// Completion text for the rewards: end-of-turn markers are cut, answer tags kept.
    pub fn completion_text(&self, completion: &Completion) -> Result<String, TrainError> {
        let mut text = self.tokenizer.decode(&completion.tokens)?;
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
