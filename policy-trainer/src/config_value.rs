//! Small pieces every configuration section shares: a TOML value that is one item or a list,
//! and serde defaults.

use serde::{Deserialize, Serialize};

/// A TOML value that is one item or a list of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    pub fn as_slice(&self) -> &[T] {
        match self {
            OneOrMany::One(item) => std::slice::from_ref(item),
            OneOrMany::Many(items) => items,
        }
    }
}

pub(crate) fn one() -> usize {
    1
}

pub(crate) fn one_f() -> f64 {
    1.0
}

pub(crate) fn yes() -> bool {
    true
}
