//! What every training run shares: the policy (weights, tokenizer, template), its run folder with
//! atomic checkpoints and resume, JSONL metrics, and PNG training curves.

use crate::config::{ModelSource, SourceKind, TrainConfig};
use crate::error::TrainError;
use crate::model::{Decoder, ModelConfig};
use crate::optim::AdamW;
use crate::text::{toy_tokenizer, ChatTemplate, Tokenizer};
use crate::weights::{self, write_synced};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The model being trained, with what turns text into its tokens and back.
pub struct Policy {
    pub config: ModelConfig,
    pub vars: VarMap,
    pub model: Decoder,
    pub tokenizer: Tokenizer,
    pub template: ChatTemplate,
    pub system: Option<String>,
}

pub fn parse_device(name: &str) -> Result<Device, TrainError> {
    match name {
        "cpu" => Ok(Device::Cpu),
        "cuda" => Device::new_cuda(0).map_err(|e| {
            TrainError::Config(format!(
                "device cuda: {e} (build with `--features cuda` on a machine with a GPU)"
            ))
        }),
        other => Err(TrainError::Config(format!(
            "device {other:?}: use cpu or cuda"
        ))),
    }
}

pub fn parse_dtype(name: &str) -> Result<DType, TrainError> {
    match name {
        "f32" => Ok(DType::F32),
        "bf16" => Ok(DType::BF16),
        "f16" => Ok(DType::F16),
        other => Err(TrainError::Config(format!(
            "dtype {other:?}: use f32, bf16 or f16"
        ))),
    }
}

impl Policy {
    /// Load the configured initial weights, or a checkpoint folder (HF layout) instead.
    pub fn load(
        source: &ModelSource,
        checkpoint: Option<&Path>,
        seed: u64,
    ) -> Result<Policy, TrainError> {
        let device = parse_device(&source.device)?;
        let path = source.path.as_deref().map(expand_home).unwrap_or_default();
        let dtype = parse_dtype(&source.dtype)?;
        let (config, vars, tokenizer) = match (checkpoint, source.source) {
            (Some(dir), _) => {
                let loaded = weights::load_hf(dir, dtype, &device)?;
                (loaded.config, loaded.vars, loaded.tokenizer)
            }
            (None, SourceKind::Toy) => {
                // A toy-shaped model may take a real tokenizer (a small distillation student).
                let tokenizer = match &source.tokenizer {
                    Some(path) => Tokenizer::from_file(&expand_home(path))?,
                    None => toy_tokenizer(),
                };
                let shape = &source.toy;
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
                Decoder::new(&config, &vars, dtype, &device)?;
                seeded_init(&vars, seed)?;
                (config, vars, Some(tokenizer))
            }
            (None, SourceKind::Hf) => {
                let loaded = weights::load_hf(&path, dtype, &device)?;
                (loaded.config, loaded.vars, loaded.tokenizer)
            }
            (None, SourceKind::Gguf) => {
                let loaded = weights::load_gguf(&path, dtype, &device)?;
                (loaded.config, loaded.vars, loaded.tokenizer)
            }
        };
        let tokenizer = match &source.tokenizer {
            Some(path) => Tokenizer::from_file(&expand_home(path))?,
            None => tokenizer.ok_or_else(|| {
                TrainError::Config(
                    "the weights come without tokenizer.json: set model.tokenizer".into(),
                )
            })?,
        };
        if tokenizer.vocab_size() > config.vocab_size {
            return Err(TrainError::Config(format!(
                "the tokenizer has {} tokens but the model only {}",
                tokenizer.vocab_size(),
                config.vocab_size
            )));
        }
        let model = Decoder::new(&config, &vars, dtype, &device)?;
        Ok(Policy {
            config,
            vars,
            model,
            tokenizer,
            template: source.template,
            system: source.system.clone(),
        })
    }

    /// Completion text for the rewards: end-of-turn markers are cut, answer tags kept.
    pub fn completion_text(
        &self,
        completion: &crate::sample::Completion,
    ) -> Result<String, TrainError> {
        let mut text = self.tokenizer.decode(&completion.tokens)?;
        for marker in ["<|im_end|>", "<|endoftext|>", "<｜end▁of▁sentence｜>"] {
            if let Some(stripped) = text.strip_suffix(marker) {
                text = stripped.to_string();
            }
        }
        Ok(text)
    }

    /// Prompt tokens of a user turn, wrapped in the chat template.
    pub fn prompt_tokens(&self, user: &str) -> Result<Vec<u32>, TrainError> {
        self.tokenizer
            .encode(&self.template.prompt(self.system.as_deref(), user))
    }

    /// A frozen copy of the current weights (the GRPO reference).
    pub fn frozen_copy(&self) -> Result<(VarMap, Decoder), TrainError> {
        let vars = VarMap::new();
        let model = Decoder::new(&self.config, &vars, self.model.dtype(), self.model.device())?;
        copy_vars(&self.vars, &vars)?;
        Ok((vars, model))
    }
}

/// `~/…` → `$HOME/…` (configs name files under the shared cache folder this way).
fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path.to_path_buf(),
    }
}

/// Copy every parameter of `from` into `to` (same names and shapes).
pub fn copy_vars(from: &VarMap, to: &VarMap) -> Result<(), TrainError> {
    let source = from.data().lock().expect("var map lock");
    let target = to.data().lock().expect("var map lock");
    for (name, var) in target.iter() {
        let value = source
            .get(name)
            .ok_or_else(|| TrainError::Input(format!("no parameter {name} to copy")))?;
        var.set(&value.as_tensor().detach())?;
    }
    Ok(())
}

/// Re-draw matrices from N(0, 0.02²) with a seeded generator (candle's CPU init is unseeded);
/// norms stay at one and biases at zero.
fn seeded_init(vars: &VarMap, seed: u64) -> Result<(), TrainError> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x5eed);
    let data = vars.data().lock().expect("var map lock");
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    for name in names {
        let var = &data[name];
        if name.contains("norm") || name.ends_with(".bias") {
            continue;
        }
        let n = var.elem_count();
        let values: Vec<f32> = (0..n)
            .map(|_| {
                // Box–Muller.
                let u1: f64 = rng.random::<f64>().max(1e-12);
                let u2: f64 = rng.random::<f64>();
                (0.02 * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
            })
            .collect();
        let tensor = Tensor::from_vec(values, var.dims(), var.device())?.to_dtype(var.dtype())?;
        var.set(&tensor)?;
    }
    Ok(())
}

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
    /// The config the run started with (a resume with a different one is refused).
    pub config: TrainConfig,
}

/// The run folder.
pub struct RunDir {
    pub root: PathBuf,
    keep: usize,
}

impl RunDir {
    pub fn create(root: &Path, keep: usize) -> Result<RunDir, TrainError> {
        std::fs::create_dir_all(root)
            .map_err(|e| TrainError::Io(format!("creating {}: {e}", root.display())))?;
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
                    .map_err(|e| TrainError::Io(format!("{}: {e}", state_path.display())))?;
                let state = serde_json::from_str(&text)
                    .map_err(|e| TrainError::Input(format!("{}: {e}", state_path.display())))?;
                Ok(Some((path, state)))
            }
        }
    }

    /// `(rank, folder)` of every complete checkpoint; rank orders SFT before GRPO steps.
    fn checkpoints(&self) -> Result<Vec<(u64, PathBuf)>, TrainError> {
        let entries = std::fs::read_dir(&self.root)
            .map_err(|e| TrainError::Io(format!("{}: {e}", self.root.display())))?;
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
        std::fs::create_dir_all(&tmp)
            .map_err(|e| TrainError::Io(format!("creating {}: {e}", tmp.display())))?;
        weights::save_hf(&tmp, &policy.config, &policy.vars, Some(&policy.tokenizer))?;
        optimizer.save(&tmp.join("optimizer.safetensors"))?;
        if let Some(reference) = reference {
            let vars = reference.data().lock().expect("var map lock");
            let tensors: std::collections::HashMap<String, Tensor> = vars
                .iter()
                .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
                .collect();
            let path = tmp.join("reference.safetensors");
            candle_core::safetensors::save(&tensors, &path)
                .map_err(|e| TrainError::Io(format!("{}: {e}", path.display())))?;
            weights::sync_file(&path)?;
        }
        write_synced(
            &tmp.join("trainer_state.json"),
            serde_json::to_string_pretty(state)
                .expect("json")
                .as_bytes(),
        )?;
        let target = self.root.join(&name);
        let _ = std::fs::remove_dir_all(&target);
        std::fs::rename(&tmp, &target)
            .map_err(|e| TrainError::Io(format!("renaming {}: {e}", tmp.display())))?;
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
        std::fs::create_dir_all(&tmp)
            .map_err(|e| TrainError::Io(format!("creating {}: {e}", tmp.display())))?;
        weights::save_hf(&tmp, &policy.config, &policy.vars, Some(&policy.tokenizer))?;
        let target = self.root.join("final");
        let _ = std::fs::remove_dir_all(&target);
        std::fs::rename(&tmp, &target)
            .map_err(|e| TrainError::Io(format!("renaming {}: {e}", tmp.display())))?;
        sync_dir(&self.root)?;
        Ok(target)
    }
}

fn sync_dir(dir: &Path) -> Result<(), TrainError> {
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| TrainError::Io(format!("{}: {e}", dir.display())))
}

/// `metrics.jsonl`: one JSON object per step, flushed as written. On resume, lines past the
/// checkpoint are dropped so the file matches the restored state.
pub struct Metrics {
    path: PathBuf,
    file: std::fs::File,
}

impl Metrics {
    pub fn open(root: &Path, keep_until: Option<(Phase, usize)>) -> Result<Metrics, TrainError> {
        let path = root.join("metrics.jsonl");
        let kept: Vec<String> = match (std::fs::read_to_string(&path), keep_until) {
            (Ok(text), Some((phase, step))) => text
                .lines()
                .filter(|line| {
                    let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
                        return false;
                    };
                    let line_phase = value["phase"].as_str().unwrap_or("");
                    let line_step = value["step"].as_u64().unwrap_or(u64::MAX) as usize;
                    match phase {
                        Phase::Sft => line_phase == "sft" && line_step <= step,
                        Phase::Grpo => line_phase == "sft" || line_step <= step,
                    }
                })
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        let mut file = std::fs::File::create(&path)
            .map_err(|e| TrainError::Io(format!("{}: {e}", path.display())))?;
        for line in kept {
            writeln!(file, "{line}").map_err(|e| TrainError::Io(e.to_string()))?;
        }
        Ok(Metrics { path, file })
    }

    /// One line in one `write` call: formatting straight into the file wrote a record in many
    /// small pieces, so a reader (a dashboard, a test polling the run) could see half a line.
    pub fn write(&mut self, record: &serde_json::Value) -> Result<(), TrainError> {
        let line = format!("{record}\n");
        self.file
            .write_all(line.as_bytes())
            .and_then(|_| self.file.flush())
            .map_err(|e| TrainError::Io(format!("{}: {e}", self.path.display())))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Draw `series` (metric names) from a metrics file as one panel each into a PNG.
pub fn plot_curves(metrics: &Path, series: &[&str], png: &Path) -> Result<(), TrainError> {
    let panels: Vec<Panel> = series
        .iter()
        .map(|name| Panel {
            title: name.to_string(),
            metrics: metrics.to_path_buf(),
            series: vec![name.to_string()],
        })
        .collect();
    plot_panels(&panels, 4, png)
}

/// One chart: metrics (one line each) from one run's metrics file.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub title: String,
    pub metrics: PathBuf,
    pub series: Vec<String>,
}

/// Draw panels on a grid `columns` wide into a PNG.
pub fn plot_panels(panels: &[Panel], columns: usize, png: &Path) -> Result<(), TrainError> {
    use plotters::prelude::*;
    let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    let plot_error = |e: &dyn std::fmt::Display| TrainError::Io(format!("{}: {e}", png.display()));
    let columns = columns.clamp(1, panels.len().max(1));
    let rows = panels.len().max(1).div_ceil(columns);
    let root =
        BitMapBackend::new(png, (480 * columns as u32, 360 * rows as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_error(&e))?;
    let areas = root.split_evenly((rows, columns));
    const COLOURS: [RGBColor; 6] = [BLUE, RED, GREEN, MAGENTA, RGBColor(230, 140, 0), BLACK];
    for (area, panel) in areas.iter().zip(panels) {
        let text = std::fs::read_to_string(&panel.metrics)
            .map_err(|e| TrainError::Io(format!("{}: {e}", panel.metrics.display())))?;
        let records: Vec<serde_json::Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        // x: a global step (the SFT phase first, then GRPO), y: the metric.
        let lines: Vec<Vec<(f64, f64)>> = panel
            .series
            .iter()
            .map(|name| {
                let mut sft_steps = 0.0f64;
                let mut points = Vec::new();
                for record in &records {
                    let step = record["step"].as_f64().unwrap_or(0.0);
                    let x = if record["phase"] == "sft" {
                        sft_steps = sft_steps.max(step);
                        step
                    } else {
                        sft_steps + step
                    };
                    if let Some(y) = record[name.as_str()].as_f64().filter(|y| y.is_finite()) {
                        points.push((x, y));
                    }
                }
                points
            })
            .collect();
        let (x_max, mut y_min, mut y_max) = lines.iter().flatten().fold(
            (1.0f64, f64::INFINITY, f64::NEG_INFINITY),
            |(x, lo, hi), p| (x.max(p.0), lo.min(p.1), hi.max(p.1)),
        );
        if !y_min.is_finite() {
            (y_min, y_max) = (0.0, 1.0);
        }
        if y_max - y_min < 1e-9 {
            y_max = y_min + 1.0;
        }
        let mut chart = ChartBuilder::on(area)
            .caption(&panel.title, ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..x_max, y_min..y_max)
            .map_err(|e| plot_error(&e))?;
        chart
            .configure_mesh()
            .x_desc("step")
            .draw()
            .map_err(|e| plot_error(&e))?;
        for (i, (points, name)) in lines.into_iter().zip(&panel.series).enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            // A measure taken only before and after is two dots, not a line between them.
            let series = if points.len() <= 2 {
                chart.draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, 4, colour.filled())),
                )
            } else {
                chart.draw_series(LineSeries::new(points, colour))
            }
            .map_err(|e| plot_error(&e))?;
            if panel.series.len() > 1 {
                series
                    .label(name.as_str())
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour));
            }
        }
        if panel.series.len() > 1 {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(|e| plot_error(&e))?;
        }
    }
    root.present().map_err(|e| plot_error(&e))?;
    Ok(())
}
