//! `r1-train`: SFT and GRPO from a TOML config (embedded defaults train a tiny model on a toy
//! task), with progress, JSONL metrics, PNG curves, atomic checkpoints and `--resume`.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use policy_trainer::config::{TrainConfig, DEFAULT_GRPO, DEFAULT_SFT};
use policy_trainer::data::ToyAnswers;
use policy_trainer::grpo::BusRewarder;
use policy_trainer::run::Policy;
use policy_trainer::runner::{self, Resume};
use policy_trainer::{recipe, weights};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "r1-train",
    version,
    about = "SFT and GRPO for R1-style reasoning models"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct RunArgs {
    /// TOML configuration (default: the embedded one; see `r1-train defaults`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Run folder (overrides `output` in the config).
    #[arg(long)]
    output: Option<PathBuf>,
    /// Continue from the newest checkpoint in the run folder.
    #[arg(long)]
    resume: bool,
    /// Random seed (overrides `seed` in the config).
    #[arg(long)]
    seed: Option<u64>,
}

#[derive(Subcommand)]
enum Command {
    /// Supervised fine-tuning (completion-only loss).
    Sft(RunArgs),
    /// GRPO with the reward bus (after the config's cold-start SFT, if any).
    Grpo(RunArgs),
    /// Rejection sampling: k completions per prompt from the config's model, kept when the
    /// reward bus verifies them and they read well; writes an SFT-ready JSONL dataset.
    Sample {
        /// TOML configuration with a [sample] section.
        #[arg(long)]
        config: PathBuf,
        /// The dataset to write (default: `<output>/samples.jsonl`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Serve a model over an OpenAI-compatible `/v1/chat/completions` endpoint.
    Serve {
        /// A Hugging Face folder (a run's `final/` or a checkpoint) or a `.gguf` file.
        model: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8000")]
        bind: String,
        /// chatml, r1_zero, deepseek_r1 or plain.
        #[arg(long, default_value = "chatml")]
        template: String,
        /// The model name reported to clients (default: the folder or file name).
        #[arg(long)]
        name: Option<String>,
        /// Upper bound on a request's max_tokens.
        #[arg(long, default_value_t = 4096)]
        max_tokens_limit: usize,
    },
    /// pass@1 (from k samples), cons@k and language consistency per language.
    Eval {
        /// A Hugging Face folder or a `.gguf` file.
        model: PathBuf,
        /// `mmath` (fixtures/mmath), `humaneval` (fixtures/humaneval, judged in the sandbox),
        /// `toy:TASK`, or a JSONL file with prompt and answer (or code tests).
        #[arg(long, default_value = "mmath")]
        data: String,
        /// MMATH languages, comma-separated (default: all ten).
        #[arg(long, value_delimiter = ',')]
        languages: Vec<String>,
        /// Problems per language (MMATH) or in all (other data).
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long, default_value_t = 4)]
        samples: usize,
        #[arg(long, default_value_t = 0.6)]
        temperature: f64,
        #[arg(long, default_value_t = 0.95)]
        top_p: f64,
        #[arg(long, default_value_t = 1024)]
        max_new_tokens: usize,
        #[arg(long, default_value = "chatml")]
        template: String,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, default_value = "fixtures/mmath")]
        mmath_dir: PathBuf,
        #[arg(long, default_value = "fixtures/humaneval/HumanEval.jsonl.gz")]
        humaneval: PathBuf,
        /// Also write the report as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Convert a GGUF file (Llama / Qwen2) into a Hugging Face folder.
    Convert {
        gguf: PathBuf,
        #[arg(long)]
        output: PathBuf,
    },
    /// The whole R1 pipeline from one config: stages (cold start, reasoning RL, rejection
    /// sampling, SFT, all-scenario RL, distillation, evaluation) run in order, each resumable
    /// and skipped once complete; ends with a per-stage table and `recipe.png`.
    Recipe {
        /// TOML recipe (default: the embedded one, a tiny model on toy tasks).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Recipe folder (overrides `output` in the config).
        #[arg(long)]
        output: Option<PathBuf>,
        /// Random seed of every stage (overrides `seed` in the config).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Print the embedded default configurations.
    Defaults,
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(
            match e
                .downcast_ref::<policy_trainer::TrainError>()
                .map(|e| e.kind())
            {
                Some(policy_trainer::ErrorKind::Config | policy_trainer::ErrorKind::Input) => 2,
                _ => 1,
            },
        );
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Sft(args) => train(args, DEFAULT_SFT, false),
        Command::Grpo(args) => train(args, DEFAULT_GRPO, true),
        Command::Sample { config, out } => rejection_sample(&config, out),
        Command::Recipe {
            config,
            output,
            seed,
        } => recipe(config, output, seed),
        Command::Serve {
            model,
            bind,
            template,
            name,
            max_tokens_limit,
        } => serve(model, &bind, &template, name, max_tokens_limit),
        Command::Eval {
            model,
            data,
            languages,
            limit,
            samples,
            temperature,
            top_p,
            max_new_tokens,
            template,
            seed,
            mmath_dir,
            humaneval,
            json,
        } => {
            let policy = Policy::load(&model_source(&model, &template)?, None, 0)?;
            let items: Vec<policy_trainer::eval::EvalItem> = if data == "mmath" {
                policy_trainer::eval::read_mmath(&mmath_dir, &languages, limit)?
            } else if data == "humaneval" {
                policy_trainer::eval::read_humaneval(&humaneval, limit)?
            } else {
                let examples = match data.strip_prefix("toy:") {
                    Some(task) => {
                        let task: policy_trainer::data::ToyTask =
                            serde_json::from_value(task.into()).with_context(|| {
                                format!("--data toy:{task}: use first, sort, sum, code or last")
                            })?;
                        policy_trainer::data::toy_split(task, ToyAnswers::Correct, limit, seed)?.1
                    }
                    None => policy_trainer::data::read_jsonl(std::path::Path::new(&data))?,
                };
                examples
                    .into_iter()
                    .take(limit)
                    .map(|example| policy_trainer::eval::EvalItem {
                        example,
                        language: None,
                    })
                    .collect()
            };
            // Math by `verifiers`, code in the sandbox (started only when there is code).
            let mut bus = String::from(
                "cache_entries = 0\n[[reward]]\nname = \"accuracy\"\nkind = \"math\"\nstrict = false\ntasks = [\"math\"]\n[[reward]]\nname = \"language\"\nkind = \"language\"\n",
            );
            if items.iter().any(|item| item.example.tests.is_some()) {
                bus.push_str("[[reward]]\nname = \"code\"\nkind = \"code\"\ntasks = [\"code\"]\ntimeout_ms = 60000\n");
            }
            let bus = judges::BusConfig::from_toml(&bus)?;
            let rewarder = BusRewarder::from_config(Some(&bus), None)?;
            let config = policy_trainer::eval::EvalConfig {
                samples,
                temperature,
                top_p,
                max_new_tokens,
                seed,
            };
            let report = policy_trainer::eval::evaluate(
                &policy,
                &items,
                &rewarder,
                &["accuracy", "code"],
                &config,
            )?;
            print!("{}", report.table());
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_string_pretty(&report)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            Ok(())
        }
        Command::Convert { gguf, output } => {
            let loaded =
                weights::load_gguf(&gguf, candle_core::DType::F32, &candle_core::Device::Cpu)?;
            std::fs::create_dir_all(&output)
                .with_context(|| format!("creating {}", output.display()))?;
            weights::save_hf(
                &output,
                &loaded.config,
                &loaded.vars,
                loaded.tokenizer.as_ref(),
            )?;
            println!("wrote {}", output.display());
            Ok(())
        }
        Command::Defaults => {
            println!(
                "# r1-train sft\n{DEFAULT_SFT}\n# r1-train grpo\n{DEFAULT_GRPO}\n# r1-train recipe\n{}",
                recipe::DEFAULT_RECIPE
            );
            Ok(())
        }
    }
}

/// The model at `path` (a `.gguf` file or an HF folder) with a chat template by name.
fn model_source(
    path: &std::path::Path,
    template: &str,
) -> Result<policy_trainer::config::ModelSource> {
    toml::from_str(&format!(
        "source = {:?}\npath = {:?}\ntemplate = {:?}",
        if path.extension().is_some_and(|e| e == "gguf") {
            "gguf"
        } else {
            "hf"
        },
        path.display().to_string(),
        template
    ))
    .context("--template: use chatml, r1_zero, deepseek_r1 or plain")
}

fn serve(
    model: PathBuf,
    bind: &str,
    template: &str,
    name: Option<String>,
    max_tokens_limit: usize,
) -> Result<()> {
    let source: policy_trainer::config::ModelSource = toml::from_str(&format!(
        "source = {:?}\npath = {:?}\ntemplate = {:?}",
        if model.extension().is_some_and(|e| e == "gguf") {
            "gguf"
        } else {
            "hf"
        },
        model.display().to_string(),
        template
    ))
    .context("--template: use chatml, r1_zero, deepseek_r1 or plain")?;
    let policy = Policy::load(&source, None, 0)?;
    let model_name = name.unwrap_or_else(|| {
        model
            .file_name()
            .map_or("r1-train".into(), |n| n.to_string_lossy().to_string())
    });
    let state = std::sync::Arc::new(policy_trainer::serve::ServeState {
        policy: std::sync::Mutex::new(policy),
        model_name,
        max_tokens_limit,
    });
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .with_context(|| format!("binding {bind}"))?;
        eprintln!(
            "serving {} on http://{}/v1/chat/completions",
            source.path.as_deref().unwrap_or(&model).display(),
            listener.local_addr()?
        );
        axum::serve(listener, policy_trainer::serve::app(state))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(())
    })
}

fn rejection_sample(config_path: &std::path::Path, out: Option<PathBuf>) -> Result<()> {
    let text = std::fs::read_to_string(config_path)
        .with_context(|| format!("reading {}", config_path.display()))?;
    let config =
        TrainConfig::from_toml(&text).with_context(|| format!("in {}", config_path.display()))?;
    if config.sample.is_none() {
        bail!("{} has no [sample] section", config_path.display());
    }
    let out = out.unwrap_or_else(|| config.output.join("samples.jsonl"));
    let stats = runner::sample_dataset(&config, &out)?;
    eprintln!("{}", serde_json::to_string(&stats).expect("json"));
    println!(
        "kept {} of {} samples ({} of {} prompts) → {}",
        stats.kept,
        stats.sampled,
        stats.prompts_kept,
        stats.prompts,
        out.display()
    );
    Ok(())
}

fn recipe(config: Option<PathBuf>, output: Option<PathBuf>, seed: Option<u64>) -> Result<()> {
    let text = match &config {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => recipe::DEFAULT_RECIPE.to_string(),
    };
    let mut recipe_config =
        recipe::RecipeConfig::from_toml(&text).with_context(|| match &config {
            Some(path) => format!("in {}", path.display()),
            None => "in the embedded default recipe".to_string(),
        })?;
    if let Some(output) = output {
        recipe_config.output = output;
    }
    if let Some(seed) = seed {
        recipe_config.seed = seed;
    }
    let reports = recipe::run(&recipe_config)?;
    print!("{}", recipe::table(&reports));
    println!(
        "curves: {}\nsummary: {}",
        recipe_config.output.join("recipe.png").display(),
        recipe_config.output.join("summary.json").display()
    );
    Ok(())
}

fn load_config(args: &RunArgs, default: &str) -> Result<TrainConfig> {
    let text = match &args.config {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => default.to_string(),
    };
    let mut config = TrainConfig::from_toml(&text).with_context(|| match &args.config {
        Some(path) => format!("in {}", path.display()),
        None => "in the embedded default".to_string(),
    })?;
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    if let Some(output) = &args.output {
        config.output = output.clone();
    }
    Ok(config)
}

fn train(args: RunArgs, default: &str, with_grpo: bool) -> Result<()> {
    let config = load_config(&args, default)?;
    let resume = if args.resume {
        Resume::Required
    } else {
        Resume::Never
    };
    let outcome = runner::train(&config, with_grpo, resume)?;
    println!(
        "model: {}\nmetrics: {}\ncurves: {}",
        outcome.final_dir.display(),
        outcome.metrics.display(),
        outcome.curves.display()
    );
    Ok(())
}
