//! Shared test helpers: the tiny model shape every test uses.

use policy_trainer::ModelConfig;

/// A 2-layer decoder small enough for finite differences in f64.
pub fn tiny_config(vocab_size: usize, tied: bool, bias: bool) -> ModelConfig {
    ModelConfig {
        vocab_size,
        hidden_size: 16,
        intermediate_size: 24,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        rms_norm_eps: 1e-6,
        rope_theta: 10_000.0,
        tie_word_embeddings: tied,
        attention_bias: bias,
        max_position_embeddings: 64,
    }
}

/// Logits of one sequence, flattened (`[t · vocab]`).
#[allow(dead_code)] // not every test file compares logits
pub fn logits(model: &policy_trainer::Decoder, tokens: &[u32]) -> Vec<f32> {
    let input = candle_core::Tensor::from_vec(
        tokens.to_vec(),
        (1, tokens.len()),
        &candle_core::Device::Cpu,
    )
    .unwrap();
    model
        .forward(&input, None)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
}
