//! Running one stage of each kind into its folder, and what its report says.

use crate::error::TrainError;
use crate::model::weights::write_synced;
use crate::model::ModelSource;
use crate::pipeline::config::TrainConfig;
use crate::pipeline::eval::{evaluate, EvalConfig, EvalItem, EvalReport};
use crate::pipeline::progress::{Event, Progress};
use crate::pipeline::recipe::config::{
    DistillStage, EvalStage, GrpoStage, RecipeConfig, SftStage, Stage, Student,
};
use crate::pipeline::recipe::report::{
    early_late, first_last, held_out_changes, StageReport, REWARD_WINDOW,
};
use crate::pipeline::runner::{self, Job, Resume, TrainOutcome};
use crate::train::data::{read_jsonl, write_jsonl, DataConfig};
use crate::train::policy::Policy;
use crate::train::reward::BusRewarder;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::path::Path;

/// One stage being run.
pub struct StageRun<'a> {
    pub recipe: &'a RecipeConfig,
    pub stage: &'a Stage,
    pub dir: &'a Path,
    pub progress: &'a dyn Progress,
}

impl StageRun<'_> {
    pub fn run(&self) -> Result<StageReport, TrainError> {
        match self.stage {
            Stage::Sft(s) => self.sft(s),
            Stage::Grpo(s) => self.grpo(s),
            Stage::Sample(_) => self.sample(),
            Stage::Distill(s) => self.distill(s),
            Stage::Eval(s) => self.eval(s),
        }
    }

    fn train_config(&self) -> TrainConfig {
        self.recipe.train_config(self.stage, self.dir.to_path_buf())
    }

    fn train(&self, config: &TrainConfig, job: Job) -> Result<TrainOutcome, TrainError> {
        config.validate()?;
        runner::train(config, job, Resume::IfAny, self.progress)
    }

    fn sft(&self, stage: &SftStage) -> Result<StageReport, TrainError> {
        let outcome = self.train(&self.train_config(), Job::Sft)?;
        let mut report = StageReport::new(self.stage, stage.sft.steps, "held-out loss");
        (report.before, report.after) = first_last(&outcome.metrics, "eval_loss").unzip();
        note_resume(&mut report, &outcome);
        Ok(report)
    }

    fn grpo(&self, stage: &GrpoStage) -> Result<StageReport, TrainError> {
        let outcome = self.train(&self.train_config(), Job::Grpo)?;
        let metrics = &outcome.metrics;
        let metric = format!("held-out {}", stage.grpo.accuracy_reward);
        let mut report = StageReport::new(self.stage, stage.grpo.steps, &metric);
        report.reward = early_late(metrics, "reward", REWARD_WINDOW);
        (report.before, report.after) = first_last(metrics, "eval_accuracy").unzip();
        report.held_out = held_out_changes(metrics);
        report.note = report
            .held_out
            .iter()
            .map(|(name, (before, after))| format!("{name} {before:.2} → {after:.2}"))
            .collect::<Vec<_>>()
            .join(", ");
        note_resume(&mut report, &outcome);
        Ok(report)
    }

    fn sample(&self) -> Result<StageReport, TrainError> {
        let stats = runner::sample_dataset(&self.train_config(), &self.dir.join("samples.jsonl"))?;
        let mut report = StageReport::new(self.stage, stats.prompts, "kept share");
        report.after = Some(stats.kept as f64 / stats.sampled.max(1) as f64);
        report.note = format!(
            "kept {} of {} samples ({} of {} prompts); dropped: {} reward failed, {} incorrect, {} mixed language, {} long paragraph, {} code block, {} duplicate, {} over the per-prompt limit",
            stats.kept,
            stats.sampled,
            stats.prompts_kept,
            stats.prompts,
            stats.reward_failed,
            stats.incorrect,
            stats.mixed_language,
            stats.long_paragraph,
            stats.code_block,
            stats.duplicate,
            stats.over_limit
        );
        Ok(report)
    }

    /// The teacher samples (rejection-filtered), the student learns them by SFT; its loss on
    /// held-out teacher samples is the measure.
    fn distill(&self, stage: &DistillStage) -> Result<StageReport, TrainError> {
        let teacher = self.train_config();
        let (train_path, held_out_path) = (
            self.dir.join("train.jsonl"),
            self.dir.join("held_out.jsonl"),
        );
        if !held_out_path.exists() {
            self.teacher_samples(&teacher, stage)?;
        }
        let student = TrainConfig {
            output: self.dir.join("student"),
            model: match &stage.student {
                Student::Model(model) => model.clone(),
                Student::Stage(reference) => self.recipe.model(reference),
            },
            data: DataConfig {
                toy: None,
                train: Some(train_path.clone()),
                eval: Some(held_out_path),
                eval_size: 0,
            },
            sample: None,
            grpo: None,
            ..teacher.clone()
        };
        let outcome = self.train(&student, Job::Sft)?;
        let mut report = StageReport::new(self.stage, stage.sft.steps, "student held-out loss");
        (report.before, report.after) = first_last(&outcome.metrics, "eval_loss").unzip();
        report.note = format!(
            "{} teacher samples; teacher {} parameters, student {}",
            read_jsonl(&train_path)?.len(),
            parameters(&teacher.model)?,
            parameters(&student.model)?
        );
        Ok(report)
    }

    /// The teacher's kept samples, split into the student's training and held-out files.
    fn teacher_samples(
        &self,
        teacher: &TrainConfig,
        stage: &DistillStage,
    ) -> Result<(), TrainError> {
        let samples_path = self.dir.join("samples.jsonl");
        let stats = runner::sample_dataset(teacher, &samples_path)?;
        self.progress.event(&Event::Note(&format!(
            "teacher: kept {} of {} samples ({} prompts)",
            stats.kept, stats.sampled, stats.prompts
        )));
        let mut samples = read_jsonl(&samples_path)?;
        if samples.len() < 2 {
            return Err(TrainError::Input(format!(
                "stage {:?}: the teacher kept {} samples; distillation needs at least 2",
                stage.name,
                samples.len()
            )));
        }
        samples.shuffle(&mut rand::rngs::StdRng::seed_from_u64(self.recipe.seed));
        let held =
            ((samples.len() as f64 * stage.held_out).round() as usize).clamp(1, samples.len() - 1);
        write_jsonl(&self.dir.join("train.jsonl"), &samples[held..])?;
        write_jsonl(&self.dir.join("held_out.jsonl"), &samples[..held])
    }

    fn eval(&self, stage: &EvalStage) -> Result<StageReport, TrainError> {
        let options = &stage.eval;
        let items = self.eval_items(stage)?;
        let rewarder = BusRewarder::from_config(options.rewards.as_ref(), None)?;
        let eval_config = EvalConfig {
            samples: options.samples,
            temperature: options.temperature,
            top_p: options.top_p,
            max_new_tokens: options.max_new_tokens,
            seed: self.recipe.seed,
        };
        let accuracy: Vec<&str> = options
            .accuracy
            .as_slice()
            .iter()
            .map(String::as_str)
            .collect();
        let models = if options.models.is_empty() {
            vec![stage.from.clone()]
        } else {
            options.models.clone()
        };
        let mut results: BTreeMap<String, EvalReport> = BTreeMap::new();
        let mut text = String::new();
        for model in &models {
            let policy = Policy::load(&self.recipe.model(model), None, self.recipe.seed)?;
            let report = evaluate(&policy, &items, &rewarder, &accuracy, &eval_config)?;
            text.push_str(&format!("{model}\n{}\n", report.table()));
            results.insert(model.clone(), report);
        }
        self.write_eval(&results, &text)?;
        let pass = |model: &str| results.get(model).map(|r| r.overall.pass_at_1);
        let mut report = StageReport::new(self.stage, items.len(), "pass@1");
        report.before = models.first().and_then(|m| pass(m));
        report.after = models.last().and_then(|m| pass(m));
        report.note = models
            .iter()
            .map(|m| {
                let row = &results[m].overall;
                format!("{m} {:.3}/{:.3}", row.pass_at_1, row.cons_at_k)
            })
            .collect::<Vec<_>>()
            .join(", ")
            + &format!(" (pass@1/cons@{})", options.samples);
        Ok(report)
    }

    /// The stage's held-out prompts, up to its limit.
    fn eval_items(&self, stage: &EvalStage) -> Result<Vec<EvalItem>, TrainError> {
        let (_, held_out) = self.train_config().examples()?;
        let items: Vec<EvalItem> = held_out
            .into_iter()
            .take(stage.eval.limit.unwrap_or(usize::MAX))
            .map(|example| EvalItem {
                example,
                language: None,
            })
            .collect();
        if items.is_empty() {
            return Err(TrainError::Config(format!(
                "stage {:?}: no held-out prompts to evaluate (data.eval_size or data.eval)",
                stage.name
            )));
        }
        Ok(items)
    }

    /// `eval.json` and `eval.txt` in the stage's folder.
    fn write_eval(
        &self,
        results: &BTreeMap<String, EvalReport>,
        text: &str,
    ) -> Result<(), TrainError> {
        std::fs::create_dir_all(self.dir).map_err(|e| TrainError::io(self.dir, e))?;
        let path = self.dir.join("eval.json");
        let json = serde_json::to_string_pretty(results).map_err(|e| TrainError::json(&path, e))?;
        write_synced(&path, json.as_bytes())?;
        write_synced(&self.dir.join("eval.txt"), text.as_bytes())?;
        self.progress.event(&Event::Note(text));
        Ok(())
    }
}

/// "resumed at …" in front of a training stage's note.
fn note_resume(report: &mut StageReport, outcome: &TrainOutcome) {
    if let Some((phase, step)) = outcome.resumed_at {
        let resumed = format!("resumed at {phase:?} step {step}");
        report.note = if report.note.is_empty() {
            resumed
        } else {
            format!("{resumed}; {}", report.note)
        };
    }
}

fn parameters(source: &ModelSource) -> Result<usize, TrainError> {
    Ok(Policy::load(source, None, 0)?.parameter_count())
}
