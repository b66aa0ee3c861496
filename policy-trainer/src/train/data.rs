//! Training data: JSONL files of prompts (with a ground truth for rewards, or a completion for
//! SFT), and generated toy tasks small enough for a model trained from scratch on two CPU cores.

use crate::config_value::OneOrMany;
use crate::error::TrainError;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One prompt, with what SFT or the rewards need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    pub prompt: String,
    /// The supervised response (SFT).
    #[serde(default, alias = "response")]
    pub completion: Option<String>,
    /// Ground truth for the math reward.
    #[serde(default)]
    pub answer: Option<String>,
    /// Routing key on the reward bus (`math`, `code`, `general`, …).
    #[serde(default)]
    pub task: Option<String>,
    /// Code tests (sandbox schema) for the code reward.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<sandbox::Tests>,
}

impl Example {
    /// The reward-bus sample for one completion of this example.
    pub fn sample(&self, completion: String) -> judges::Sample {
        judges::Sample {
            prompt: self.prompt.clone(),
            completion,
            task: self.task.clone(),
            answer: self.answer.clone(),
            tests: self.tests.clone(),
            ..Default::default()
        }
    }
}

/// Read a JSONL file of [`Example`]s; a bad line is an error naming the line.
pub fn read_jsonl(path: &Path) -> Result<Vec<Example>, TrainError> {
    let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
    let mut examples = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let example: Example =
            serde_json::from_str(line).map_err(|source| TrainError::JsonLine {
                path: path.to_path_buf(),
                line: i + 1,
                source,
            })?;
        examples.push(example);
    }
    if examples.is_empty() {
        return Err(TrainError::Input(format!(
            "{}: no examples",
            path.display()
        )));
    }
    Ok(examples)
}

/// Generated tasks over four distinct digits, one per reward route of the R1 recipe: math
/// (`first`, `sort`, `sum`: single `\boxed{}` values in the R1-Zero layout
/// `<think>…</think><answer>\boxed{…}</answer>`, checked by the math reward), code (`code`: a
/// Python program run against a test in the sandbox), general (`last`: a plain reply rated by a
/// generative judge) and the judge's own training data (`judge_last`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToyTask {
    /// "first of 3 7 1 9" → 3.
    First,
    /// "sort 3 7 1 9" → 1379.
    Sort,
    /// "sum 3 7 1 9" → 20.
    Sum,
    /// "code sum 3 7 1 9" → a program printing 20 (`print(3+7+1+9)`), judged in the sandbox.
    Code,
    /// "last of 3 7 1 9" → a plain "9" after the reasoning block; no verifier, a judge rates it.
    Last,
    /// "last of 3 7 1 9 => 9" → "<think>9 9 same</think>Score: 10" (or "Score: 1" for a wrong
    /// reply): what a toy judge learns to say about `last` replies.
    JudgeLast,
}

/// Which answer an SFT completion of a toy task carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ToyAnswers {
    #[default]
    Correct,
    /// One of the prompt's digits, chosen at random: teaches the format and to answer with a
    /// digit read from the prompt, not which one (a cold start whose accuracy is 1 in 4,
    /// leaving RL to learn the task).
    Random,
}

type Digits = [u32; 4];

impl ToyTask {
    fn solve(self, digits: Digits) -> String {
        match self {
            ToyTask::First => digits[0].to_string(),
            ToyTask::Sort => {
                let mut sorted = digits;
                sorted.sort_unstable();
                sorted.iter().map(u32::to_string).collect()
            }
            ToyTask::Sum | ToyTask::Code => digits.iter().sum::<u32>().to_string(),
            ToyTask::Last | ToyTask::JudgeLast => digits[3].to_string(),
        }
    }

    fn word(self) -> &'static str {
        match self {
            ToyTask::First => "first of",
            ToyTask::Sort => "sort",
            ToyTask::Sum => "sum",
            ToyTask::Code => "code sum",
            ToyTask::Last | ToyTask::JudgeLast => "last of",
        }
    }

    /// The reward bus's routing key for this task's prompts.
    pub fn route(self) -> &'static str {
        match self {
            ToyTask::First | ToyTask::Sort | ToyTask::Sum => "math",
            ToyTask::Code => "code",
            ToyTask::Last => "general",
            ToyTask::JudgeLast => "judge",
        }
    }

    /// The example for one set of digits; `shown` picks the answer written in the completion.
    fn example(self, digits: Digits, answers: ToyAnswers, rng: &mut impl Rng) -> Example {
        let listed = digits.map(|d| d.to_string()).join(" ");
        let question = format!("{} {listed}", self.word());
        let random_digit = digits[rng.random_range(0..4)].to_string();
        let pick = |correct: String| match answers {
            ToyAnswers::Correct => correct,
            ToyAnswers::Random => random_digit.clone(),
        };
        let (prompt, completion, answer, tests) = match self {
            ToyTask::First | ToyTask::Sort | ToyTask::Sum => {
                let answer = self.solve(digits);
                let shown = pick(answer.clone());
                let completion =
                    format!("<think>{shown}</think><answer>\\boxed{{{shown}}}</answer>");
                (question, completion, Some(answer), None)
            }
            ToyTask::Code => {
                let expression = digits.map(|d| d.to_string()).join("+");
                let completion =
                    format!("<think>{expression}</think>```python\nprint({expression})\n```");
                let tests = sandbox::Tests::Stdio {
                    cases: vec![sandbox::StdioCase {
                        stdin: String::new(),
                        stdout: self.solve(digits),
                    }],
                    checker: None,
                };
                (question, completion, None, Some(tests))
            }
            ToyTask::Last => {
                let shown = pick(self.solve(digits));
                (
                    question,
                    format!("<think>{shown}</think>{shown}"),
                    None,
                    None,
                )
            }
            ToyTask::JudgeLast => {
                // Half right; mostly another of the prompt's digits when wrong, sometimes an
                // empty or longer reply.
                let reply = match rng.random_range(0..8) {
                    0..=3 => digits[3].to_string(),
                    4..=6 => digits[rng.random_range(0..3)].to_string(),
                    _ => (0..[0, 2, 3][rng.random_range(0..3)])
                        .map(|_| digits[rng.random_range(0..4)].to_string())
                        .collect(),
                };
                let score = if reply == self.solve(digits) { 10 } else { 1 };
                // The judge reasons first: it writes the expected digit next to the reply,
                // which turns a long-range comparison into one between neighbours.
                let expected = self.solve(digits);
                let verdict = if score == 10 { "same" } else { "differ" };
                (
                    format!("{question} => {reply}"),
                    format!("<think>{expected} {reply} {verdict}</think>Score: {score}"),
                    None,
                    None,
                )
            }
        };
        Example {
            prompt,
            completion: Some(completion),
            answer,
            task: Some(self.route().into()),
            tests,
        }
    }
}

/// Number of distinct toy prompts (ordered choices of four distinct digits).
pub const TOY_PROMPTS: usize = 5040;

/// All toy prompts of `task`, shuffled by `seed` and split into `(train, held_out)` with
/// `held_out` prompts set aside (disjoint by construction).
pub fn toy_split(
    task: ToyTask,
    answers: ToyAnswers,
    held_out: usize,
    seed: u64,
) -> Result<(Vec<Example>, Vec<Example>), TrainError> {
    if held_out >= TOY_PROMPTS {
        return Err(TrainError::Config(format!(
            "a toy task has {TOY_PROMPTS} prompts; cannot hold out {held_out}"
        )));
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut all: Vec<Digits> = Vec::with_capacity(TOY_PROMPTS);
    for a in 0..10 {
        for b in (0..10).filter(|&b| b != a) {
            for c in (0..10).filter(|&c| c != a && c != b) {
                for d in (0..10).filter(|&d| d != a && d != b && d != c) {
                    all.push([a, b, c, d]);
                }
            }
        }
    }
    all.shuffle(&mut rng);
    let examples: Vec<Example> = all
        .iter()
        .map(|&digits| task.example(digits, answers, &mut rng))
        .collect();
    let (eval, train) = examples.split_at(held_out);
    Ok((train.to_vec(), eval.to_vec()))
}

/// Several toy tasks mixed: each task's split (`held_out` shared out evenly, at most `limit`
/// training prompts each), both parts interleaved in a seeded order.
pub fn toy_mix(
    tasks: &[ToyTask],
    answers: ToyAnswers,
    held_out: usize,
    limit: Option<usize>,
    seed: u64,
) -> Result<(Vec<Example>, Vec<Example>), TrainError> {
    let (mut train, mut eval) = (Vec::new(), Vec::new());
    let per_task = held_out / tasks.len().max(1);
    for (i, &task) in tasks.iter().enumerate() {
        let (mut t, e) = toy_split(task, answers, per_task, seed.wrapping_add(i as u64))?;
        t.truncate(limit.unwrap_or(usize::MAX));
        train.extend(t);
        eval.extend(e);
    }
    if tasks.len() > 1 {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        train.shuffle(&mut rng);
        eval.shuffle(&mut rng);
    }
    Ok((train, eval))
}

/// Write examples as JSONL through a temporary file and a rename.
pub fn write_jsonl(out: &Path, examples: &[Example]) -> Result<(), TrainError> {
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| TrainError::io(parent, e))?;
    }
    let mut text = String::new();
    for example in examples {
        text.push_str(&serde_json::to_string(example).map_err(|e| TrainError::json(out, e))?);
        text.push('\n');
    }
    let tmp = out.with_extension("jsonl.tmp");
    std::fs::write(&tmp, text).map_err(|e| TrainError::io(&tmp, e))?;
    std::fs::rename(&tmp, out).map_err(|e| TrainError::io(out, e))
}

/// Where a run's prompts come from (`[data]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Generated tasks (one or a list) instead of files.
    #[serde(default)]
    pub toy: Option<OneOrMany<ToyTask>>,
    /// Training examples (JSONL).
    #[serde(default)]
    pub train: Option<PathBuf>,
    /// Held-out examples (JSONL) for accuracy before and after.
    #[serde(default)]
    pub eval: Option<PathBuf>,
    /// Toy prompts held out for evaluation.
    #[serde(default = "default_eval_size")]
    pub eval_size: usize,
}

fn default_eval_size() -> usize {
    100
}

impl DataConfig {
    /// Train and held-out examples: generated for toy tasks (with `answers` in the SFT
    /// completions), read from JSONL otherwise.
    pub fn examples(
        &self,
        answers: ToyAnswers,
        seed: u64,
    ) -> Result<(Vec<Example>, Vec<Example>), TrainError> {
        if let Some(tasks) = &self.toy {
            return toy_mix(tasks.as_slice(), answers, self.eval_size, None, seed);
        }
        let train = match &self.train {
            Some(path) => read_jsonl(path)?,
            None => return Err(TrainError::Config("data: set `toy` or `train`".into())),
        };
        let eval = match &self.eval {
            Some(path) => read_jsonl(path)?,
            None => Vec::new(),
        };
        Ok((train, eval))
    }

    pub fn validate(&self) -> Result<(), TrainError> {
        match &self.toy {
            None if self.train.is_none() => {
                Err(TrainError::Config("data: set `toy` or `train`".into()))
            }
            Some(tasks) if tasks.as_slice().is_empty() => Err(TrainError::Config(
                "data.toy: name at least one task".into(),
            )),
            _ => Ok(()),
        }
    }
}
