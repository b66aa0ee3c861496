//! `r1-train eval`: pass@1 estimated from k samples, cons@k (majority vote over answers grouped
//! by mathematical equivalence) and the language-consistency rate, per language — on MMATH
//! (the repository's `fixtures/mmath`, ten languages), HumanEval (`fixtures/humaneval`, judged in
//! the sandbox) or any prompt set with answers.

use crate::error::TrainError;
use crate::model::sampling::SamplingConfig;
use crate::model::ModelSource;
use crate::train::data::{read_jsonl, toy_split, Example, ToyAnswers, ToyTask};
use crate::train::policy::Policy;
use crate::train::reward::{component_mean, scored, BusRewarder, Rewarder};
use crate::train::rollout::rollouts;
use judges::{BusConfig, RewardKind, RewardSpec};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// One problem to evaluate, with the language its answer should be written in.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalItem {
    pub example: Example,
    pub language: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalConfig {
    /// k: samples per problem.
    pub samples: usize,
    pub temperature: f64,
    pub top_p: f64,
    pub max_new_tokens: usize,
    pub seed: u64,
}

impl Default for EvalConfig {
    /// DeepSeek-R1's evaluation setting: T = 0.6, top-p 0.95.
    fn default() -> Self {
        EvalConfig {
            samples: 4,
            temperature: 0.6,
            top_p: 0.95,
            max_new_tokens: 1024,
            seed: 0,
        }
    }
}

/// Rates over a set of problems.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Row {
    pub problems: usize,
    /// Mean accuracy over all samples (pass@1 estimated from k samples).
    pub pass_at_1: f64,
    /// Share of problems whose majority answer is correct.
    pub cons_at_k: f64,
    /// Mean language-consistency reward over samples where it applies (`None`: never scored).
    pub language_consistency: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EvalReport {
    pub samples_per_problem: usize,
    pub overall: Row,
    /// By target language (by task when the item names no language; `-` when neither).
    pub by_language: BTreeMap<String, Row>,
}

/// Which problems `r1-train eval` reads.
#[derive(Debug, Clone, PartialEq)]
pub enum EvalData {
    /// MMATH (ten languages) from a folder.
    Mmath {
        dir: PathBuf,
        languages: Vec<String>,
    },
    /// HumanEval's `HumanEval.jsonl.gz`, judged in the sandbox.
    HumanEval { path: PathBuf },
    /// Held-out prompts of a generated toy task.
    Toy { task: ToyTask, seed: u64 },
    /// A JSONL file of examples with answers (or code tests).
    Jsonl { path: PathBuf },
}

impl EvalData {
    /// The first `limit` problems (per language for MMATH).
    pub fn items(&self, limit: usize) -> Result<Vec<EvalItem>, TrainError> {
        let examples = match self {
            EvalData::Mmath { dir, languages } => return read_mmath(dir, languages, limit),
            EvalData::HumanEval { path } => return read_humaneval(path, limit),
            EvalData::Toy { task, seed } => toy_split(*task, ToyAnswers::Correct, limit, *seed)?.1,
            EvalData::Jsonl { path } => read_jsonl(path)?,
        };
        Ok(examples
            .into_iter()
            .take(limit)
            .map(|example| EvalItem {
                example,
                language: None,
            })
            .collect())
    }
}

/// The bus an evaluation scores with: math by the verifier (lenient extraction) and language
/// consistency; code in the sandbox only when some item has tests (the sandbox starts only then).
pub fn eval_bus(items: &[EvalItem]) -> BusConfig {
    let spec = |name: &str, kind: RewardKind, tasks: &[&str], timeout_ms: u64| RewardSpec {
        name: name.into(),
        kind,
        weight: 1.0,
        tasks: tasks.iter().map(|t| t.to_string()).collect(),
        timeout_ms,
    };
    let mut reward = vec![
        spec(
            "accuracy",
            RewardKind::Math { strict: false },
            &["math"],
            10_000,
        ),
        spec("language", RewardKind::Language, &[], 10_000),
    ];
    if items.iter().any(|item| item.example.tests.is_some()) {
        reward.push(spec(
            "code",
            RewardKind::Code {
                mode: Default::default(),
            },
            &["code"],
            60_000,
        ));
    }
    BusConfig {
        cache_entries: 0,
        reward,
    }
}

/// `r1-train eval`: load the model, read the problems and score `config.samples` completions
/// each on [`eval_bus`], correct by the `accuracy` (math) or `code` component.
pub fn evaluate_model(
    model: &ModelSource,
    data: &EvalData,
    limit: usize,
    config: &EvalConfig,
) -> Result<EvalReport, TrainError> {
    let policy = Policy::load(model, None, 0)?;
    let items = data.items(limit)?;
    let rewarder = BusRewarder::from_config(Some(&eval_bus(&items)), None)?;
    evaluate(&policy, &items, &rewarder, &["accuracy", "code"], config)
}

/// Read MMATH from a folder holding `questions.jsonl.gz` (`gid`, `lang`, `question`) and
/// `answers.jsonl` (`gid`, `answer`): the first `limit` problems of each language in
/// `languages` (empty: all ten).
pub fn read_mmath(
    dir: &Path,
    languages: &[String],
    limit: usize,
) -> Result<Vec<EvalItem>, TrainError> {
    let bad = |path: &Path, what: String| TrainError::Input(format!("{}: {what}", path.display()));
    let answers_path = dir.join("answers.jsonl");
    let answers_text =
        std::fs::read_to_string(&answers_path).map_err(|e| TrainError::io(&answers_path, e))?;
    let mut answers = BTreeMap::new();
    for line in answers_text.lines().filter(|l| !l.trim().is_empty()) {
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| TrainError::json(&answers_path, e))?;
        if let (Some(gid), Some(answer)) = (value["gid"].as_u64(), value["answer"].as_str()) {
            answers.insert(gid, answer.to_string());
        }
    }
    let questions_path = dir.join("questions.jsonl.gz");
    let mut questions_text = String::new();
    flate2::read::GzDecoder::new(
        std::fs::File::open(&questions_path).map_err(|e| TrainError::io(&questions_path, e))?,
    )
    .read_to_string(&mut questions_text)
    .map_err(|e| TrainError::io(&questions_path, e))?;
    let mut per_language: BTreeMap<String, usize> = BTreeMap::new();
    let mut items = Vec::new();
    for line in questions_text.lines().filter(|l| !l.trim().is_empty()) {
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| TrainError::json(&questions_path, e))?;
        let (Some(gid), Some(lang), Some(question)) = (
            value["gid"].as_u64(),
            value["lang"].as_str(),
            value["question"].as_str(),
        ) else {
            return Err(bad(
                &questions_path,
                "a line lacks gid, lang or question".into(),
            ));
        };
        if !languages.is_empty() && !languages.iter().any(|l| l == lang) {
            continue;
        }
        let count = per_language.entry(lang.to_string()).or_default();
        if *count >= limit {
            continue;
        }
        *count += 1;
        let answer = answers
            .get(&gid)
            .ok_or_else(|| bad(&answers_path, format!("no answer for gid {gid}")))?;
        items.push(EvalItem {
            example: Example {
                prompt: question.to_string(),
                completion: None,
                answer: Some(answer.clone()),
                task: Some("math".into()),
                tests: None,
            },
            language: Some(lang.to_string()),
        });
    }
    if items.is_empty() {
        return Err(TrainError::Input(format!(
            "no MMATH problems for languages {languages:?}"
        )));
    }
    Ok(items)
}

/// Read HumanEval (`HumanEval.jsonl.gz`: `task_id`, `prompt`, `test`, `entry_point`): the first
/// `limit` problems as code prompts whose tests run in the sandbox (`check(candidate)` with the
/// entry point as candidate). The model is asked for the whole function in a fenced block.
pub fn read_humaneval(path: &Path, limit: usize) -> Result<Vec<EvalItem>, TrainError> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).map_err(|e| TrainError::io(path, e))?)
        .read_to_string(&mut text)
        .map_err(|e| TrainError::io(path, e))?;
    let mut items = Vec::new();
    for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        if items.len() == limit {
            break;
        }
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|source| TrainError::JsonLine {
                path: path.to_path_buf(),
                line: i + 1,
                source,
            })?;
        let field = |key: &str| {
            value[key].as_str().map(str::to_string).ok_or_else(|| {
                TrainError::Input(format!("{}:{}: no `{key}`", path.display(), i + 1))
            })
        };
        let prompt = field("prompt")?;
        items.push(EvalItem {
            example: Example {
                prompt: format!(
                    "Complete the following Python function. Reply with the whole function in one ```python block.\n\n```python\n{prompt}```"
                ),
                completion: None,
                answer: None,
                task: Some("code".into()),
                tests: Some(sandbox::Tests::Assert {
                    entry: field("entry_point")?,
                    script: field("test")?,
                }),
            },
            language: None,
        });
    }
    Ok(items)
}

/// Whether the majority answer among `samples` (completion, correct) is correct: answers are
/// extracted and grouped by equivalence; the largest group wins, the earliest on ties.
/// Completions without an answer do not vote.
pub fn consensus_correct(samples: &[(String, bool)]) -> bool {
    let config = verifiers::Config::lenient();
    // (representative answer, votes, correct)
    let mut groups: Vec<(String, usize, bool)> = Vec::new();
    for (completion, correct) in samples {
        let Ok((answer, _)) = verifiers::extract_answer(completion, &config) else {
            continue;
        };
        match groups.iter_mut().find(|(representative, _, _)| {
            verifiers::verify(representative, &answer, &config).is_correct()
        }) {
            Some(group) => group.1 += 1,
            None => groups.push((answer, 1, *correct)),
        }
    }
    let mut best: Option<&(String, usize, bool)> = None;
    for group in &groups {
        if best.is_none_or(|b| group.1 > b.1) {
            best = Some(group);
        }
    }
    best.is_some_and(|(_, _, correct)| *correct)
}

/// Sample `config.samples` completions per item, score them (correct: the first of
/// `accuracy_rewards` that scored reaches 1; plus the bus's `language` component when it has one),
/// and aggregate per language (or task).
pub fn evaluate(
    policy: &Policy,
    items: &[EvalItem],
    rewarder: &dyn Rewarder,
    accuracy_rewards: &[&str],
    config: &EvalConfig,
) -> Result<EvalReport, TrainError> {
    if config.samples == 0 || config.max_new_tokens == 0 {
        return Err(TrainError::Config(
            "eval: samples and max_new_tokens must be > 0".into(),
        ));
    }
    // (pass@1 of the problem, consensus correct, language consistency) by language.
    let mut results: BTreeMap<String, Vec<(f64, bool, Option<f64>)>> = BTreeMap::new();
    let sampling = SamplingConfig {
        temperature: config.temperature,
        top_p: config.top_p,
        max_new_tokens: config.max_new_tokens,
        stop_sequences: policy.stop_sequences(),
        seed: config.seed,
        ..SamplingConfig::default()
    };
    let examples: Vec<&Example> = items.iter().map(|item| &item.example).collect();
    let sampled = rollouts(policy, &examples, config.samples, &sampling)?;
    for (item, rollout) in items.iter().zip(sampled) {
        let mut samples = rollout.samples;
        for sample in &mut samples {
            sample.language = item.language.clone();
        }
        let rewarded = rewarder.reward(&samples)?;
        let correct: Vec<bool> = rewarded
            .iter()
            .map(|r| {
                accuracy_rewards
                    .iter()
                    .find_map(|name| scored(r, name))
                    .is_some_and(|v| v >= 1.0)
            })
            .collect();
        let pass = correct.iter().filter(|c| **c).count() as f64 / correct.len() as f64;
        let votes: Vec<(String, bool)> = samples
            .into_iter()
            .map(|s| s.completion)
            .zip(correct)
            .collect();
        let language = component_mean(&rewarded, "language");
        results
            .entry(
                item.language
                    .clone()
                    .or_else(|| item.example.task.clone())
                    .unwrap_or_else(|| "-".into()),
            )
            .or_default()
            .push((pass, consensus_correct(&votes), language));
    }
    let row = |rows: &[(f64, bool, Option<f64>)]| -> Row {
        let n = rows.len().max(1) as f64;
        let languages: Vec<f64> = rows.iter().filter_map(|r| r.2).collect();
        Row {
            problems: rows.len(),
            pass_at_1: rows.iter().map(|r| r.0).sum::<f64>() / n,
            cons_at_k: rows.iter().filter(|r| r.1).count() as f64 / n,
            language_consistency: (!languages.is_empty())
                .then(|| languages.iter().sum::<f64>() / languages.len() as f64),
        }
    };
    let all: Vec<(f64, bool, Option<f64>)> = results.values().flatten().copied().collect();
    Ok(EvalReport {
        samples_per_problem: config.samples,
        overall: row(&all),
        by_language: results
            .iter()
            .map(|(language, rows)| (language.clone(), row(rows)))
            .collect(),
    })
}

impl EvalReport {
    /// A plain-text table, one row per language and the overall row last.
    pub fn table(&self) -> String {
        let k = self.samples_per_problem;
        let mut out = format!(
            "{:<9} {:>8} {:>8} {:>8} {:>12}\n",
            "subset",
            "problems",
            "pass@1",
            format!("cons@{k}"),
            "lang. cons."
        );
        let line = |name: &str, row: &Row| {
            format!(
                "{:<9} {:>8} {:>8.3} {:>8.3} {:>12}\n",
                name,
                row.problems,
                row.pass_at_1,
                row.cons_at_k,
                row.language_consistency
                    .map_or("-".into(), |v| format!("{v:.3}"))
            )
        };
        for (language, row) in &self.by_language {
            out.push_str(&line(language, row));
        }
        out.push_str(&line("all", &self.overall));
        out
    }
}
