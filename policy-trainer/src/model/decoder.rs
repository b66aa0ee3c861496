//! A trainable decoder-only transformer (Llama / Qwen2 family) built only from candle ops that
//! record a backward pass.
//!
//! candle-nn's fused `rms_norm`, `softmax_last_dim` and `rope` record no backward: a model built
//! on them trains only its head, silently. Here RMSNorm, rotary embeddings and the attention
//! softmax are written out from differentiable primitives, and a test asserts that every
//! parameter receives a non-zero gradient.

use crate::model::error::ModelError;
use crate::model::frozen::{frozen, FrozenLayer, FrozenLinear, FrozenWeights};
use candle_core::{DType, Device, Tensor, D};
use candle_nn::{Init, VarBuilder, VarMap};
use serde::{Deserialize, Serialize};

/// The architecture, in Hugging Face `config.json` terms (the fields Llama and Qwen2 share).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: usize,
    #[serde(default = "default_eps")]
    pub rms_norm_eps: f64,
    #[serde(default = "default_theta")]
    pub rope_theta: f64,
    #[serde(default)]
    pub tie_word_embeddings: bool,
    /// Bias on the q/k/v projections (Qwen2 has it; Llama does not).
    #[serde(default)]
    pub attention_bias: bool,
    #[serde(default = "default_max_positions")]
    pub max_position_embeddings: usize,
}

fn default_eps() -> f64 {
    1e-6
}
fn default_theta() -> f64 {
    10_000.0
}
fn default_max_positions() -> usize {
    2048
}

impl ModelConfig {
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    pub fn validate(&self) -> Result<(), ModelError> {
        let ok = self.vocab_size > 0
            && self.hidden_size > 0
            && self.num_hidden_layers > 0
            && self.num_attention_heads > 0
            && self.num_key_value_heads > 0
            && self.hidden_size.is_multiple_of(self.num_attention_heads)
            && self
                .num_attention_heads
                .is_multiple_of(self.num_key_value_heads)
            && self.head_dim().is_multiple_of(2);
        if ok {
            Ok(())
        } else {
            Err(ModelError::Config(format!(
                "inconsistent model shape: hidden {} / heads {} / kv heads {} (hidden must split into \
                 an even head size, heads into kv groups)",
                self.hidden_size, self.num_attention_heads, self.num_key_value_heads
            )))
        }
    }
}

/// `x / sqrt(mean(x²) + eps) · w`, from primitives (candle-nn's fused version has no backward).
struct RmsNorm {
    weight: Tensor,
    eps: f64,
}

impl RmsNorm {
    fn new(size: usize, eps: f64, vb: VarBuilder) -> candle_core::Result<RmsNorm> {
        Ok(RmsNorm {
            weight: vb.get_with_hints(size, "weight", Init::Const(1.0))?,
            eps,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let dtype = x.dtype();
        let x = x.to_dtype(stats_dtype(dtype))?;
        let mean_square = x.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = x.broadcast_div(&(mean_square + self.eps)?.sqrt()?)?;
        normed
            .to_dtype(dtype)?
            .broadcast_mul(&self.weight.to_dtype(dtype)?)
    }
}

/// Normalisation statistics in f32 at least (f64 when the model runs in f64).
fn stats_dtype(dtype: DType) -> DType {
    if dtype == DType::F64 {
        DType::F64
    } else {
        DType::F32
    }
}

/// The dtype parameters are stored and updated in: f32 master weights whatever the compute
/// dtype (a bf16 weight cannot take an Adam step much below its ~0.4% spacing), f64 for f64.
pub fn master_dtype(compute: DType) -> DType {
    if compute == DType::F64 {
        DType::F64
    } else {
        DType::F32
    }
}

/// A projection whose master weight is cast to the activations' dtype inside the graph, so the
/// forward runs in the compute dtype and the gradient lands on the f32 master.
struct Linear {
    weight: Tensor,
    bias: Option<Tensor>,
}

impl Linear {
    fn new(
        inputs: usize,
        outputs: usize,
        bias: bool,
        vb: VarBuilder,
    ) -> candle_core::Result<Linear> {
        let init = Init::Randn {
            mean: 0.0,
            stdev: 0.02,
        };
        let weight = vb.get_with_hints((outputs, inputs), "weight", init)?;
        let bias = if bias {
            Some(vb.get_with_hints(outputs, "bias", Init::Const(0.0))?)
        } else {
            None
        };
        Ok(Linear { weight, bias })
    }

    fn frozen(&self, dtype: DType) -> candle_core::Result<FrozenLinear> {
        FrozenLinear::new(&self.weight, self.bias.as_ref(), dtype)
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let dtype = x.dtype();
        let weight = self.weight.to_dtype(dtype)?;
        let y = match x.dims() {
            [b, t, k] => x
                .reshape((b * t, *k))?
                .matmul(&weight.t()?)?
                .reshape((*b, *t, ()))?,
            _ => x.matmul(&weight.t()?)?,
        };
        match &self.bias {
            Some(bias) => y.broadcast_add(&bias.to_dtype(dtype)?),
            None => Ok(y),
        }
    }
}

struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
}

impl Attention {
    fn new(config: &ModelConfig, vb: VarBuilder) -> candle_core::Result<Attention> {
        let (h, d) = (config.hidden_size, config.head_dim());
        let kv = config.num_key_value_heads * d;
        Ok(Attention {
            q: Linear::new(
                h,
                config.num_attention_heads * d,
                config.attention_bias,
                vb.pp("q_proj"),
            )?,
            k: Linear::new(h, kv, config.attention_bias, vb.pp("k_proj"))?,
            v: Linear::new(h, kv, config.attention_bias, vb.pp("v_proj"))?,
            o: Linear::new(config.num_attention_heads * d, h, false, vb.pp("o_proj"))?,
            heads: config.num_attention_heads,
            kv_heads: config.num_key_value_heads,
            head_dim: d,
        })
    }

    fn forward(
        &self,
        x: &Tensor,
        rope: &Rope,
        mask: Option<&Tensor>,
    ) -> candle_core::Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        let split = |y: Tensor, heads: usize| -> candle_core::Result<Tensor> {
            y.reshape((b, t, heads, self.head_dim))?.transpose(1, 2)
        };
        let q = rope.apply(&split(self.q.forward(x)?, self.heads)?)?;
        let k = rope.apply(&split(self.k.forward(x)?, self.kv_heads)?)?;
        let v = split(self.v.forward(x)?, self.kv_heads)?;
        let group = self.heads / self.kv_heads;
        let (k, v) = (repeat_kv(&k, group)?, repeat_kv(&v, group)?);
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let mut scores = (q.contiguous()?.matmul(&k.t()?.contiguous()?)? * scale)?;
        if let Some(mask) = mask {
            scores = scores.broadcast_add(mask)?;
        }
        let weights = candle_nn::ops::softmax(&scores, D::Minus1)?;
        let out = weights.matmul(&v.contiguous()?)?;
        let out = out
            .transpose(1, 2)?
            .reshape((b, t, self.heads * self.head_dim))?;
        self.o.forward(&out)
    }
}

/// `[b, kv, s, d]` → `[b, kv·group, s, d]`, each key/value head shared by `group` query heads.
fn repeat_kv(x: &Tensor, group: usize) -> candle_core::Result<Tensor> {
    if group == 1 {
        return Ok(x.clone());
    }
    let (b, kv, s, d) = x.dims4()?;
    x.unsqueeze(2)?
        .broadcast_as((b, kv, group, s, d))?
        .reshape((b, kv * group, s, d))
}

/// Rotary position embeddings in the Hugging Face layout (the two halves of a head rotate
/// together), from cos/sin tables and primitives.
struct Rope {
    cos: Tensor,
    sin: Tensor,
}

impl Rope {
    fn new(
        head_dim: usize,
        theta: f64,
        len: usize,
        dtype: DType,
        device: &Device,
    ) -> candle_core::Result<Rope> {
        let half = head_dim / 2;
        let inverse: Vec<f64> = (0..half)
            .map(|i| 1.0 / theta.powf(2.0 * i as f64 / head_dim as f64))
            .collect();
        let mut cos = Vec::with_capacity(len * head_dim);
        let mut sin = Vec::with_capacity(len * head_dim);
        for position in 0..len {
            for _half in 0..2 {
                for f in &inverse {
                    let angle = position as f64 * f;
                    cos.push(angle.cos());
                    sin.push(angle.sin());
                }
            }
        }
        Ok(Rope {
            cos: Tensor::from_vec(cos, (len, head_dim), device)?.to_dtype(dtype)?,
            sin: Tensor::from_vec(sin, (len, head_dim), device)?.to_dtype(dtype)?,
        })
    }

    /// `x · cos + rotate_half(x) · sin` for `x: [b, heads, t, d]`.
    fn apply(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let d = x.dim(D::Minus1)?;
        let first = x.narrow(D::Minus1, 0, d / 2)?;
        let second = x.narrow(D::Minus1, d / 2, d / 2)?;
        let rotated = Tensor::cat(&[&second.neg()?, &first], D::Minus1)?;
        x.broadcast_mul(&self.cos)?
            .add(&rotated.broadcast_mul(&self.sin)?)
    }
}

struct Mlp {
    gate: Linear,
    up: Linear,
    down: Linear,
}

impl Mlp {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let gated = candle_nn::ops::silu(&self.gate.forward(x)?)?;
        self.down.forward(&(gated * self.up.forward(x)?)?)
    }
}

struct Layer {
    attention_norm: RmsNorm,
    attention: Attention,
    mlp_norm: RmsNorm,
    mlp: Mlp,
}

/// The decoder. Parameters live in a [`VarMap`] under Hugging Face names.
pub struct Decoder {
    pub config: ModelConfig,
    embed: Tensor,
    layers: Vec<Layer>,
    norm: RmsNorm,
    /// `None` when tied to the embedding.
    head: Option<Tensor>,
    dtype: DType,
    device: Device,
}

impl Decoder {
    /// Build the model computing in `dtype`; missing parameters are created in `vars`, in the
    /// [`master_dtype`] (random init for a new model, or filled in afterwards by a loader).
    pub fn new(
        config: &ModelConfig,
        vars: &VarMap,
        dtype: DType,
        device: &Device,
    ) -> Result<Decoder, ModelError> {
        config.validate()?;
        if dtype == DType::F16 {
            return Err(ModelError::Config(
                "dtype f16 would need loss scaling, which this trainer does not do: use bf16 \
                 (the same memory and speed, f32's range) or f32"
                    .into(),
            ));
        }
        let vb = VarBuilder::from_varmap(vars, master_dtype(dtype), device);
        let model = vb.pp("model");
        let init = Init::Randn {
            mean: 0.0,
            stdev: 0.02,
        };
        let embed = model.get_with_hints(
            (config.vocab_size, config.hidden_size),
            "embed_tokens.weight",
            init,
        )?;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let vb = model.pp(format!("layers.{i}"));
            let (h, m) = (config.hidden_size, config.intermediate_size);
            layers.push(Layer {
                attention_norm: RmsNorm::new(h, config.rms_norm_eps, vb.pp("input_layernorm"))?,
                attention: Attention::new(config, vb.pp("self_attn"))?,
                mlp_norm: RmsNorm::new(h, config.rms_norm_eps, vb.pp("post_attention_layernorm"))?,
                mlp: Mlp {
                    gate: Linear::new(h, m, false, vb.pp("mlp.gate_proj"))?,
                    up: Linear::new(h, m, false, vb.pp("mlp.up_proj"))?,
                    down: Linear::new(m, h, false, vb.pp("mlp.down_proj"))?,
                },
            });
        }
        let norm = RmsNorm::new(config.hidden_size, config.rms_norm_eps, model.pp("norm"))?;
        let head = if config.tie_word_embeddings {
            None
        } else {
            Some(vb.get_with_hints(
                (config.vocab_size, config.hidden_size),
                "lm_head.weight",
                init,
            )?)
        };
        Ok(Decoder {
            config: config.clone(),
            embed,
            layers,
            norm,
            head,
            dtype,
            device: device.clone(),
        })
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The compute dtype (parameters are held in [`master_dtype`] of it).
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The weights without autograd, in the compute dtype, for the rollout engine.
    pub fn frozen(&self) -> Result<FrozenWeights, ModelError> {
        let dtype = self.dtype;
        let layers = self
            .layers
            .iter()
            .map(|layer| {
                let (attention, mlp) = (&layer.attention, &layer.mlp);
                Ok(FrozenLayer {
                    attention_norm: frozen(&layer.attention_norm.weight, dtype)?,
                    q: attention.q.frozen(dtype)?,
                    k: attention.k.frozen(dtype)?,
                    v: attention.v.frozen(dtype)?,
                    o: attention.o.frozen(dtype)?,
                    mlp_norm: frozen(&layer.mlp_norm.weight, dtype)?,
                    gate: mlp.gate.frozen(dtype)?,
                    up: mlp.up.frozen(dtype)?,
                    down: mlp.down.frozen(dtype)?,
                })
            })
            .collect::<candle_core::Result<_>>()?;
        let head = FrozenLinear::new(self.head.as_ref().unwrap_or(&self.embed), None, dtype)?;
        Ok(FrozenWeights {
            embed: frozen(&self.embed, dtype)?,
            layers,
            norm: frozen(&self.norm.weight, dtype)?,
            head,
            dtype,
        })
    }

    /// Logits `[b, t, vocab]` for `tokens: [b, t]` (u32), recording the backward pass.
    pub fn forward(&self, tokens: &Tensor) -> Result<Tensor, ModelError> {
        let (b, t) = tokens.dims2()?;
        let rope = Rope::new(
            self.config.head_dim(),
            self.config.rope_theta,
            t,
            self.dtype,
            &self.device,
        )?;
        let mask = if t > 1 {
            Some(causal_mask(t, self.dtype, &self.device)?)
        } else {
            None
        };
        let mut x = self
            .embed
            .index_select(&tokens.flatten_all()?, 0)?
            .reshape((b, t, self.config.hidden_size))?
            .to_dtype(self.dtype)?;
        for layer in &self.layers {
            let attended = layer.attention.forward(
                &layer.attention_norm.forward(&x)?,
                &rope,
                mask.as_ref(),
            )?;
            x = (x + attended)?;
            x = (&x + layer.mlp.forward(&layer.mlp_norm.forward(&x)?)?)?;
        }
        let x = self.norm.forward(&x)?;
        let head = self
            .head
            .as_ref()
            .unwrap_or(&self.embed)
            .to_dtype(self.dtype)?;
        let logits = x
            .reshape((b * t, self.config.hidden_size))?
            .matmul(&head.t()?)?
            .reshape((b, t, self.config.vocab_size))?;
        Ok(logits)
    }
}

/// `[t, t]`: 0 where a query may look, -inf after it.
fn causal_mask(t: usize, dtype: DType, device: &Device) -> candle_core::Result<Tensor> {
    let mask: Vec<f32> = (0..t)
        .flat_map(|i| (0..t).map(move |j| if j > i { f32::NEG_INFINITY } else { 0.0 }))
        .collect();
    Tensor::from_vec(mask, (t, t), device)?.to_dtype(dtype)
}
