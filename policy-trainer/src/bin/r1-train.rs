//! `r1-train`: SFT and GRPO from a TOML config (embedded defaults train a tiny model on a toy
//! task), rejection sampling, evaluation, serving, GGUF conversion and the whole R1 recipe. The
//! binary parses flags, calls the library and draws its progress events.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use policy_trainer::model::{weights, ChatTemplate, ModelSource};
use policy_trainer::pipeline::config::{TrainConfig, DEFAULT_GRPO, DEFAULT_SFT};
use policy_trainer::pipeline::eval::{evaluate_model, EvalConfig, EvalData};
use policy_trainer::pipeline::progress::{step_line, Event, Progress};
use policy_trainer::pipeline::recipe::{self, RecipeConfig, DEFAULT_RECIPE};
use policy_trainer::pipeline::runner::{self, Job, Resume};
use policy_trainer::serve::{app, ServeState};
use policy_trainer::train::data::ToyTask;
use policy_trainer::train::policy::Policy;
use policy_trainer::{ErrorKind, TrainError};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

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

#[derive(clap::Args)]
struct EvalArgs {
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
    /// chatml, r1_zero, deepseek_r1 or plain.
    #[arg(long, default_value = "chatml")]
    template: ChatTemplate,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, default_value = "fixtures/mmath")]
    mmath_dir: PathBuf,
    #[arg(long, default_value = "fixtures/humaneval/HumanEval.jsonl.gz")]
    humaneval: PathBuf,
    /// Also write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// A Hugging Face folder (a run's `final/` or a checkpoint) or a `.gguf` file.
    model: PathBuf,
    #[arg(long, default_value = "127.0.0.1:8000")]
    bind: String,
    /// chatml, r1_zero, deepseek_r1 or plain.
    #[arg(long, default_value = "chatml")]
    template: ChatTemplate,
    /// The model name reported to clients (default: the folder or file name).
    #[arg(long)]
    name: Option<String>,
    /// Upper bound on a request's max_tokens.
    #[arg(long, default_value_t = 4096)]
    max_tokens_limit: usize,
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
    Serve(ServeArgs),
    /// pass@1 (from k samples), cons@k and language consistency per language.
    Eval(EvalArgs),
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
        let kind = e.downcast_ref::<TrainError>().map(TrainError::kind);
        std::process::exit(match kind {
            Some(ErrorKind::Config | ErrorKind::Input) => 2,
            _ => 1,
        });
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Sft(args) => train(args, DEFAULT_SFT, Job::Sft),
        Command::Grpo(args) => train(args, DEFAULT_GRPO, Job::Grpo),
        Command::Sample { config, out } => sample(&config, out),
        Command::Recipe {
            config,
            output,
            seed,
        } => run_recipe(config, output, seed),
        Command::Serve(args) => serve(args),
        Command::Eval(args) => eval(args),
        Command::Convert { gguf, output } => {
            weights::convert_gguf(&gguf, &output).map_err(TrainError::from)?;
            println!("wrote {}", output.display());
            Ok(())
        }
        Command::Defaults => {
            println!(
                "# r1-train sft\n{DEFAULT_SFT}\n# r1-train grpo\n{DEFAULT_GRPO}\n# r1-train recipe\n{DEFAULT_RECIPE}"
            );
            Ok(())
        }
    }
}

/// A config file, or the embedded default (named in the error either way).
fn load_config(path: Option<&Path>, default: &str) -> Result<TrainConfig> {
    match path {
        Some(path) => {
            TrainConfig::from_file(path).with_context(|| format!("in {}", path.display()))
        }
        None => TrainConfig::from_toml(default).context("in the embedded default"),
    }
}

fn train(args: RunArgs, default: &str, job: Job) -> Result<()> {
    let mut config = load_config(args.config.as_deref(), default)?;
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    if let Some(output) = args.output {
        config.output = output;
    }
    let resume = if args.resume {
        Resume::Required
    } else {
        Resume::Never
    };
    let outcome = runner::train(&config, job, resume, &Bar::default())?;
    println!(
        "model: {}\nmetrics: {}\ncurves: {}",
        outcome.final_dir.display(),
        outcome.metrics.display(),
        outcome.curves.display()
    );
    Ok(())
}

fn sample(config_path: &Path, out: Option<PathBuf>) -> Result<()> {
    let config = load_config(Some(config_path), "")?;
    let out = out.unwrap_or_else(|| config.output.join("samples.jsonl"));
    let stats = runner::sample_dataset(&config, &out)?;
    eprintln!("{}", serde_json::to_string(&stats)?);
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

fn run_recipe(config: Option<PathBuf>, output: Option<PathBuf>, seed: Option<u64>) -> Result<()> {
    let mut recipe_config = match &config {
        Some(path) => {
            RecipeConfig::from_file(path).with_context(|| format!("in {}", path.display()))?
        }
        None => {
            RecipeConfig::from_toml(DEFAULT_RECIPE).context("in the embedded default recipe")?
        }
    };
    if let Some(output) = output {
        recipe_config.output = output;
    }
    if let Some(seed) = seed {
        recipe_config.seed = seed;
    }
    let reports = recipe::run(&recipe_config, &Bar::default())?;
    print!("{}", recipe::table(&reports));
    println!(
        "curves: {}\nsummary: {}",
        recipe_config.output.join("recipe.png").display(),
        recipe_config.output.join("summary.json").display()
    );
    Ok(())
}

fn eval(args: EvalArgs) -> Result<()> {
    let data = match args.data.as_str() {
        "mmath" => EvalData::Mmath {
            dir: args.mmath_dir,
            languages: args.languages,
        },
        "humaneval" => EvalData::HumanEval {
            path: args.humaneval,
        },
        spec => match spec.strip_prefix("toy:") {
            Some(task) => EvalData::Toy {
                task: serde_json::from_value::<ToyTask>(task.into()).with_context(|| {
                    format!("--data toy:{task}: use first, sort, sum, code or last")
                })?,
                seed: args.seed,
            },
            None => EvalData::Jsonl { path: spec.into() },
        },
    };
    let config = EvalConfig {
        samples: args.samples,
        temperature: args.temperature,
        top_p: args.top_p,
        max_new_tokens: args.max_new_tokens,
        seed: args.seed,
    };
    let model = ModelSource::from_path(&args.model, args.template);
    let report = evaluate_model(&model, &data, args.limit, &config)?;
    print!("{}", report.table());
    if let Some(path) = args.json {
        std::fs::write(&path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn serve(args: ServeArgs) -> Result<()> {
    let policy = Policy::load(&ModelSource::from_path(&args.model, args.template), None, 0)?;
    let model_name = args.name.unwrap_or_else(|| {
        args.model
            .file_name()
            .map_or("r1-train".into(), |n| n.to_string_lossy().to_string())
    });
    let state = Arc::new(ServeState {
        policy: Mutex::new(policy),
        model_name,
        max_tokens_limit: args.max_tokens_limit,
    });
    tokio::runtime::Runtime::new()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.bind)
            .await
            .with_context(|| format!("binding {}", args.bind))?;
        eprintln!(
            "serving {} on http://{}/v1/chat/completions",
            args.model.display(),
            listener.local_addr()?
        );
        axum::serve(listener, app(state))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(())
    })
}

/// Progress on stderr: a bar while a run trains (plain lines every 10 steps when stderr is not
/// a terminal), every other event as a line.
#[derive(Default)]
struct Bar {
    bar: RefCell<Option<ProgressBar>>,
}

impl Progress for Bar {
    fn event(&self, event: &Event<'_>) {
        match event {
            Event::RunStarted { total, done } => {
                let bar = ProgressBar::new(*total as u64);
                if let Ok(style) = ProgressStyle::with_template(
                    "{prefix:>5} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}",
                ) {
                    bar.set_style(style);
                }
                bar.set_position(*done as u64);
                *self.bar.borrow_mut() = Some(bar);
            }
            Event::Step(record) => self.step(event, record),
            Event::RunFinished => {
                if let Some(bar) = self.bar.borrow_mut().take() {
                    bar.finish_and_clear();
                }
            }
            _ => self.line(event),
        }
    }
}

impl Bar {
    fn step(&self, event: &Event<'_>, record: &serde_json::Value) {
        let bar = self.bar.borrow();
        let Some(bar) = bar.as_ref() else {
            return eprintln!("{event}");
        };
        bar.set_prefix(record["phase"].as_str().unwrap_or("").to_string());
        bar.set_message(step_line(record));
        bar.inc(1);
        let step = record["step"].as_u64().unwrap_or(0);
        if bar.is_hidden() && (step.is_multiple_of(10) || step == 1) {
            eprintln!("{event}");
        }
    }

    /// A line above the bar when it is drawn, on stderr otherwise.
    fn line(&self, event: &Event<'_>) {
        match self.bar.borrow().as_ref().filter(|bar| !bar.is_hidden()) {
            Some(bar) => bar.println(event.to_string()),
            None => eprintln!("{event}"),
        }
    }
}
