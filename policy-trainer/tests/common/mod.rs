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
