//! Shared test helpers: the tiny model shape every test uses.

use policy_trainer::model::ModelConfig;

/// A 2-layer decoder small enough for finite differences in f64.
#[allow(dead_code)] // the learning tests use the toy model instead
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
pub fn logits(model: &policy_trainer::model::Decoder, tokens: &[u32]) -> Vec<f32> {
    let input = candle_core::Tensor::from_vec(
        tokens.to_vec(),
        (1, tokens.len()),
        &candle_core::Device::Cpu,
    )
    .unwrap();
    model
        .forward(&input)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
}

/// The seed of a learning test: `R1_TEST_SEED` when set, else a new one each run (from the
/// clock), printed so that a failing run can be repeated. Learning must hold for any seed, so
/// CI draws a different one every time instead of keeping the one that happened to pass.
#[allow(dead_code)] // only the learning tests draw seeds
pub fn test_seed() -> u64 {
    let seed = match std::env::var("R1_TEST_SEED") {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("R1_TEST_SEED={text:?} is not a number")),
        Err(_) => {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
                % 1000
        }
    };
    eprintln!("seed {seed} (repeat with R1_TEST_SEED={seed})");
    seed
}

/// What a training session borrows, for tests that drive the SFT and GRPO loops directly.
#[allow(dead_code)] // only the tests that drive loops build one
pub struct Harness {
    pub policy: policy_trainer::train::policy::Policy,
    pub run: policy_trainer::train::run_dir::RunDir,
    pub metrics: policy_trainer::train::metrics::Metrics,
    pub settings: policy_trainer::train::session::SessionSettings,
}

#[allow(dead_code)]
impl Harness {
    /// The config's model in a fresh run folder (its `output`), no checkpoints.
    pub fn new(config: &policy_trainer::pipeline::config::TrainConfig) -> Harness {
        let policy =
            policy_trainer::train::policy::Policy::load(&config.model, None, config.seed).unwrap();
        let run = policy_trainer::train::run_dir::RunDir::create(&config.output, 1).unwrap();
        let metrics = policy_trainer::train::metrics::Metrics::open(&run.root, None).unwrap();
        let settings = policy_trainer::train::session::SessionSettings {
            seed: config.seed,
            checkpoint_every: 0,
            run_config: serde_json::to_value(config).unwrap(),
        };
        Harness {
            policy,
            run,
            metrics,
            settings,
        }
    }

    /// A session from step 0 of `phase`.
    pub fn session<'a>(
        &'a mut self,
        phase: policy_trainer::train::run_dir::Phase,
        on_step: &'a mut dyn FnMut(&serde_json::Value),
    ) -> policy_trainer::train::session::Session<'a> {
        policy_trainer::train::session::Session {
            phase,
            policy: &self.policy,
            run: &self.run,
            metrics: &mut self.metrics,
            settings: &self.settings,
            start: Default::default(),
            on_step,
        }
    }
}

/// A var map's parameters by name, in name order.
#[allow(dead_code)] // not every test file walks the parameters
pub fn named_vars(vars: &candle_nn::VarMap) -> Vec<(String, candle_core::Var)> {
    let mut all: Vec<(String, candle_core::Var)> = vars
        .data()
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

/// Overwrite every parameter with seeded N(0, std²) draws, embeddings scaled by
/// `embed_scale` to spread the logits (candle's CPU init cannot be seeded); norms are one.
#[allow(dead_code)] // not every test file needs reproducible parameters
pub fn seeded(vars: &candle_nn::VarMap, std: f64, embed_scale: f64, seed: u64) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for (name, var) in named_vars(vars) {
        let scale = if name.contains("embed") {
            embed_scale * std
        } else {
            std
        };
        let values: Vec<f32> = (0..var.elem_count())
            .map(|_| {
                let u1: f64 = rng.random::<f64>().max(1e-12);
                let u2: f64 = rng.random::<f64>();
                let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                if name.contains("norm") {
                    1.0
                } else {
                    (scale * normal) as f32
                }
            })
            .collect();
        let tensor =
            candle_core::Tensor::from_vec(values, var.shape(), &candle_core::Device::Cpu).unwrap();
        var.set(&tensor.to_dtype(var.dtype()).unwrap()).unwrap();
    }
}
