//! AdamW with f32 moments whatever the parameters' dtype, global-norm gradient clipping,
//! gradient accumulation across micro-batches, warm-up + cosine learning rates, and a state that
//! checkpoints (candle-nn's AdamW keeps moments in the parameter dtype, cannot clip, and hides
//! its state).

use crate::error::TrainError;
use crate::model::weights::sync_file;
use crate::model::ModelError;
use candle_core::backprop::GradStore;
use candle_core::{DType, Tensor, Var};
use candle_nn::VarMap;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerConfig {
    /// Peak learning rate.
    pub lr: f64,
    #[serde(default = "default_beta1")]
    pub beta1: f64,
    #[serde(default = "default_beta2")]
    pub beta2: f64,
    #[serde(default = "default_eps")]
    pub eps: f64,
    /// Decoupled weight decay, applied to the weight matrices only: norms, biases and the
    /// embeddings (also the tied head) are left alone unless `decay_all_parameters`.
    #[serde(default)]
    pub weight_decay: f64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub decay_all_parameters: bool,
    /// Clip the global gradient norm to this (0 = off).
    #[serde(default = "default_clip")]
    pub max_grad_norm: f64,
    /// Linear warm-up from 0 over this many steps.
    #[serde(default)]
    pub warmup_steps: usize,
    /// Cosine decay to `min_lr_ratio · lr` at the last step (1 = constant after warm-up).
    #[serde(default = "default_min_lr_ratio")]
    pub min_lr_ratio: f64,
}

fn default_beta1() -> f64 {
    0.9
}
fn default_beta2() -> f64 {
    0.999
}
fn default_eps() -> f64 {
    1e-8
}
fn default_clip() -> f64 {
    1.0
}
fn default_min_lr_ratio() -> f64 {
    0.1
}

impl OptimizerConfig {
    pub fn validate(&self) -> Result<(), TrainError> {
        let ok = self.lr > 0.0
            && (0.0..1.0).contains(&self.beta1)
            && (0.0..1.0).contains(&self.beta2)
            && self.eps > 0.0
            && self.weight_decay >= 0.0
            && self.max_grad_norm >= 0.0
            && (0.0..=1.0).contains(&self.min_lr_ratio);
        if ok {
            Ok(())
        } else {
            Err(TrainError::Config(format!(
                "optimizer: need lr > 0, 0 <= betas < 1, eps > 0, weight_decay >= 0, max_grad_norm >= 0, 0 <= min_lr_ratio <= 1 (got {self:?})"
            )))
        }
    }

    /// The learning rate of optimizer step `step` (0-based) out of `total`.
    pub fn learning_rate(&self, step: usize, total: usize) -> f64 {
        if step < self.warmup_steps {
            return self.lr * (step + 1) as f64 / self.warmup_steps as f64;
        }
        let decay_steps = total.saturating_sub(self.warmup_steps).max(1);
        let progress = ((step - self.warmup_steps) as f64 / decay_steps as f64).min(1.0);
        let cosine = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
        self.lr * (self.min_lr_ratio + (1.0 - self.min_lr_ratio) * cosine)
    }
}

/// Whether weight decay applies to the parameter `name` by default: not to norms, biases or
/// embeddings (decaying a norm's gain or an embedding row pulls them toward 0, not toward a
/// simpler function).
fn decays(name: &str) -> bool {
    !(name.contains("norm") || name.ends_with(".bias") || name.contains("embed_tokens"))
}

/// Gradients summed over micro-batches, by parameter name.
#[derive(Default)]
pub struct Accumulated {
    grads: HashMap<String, Tensor>,
}

impl Accumulated {
    /// Add the gradients of one micro-batch's backward pass.
    pub fn add(&mut self, vars: &[(String, Var)], store: &GradStore) -> Result<(), TrainError> {
        for (name, var) in vars {
            if let Some(grad) = store.get(var.as_tensor()) {
                let grad = grad.to_dtype(DType::F32)?;
                let sum = match self.grads.remove(name) {
                    Some(previous) => (previous + grad)?,
                    None => grad,
                };
                self.grads.insert(name.clone(), sum);
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.grads.is_empty()
    }
}

/// What one optimizer step did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport {
    pub lr: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
}

/// AdamW over a [`VarMap`]'s parameters, in name order.
pub struct AdamW {
    pub config: OptimizerConfig,
    vars: Vec<(String, Var)>,
    first: Vec<Tensor>,
    second: Vec<Tensor>,
    /// Optimizer steps taken (the bias-correction counter).
    pub steps: usize,
}

impl AdamW {
    pub fn new(vars: &VarMap, config: OptimizerConfig) -> Result<AdamW, TrainError> {
        config.validate()?;
        let mut named: Vec<(String, Var)> = vars
            .data()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let zeros = |v: &Var| v.as_tensor().zeros_like()?.to_dtype(DType::F32);
        let first = named
            .iter()
            .map(|(_, v)| zeros(v))
            .collect::<Result<_, _>>()?;
        let second = named
            .iter()
            .map(|(_, v)| zeros(v))
            .collect::<Result<_, _>>()?;
        Ok(AdamW {
            config,
            vars: named,
            first,
            second,
            steps: 0,
        })
    }

    /// The parameters in the optimizer's order (to collect their gradients).
    pub fn vars(&self) -> &[(String, Var)] {
        &self.vars
    }

    /// Clip, then update every parameter that has a gradient, at learning rate `lr`.
    pub fn step(&mut self, grads: &Accumulated, lr: f64) -> Result<StepReport, TrainError> {
        let mut squared = 0.0;
        for grad in grads.grads.values() {
            squared += grad.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
        }
        let grad_norm = squared.sqrt();
        if !grad_norm.is_finite() {
            return Err(TrainError::Input(format!(
                "gradient norm is {grad_norm}: the loss diverged"
            )));
        }
        let clip = if self.config.max_grad_norm > 0.0 && grad_norm > self.config.max_grad_norm {
            self.config.max_grad_norm / (grad_norm + 1e-6)
        } else {
            1.0
        };
        self.steps += 1;
        let c = &self.config;
        let correction1 = 1.0 - c.beta1.powi(self.steps as i32);
        let correction2 = 1.0 - c.beta2.powi(self.steps as i32);
        for (i, (name, var)) in self.vars.iter().enumerate() {
            let Some(grad) = grads.grads.get(name) else {
                continue;
            };
            let grad = (grad * clip)?;
            self.first[i] = ((&self.first[i] * c.beta1)? + (&grad * (1.0 - c.beta1))?)?;
            self.second[i] = ((&self.second[i] * c.beta2)? + (grad.sqr()? * (1.0 - c.beta2))?)?;
            let m_hat = (&self.first[i] / correction1)?;
            let v_hat = (&self.second[i] / correction2)?;
            let update = (m_hat / (v_hat.sqrt()? + c.eps)?)?;
            let decay = if c.decay_all_parameters || decays(name) {
                c.weight_decay
            } else {
                0.0
            };
            let theta = var.as_tensor().to_dtype(DType::F32)?;
            let theta = ((&theta * (1.0 - lr * decay))? - (update * lr)?)?;
            var.set(&theta.to_dtype(var.dtype())?)?;
        }
        Ok(StepReport { lr, grad_norm })
    }

    /// Save the moments (f32 safetensors); the step counter goes in the trainer state.
    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        let mut tensors = HashMap::new();
        for (i, (name, _)) in self.vars.iter().enumerate() {
            tensors.insert(
                format!("m.{name}"),
                self.first[i].to_device(&candle_core::Device::Cpu)?,
            );
            tensors.insert(
                format!("v.{name}"),
                self.second[i].to_device(&candle_core::Device::Cpu)?,
            );
        }
        candle_core::safetensors::save(&tensors, path).map_err(|e| ModelError::weights(path, e))?;
        Ok(sync_file(path)?)
    }

    /// Restore moments saved by [`AdamW::save`] for the same parameters.
    pub fn load(&mut self, path: &Path, steps: usize) -> Result<(), TrainError> {
        let device = self.vars.first().map(|(_, v)| v.device().clone());
        let Some(device) = device else {
            return Ok(());
        };
        let tensors = candle_core::safetensors::load(path, &device)
            .map_err(|e| ModelError::weights(path, e))?;
        for (i, (name, var)) in self.vars.iter().enumerate() {
            for (prefix, slot) in [("m", &mut self.first[i]), ("v", &mut self.second[i])] {
                let tensor = tensors.get(&format!("{prefix}.{name}")).ok_or_else(|| {
                    TrainError::Input(format!("{}: no moment for {name}", path.display()))
                })?;
                if tensor.dims() != var.dims() {
                    return Err(TrainError::Input(format!(
                        "{}: moment of {name} has the wrong shape",
                        path.display()
                    )));
                }
                *slot = tensor.to_dtype(DType::F32)?;
            }
        }
        self.steps = steps;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::decays;

    #[test]
    fn weight_decay_spares_norms_biases_and_embeddings() {
        for name in [
            "model.layers.0.input_layernorm.weight",
            "model.norm.weight",
            "model.layers.3.self_attn.q_proj.bias",
            "model.embed_tokens.weight",
        ] {
            assert!(!decays(name), "{name}");
        }
        for name in [
            "model.layers.0.self_attn.q_proj.weight",
            "model.layers.1.mlp.down_proj.weight",
            "lm_head.weight",
        ] {
            assert!(decays(name), "{name}");
        }
    }
}
