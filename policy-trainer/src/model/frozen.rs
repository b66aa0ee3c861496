//! The decoder's weights without autograd, in the compute dtype, as the rollout engine reads
//! them. Projections are stored transposed (`[in, out]`, contiguous): gemm multiplies a few
//! rows by such a matrix without repacking it, while the `[out, in]` master layout is repacked
//! element by element on every decode step — most of a decode step's time at SmolLM2's size.
//! Taken once per sampling call, so the copy is paid once per batch of rollouts.

use candle_core::{DType, Tensor};

/// One projection: its weight transposed to `[in, out]` and its optional bias.
pub struct FrozenLinear {
    pub weight_t: Tensor,
    pub bias: Option<Tensor>,
}

impl FrozenLinear {
    /// From a master weight `[out, in]`.
    pub fn new(weight: &Tensor, bias: Option<&Tensor>, dtype: DType) -> candle_core::Result<Self> {
        Ok(FrozenLinear {
            weight_t: transposed(weight, dtype)?,
            bias: bias.map(|b| frozen(b, dtype)).transpose()?,
        })
    }

    /// `x [.., in]` → `[.., out]`.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let y = match x.dims() {
            [b, t, k] => x
                .reshape((b * t, *k))?
                .matmul(&self.weight_t)?
                .reshape((*b, *t, ()))?,
            _ => x.matmul(&self.weight_t)?,
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
    /// The output projection (the embedding's transpose when tied).
    pub head: FrozenLinear,
    pub dtype: DType,
}

/// `tensor` detached, in `dtype` (a shared view when it already is).
pub fn frozen(tensor: &Tensor, dtype: DType) -> candle_core::Result<Tensor> {
    tensor.detach().to_dtype(dtype)
}

/// A matrix detached, in `dtype`, transposed into a contiguous copy.
fn transposed(matrix: &Tensor, dtype: DType) -> candle_core::Result<Tensor> {
    frozen(matrix, dtype)?.t()?.contiguous()
}
