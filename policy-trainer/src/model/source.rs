//! Where a model's weights and tokenizer come from (`[model]` in every config), and loading them:
//! a toy model drawn from a seed, a Hugging Face folder or a GGUF file, on a device and dtype.

use crate::model::decoder::{Decoder, ModelConfig};
use crate::model::error::ModelError;
use crate::model::template::ChatTemplate;
use crate::model::tokenizer::{toy_tokenizer, Tokenizer};
use crate::model::weights;
use candle_nn::VarMap;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Where the initial weights come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSource {
    /// `toy` (random init with the toy tokenizer), `hf` (a folder) or `gguf` (a file).
    pub source: SourceKind,
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// A `tokenizer.json` overriding the one found with the weights.
    #[serde(default)]
    pub tokenizer: Option<PathBuf>,
    #[serde(default)]
    pub template: ChatTemplate,
    /// A system message for every prompt.
    #[serde(default)]
    pub system: Option<String>,
    /// The compute dtype (parameters and optimizer state stay in f32).
    #[serde(default)]
    pub dtype: WeightDType,
    #[serde(default)]
    pub device: DeviceKind,
    /// Let f32 matmuls on CUDA use TF32 tensor cores (faster; ~1e-3 relative precision).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tf32: bool,
    /// Shape of a `toy` model.
    #[serde(default)]
    pub toy: ToyShape,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Toy,
    Hf,
    Gguf,
}

/// The dtype the forward and backward passes run in. Parameters and the optimizer's state are
/// f32 whatever this is; `f16` is refused (it would need loss scaling).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightDType {
    #[default]
    F32,
    Bf16,
    F16,
}

impl From<WeightDType> for candle_core::DType {
    fn from(dtype: WeightDType) -> candle_core::DType {
        match dtype {
            WeightDType::F32 => candle_core::DType::F32,
            WeightDType::Bf16 => candle_core::DType::BF16,
            WeightDType::F16 => candle_core::DType::F16,
        }
    }
}

/// Where tensors live: the CPU, or the first CUDA GPU (needs the `cuda` feature).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    #[default]
    Cpu,
    Cuda,
}

impl DeviceKind {
    pub fn open(self) -> Result<candle_core::Device, ModelError> {
        match self {
            DeviceKind::Cpu => Ok(candle_core::Device::Cpu),
            DeviceKind::Cuda => {
                candle_core::Device::new_cuda(0).map_err(|source| ModelError::Device {
                    hint: "build with `--features cuda` on a machine with a GPU",
                    source,
                })
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToyShape {
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
}

impl Default for ToyShape {
    fn default() -> Self {
        ToyShape {
            hidden_size: 64,
            intermediate_size: 128,
            layers: 2,
            heads: 4,
            kv_heads: 2,
        }
    }
}

/// A model's architecture, parameters and tokenizer, on its device.
pub struct LoadedModel {
    pub config: ModelConfig,
    pub vars: VarMap,
    pub decoder: Decoder,
    pub tokenizer: Tokenizer,
    /// The model's own end-of-sequence ids, plus the template's end-of-turn token.
    pub eos_tokens: Vec<u32>,
}

impl ModelSource {
    /// The model at `path`: a `.gguf` file, or else a Hugging Face folder; f32 on the CPU.
    pub fn from_path(path: &Path, template: ChatTemplate) -> ModelSource {
        let source = if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
        {
            SourceKind::Gguf
        } else {
            SourceKind::Hf
        };
        ModelSource {
            source,
            path: Some(path.to_path_buf()),
            tokenizer: None,
            template,
            system: None,
            dtype: WeightDType::default(),
            device: DeviceKind::default(),
            tf32: false,
            toy: ToyShape::default(),
        }
    }

    /// Load the weights this names, or a checkpoint folder (HF layout) instead; `seed` draws a
    /// toy model's initial weights.
    pub fn load(&self, checkpoint: Option<&Path>, seed: u64) -> Result<LoadedModel, ModelError> {
        let device = self.device.open()?;
        if self.tf32 && self.device == DeviceKind::Cuda {
            candle_core::cuda::set_gemm_reduced_precision_f32(true);
        }
        let dtype = self.dtype.into();
        let path = self.path.as_deref().map(expand_home).unwrap_or_default();
        let loaded = match (checkpoint, self.source) {
            (Some(dir), _) => weights::load_hf(dir, dtype, &device)?,
            (None, SourceKind::Toy) => self.toy_model(dtype, &device, seed)?,
            (None, SourceKind::Hf) => weights::load_hf(&path, dtype, &device)?,
            (None, SourceKind::Gguf) => weights::load_gguf(&path, dtype, &device)?,
        };
        let tokenizer = match &self.tokenizer {
            Some(path) => Tokenizer::from_file(&expand_home(path))?,
            None => loaded.tokenizer.ok_or_else(|| {
                ModelError::Config(
                    "the weights come without tokenizer.json: set model.tokenizer".into(),
                )
            })?,
        };
        if tokenizer.vocab_size() > loaded.config.vocab_size {
            return Err(ModelError::Config(format!(
                "the tokenizer has {} tokens but the model only {}",
                tokenizer.vocab_size(),
                loaded.config.vocab_size
            )));
        }
        let decoder = Decoder::new(&loaded.config, &loaded.vars, dtype, &device)?;
        let mut eos_tokens = loaded.eos_tokens;
        eos_tokens.extend(tokenizer.token_id(self.template.end_of_turn()));
        eos_tokens.sort_unstable();
        eos_tokens.dedup();
        Ok(LoadedModel {
            eos_tokens,
            config: loaded.config,
            vars: loaded.vars,
            decoder,
            tokenizer,
        })
    }

    /// A toy-shaped model drawn from `seed`; it may take a real tokenizer (a small
    /// distillation student).
    fn toy_model(
        &self,
        dtype: candle_core::DType,
        device: &candle_core::Device,
        seed: u64,
    ) -> Result<weights::Loaded, ModelError> {
        let tokenizer = match &self.tokenizer {
            Some(path) => Tokenizer::from_file(&expand_home(path))?,
            None => toy_tokenizer(),
        };
        let shape = &self.toy;
        let config = ModelConfig {
            vocab_size: tokenizer.vocab_size(),
            hidden_size: shape.hidden_size,
            intermediate_size: shape.intermediate_size,
            num_hidden_layers: shape.layers,
            num_attention_heads: shape.heads,
            num_key_value_heads: shape.kv_heads,
            rms_norm_eps: 1e-6,
            rope_theta: 10_000.0,
            tie_word_embeddings: true,
            attention_bias: false,
            max_position_embeddings: 512,
        };
        let vars = VarMap::new();
        Decoder::new(&config, &vars, dtype, device)?;
        seeded_init(&vars, seed)?;
        Ok(weights::Loaded {
            config,
            vars,
            tokenizer: Some(tokenizer),
            eos_tokens: Vec::new(),
        })
    }
}

/// `~/…` → `$HOME/…` (configs name files under the shared cache folder this way).
fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path.to_path_buf(),
    }
}

/// Re-draw matrices from N(0, 0.02²) with a seeded generator (candle's CPU init is unseeded);
/// norms stay at one and biases at zero.
fn seeded_init(vars: &VarMap, seed: u64) -> Result<(), ModelError> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x5eed);
    let data = vars.data().lock().unwrap_or_else(|e| e.into_inner());
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    for name in names {
        let var = &data[name];
        if name.contains("norm") || name.ends_with(".bias") {
            continue;
        }
        let values: Vec<f32> = (0..var.elem_count())
            .map(|_| {
                // Box–Muller.
                let u1: f64 = rng.random::<f64>().max(1e-12);
                let u2: f64 = rng.random::<f64>();
                (0.02 * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
            })
            .collect();
        let tensor = candle_core::Tensor::from_vec(values, var.dims(), var.device())?
            .to_dtype(var.dtype())?;
        var.set(&tensor)?;
    }
    Ok(())
}
