//! Training data: JSONL files of prompts (with a ground truth for rewards, or a completion for
//! SFT), and generated toy tasks small enough for a model trained from scratch on two CPU cores.

use crate::error::TrainError;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::path::Path;

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
    /// Routing key on the reward bus (`math`, `code`, …).
    #[serde(default)]
    pub task: Option<String>,
}

/// Read a JSONL file of [`Example`]s; a bad line is an error naming the line.
pub fn read_jsonl(path: &Path) -> Result<Vec<Example>, TrainError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| TrainError::Io(format!("{}: {e}", path.display())))?;
    let mut examples = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let example: Example = serde_json::from_str(line)
            .map_err(|e| TrainError::Input(format!("{}:{}: {e}", path.display(), i + 1)))?;
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

/// Generated tasks over four distinct digits. Answers are single `\boxed{}` values, checked by
/// the math reward; SFT completions use the R1-Zero layout `<think>…</think><answer>\boxed{…}</answer>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToyTask {
    /// "first of 3 7 1 9" → 3.
    First,
    /// "sort 3 7 1 9" → 1379.
    Sort,
    /// "sum 3 7 1 9" → 20.
    Sum,
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
            ToyTask::Sum => digits.iter().sum::<u32>().to_string(),
        }
    }

    fn word(self) -> &'static str {
        match self {
            ToyTask::First => "first of",
            ToyTask::Sort => "sort",
            ToyTask::Sum => "sum",
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
        .map(|&digits| {
            let answer = task.solve(digits);
            let shown = match answers {
                ToyAnswers::Correct => answer.clone(),
                ToyAnswers::Random => digits[rng.random_range(0..4)].to_string(),
            };
            Example {
                prompt: format!(
                    "{} {} {} {} {}",
                    task.word(),
                    digits[0],
                    digits[1],
                    digits[2],
                    digits[3]
                ),
                completion: Some(format!(
                    "<think>{shown}</think><answer>\\boxed{{{shown}}}</answer>"
                )),
                answer: Some(answer),
                task: Some("math".into()),
            }
        })
        .collect();
    let (eval, train) = examples.split_at(held_out);
    Ok((train.to_vec(), eval.to_vec()))
}
