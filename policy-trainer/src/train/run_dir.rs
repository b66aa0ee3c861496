//! The run folder: atomic checkpoints (weights, tokenizer, optimizer moments, the GRPO reference,
//! where to continue) and the final model.

use crate::error::TrainError;
use crate::model::weights::{self, write_synced};
use crate::train::optim::AdamW;
use crate::train::policy::Policy;
use candle_core::Tensor;
use candle_nn::VarMap;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Which loop a checkpoint belongs to (a `grpo` run may start with a cold-start `sft` phase).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Sft,
    Grpo,
}

/// Saved beside the weights: where to continue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    pub phase: Phase,
    /// Steps of `phase` completed.
    pub step: usize,
    pub optimizer_steps: usize,
    /// The config the run started with, as the layer above wrote it (a resume with a different
    /// one is refused).
    pub config: serde_json::Value,
}

/// The run folder.
pub struct RunDir {
    pub root: PathBuf,
    keep: usize,
}

impl RunDir {
    pub fn create(root: &Path, keep: usize) -> Result<RunDir, TrainError> {
        std::fs::create_dir_all(root).map_err(|e| TrainError::io(root, e))?;
        Ok(RunDir {
            root: root.to_path_buf(),
            keep: keep.max(1),
        })
    }

    /// The newest complete checkpoint (folders appear only by an atomic rename).
    pub fn latest_checkpoint(&self) -> Result<Option<(PathBuf, TrainerState)>, TrainError> {
        let mut best: Option<(u64, PathBuf)> = None;
        for (rank, path) in self.checkpoints()? {
            if best.as_ref().is_none_or(|(b, _)| rank > *b) {
                best = Some((rank, path));
            }
        }
        match best {
            None => Ok(None),
            Some((_, path)) => {
                let state_path = path.join("trainer_state.json");
                let text = std::fs::read_to_string(&state_path)
                    .map_err(|e| TrainError::io(&state_path, e))?;
                let state =
                    serde_json::from_str(&text).map_err(|e| TrainError::json(&state_path, e))?;
                Ok(Some((path, state)))
            }
        }
    }

    /// `(rank, folder)` of every complete checkpoint; rank orders SFT before GRPO steps.
    fn checkpoints(&self) -> Result<Vec<(u64, PathBuf)>, TrainError> {
        let entries = std::fs::read_dir(&self.root).map_err(|e| TrainError::io(&self.root, e))?;
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let Some(rest) = name.strip_prefix("checkpoint-") else {
                continue;
            };
            let Some((phase, step)) = rest.split_once('-') else {
                continue;
            };
            let Ok(step) = step.parse::<u64>() else {
                continue;
            };
            let rank = match phase {
                "sft" => step,
                "grpo" => (1 << 40) + step,
                _ => continue,
            };
            found.push((rank, entry.path()));
        }
        Ok(found)
    }

    /// Save weights, tokenizer, optimizer moments and state into `checkpoint-<phase>-<step>`:
    /// written into a temporary folder, every file fsynced, then renamed (a crash leaves either
    /// the old set of checkpoints or the new one). Older checkpoints beyond `keep` are removed.
    pub fn save_checkpoint(
        &self,
        policy: &Policy,
        optimizer: &AdamW,
        reference: Option<&VarMap>,
        state: &TrainerState,
    ) -> Result<PathBuf, TrainError> {
        let phase = match state.phase {
            Phase::Sft => "sft",
            Phase::Grpo => "grpo",
        };
        let name = format!("checkpoint-{phase}-{:06}", state.step);
        let tmp = self.root.join(format!(".{name}.tmp"));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
        weights::save_hf(&tmp, &policy.saved())?;
        optimizer.save(&tmp.join("optimizer.safetensors"))?;
        if let Some(reference) = reference {
            let vars = reference.data().lock().unwrap_or_else(|e| e.into_inner());
            let tensors: std::collections::HashMap<String, Tensor> = vars
                .iter()
                .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
                .collect();
            let path = tmp.join("reference.safetensors");
            candle_core::safetensors::save(&tensors, &path)
                .map_err(|e| crate::model::ModelError::weights(&path, e))?;
            weights::sync_file(&path)?;
        }
        write_synced(
            &tmp.join("trainer_state.json"),
            serde_json::to_string_pretty(state)
                .map_err(|e| TrainError::json(&tmp, e))?
                .as_bytes(),
        )?;
        let target = self.root.join(&name);
        let _ = std::fs::remove_dir_all(&target);
        std::fs::rename(&tmp, &target).map_err(|e| TrainError::io(&tmp, e))?;
        sync_dir(&self.root)?;
        let mut all = self.checkpoints()?;
        all.sort();
        let excess = all.len().saturating_sub(self.keep);
        for (_, old) in all.into_iter().take(excess) {
            let _ = std::fs::remove_dir_all(old);
        }
        Ok(target)
    }

    /// Write the final model (HF layout) into `final/`, atomically like a checkpoint.
    pub fn save_final(&self, policy: &Policy) -> Result<PathBuf, TrainError> {
        let tmp = self.root.join(".final.tmp");
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
        weights::save_hf(&tmp, &policy.saved())?;
        let target = self.root.join("final");
        let _ = std::fs::remove_dir_all(&target);
        std::fs::rename(&tmp, &target).map_err(|e| TrainError::io(&tmp, e))?;
        sync_dir(&self.root)?;
        Ok(target)
    }
}

fn sync_dir(dir: &Path) -> Result<(), TrainError> {
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| TrainError::io(dir, e))
}
