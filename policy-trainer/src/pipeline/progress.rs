//! What a running job tells its caller: events, rendered by whoever runs it (the binary draws a
//! progress bar and prints lines; tests log them; a library user may ignore them).

use crate::train::grpo::GrpoSummary;
use crate::train::run_dir::Phase;
use crate::train::sft::SftSummary;
use std::fmt;
use std::path::Path;

/// One thing that happened.
#[derive(Debug)]
pub enum Event<'a> {
    /// A run continues from a checkpoint.
    Resumed {
        checkpoint: &'a Path,
        phase: Phase,
        step: usize,
    },
    /// A run's steps (SFT then GRPO) are about to start; `done` of `total` are complete.
    RunStarted {
        total: usize,
        done: usize,
    },
    /// One step's metrics record.
    Step(&'a serde_json::Value),
    SftFinished(&'a SftSummary),
    GrpoFinished {
        summary: &'a GrpoSummary,
        /// The reward component reported as accuracy.
        accuracy_reward: &'a str,
    },
    /// The run's loops are done (the final model and curves follow).
    RunFinished,
    /// A recipe stage starts (`index` counts from 1).
    StageStarted {
        index: usize,
        count: usize,
        name: &'a str,
        kind: &'a str,
        from: &'a str,
    },
    /// A recipe stage was complete before this run.
    StageSkipped {
        index: usize,
        count: usize,
        name: &'a str,
    },
    /// A recipe stage completed: its row of the recipe's table.
    StageFinished(&'a str),
    /// Anything else worth a line (sampling counts, an evaluation table).
    Note(&'a str),
}

/// Receives events.
pub trait Progress {
    fn event(&self, event: &Event<'_>);
}

impl<F: Fn(&Event<'_>)> Progress for F {
    fn event(&self, event: &Event<'_>) {
        self(event)
    }
}

/// Drops every event.
pub struct Silent;

impl Progress for Silent {
    fn event(&self, _: &Event<'_>) {}
}

fn fmt_value(value: Option<f64>, digits: usize, missing: &str) -> String {
    value.map_or(missing.into(), |v| format!("{v:.digits$}"))
}

/// A one-line summary of a step's metrics record.
pub fn step_line(record: &serde_json::Value) -> String {
    let f = |key: &str| record[key].as_f64().unwrap_or(f64::NAN);
    if record["phase"] == "sft" {
        format!(
            "loss {:.4} lr {:.2e} tok/s {:.0}",
            f("loss"),
            f("lr"),
            f("tokens_per_s")
        )
    } else {
        let mut line = format!(
            "reward {:.3} loss {:+.4} kl {:.4} clip {:.3} entropy {:.2} tok/s gen {:.0} train {:.0}",
            f("reward"),
            f("loss"),
            f("kl"),
            f("clip_fraction"),
            f("entropy"),
            f("generation_tokens_per_s"),
            f("training_tokens_per_s"),
        );
        if f("truncated_fraction") >= 0.5 {
            line.push_str(&format!(
                " | {:.0}% cut at max_new_tokens",
                100.0 * f("truncated_fraction")
            ));
        }
        if let Some(failed) = record["failed_rewards"].as_u64().filter(|n| *n > 0) {
            line.push_str(&format!(" | {failed} failed rewards"));
        }
        if let Some(warning) = record["warning"].as_str() {
            line.push_str(&format!("\nwarning: {warning}"));
        }
        line
    }
}

impl fmt::Display for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Resumed {
                checkpoint,
                phase,
                step,
            } => write!(
                f,
                "resuming from {} ({phase:?} step {step})",
                checkpoint.display()
            ),
            Event::RunStarted { total, done } => {
                write!(f, "training: {done} of {total} steps done")
            }
            Event::Step(record) => write!(
                f,
                "{} step {}: {}",
                record["phase"].as_str().unwrap_or(""),
                record["step"].as_u64().unwrap_or(0),
                step_line(record)
            ),
            Event::SftFinished(s) => write!(
                f,
                "sft: {} steps, train loss {} → {:.4}, held-out loss {} → {}",
                s.steps,
                fmt_value(s.first_loss, 4, "(resumed)"),
                s.last_loss,
                fmt_value(s.eval_loss_before, 4, "(resumed)"),
                fmt_value(s.eval_loss_after, 4, "-"),
            ),
            Event::GrpoFinished {
                summary: s,
                accuracy_reward,
            } => write!(
                f,
                "grpo: {} steps, mean reward {} → {:.3}, held-out {accuracy_reward} {} → {}",
                s.steps,
                fmt_value(s.first_reward, 3, "(resumed)"),
                s.last_reward,
                fmt_value(s.accuracy_before, 3, "(resumed)"),
                fmt_value(s.accuracy_after, 3, "-"),
            ),
            Event::RunFinished => write!(f, "training done"),
            Event::StageStarted {
                index,
                count,
                name,
                kind,
                from,
            } => write!(f, "== stage {index}/{count}: {name} ({kind} from {from})"),
            Event::StageSkipped { index, count, name } => {
                write!(f, "== stage {index}/{count}: {name} — complete, skipped")
            }
            Event::StageFinished(row) => write!(f, "{}", row.trim_end()),
            Event::Note(text) => write!(f, "{}", text.trim_end()),
        }
    }
}
