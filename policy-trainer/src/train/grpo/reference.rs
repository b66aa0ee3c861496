//! The GRPO reference model for the KL term: a frozen copy of the policy at the loop's start
//! (restored from the checkpoint on resume), optionally reset to the policy every few steps.

use crate::error::TrainError;
use crate::model::{Decoder, ModelError};
use crate::train::policy::{copy_vars, Policy};
use candle_nn::VarMap;
use std::path::Path;

/// The reference, or none when β = 0 (the KL term is skipped entirely).
pub struct Reference(Option<(VarMap, Decoder)>);

impl Reference {
    /// A copy of the policy's weights, or the reference a checkpoint saved.
    pub fn new(
        policy: &Policy,
        beta: f64,
        checkpoint: Option<&Path>,
    ) -> Result<Reference, TrainError> {
        if beta <= 0.0 {
            return Ok(Reference(None));
        }
        let (vars, model) = policy.frozen_copy()?;
        if let Some(dir) = checkpoint {
            restore(&vars, &dir.join("reference.safetensors"), policy)?;
        }
        Ok(Reference(Some((vars, model))))
    }

    pub fn model(&self) -> Option<&Decoder> {
        self.0.as_ref().map(|(_, model)| model)
    }

    pub fn vars(&self) -> Option<&VarMap> {
        self.0.as_ref().map(|(vars, _)| vars)
    }

    /// Copy the policy into the reference after every `every` steps (0: never).
    pub fn reset_if_due(
        &self,
        policy: &Policy,
        done: usize,
        every: usize,
    ) -> Result<(), TrainError> {
        match &self.0 {
            Some((vars, _)) if every > 0 && done.is_multiple_of(every) => {
                copy_vars(&policy.vars, vars)
            }
            _ => Ok(()),
        }
    }
}

fn restore(vars: &VarMap, path: &Path, policy: &Policy) -> Result<(), TrainError> {
    let saved = candle_core::safetensors::load(path, policy.model.device())
        .map_err(|e| ModelError::weights(path, e))?;
    let data = vars.data().lock().unwrap_or_else(|e| e.into_inner());
    for (name, var) in data.iter() {
        let tensor = saved.get(name).ok_or_else(|| {
            TrainError::Input(format!("{}: the reference lacks {name}", path.display()))
        })?;
        var.set(tensor)?;
    }
    Ok(())
}
