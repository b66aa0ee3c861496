//! The rollout engine: sampling for many prompts at once, with no autograd.
//!
//! All groups of a call decode in one batch: prompts are left-padded to the longest and
//! prefilled once each, then each prompt's cache rows are copied to its `n` samples. Keys and
//! values go into a cache allocated once and written in place; grouped-query attention reads
//! the shared key/value heads without copying them; RMSNorm, RoPE and the softmax are candle's
//! fused kernels (no backward is needed here); only the last position's logits are computed;
//! rows that stop leave the batch. The training pass keeps its own differentiable forward in
//! `decoder.rs`; tests hold the two to the same logits.

use crate::model::decoder::{Decoder, ModelConfig};
use crate::model::error::ModelError;
use crate::model::frozen::{FrozenLayer, FrozenWeights};
use crate::model::sampler::{pick, row_rng};
use crate::model::sampling::{Completion, SamplingConfig};
use candle_core::{DType, Device, Tensor};
use rand::rngs::StdRng;

/// Rows decoded together at most; more requests run in successive batches. On a CPU the
/// weights' memory traffic is shared by the rows up to a few dozen; a GPU keeps gaining far
/// beyond that.
fn max_rows(device: &Device) -> usize {
    if device.is_cpu() {
        64
    } else {
        512
    }
}

/// `n` samples of one prompt; row `i` draws from `row_rng(seed, i)`, so its samples do not
/// depend on the other requests of the call.
#[derive(Debug, Clone, Copy)]
pub struct GroupRequest<'a> {
    pub prompt: &'a [u32],
    pub n: usize,
    pub seed: u64,
}

/// Sample `n` completions of `prompt` (one group of [`sample_groups`]).
pub fn generate(
    model: &Decoder,
    prompt: &[u32],
    n: usize,
    config: &SamplingConfig,
) -> Result<Vec<Completion>, ModelError> {
    let request = GroupRequest {
        prompt,
        n,
        seed: config.seed,
    };
    Ok(sample_groups(model, &[request], config)?
        .pop()
        .unwrap_or_default())
}

/// The completions of each request, in request order.
pub fn sample_groups(
    model: &Decoder,
    requests: &[GroupRequest],
    config: &SamplingConfig,
) -> Result<Vec<Vec<Completion>>, ModelError> {
    check(model, requests, config)?;
    let weights = model.frozen()?;
    let engine = Engine {
        config: &model.config,
        weights: &weights,
        device: model.device(),
    };
    let limit = max_rows(model.device());
    let mut out = Vec::with_capacity(requests.len());
    let mut start = 0;
    while start < requests.len() {
        let (mut end, mut rows) = (start, 0);
        while end < requests.len() && (end == start || rows + requests[end].n <= limit) {
            rows += requests[end].n;
            end += 1;
        }
        out.extend(engine.run(&requests[start..end], config)?);
        start = end;
    }
    Ok(out)
}

fn check(
    model: &Decoder,
    requests: &[GroupRequest],
    config: &SamplingConfig,
) -> Result<(), ModelError> {
    if requests.iter().any(|r| r.prompt.is_empty() || r.n == 0) {
        return Err(ModelError::Input(
            "sampling needs a prompt and n > 0".into(),
        ));
    }
    if !(config.temperature >= 0.0 && config.top_p > 0.0 && config.top_p <= 1.0) {
        return Err(ModelError::Config(
            "sampling: temperature >= 0 and 0 < top_p <= 1".into(),
        ));
    }
    let vocab = model.config.vocab_size;
    match requests
        .iter()
        .flat_map(|r| r.prompt)
        .find(|t| **t as usize >= vocab)
    {
        Some(bad) => Err(ModelError::Input(format!(
            "token {bad} is outside the vocabulary"
        ))),
        None => Ok(()),
    }
}

struct Engine<'a> {
    config: &'a ModelConfig,
    weights: &'a FrozenWeights,
    device: &'a Device,
}

/// One row being decoded.
struct Row {
    /// Index of the row among all rows of the batch (request-major).
    slot: usize,
    /// Left padding of its prompt.
    pad: usize,
    rng: StdRng,
    completion: Completion,
}

impl Engine<'_> {
    /// One batch: prefill every prompt once, copy its cache to its samples, decode.
    fn run(
        &self,
        requests: &[GroupRequest],
        config: &SamplingConfig,
    ) -> Result<Vec<Vec<Completion>>, ModelError> {
        let longest = requests.iter().map(|r| r.prompt.len()).max().unwrap_or(0);
        let pads: Vec<usize> = requests.iter().map(|r| longest - r.prompt.len()).collect();
        let padded: Vec<u32> = requests
            .iter()
            .zip(&pads)
            .flat_map(|(r, &pad)| std::iter::repeat_n(0, pad).chain(r.prompt.iter().copied()))
            .collect();
        let tables = RopeTables::new(self.config, longest + config.max_new_tokens, self)?;
        let mut cache = Cache::new(self, requests.len(), longest + config.max_new_tokens)?;
        let tokens = Tensor::from_vec(padded, (requests.len(), longest), self.device)?;
        let logits = self.forward(&tokens, &pads, 0, &tables, &mut cache)?;

        let owners: Vec<u32> = (0..requests.len())
            .flat_map(|r| std::iter::repeat_n(r as u32, requests[r].n))
            .collect();
        let index = Tensor::from_vec(owners.clone(), owners.len(), self.device)?;
        cache.keep(&index)?;
        let mut logits = logits.index_select(&index, 0)?;
        let mut rows: Vec<Row> = Vec::with_capacity(owners.len());
        for (r, request) in requests.iter().enumerate() {
            for i in 0..request.n {
                rows.push(Row {
                    slot: rows.len(),
                    pad: pads[r],
                    rng: row_rng(request.seed, i),
                    completion: Completion::default(),
                });
            }
        }
        let mut finished: Vec<Option<Completion>> = vec![None; rows.len()];
        for step in 0..config.max_new_tokens {
            let host = logits.to_dtype(DType::F32)?.to_vec2::<f32>()?;
            for (row, values) in rows.iter_mut().zip(&host) {
                let (token, logprob) = pick(values, config, &mut row.rng);
                row.completion.push(token, logprob, config);
            }
            let before = rows.len();
            let mut alive = Vec::with_capacity(before);
            let mut live = Vec::with_capacity(before);
            for (position, row) in rows.into_iter().enumerate() {
                if row.completion.stopped {
                    finished[row.slot] = Some(row.completion);
                } else {
                    alive.push(position as u32);
                    live.push(row);
                }
            }
            rows = live;
            if rows.is_empty() || step + 1 == config.max_new_tokens {
                break;
            }
            if rows.len() < before {
                cache.keep(&Tensor::from_vec(alive, rows.len(), self.device)?)?;
            }
            let next: Vec<u32> = rows
                .iter()
                .map(|r| *r.completion.tokens.last().unwrap_or(&0))
                .collect();
            let row_pads: Vec<usize> = rows.iter().map(|r| r.pad).collect();
            let tokens = Tensor::from_vec(next, (rows.len(), 1), self.device)?;
            logits = self.forward(&tokens, &row_pads, longest + step, &tables, &mut cache)?;
        }
        for row in rows {
            finished[row.slot] = Some(row.completion);
        }
        let mut completions = finished.into_iter().map(Option::unwrap_or_default);
        Ok(requests
            .iter()
            .map(|r| completions.by_ref().take(r.n).collect())
            .collect())
    }

    /// Logits `[b, vocab]` of the last position of `tokens: [b, t]`, written at cache
    /// positions `offset..offset + t`; row `i`'s first `pads[i]` cache positions are padding.
    fn forward(
        &self,
        tokens: &Tensor,
        pads: &[usize],
        offset: usize,
        tables: &RopeTables,
        cache: &mut Cache,
    ) -> Result<Tensor, ModelError> {
        let (b, t) = tokens.dims2()?;
        let hidden = self.config.hidden_size;
        let step = Step {
            offset,
            rope: tables.at(pads, offset, t, self.device)?,
            mask: padding_mask(pads, offset, t, self.weights.dtype, self.device)?,
        };
        let mut x = self
            .weights
            .embed
            .index_select(&tokens.flatten_all()?, 0)?
            .reshape((b, t, hidden))?;
        for (layer, (keys, values)) in self.weights.layers.iter().zip(cache.layers.iter()) {
            x = self.layer(layer, &x, &step, keys, values)?;
        }
        let last = x.narrow(1, t - 1, 1)?.reshape((b, hidden))?;
        let last = candle_nn::ops::rms_norm(&last, &self.weights.norm, self.eps())?;
        Ok(self.weights.head.forward(&last)?)
    }

    fn eps(&self) -> f32 {
        self.config.rms_norm_eps as f32
    }

    fn layer(
        &self,
        layer: &FrozenLayer,
        x: &Tensor,
        step: &Step,
        keys: &Tensor,
        values: &Tensor,
    ) -> candle_core::Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        let (heads, kv_heads) = (
            self.config.num_attention_heads,
            self.config.num_key_value_heads,
        );
        let d = self.config.head_dim();
        let h = candle_nn::ops::rms_norm(x, &layer.attention_norm, self.eps())?;
        let split = |y: Tensor, n: usize| y.reshape((b, t, n, d))?.transpose(1, 2)?.contiguous();
        let (cos, sin) = &step.rope;
        let q = candle_nn::rotary_emb::rope(&split(layer.q.forward(&h)?, heads)?, cos, sin)?;
        let k = candle_nn::rotary_emb::rope(&split(layer.k.forward(&h)?, kv_heads)?, cos, sin)?;
        keys.slice_set(&k, 2, step.offset)?;
        values.slice_set(&split(layer.v.forward(&h)?, kv_heads)?, 2, step.offset)?;
        let len = step.offset + t;
        let (keys, values) = (keys.narrow(2, 0, len)?, values.narrow(2, 0, len)?);
        // Query heads sharing a key/value head become rows of one matrix product.
        let group = heads / kv_heads;
        let q = q.reshape((b, kv_heads, group * t, d))?;
        let scores = (q.matmul(&keys.t()?)? * (1.0 / (d as f64).sqrt()))?;
        let scores = match &step.mask {
            Some(mask) => scores
                .reshape((b, kv_heads, group, t, len))?
                .broadcast_add(mask)?
                .reshape((b, kv_heads, group * t, len))?,
            None => scores,
        };
        let attended = candle_nn::ops::softmax_last_dim(&scores)?
            .matmul(&values)?
            .reshape((b, heads, t, d))?
            .transpose(1, 2)?
            .reshape((b, t, heads * d))?;
        let x = (x + layer.o.forward(&attended)?)?;
        let h = candle_nn::ops::rms_norm(&x, &layer.mlp_norm, self.eps())?;
        let gated = (candle_nn::ops::silu(&layer.gate.forward(&h)?)? * layer.up.forward(&h)?)?;
        x + layer.down.forward(&gated)?
    }
}

/// What every layer of one forward shares.
struct Step {
    offset: usize,
    /// cos and sin `[b, t, head_dim / 2]` at each row's positions.
    rope: (Tensor, Tensor),
    /// `[b, 1, 1, t, len]`, 0 or -inf; `None` when every key may be seen.
    mask: Option<Tensor>,
}

/// Rotary cos/sin tables for every position the batch can reach, built once.
struct RopeTables {
    cos: Tensor,
    sin: Tensor,
}

impl RopeTables {
    fn new(config: &ModelConfig, positions: usize, engine: &Engine) -> candle_core::Result<Self> {
        let d = config.head_dim();
        let inverse: Vec<f64> = (0..d / 2)
            .map(|i| 1.0 / config.rope_theta.powf(2.0 * i as f64 / d as f64))
            .collect();
        let angles = |f: fn(f64) -> f64| -> Vec<f32> {
            (0..positions)
                .flat_map(|p| inverse.iter().map(move |w| f(p as f64 * w) as f32))
                .collect()
        };
        let table = |values: Vec<f32>| {
            Tensor::from_vec(values, (positions, d / 2), engine.device)?
                .to_dtype(engine.weights.dtype)
        };
        Ok(RopeTables {
            cos: table(angles(f64::cos))?,
            sin: table(angles(f64::sin))?,
        })
    }

    /// Row `i`'s token at cache position `p` sits at position `p - pads[i]` of its sequence.
    fn at(
        &self,
        pads: &[usize],
        offset: usize,
        t: usize,
        device: &Device,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let positions: Vec<u32> = pads
            .iter()
            .flat_map(|&pad| (offset..offset + t).map(move |p| p.saturating_sub(pad) as u32))
            .collect();
        let index = Tensor::from_vec(positions, pads.len() * t, device)?;
        let half = self.cos.dim(1)?;
        let pick = |table: &Tensor| {
            table
                .index_select(&index, 0)?
                .reshape((pads.len(), t, half))
        };
        Ok((pick(&self.cos)?, pick(&self.sin)?))
    }
}

/// Causal attention that skips each row's padding. A padding query sees only itself (a row of
/// nothing but -inf would turn the softmax into NaN).
fn padding_mask(
    pads: &[usize],
    offset: usize,
    t: usize,
    dtype: DType,
    device: &Device,
) -> candle_core::Result<Option<Tensor>> {
    if t == 1 && pads.iter().all(|&p| p == 0) {
        return Ok(None);
    }
    let len = offset + t;
    let mask: Vec<f32> = pads
        .iter()
        .flat_map(|&pad| {
            (0..t).flat_map(move |i| {
                (0..len).map(move |j| {
                    let query = offset + i;
                    if j > query || (j < pad && j != query) {
                        f32::NEG_INFINITY
                    } else {
                        0.0
                    }
                })
            })
        })
        .collect();
    Ok(Some(
        Tensor::from_vec(mask, (pads.len(), 1, 1, t, len), device)?.to_dtype(dtype)?,
    ))
}

/// Keys and values `[rows, kv_heads, capacity, head_dim]` per layer, allocated once and written
/// in place.
struct Cache {
    layers: Vec<(Tensor, Tensor)>,
}

impl Cache {
    fn new(engine: &Engine, rows: usize, capacity: usize) -> candle_core::Result<Cache> {
        let config = engine.config;
        let shape = (
            rows,
            config.num_key_value_heads,
            capacity,
            config.head_dim(),
        );
        let zeros = || Tensor::zeros(shape, engine.weights.dtype, engine.device);
        let layers = (0..config.num_hidden_layers)
            .map(|_| Ok((zeros()?, zeros()?)))
            .collect::<candle_core::Result<_>>()?;
        Ok(Cache { layers })
    }

    /// Keep (or repeat) the rows `index` names, in its order.
    fn keep(&mut self, index: &Tensor) -> candle_core::Result<()> {
        for (keys, values) in &mut self.layers {
            *keys = keys.index_select(index, 0)?;
            *values = values.index_select(index, 0)?;
        }
        Ok(())
    }
}
