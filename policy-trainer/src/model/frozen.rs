//! The decoder's weights seen without autograd, in the compute dtype: what the rollout engine
//! reads. In f32 they share the master weights' storage (no copy; the optimizer writes in place,
//! so a view taken before a step sees the step); in bf16 they are cast once per view.

use candle_core::{DType, Tensor};

/// One projection's weight `[out, in]` and optional bias.
pub struct FrozenLinear {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
}

impl FrozenLinear {
    /// `x [.., in]` → `[.., out]`.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let y = match x.dims() {
            [b, t, k] => x
                .reshape((b * t, *k))?
                .matmul(&self.weight.t()?)?
                .reshape((*b, *t, ()))?,
            _ => x.matmul(&self.weight.t()?)?,
        };
        match &self.bias {
            Some(bias) => y.broadcast_add(bias),
            None => Ok(y),
        }
    }
}

/// One transformer block.
pub struct FrozenLayer {
    pub attention_norm: Tensor,
    pub q: FrozenLinear,
    pub k: FrozenLinear,
    pub v: FrozenLinear,
    pub o: FrozenLinear,
    pub mlp_norm: Tensor,
    pub gate: FrozenLinear,
    pub up: FrozenLinear,
    pub down: FrozenLinear,
}

/// The whole decoder.
pub struct FrozenWeights {
    pub embed: Tensor,
    pub layers: Vec<FrozenLayer>,
    pub norm: Tensor,
    /// `[vocab, hidden]`: the embedding when tied.
    pub head: Tensor,
    pub dtype: DType,
}

/// `tensor` detached, in `dtype` (a shared view when it already is).
pub fn frozen(tensor: &Tensor, dtype: DType) -> candle_core::Result<Tensor> {
    tensor.detach().to_dtype(dtype)
}
