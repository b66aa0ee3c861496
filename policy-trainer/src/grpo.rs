//! GRPO: G sampled completions per prompt, rewards from a [`Rewarder`] (the `judges` bus
//! in-process), group-relative advantages, and the clipped surrogate with optional k3 KL —
//! with DAPO's dynamic sampling and truncation masking, and μ > 1 reuse of a rollout batch.

use crate::config::{GrpoConfig, TrainConfig};
use crate::data::Example;
use crate::error::TrainError;
use crate::judge::LocalJudgeConfig;
use crate::loss::{advantages, grpo_loss, token_logprobs, Aggregation, GrpoLossConfig};
use crate::model::Decoder;
use crate::optim::{Accumulated, AdamW};
use crate::run::{copy_vars, Metrics, Phase, Policy, RunDir, TrainerState};
use crate::sample::{sample, Completion, SamplingConfig};
use candle_core::{DType, Tensor};
use candle_nn::VarMap;
use judges::{Bus, Outcome, Rewarded, Sample};
use rand::seq::IndexedRandom;
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// Scores completions. The trainer only sees this trait; [`BusRewarder`] plugs in the reward bus.
pub trait Rewarder {
    fn reward(&self, samples: &[Sample]) -> Result<Vec<Rewarded>, TrainError>;
}

/// The `judges` reward bus, driven from the training thread.
pub struct BusRewarder {
    bus: Arc<Bus>,
    runtime: tokio::runtime::Runtime,
}

impl BusRewarder {
    pub fn new(bus: Bus) -> Result<BusRewarder, TrainError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| TrainError::Reward(format!("starting the reward runtime: {e}")))?;
        Ok(BusRewarder {
            bus: Arc::new(bus),
            runtime,
        })
    }

    /// The bus built from a configuration (the embedded default when `None`), with the code
    /// sandbox when a `code` reward is configured and an in-process judge when one is given.
    pub fn from_config(
        config: Option<&judges::BusConfig>,
        local_judge: Option<&LocalJudgeConfig>,
    ) -> Result<BusRewarder, TrainError> {
        let config = config
            .cloned()
            .unwrap_or_else(judges::BusConfig::embedded_default);
        config
            .validate()
            .map_err(|e| TrainError::Config(format!("rewards: {e}")))?;
        let sandbox = if config
            .reward
            .iter()
            .any(|r| matches!(r.kind, judges::RewardKind::Code { .. }))
        {
            let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
            let sandbox = sandbox::Sandbox::new(Default::default(), threads)
                .map_err(|e| TrainError::Reward(format!("starting the code sandbox: {e}")))?;
            Some(Arc::new(sandbox))
        } else {
            None
        };
        let mut bus =
            Bus::new(&config, sandbox).map_err(|e| TrainError::Config(format!("rewards: {e}")))?;
        if let Some(judge) = local_judge {
            let tasks: Vec<&str> = judge.tasks.iter().map(String::as_str).collect();
            bus.add(
                &judge.name,
                judge.weight,
                &tasks,
                judge.timeout_ms,
                Arc::new(crate::judge::local_judge(judge)?),
            )
            .map_err(|e| TrainError::Config(format!("rewards: {e}")))?;
        }
        BusRewarder::new(bus)
    }
}

impl Rewarder for BusRewarder {
    fn reward(&self, samples: &[Sample]) -> Result<Vec<Rewarded>, TrainError> {
        Ok(self.runtime.block_on(self.bus.reward_batch(samples)))
    }
}

/// Mean of every component that scored at least once, by name (the bus routes each component
/// to its tasks, so this is also a per-task measure: `code` scores only code prompts).
pub fn component_means(rewarded: &[Rewarded]) -> BTreeMap<String, f64> {
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for c in rewarded.iter().flat_map(|r| &r.components) {
        if let (Outcome::Scored, Some(value)) = (&c.outcome, c.value) {
            let entry = sums.entry(c.name.clone()).or_default();
            entry.0 += value;
            entry.1 += 1;
        }
    }
    sums.into_iter()
        .map(|(name, (sum, n))| (name, sum / n as f64))
        .collect()
}

/// Mean value of one reward component over scored samples (`None` if it never scored).
pub fn component_mean(rewarded: &[Rewarded], name: &str) -> Option<f64> {
    component_means(rewarded).get(name).copied()
}

/// Sampled completions of one example, as tokens and as reward-bus samples.
pub(crate) struct Rollouts {
    pub prompt: Vec<u32>,
    pub completions: Vec<Completion>,
    pub samples: Vec<Sample>,
}

/// `n` sampled completions of one example.
pub(crate) fn rollouts(
    policy: &Policy,
    example: &Example,
    n: usize,
    config: &SamplingConfig,
) -> Result<Rollouts, TrainError> {
    let prompt = policy.prompt_tokens(&example.prompt)?;
    let completions = sample(&policy.model, &prompt, n, config)?;
    let samples = completions
        .iter()
        .map(|c| {
            Ok(Sample {
                completion_tokens: Some(c.tokens.len()),
                ..example.sample(policy.completion_text(c)?)
            })
        })
        .collect::<Result<_, TrainError>>()?;
    Ok(Rollouts {
        prompt,
        completions,
        samples,
    })
}

/// `samples` completions per held-out example (one greedy one when `config.temperature` is 0),
/// rewarded: the held-out check. The mean of a reward over them estimates pass@1 at that
/// temperature.
pub fn evaluate(
    policy: &Policy,
    examples: &[Example],
    rewarder: &dyn Rewarder,
    config: &SamplingConfig,
    samples: usize,
) -> Result<Vec<Rewarded>, TrainError> {
    let n = if config.temperature == 0.0 {
        1
    } else {
        samples.max(1)
    };
    let mut scored = Vec::with_capacity(examples.len() * n);
    for (i, example) in examples.iter().enumerate() {
        let config = SamplingConfig {
            seed: config.seed.wrapping_add(i as u64),
            ..config.clone()
        };
        scored.extend(rollouts(policy, example, n, &config)?.samples);
    }
    rewarder.reward(&scored)
}

/// One sampled group.
struct Group {
    /// The prompt's task (routing key), for per-task figures.
    task: String,
    prompt: Vec<u32>,
    completions: Vec<Completion>,
    rewards: Vec<f64>,
}

/// What a GRPO run reports.
#[derive(Debug, Clone, PartialEq)]
pub struct GrpoSummary {
    pub steps: usize,
    pub accuracy_before: Option<f64>,
    pub accuracy_after: Option<f64>,
    pub first_reward: Option<f64>,
    pub last_reward: f64,
}

/// Train from `start_step` to `grpo.steps`.
#[allow(clippy::too_many_arguments)]
pub fn train(
    policy: &Policy,
    config: &TrainConfig,
    grpo: &GrpoConfig,
    rewarder: &dyn Rewarder,
    train_set: &[Example],
    eval_set: &[Example],
    run: &RunDir,
    metrics: &mut Metrics,
    start_step: usize,
    optimizer_steps: usize,
    on_step: &mut dyn FnMut(&serde_json::Value),
) -> Result<GrpoSummary, TrainError> {
    let stop_sequences = policy.template.stop_sequences(&policy.tokenizer);
    let eval_sampling = SamplingConfig {
        temperature: grpo.temperature,
        top_p: grpo.top_p,
        top_k: grpo.top_k,
        max_new_tokens: grpo.max_new_tokens,
        stop_sequences: stop_sequences.clone(),
        seed: config.seed ^ 0xe7a1,
        ..SamplingConfig::default()
    };
    // Held-out means of every reward component (`eval/<name>`), and the accuracy component as
    // `eval_accuracy`: a task the rewards do not call accuracy (code) is watched too.
    let held_out = || -> Result<Option<serde_json::Value>, TrainError> {
        if eval_set.is_empty() {
            return Ok(None);
        }
        let rewarded = evaluate(
            policy,
            eval_set,
            rewarder,
            &eval_sampling,
            grpo.eval_samples,
        )?;
        let means = component_means(&rewarded);
        let mut record = serde_json::json!({});
        if let Some(accuracy) = means.get(&grpo.accuracy_reward) {
            record["eval_accuracy"] = (*accuracy).into();
        }
        for (name, mean) in means {
            record[format!("eval/{name}")] = mean.into();
        }
        Ok(Some(record))
    };
    let accuracy = |record: &Option<serde_json::Value>| {
        record.as_ref().and_then(|r| r["eval_accuracy"].as_f64())
    };
    let before = if start_step == 0 { held_out()? } else { None };
    if let Some(evaluated) = &before {
        let mut record = serde_json::json!({"phase": "grpo", "step": 0});
        merge(&mut record, evaluated);
        metrics.write(&record)?;
    }
    let accuracy_before = accuracy(&before);
    let mut optimizer = AdamW::new(&policy.vars, grpo.optimizer.clone())?;
    let latest = if start_step > 0 {
        run.latest_checkpoint()?
    } else {
        None
    };
    if let Some((dir, _)) = &latest {
        optimizer.load(&dir.join("optimizer.safetensors"), optimizer_steps)?;
    }
    // β = 0 skips the reference entirely.
    let reference: Option<(VarMap, Decoder)> = if grpo.beta > 0.0 {
        let (vars, model) = policy.frozen_copy()?;
        if let Some((dir, _)) = &latest {
            let saved = candle_core::safetensors::load(
                dir.join("reference.safetensors"),
                policy.model.device(),
            )?;
            let data = vars.data().lock().expect("var map lock");
            for (name, var) in data.iter() {
                let tensor = saved.get(name).ok_or_else(|| {
                    TrainError::Input(format!("{}: reference lacks {name}", dir.display()))
                })?;
                var.set(tensor)?;
            }
        }
        Some((vars, model))
    } else {
        None
    };
    let loss_config = GrpoLossConfig {
        epsilon_low: grpo.epsilon_low,
        epsilon_high: grpo.epsilon_high,
        beta: grpo.beta,
        aggregation: grpo.aggregation,
        max_completion_len: grpo.max_new_tokens,
    };
    let mut first_reward = None;
    let mut last_reward = f64::NAN;
    for step in start_step..grpo.steps {
        let started = Instant::now();
        // Rollouts: keep groups whose rewards differ (dynamic sampling), up to prompts_per_step.
        let mut kept: Vec<Group> = Vec::new();
        let mut all_rewarded: Vec<Rewarded> = Vec::new();
        // One rollout per step goes into the metrics, to read what the policy writes.
        let mut example_sample = None;
        let (mut generated, mut truncated, mut sampled) = (0usize, 0usize, 0usize);
        let mut tallies: BTreeMap<String, TaskTally> = BTreeMap::new();
        for attempt in 0..grpo.max_sampling_tries {
            let mut rng = rand::rngs::StdRng::seed_from_u64(
                config.seed ^ ((step as u64) << 20) ^ ((attempt as u64) << 8),
            );
            let prompts: Vec<&Example> = train_set
                .choose_multiple(&mut rng, grpo.prompts_per_step.min(train_set.len()))
                .collect();
            let mut groups = Vec::new();
            let mut samples = Vec::new();
            for (p, example) in prompts.iter().enumerate() {
                let sampling = SamplingConfig {
                    temperature: grpo.temperature,
                    top_p: grpo.top_p,
                    top_k: grpo.top_k,
                    max_new_tokens: grpo.max_new_tokens,
                    stop_sequences: stop_sequences.clone(),
                    seed: config.seed ^ ((step as u64) << 24) ^ ((attempt as u64) << 16) ^ p as u64,
                    ..SamplingConfig::default()
                };
                let Rollouts {
                    prompt,
                    completions,
                    samples: rollout,
                } = rollouts(policy, example, grpo.group_size, &sampling)?;
                for c in &completions {
                    generated += c.tokens.len();
                    truncated += usize::from(!c.stopped);
                    sampled += 1;
                }
                samples.extend(rollout);
                groups.push(Group {
                    task: example.task.clone().unwrap_or_else(|| "-".into()),
                    prompt,
                    completions,
                    rewards: Vec::new(),
                });
            }
            let rewarded = rewarder.reward(&samples)?;
            for (g, group) in groups.iter_mut().enumerate() {
                group.rewards = rewarded[g * grpo.group_size..(g + 1) * grpo.group_size]
                    .iter()
                    .map(|r| r.total)
                    .collect();
            }
            if example_sample.is_none() {
                if let (Some(sample), Some(reward)) = (samples.first(), rewarded.first()) {
                    example_sample = Some(serde_json::json!({
                        "prompt": sample.prompt, "completion": sample.completion, "reward": reward.total,
                    }));
                }
            }
            all_rewarded.extend(rewarded);
            for group in groups {
                let varied = group
                    .rewards
                    .iter()
                    .any(|r| (r - group.rewards[0]).abs() > 1e-9);
                let keep = (varied || !grpo.dynamic_sampling) && kept.len() < grpo.prompts_per_step;
                tallies
                    .entry(group.task.clone())
                    .or_default()
                    .add(&group.rewards, varied, keep);
                if keep {
                    kept.push(group);
                }
            }
            if kept.len() >= grpo.prompts_per_step || !grpo.dynamic_sampling {
                break;
            }
        }
        let mean_reward =
            all_rewarded.iter().map(|r| r.total).sum::<f64>() / all_rewarded.len().max(1) as f64;
        first_reward.get_or_insert(mean_reward);
        last_reward = mean_reward;
        let mut loss_value = 0.0;
        let (mut kl, mut clip_fraction, mut grad_norm, mut trained_tokens) =
            (0.0, 0.0, 0.0, 0usize);
        // The learning rate of the step's (last) update; reported even when no group was kept.
        let mut lr = grpo
            .optimizer
            .learning_rate(optimizer.steps, grpo.steps * grpo.mu);
        if !kept.is_empty() {
            let rewards: Vec<f64> = kept
                .iter()
                .flat_map(|g| g.rewards.iter().copied())
                .collect();
            let advantage = advantages(&rewards, grpo.group_size, grpo.advantage)?;
            let rows = build_rows(&kept, &advantage, grpo.mask_truncated);
            let micro: Vec<&[Row]> = rows.chunks(grpo.micro_batch).collect();
            let weights = micro_weights(&micro, grpo.aggregation);
            let device = policy.model.device();
            // Old log-probs only when the data goes off-policy (μ > 1).
            let old: Vec<Option<Tensor>> = micro
                .iter()
                .map(|m| -> Result<Option<Tensor>, TrainError> {
                    if grpo.mu > 1 {
                        let b = tensors(m, device)?;
                        let logits = policy.model.forward(&b.inputs, None)?.detach();
                        Ok(Some(
                            token_logprobs(&logits, &b.targets, grpo.temperature)?.detach(),
                        ))
                    } else {
                        Ok(None)
                    }
                })
                .collect::<Result<_, _>>()?;
            let refs: Vec<Option<Tensor>> = micro
                .iter()
                .map(|m| -> Result<Option<Tensor>, TrainError> {
                    match &reference {
                        Some((_, model)) => {
                            let b = tensors(m, device)?;
                            let logits = model.forward(&b.inputs, None)?.detach();
                            Ok(Some(
                                token_logprobs(&logits, &b.targets, grpo.temperature)?.detach(),
                            ))
                        }
                        None => Ok(None),
                    }
                })
                .collect::<Result<_, _>>()?;
            for _ in 0..grpo.mu {
                let mut grads = Accumulated::default();
                loss_value = 0.0;
                kl = 0.0;
                clip_fraction = 0.0;
                for (i, m) in micro.iter().enumerate() {
                    let b = tensors(m, device)?;
                    let logits = policy.model.forward(&b.inputs, None)?;
                    let logp = token_logprobs(&logits, &b.targets, grpo.temperature)?;
                    let out = grpo_loss(
                        &logp,
                        old[i].as_ref(),
                        refs[i].as_ref(),
                        &b.advantages,
                        &b.mask,
                        &loss_config,
                    )?;
                    let loss = (out.loss * weights[i])?;
                    loss_value += loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
                    kl += out.kl * weights[i];
                    clip_fraction += out.clip_fraction * weights[i];
                    trained_tokens += b.inputs.elem_count();
                    grads.add(optimizer.vars(), &loss.backward()?)?;
                }
                lr = grpo
                    .optimizer
                    .learning_rate(optimizer.steps, grpo.steps * grpo.mu);
                grad_norm = optimizer.step(&grads, lr)?.grad_norm;
            }
        }
        let done = step + 1;
        if let Some((vars, _)) = &reference {
            if grpo.ref_reset_every > 0 && done % grpo.ref_reset_every == 0 {
                copy_vars(&policy.vars, vars)?;
            }
        }
        let evaluated = if grpo.eval_every > 0 && done % grpo.eval_every == 0 {
            held_out()?
        } else {
            None
        };
        let seconds = started.elapsed().as_secs_f64();
        let mut record = serde_json::json!({
            "phase": "grpo", "step": done, "reward": mean_reward, "loss": loss_value,
            "kl": kl, "clip_fraction": clip_fraction, "lr": lr, "grad_norm": grad_norm,
            "groups_kept": kept.len(), "completions": sampled,
            "truncated_fraction": truncated as f64 / sampled.max(1) as f64,
            "mean_completion_tokens": generated as f64 / sampled.max(1) as f64,
            "tokens_per_s": (generated + trained_tokens) as f64 / seconds.max(1e-9),
            "seconds": seconds,
        });
        let names: Vec<String> = all_rewarded
            .first()
            .map(|r| r.components.iter().map(|c| c.name.clone()).collect())
            .unwrap_or_default();
        for name in names {
            if let Some(mean) = component_mean(&all_rewarded, &name) {
                record[format!("reward/{name}")] = mean.into();
            }
        }
        if let Some(sample) = example_sample {
            record["sample"] = sample;
        }
        for (task, tally) in &tallies {
            tally.record(task, &mut record);
        }
        if let Some(evaluated) = &evaluated {
            merge(&mut record, evaluated);
        }
        metrics.write(&record)?;
        on_step(&record);
        if config.checkpoint_every > 0
            && (done % config.checkpoint_every == 0 || done == grpo.steps)
        {
            run.save_checkpoint(
                policy,
                &optimizer,
                reference.as_ref().map(|(vars, _)| vars),
                &TrainerState {
                    phase: Phase::Grpo,
                    step: done,
                    optimizer_steps: optimizer.steps,
                    config: config.clone(),
                },
            )?;
        }
    }
    let after = held_out()?;
    if let Some(evaluated) = &after {
        let mut record = serde_json::json!({"phase": "grpo", "step": grpo.steps});
        merge(&mut record, evaluated);
        metrics.write(&record)?;
    }
    let accuracy_after = accuracy(&after);
    Ok(GrpoSummary {
        steps: grpo.steps,
        accuracy_before,
        accuracy_after,
        first_reward,
        last_reward,
    })
}

/// One task's share of a step's rollouts: how a task that stops improving can be seen losing
/// its place in the batch (its groups all-equal, so dynamic sampling drops them).
#[derive(Default)]
struct TaskTally {
    reward_sum: f64,
    samples: usize,
    groups: usize,
    flat: usize,
    kept: usize,
}

impl TaskTally {
    fn add(&mut self, rewards: &[f64], varied: bool, kept: bool) {
        self.reward_sum += rewards.iter().sum::<f64>();
        self.samples += rewards.len();
        self.groups += 1;
        self.flat += usize::from(!varied);
        self.kept += usize::from(kept);
    }

    /// `task/<task>/reward` (mean total), `/flat_groups` (share of groups with equal rewards)
    /// and `/kept_groups` (groups trained on).
    fn record(&self, task: &str, record: &mut serde_json::Value) {
        let key = |what: &str| format!("task/{task}/{what}");
        record[key("reward")] = (self.reward_sum / self.samples.max(1) as f64).into();
        record[key("flat_groups")] = (self.flat as f64 / self.groups.max(1) as f64).into();
        record[key("kept_groups")] = self.kept.into();
    }
}

/// Copy `from`'s fields into `into` (both JSON objects).
fn merge(into: &mut serde_json::Value, from: &serde_json::Value) {
    if let (Some(into), Some(from)) = (into.as_object_mut(), from.as_object()) {
        into.extend(from.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
}

/// One training sequence: prompt + completion, with its advantage and loss mask.
struct Row {
    tokens: Vec<u32>,
    prompt_len: usize,
    advantage: f64,
    /// False: a truncated completion excluded from the loss.
    counted: bool,
}

fn build_rows(groups: &[Group], advantage: &[f64], mask_truncated: bool) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut a = advantage.iter();
    for group in groups {
        for completion in &group.completions {
            let mut tokens = group.prompt.clone();
            tokens.extend(&completion.tokens);
            rows.push(Row {
                tokens,
                prompt_len: group.prompt.len(),
                advantage: *a.next().unwrap_or(&0.0),
                counted: completion.stopped || !mask_truncated,
            });
        }
    }
    rows
}

/// Each micro-batch's share of the whole batch's loss, so that summing micro-batch losses
/// reproduces the aggregation over the whole batch.
fn micro_weights(micro: &[&[Row]], aggregation: Aggregation) -> Vec<f64> {
    let tokens = |rows: &[Row]| -> usize {
        rows.iter()
            .filter(|r| r.counted)
            .map(|r| r.tokens.len() - r.prompt_len)
            .sum()
    };
    let total_rows: usize = micro.iter().map(|m| m.len()).sum();
    let total_tokens: usize = micro.iter().map(|m| tokens(m)).sum();
    micro
        .iter()
        .map(|m| match aggregation {
            Aggregation::Dapo => tokens(m) as f64 / total_tokens.max(1) as f64,
            Aggregation::Grpo | Aggregation::DrGrpo => m.len() as f64 / total_rows.max(1) as f64,
        })
        .collect()
}

struct RowTensors {
    inputs: Tensor,
    targets: Tensor,
    mask: Tensor,
    advantages: Tensor,
}

fn tensors(rows: &[Row], device: &candle_core::Device) -> Result<RowTensors, TrainError> {
    let width = rows.iter().map(|r| r.tokens.len() - 1).max().unwrap_or(1);
    let n = rows.len();
    let (mut inputs, mut targets, mut mask) = (
        vec![0u32; n * width],
        vec![0u32; n * width],
        vec![0f32; n * width],
    );
    for (i, row) in rows.iter().enumerate() {
        for t in 0..row.tokens.len() - 1 {
            inputs[i * width + t] = row.tokens[t];
            targets[i * width + t] = row.tokens[t + 1];
            if row.counted && t + 1 >= row.prompt_len {
                mask[i * width + t] = 1.0;
            }
        }
    }
    let advantages: Vec<f32> = rows.iter().map(|r| r.advantage as f32).collect();
    Ok(RowTensors {
        inputs: Tensor::from_vec(inputs, (n, width), device)?,
        targets: Tensor::from_vec(targets, (n, width), device)?,
        mask: Tensor::from_vec(mask, (n, width), device)?,
        advantages: Tensor::from_vec(advantages, n, device)?,
    })
}
