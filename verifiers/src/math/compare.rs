//! Equivalence of two parsed answers.
//!
//! Cheapest first: structure, then exact rational arithmetic, then complex
//! evaluation at deterministic sample points (randomised identity testing,
//! never symbolic simplification). Decimals are judged by the digits written.

use super::eval::{self, EvalError, EvalLimits, Point, Value};
use super::expr::{Constant, Expr, Func, RelOp, SetOp};
use num_complex::Complex64;
use num_rational::BigRational;
use std::borrow::Cow;
use std::cell::Cell;

/// How lenient the comparison is. Defaults are chosen for RL rewards.
#[derive(Clone, Copy, Debug)]
pub struct CompareOptions {
    /// Math-Verify compatibility: when a decimal is involved, round both sides
    /// to this many decimal places instead of the digits-written rule.
    pub float_rounding: Option<u32>,
    /// A decimal must have at least this many significant digits to be
    /// accepted as an approximation of an exact value (`0.3333` ≠ 1/3 but
    /// `0.333333` = 1/3 with 6; `3.14159` = π).
    pub min_significant: u32,
    /// `false` lets `f(x)` match `f(y)` (consistent renaming of variables).
    pub strict_variables: bool,
    /// Also accept a *gold* set against a predicted inequality (the reverse,
    /// gold inequality vs predicted interval, is always accepted).
    pub allow_set_relation: bool,
    pub limits: EvalLimits,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            float_rounding: None,
            min_significant: 6,
            strict_variables: true,
            allow_set_relation: false,
            limits: EvalLimits::default(),
        }
    }
}

const SAMPLE_POINTS: usize = 9;
const REL_TOL: f64 = 1e-9;

/// What a comparison decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    Equal,
    NotEqual,
    /// Not decided because a value exceeded the evaluation budget.
    Budget,
}

pub fn compare(gold: &Expr, pred: &Expr, options: &CompareOptions) -> Comparison {
    let cmp = Comparer {
        options,
        budget_hit: Cell::new(false),
    };
    let (g, p) = (canonical(gold, true), canonical(pred, false));
    if cmp.equal(&g, &p) {
        Comparison::Equal
    } else if cmp.budget_hit.get() {
        Comparison::Budget
    } else {
        Comparison::NotEqual
    }
}

/// Rewrites that do not change meaning: `a ± b` → {a+b, a−b}, derivation
/// chains `x = 5+5 = 10` → `x = 10`, value lists of one variable.
pub fn canonical(e: &Expr, gold: bool) -> Expr {
    match e {
        Expr::PlusMinus(a, b) => {
            let b = canonical(b, gold);
            match a {
                Some(a) => {
                    let a = canonical(a, gold);
                    Expr::List(vec![
                        Expr::Add(vec![a.clone(), b.clone()]),
                        Expr::Add(vec![a, Expr::Neg(b.boxed())]),
                    ])
                }
                None => Expr::List(vec![b.clone(), Expr::Neg(b.boxed())]),
            }
        }
        Expr::Relation(terms, ops) => canonical_relation(terms, ops, gold),
        Expr::List(items) | Expr::Set(items) => {
            let mut flat = Vec::new();
            for item in items {
                match canonical(item, gold) {
                    Expr::List(inner) => flat.extend(inner),
                    other => flat.push(other),
                }
            }
            if matches!(e, Expr::Set(_)) {
                return Expr::Set(flat);
            }
            single_variable_values(flat, gold)
        }
        Expr::Tuple(items) => Expr::Tuple(items.iter().map(|x| canonical(x, gold)).collect()),
        Expr::Ratio(items) => Expr::Ratio(items.iter().map(|x| canonical(x, gold)).collect()),
        Expr::Interval {
            lo,
            hi,
            lo_closed,
            hi_closed,
        } => Expr::Interval {
            lo: canonical(lo, gold).boxed(),
            hi: canonical(hi, gold).boxed(),
            lo_closed: *lo_closed,
            hi_closed: *hi_closed,
        },
        Expr::SetOp(op, a, b) => {
            Expr::SetOp(*op, canonical(a, gold).boxed(), canonical(b, gold).boxed())
        }
        other => other.clone(),
    }
}

fn canonical_relation(terms: &[Expr], ops: &[RelOp], gold: bool) -> Expr {
    let mut terms: Vec<Expr> = terms.iter().map(|t| canonical(t, gold)).collect();
    let mut ops = ops.to_vec();
    // `x = 1/3 \approx 0.33`: the approximation is commentary.
    if ops.contains(&RelOp::Eq) {
        if let Some(k) = ops.iter().position(|o| *o == RelOp::Approx) {
            ops.truncate(k);
            terms.truncate(k + 1);
        }
    } else if ops.iter().all(|o| *o == RelOp::Approx) {
        ops = vec![RelOp::Eq; ops.len()];
    }
    if ops.len() >= 2 && ops.iter().all(|o| *o == RelOp::Eq) {
        // A derivation chain: the named quantity equals the final value.
        let last = terms.pop().unwrap_or(Expr::int(0));
        let lhs = terms
            .iter()
            .find(|t| is_name(t))
            .cloned()
            .unwrap_or_else(|| terms[0].clone());
        return Expr::Relation(vec![lhs, last], vec![RelOp::Eq]);
    }
    Expr::Relation(terms, ops)
}

/// `x = 1, x = 2` → values `1, 2`; `a = 4, -8, -10` → `4, -8, -10`.
fn single_variable_values(items: Vec<Expr>, gold: bool) -> Expr {
    let lhs_of = |e: &Expr| match e {
        Expr::Relation(t, o) if o == &[RelOp::Eq] && is_simple_lhs(&t[0], gold) => {
            Some(t[0].to_string())
        }
        _ => None,
    };
    let lhss: Vec<Option<String>> = items.iter().map(lhs_of).collect();
    let all_same = lhss.iter().all(|l| l.is_some() && *l == lhss[0]);
    let first_only = lhss[0].is_some()
        && lhss[1..].iter().all(|l| l.is_none())
        && items[1..].iter().all(|e| !matches!(e, Expr::Relation(..)));
    if items.len() > 1 && (all_same || first_only) {
        return Expr::List(
            items
                .into_iter()
                .map(|e| match e {
                    Expr::Relation(mut t, _) if lhs_of_rel(&t) => t.pop().unwrap_or(Expr::int(0)),
                    other => other,
                })
                .collect(),
        );
    }
    if items.len() == 1 {
        return items.into_iter().next().unwrap_or(Expr::List(vec![]));
    }
    Expr::List(items)
}

fn lhs_of_rel(t: &[Expr]) -> bool {
    t.len() == 2
}

/// A name-like left-hand side: `x`, `f(x)`, `a_3`, `AB`, `|AB|`, `(p, q)`, `A:B`.
fn is_name(e: &Expr) -> bool {
    match e {
        Expr::Sym(_) | Expr::Apply(..) => true,
        Expr::Mul(v) | Expr::Tuple(v) | Expr::Ratio(v) => v.iter().all(is_name),
        Expr::Call(Func::Abs, v) => v.iter().all(is_name),
        Expr::Div(a, b) => is_name(a) && is_name(b),
        Expr::Const(Constant::E | Constant::I) => true,
        _ => false,
    }
}

/// Predicted equations may also have a computed left side (`5 \cdot 6 = 30`).
fn is_simple_lhs(e: &Expr, gold: bool) -> bool {
    is_name(e) || (!gold && !e.is_structured() && e.free_symbols().is_empty() && !has_apply(e))
}

fn has_apply(e: &Expr) -> bool {
    if matches!(e, Expr::Apply(..)) {
        return true;
    }
    let mut found = false;
    e.for_each_child(&mut |c| found |= has_apply(c));
    found
}

fn is_set_like(e: &Expr) -> bool {
    matches!(e, Expr::Interval { .. } | Expr::SetOp(..) | Expr::Set(_))
}

fn is_inequality(e: &Expr) -> bool {
    matches!(e, Expr::Relation(_, ops) if ops.iter().all(|o| matches!(o, RelOp::Lt | RelOp::Le | RelOp::Gt | RelOp::Ge)))
}

fn as_eq(e: &Expr) -> Option<(&Expr, &Expr)> {
    match e {
        Expr::Relation(t, o) if o == &[RelOp::Eq] => Some((&t[0], &t[1])),
        _ => None,
    }
}

fn as_membership(e: &Expr) -> Option<&Expr> {
    match e {
        Expr::Relation(t, o) if o == &[RelOp::In] => Some(&t[1]),
        _ => None,
    }
}

struct Comparer<'a> {
    options: &'a CompareOptions,
    budget_hit: Cell<bool>,
}

impl Comparer<'_> {
    fn equal(&self, g: &Expr, p: &Expr) -> bool {
        if g == p {
            return true;
        }
        let g_rel = matches!(g, Expr::Relation(..));
        let p_rel = matches!(p, Expr::Relation(..));
        // Assignments: `x = 3` against `3`.
        if let Some((l, r)) = as_eq(g) {
            if !p_rel && is_simple_lhs(l, true) {
                return self.equal(r, p);
            }
        }
        if let Some((l, r)) = as_eq(p) {
            if !g_rel && is_simple_lhs(l, false) {
                return self.equal(g, r);
            }
        }
        if let Some(s) = as_membership(g) {
            if !p_rel {
                return self.equal(s, p);
            }
        }
        if let Some(s) = as_membership(p) {
            if !g_rel {
                return self.equal(g, s);
            }
        }
        match (g, p) {
            (Expr::Relation(..), Expr::Relation(..)) => self.relations_equal(g, p),
            (Expr::Relation(..), s)
                if is_inequality(g)
                    && (is_set_like(s) || matches!(s, Expr::Tuple(v) if v.len() == 2)) =>
            {
                self.relation_matches_set(g, &as_interval(s))
            }
            (s, Expr::Relation(..)) if is_inequality(p) && is_set_like(s) => {
                self.options.allow_set_relation && self.relation_matches_set(p, s)
            }
            (Expr::Percent(a), Expr::Percent(b)) => self.equal(a, b),
            (Expr::Percent(a), q) => self.equal(a, q) || self.scalar_equal(g, q),
            (q, Expr::Percent(b)) => self.equal(q, b) || self.scalar_equal(q, p),
            (Expr::Degrees(a), Expr::Degrees(b)) => self.equal(a, b),
            (Expr::Degrees(a), q) => self.equal(a, q),
            (q, Expr::Degrees(b)) => self.equal(q, b),
            (Expr::Text(a), Expr::Text(b)) => text_key(a) == text_key(b),
            (Expr::Text(a), q) | (q, Expr::Text(a)) => {
                letters(q).is_some_and(|l| text_key(&l) == text_key(a))
            }
            (Expr::Tuple(a), Expr::Tuple(b)) | (Expr::Ratio(a), Expr::Ratio(b)) => {
                self.all_equal(a, b)
            }
            (Expr::List(a), Expr::Tuple(b)) | (Expr::Tuple(b), Expr::List(a))
                if is_assignment_list(a) =>
            {
                let values: Vec<Expr> = a
                    .iter()
                    .map(|e| {
                        as_eq(e)
                            .map(|(_, r)| r.clone())
                            .unwrap_or_else(|| e.clone())
                    })
                    .collect();
                self.all_equal(&values, b)
            }
            (Expr::List(a) | Expr::Set(a), Expr::List(b) | Expr::Set(b)) => {
                self.collections_equal(a, b)
            }
            (Expr::Tuple(t), Expr::List(s) | Expr::Set(s))
            | (Expr::List(s) | Expr::Set(s), Expr::Tuple(t)) => self.tuple_matches_sorted_set(t, s),
            (Expr::Interval { .. }, Expr::Tuple(v)) | (Expr::Tuple(v), Expr::Interval { .. })
                if v.len() == 2 =>
            {
                let (a, b) = (as_interval(g), as_interval(p));
                self.intervals_equal(&a, &b)
            }
            (Expr::Interval { .. }, Expr::Interval { .. }) => self.intervals_equal(g, p),
            (Expr::SetOp(..), Expr::SetOp(..)) => {
                let (a, b) = (set_pieces(g), set_pieces(p));
                match (a, b) {
                    (Some(a), Some(b)) => self.collections_equal(&a, &b),
                    _ => self.set_ops_equal(g, p),
                }
            }
            (Expr::Matrix(a), Expr::Matrix(b)) => {
                a.len() == b.len()
                    && a.iter().zip(b).all(|(r, s)| {
                        r.len() == s.len() && r.iter().zip(s).all(|(x, y)| self.equal(x, y))
                    })
            }
            _ if contains_matrix(g) || contains_matrix(p) => self.matrices_equal(g, p),
            _ if g.is_structured() || p.is_structured() => false,
            _ => self.scalar_equal(g, p),
        }
    }

    fn all_equal(&self, a: &[Expr], b: &[Expr]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| self.equal(x, y))
    }

    /// Unordered comparison with duplicates removed (`{1,2,3}` = `{1,2,3,3}`).
    fn collections_equal(&self, a: &[Expr], b: &[Expr]) -> bool {
        if is_assignment_list(a) && is_assignment_list(b) {
            let names = |v: &[Expr]| {
                let mut n: Vec<String> = v
                    .iter()
                    .filter_map(|e| as_eq(e).map(|(l, _)| l.to_string()))
                    .collect();
                n.sort();
                n
            };
            if names(a) == names(b) {
                return a.len() == b.len()
                    && a.iter().all(|x| {
                        b.iter().any(|y| {
                            as_eq(x).map(|(l, _)| l.to_string())
                                == as_eq(y).map(|(l, _)| l.to_string())
                                && self.relation_values_equal(x, y)
                        })
                    });
            }
        }
        let values = |v: &[Expr]| -> Vec<Expr> {
            if is_assignment_list(v) {
                v.iter()
                    .map(|e| {
                        as_eq(e)
                            .map(|(_, r)| r.clone())
                            .unwrap_or_else(|| e.clone())
                    })
                    .collect()
            } else {
                v.to_vec()
            }
        };
        let (a, b) = (self.dedup(values(a)), self.dedup(values(b)));
        if a.len() != b.len() {
            return false;
        }
        let mut used = vec![false; b.len()];
        a.iter().all(|x| {
            (0..b.len()).any(|j| {
                if !used[j] && self.equal(x, &b[j]) {
                    used[j] = true;
                    true
                } else {
                    false
                }
            })
        })
    }

    fn relation_values_equal(&self, x: &Expr, y: &Expr) -> bool {
        match (as_eq(x), as_eq(y)) {
            (Some((_, a)), Some((_, b))) => self.equal(a, b),
            _ => false,
        }
    }

    fn dedup(&self, v: Vec<Expr>) -> Vec<Expr> {
        let mut out: Vec<Expr> = Vec::with_capacity(v.len());
        for e in v {
            if !out.iter().any(|o| self.equal(o, &e)) {
                out.push(e);
            }
        }
        out
    }

    /// Math-Verify's rule: a tuple matches a set when the set, sorted, is the tuple.
    fn tuple_matches_sorted_set(&self, t: &[Expr], s: &[Expr]) -> bool {
        let s = self.dedup(s.to_vec());
        if t.len() != s.len() {
            return false;
        }
        let mut keyed: Vec<(f64, &Expr)> = Vec::new();
        for e in &s {
            match self.real_value(e) {
                Some(v) => keyed.push((v, e)),
                None => return self.all_equal(t, &s),
            }
        }
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
        t.iter().zip(&keyed).all(|(x, (_, y))| self.equal(x, y))
    }

    fn real_value(&self, e: &Expr) -> Option<f64> {
        if !e.free_symbols().is_empty() || e.is_structured() {
            return None;
        }
        let point = Point {
            vars: Default::default(),
            seed: 0,
        };
        eval::numeric(e, &point, &self.options.limits)
            .ok()
            .filter(|c| c.im.abs() < 1e-12)
            .map(|c| c.re)
    }

    fn intervals_equal(&self, a: &Expr, b: &Expr) -> bool {
        match (a, b) {
            (
                Expr::Interval {
                    lo,
                    hi,
                    lo_closed,
                    hi_closed,
                },
                Expr::Interval {
                    lo: lo2,
                    hi: hi2,
                    lo_closed: lc2,
                    hi_closed: hc2,
                },
            ) => {
                lo_closed == lc2
                    && hi_closed == hc2
                    && self.endpoint_equal(lo, lo2)
                    && self.endpoint_equal(hi, hi2)
            }
            _ => false,
        }
    }

    fn endpoint_equal(&self, a: &Expr, b: &Expr) -> bool {
        match (infinity_sign(a), infinity_sign(b)) {
            (Some(x), Some(y)) => x == y,
            (None, None) => self.equal(a, b),
            _ => false,
        }
    }

    fn set_ops_equal(&self, a: &Expr, b: &Expr) -> bool {
        match (a, b) {
            (Expr::SetOp(o1, a1, b1), Expr::SetOp(o2, a2, b2)) if o1 == o2 => {
                (self.equal(a1, a2) && self.equal(b1, b2))
                    || (*o1 != SetOp::Difference && self.equal(a1, b2) && self.equal(b1, a2))
            }
            _ => false,
        }
    }

    // ---- relations -------------------------------------------------------

    fn relations_equal(&self, g: &Expr, p: &Expr) -> bool {
        let (Expr::Relation(gt, go), Expr::Relation(pt, po)) = (g, p) else {
            return false;
        };
        // Membership against an inequality: `x \in [-2, 7]` vs `-2 \le x \le 7`.
        match (go.as_slice(), po.as_slice()) {
            ([RelOp::In], [RelOp::In]) => {
                return self.equal(&gt[0], &pt[0]) && self.equal(&gt[1], &pt[1])
            }
            ([RelOp::In], _) if is_inequality(p) => {
                return self.options.allow_set_relation && self.relation_matches_set(p, &gt[1]);
            }
            (_, [RelOp::In]) if is_inequality(g) => return self.relation_matches_set(g, &pt[1]),
            _ => {}
        }
        if go.len() == 1 && po.len() == 1 {
            let (gop, pop) = (go[0], po[0]);
            if gop == RelOp::Eq && pop == RelOp::Eq {
                if self.equal(&gt[0], &pt[0]) && self.equal(&gt[1], &pt[1]) {
                    return true;
                }
                if is_name(&gt[0]) && gt[0] == pt[0] {
                    return self.equal(&gt[1], &pt[1]);
                }
                return self.proportional(
                    &difference(&gt[0], &gt[1]),
                    &difference(&pt[0], &pt[1]),
                    false,
                );
            }
            if gop == RelOp::Ne && pop == RelOp::Ne {
                return self.proportional(
                    &difference(&gt[0], &gt[1]),
                    &difference(&pt[0], &pt[1]),
                    false,
                );
            }
            if let (Some((gd, gs)), Some((pd, ps))) =
                (oriented(&gt[0], gop, &gt[1]), oriented(&pt[0], pop, &pt[1]))
            {
                return gs == ps && self.proportional(&gd, &pd, true);
            }
            return false;
        }
        // Chains: same direction term by term, or mirrored.
        if go.len() == po.len() {
            if go == po && self.all_equal(gt, pt) {
                return true;
            }
            let mirrored: Vec<RelOp> = po.iter().rev().map(|o| flip(*o)).collect();
            let reversed: Vec<Expr> = pt.iter().rev().cloned().collect();
            if *go == mirrored && self.all_equal(gt, &reversed) {
                return true;
            }
        }
        if is_inequality(g) && is_inequality(p) {
            if let (Some(a), Some(b)) = (chain_interval(g), chain_interval(p)) {
                return self.intervals_equal(&a.1, &b.1) && self.equal(&a.0, &b.0);
            }
        }
        false
    }

    /// `gold` inequality against a set: bounds when the relation is a simple
    /// chain, otherwise membership agreement at critical and sample points.
    fn relation_matches_set(&self, rel: &Expr, set: &Expr) -> bool {
        if let Some((_, interval)) = chain_interval(rel) {
            if self.equal(&interval, set) {
                return true;
            }
        }
        let vars = rel.free_symbols();
        let [var] = vars.as_slice() else { return false };
        let mut probes: Vec<f64> = vec![-1000.0, -7.3, -2.1, -0.4, 0.0, 0.37, 1.9, 5.3, 1000.0];
        let mut critical = Vec::new();
        self.collect_critical(set, &mut critical);
        if let Expr::Relation(terms, _) = rel {
            for t in terms {
                if let Some(v) = self.real_value(t) {
                    critical.push(v);
                    critical.push(-v);
                }
            }
        }
        for c in critical {
            let d = 1e-6 * c.abs().max(1.0);
            probes.extend([c, c - d, c + d]);
        }
        probes.iter().all(|&t| {
            let point = Point {
                vars: [(var.clone(), Complex64::new(t, 0.0))]
                    .into_iter()
                    .collect(),
                seed: 0,
            };
            self.holds(rel, &point) == self.contains(set, t)
        })
    }

    fn collect_critical(&self, set: &Expr, out: &mut Vec<f64>) {
        match set {
            Expr::Interval { lo, hi, .. } => {
                out.extend(self.real_value(lo).filter(|v| v.is_finite()));
                out.extend(self.real_value(hi).filter(|v| v.is_finite()));
            }
            Expr::Set(v) | Expr::List(v) => out.extend(v.iter().filter_map(|e| self.real_value(e))),
            Expr::SetOp(_, a, b) => {
                self.collect_critical(a, out);
                self.collect_critical(b, out);
            }
            _ => {}
        }
    }

    fn holds(&self, rel: &Expr, point: &Point) -> bool {
        let Expr::Relation(terms, ops) = rel else {
            return false;
        };
        let values: Option<Vec<f64>> = terms
            .iter()
            .map(|t| {
                eval::numeric(t, point, &self.options.limits)
                    .ok()
                    .filter(|c| c.im.abs() < 1e-9)
                    .map(|c| c.re)
            })
            .collect();
        let Some(values) = values else { return false };
        ops.iter().enumerate().all(|(k, op)| {
            let (a, b) = (values[k], values[k + 1]);
            let eps = 1e-9 * a.abs().max(b.abs()).max(1.0);
            match op {
                RelOp::Lt => a < b - eps,
                RelOp::Le => a <= b + eps,
                RelOp::Gt => a > b + eps,
                RelOp::Ge => a >= b - eps,
                RelOp::Eq | RelOp::Approx => (a - b).abs() <= eps,
                RelOp::Ne => (a - b).abs() > eps,
                RelOp::In => false,
            }
        })
    }

    fn contains(&self, set: &Expr, t: f64) -> bool {
        let eps = 1e-9 * t.abs().max(1.0);
        match set {
            Expr::Interval {
                lo,
                hi,
                lo_closed,
                hi_closed,
            } => {
                let lo = bound_value(self, lo, f64::NEG_INFINITY);
                let hi = bound_value(self, hi, f64::INFINITY);
                let above = if *lo_closed {
                    t >= lo - eps
                } else {
                    t > lo + eps
                };
                let below = if *hi_closed {
                    t <= hi + eps
                } else {
                    t < hi - eps
                };
                above && below
            }
            Expr::Set(v) | Expr::List(v) => v
                .iter()
                .any(|e| self.real_value(e).is_some_and(|x| (x - t).abs() <= eps)),
            Expr::SetOp(SetOp::Union, a, b) => self.contains(a, t) || self.contains(b, t),
            Expr::SetOp(SetOp::Intersection, a, b) => self.contains(a, t) && self.contains(b, t),
            Expr::SetOp(SetOp::Difference, a, b) => self.contains(a, t) && !self.contains(b, t),
            _ => false,
        }
    }

    /// Whether `b = c·a` for one constant `c` (positive when `positive`).
    fn proportional(&self, a: &Expr, b: &Expr, positive: bool) -> bool {
        let vars = union_symbols(a, b);
        let points = eval::sample_points(&vars, SAMPLE_POINTS);
        let mut ratio: Option<Complex64> = None;
        let mut both_zero = 0;
        let mut valid = 0;
        for point in &points {
            let (Ok(x), Ok(y)) = (self.num(a, point), self.num(b, point)) else {
                continue;
            };
            if !finite(x) || !finite(y) {
                continue;
            }
            let scale = x.norm().max(y.norm()).max(1e-300);
            if x.norm() <= 1e-12 * scale.max(1.0) && y.norm() <= 1e-12 * scale.max(1.0) {
                both_zero += 1;
                continue;
            }
            if x.norm() == 0.0 || y.norm() == 0.0 {
                return false;
            }
            let r = y / x;
            match ratio {
                None => ratio = Some(r),
                Some(r0) if (r - r0).norm() <= 1e-7 * r0.norm().max(1e-12) => {}
                Some(_) => return false,
            }
            valid += 1;
        }
        let enough = if vars.is_empty() { 1 } else { 3 };
        match ratio {
            Some(r) => valid >= enough && (!positive || (r.re > 0.0 && r.im.abs() <= 1e-9 * r.re)),
            None => both_zero >= enough,
        }
    }

    // ---- scalars ---------------------------------------------------------

    fn scalar_equal(&self, g: &Expr, p: &Expr) -> bool {
        let renamed = self.renamed(g, p);
        let p = renamed.as_ref();
        let vars = union_symbols(g, p);
        if vars.is_empty() && !has_apply(g) && !has_apply(p) {
            let limits = &self.options.limits;
            match (eval::exact(g, limits), eval::exact(p, limits)) {
                (Ok(Some(a)), Ok(Some(b))) => return a == b || self.decimal_close(g, p, &a, &b),
                (Err(EvalError::Budget), _) | (_, Err(EvalError::Budget)) => {
                    self.budget_hit.set(true);
                    return false;
                }
                (Err(EvalError::Undefined), _) | (_, Err(EvalError::Undefined)) => return false,
                _ => {}
            }
            let point = Point {
                vars: Default::default(),
                seed: 0,
            };
            let (Ok(a), Ok(b)) = (self.num(g, &point), self.num(p, &point)) else {
                return false;
            };
            if !finite(a) || !finite(b) {
                self.budget_hit.set(true);
                return false;
            }
            return self.numbers_close(g, p, a, b);
        }
        let points = eval::sample_points(&vars, SAMPLE_POINTS);
        let mut valid = 0;
        for point in &points {
            match (self.num(g, point), self.num(p, point)) {
                (Ok(a), Ok(b)) if finite(a) && finite(b) => {
                    // Branch conventions differ where one side leaves the reals.
                    let (ra, rb) = (
                        a.im.abs() <= 1e-12 * a.norm().max(1.0),
                        b.im.abs() <= 1e-12 * b.norm().max(1.0),
                    );
                    if ra != rb {
                        continue;
                    }
                    if !self.numbers_close(g, p, a, b) {
                        return false;
                    }
                    valid += 1;
                }
                _ => continue,
            }
        }
        valid >= 2
    }

    fn num(&self, e: &Expr, point: &Point) -> Result<Complex64, EvalError> {
        let r = eval::numeric(e, point, &self.options.limits);
        if r == Err(EvalError::Budget) {
            self.budget_hit.set(true);
        }
        r
    }

    fn matrices_equal(&self, g: &Expr, p: &Expr) -> bool {
        let vars = union_symbols(g, p);
        let points = eval::sample_points(&vars, if vars.is_empty() { 1 } else { SAMPLE_POINTS });
        let mut valid = 0;
        for point in &points {
            let (Ok(Value::Matrix(a)), Ok(Value::Matrix(b))) = (
                eval::numeric_value(g, point, &self.options.limits),
                eval::numeric_value(p, point, &self.options.limits),
            ) else {
                continue;
            };
            if a.len() != b.len() || a.iter().zip(&b).any(|(r, s)| r.len() != s.len()) {
                return false;
            }
            if a.iter()
                .flatten()
                .zip(b.iter().flatten())
                .any(|(x, y)| !close(*x, *y, REL_TOL))
            {
                return false;
            }
            valid += 1;
        }
        valid >= 1
    }

    /// `f(x)` vs `f(y)` when variables need not match by name.
    fn renamed<'e>(&self, g: &Expr, p: &'e Expr) -> Cow<'e, Expr> {
        if self.options.strict_variables {
            return Cow::Borrowed(p);
        }
        let (gv, pv) = (g.free_symbols(), p.free_symbols());
        if gv == pv || gv.len() != pv.len() {
            return Cow::Borrowed(p);
        }
        let map: Vec<(String, String)> = pv.into_iter().zip(gv).collect();
        Cow::Owned(rename(p, &map))
    }

    /// Decimal written by the model or in the gold: equal if the other value
    /// rounds to it at the digits written (and enough digits were written).
    fn decimal_close(&self, g: &Expr, p: &Expr, a: &BigRational, b: &BigRational) -> bool {
        let (x, y) = (eval::rational_to_f64(a), eval::rational_to_f64(b));
        self.numbers_close(g, p, Complex64::new(x, 0.0), Complex64::new(y, 0.0))
            && (decimal_of(g).is_some()
                || decimal_of(p).is_some()
                || self.options.float_rounding.is_some())
    }

    fn numbers_close(&self, g: &Expr, p: &Expr, a: Complex64, b: Complex64) -> bool {
        if let Some(places) = self.options.float_rounding {
            if g.has_decimal() || p.has_decimal() {
                let round = |v: f64| (v * 10f64.powi(places as i32)).round();
                return round(a.re) == round(b.re) && round(a.im) == round(b.im);
            }
        }
        for (expr, approx, other) in [(g, a, b), (p, b, a)] {
            if let Some((decimals, significant)) = decimal_of(expr) {
                if significant >= self.options.min_significant {
                    let half_ulp = 0.5 * 10f64.powi(-(decimals as i32));
                    let slack = 4.0 * f64::EPSILON * approx.norm().max(other.norm());
                    return (approx - other).norm() <= half_ulp * (1.0 + 1e-9) + slack;
                }
            }
        }
        close(a, b, REL_TOL)
    }
}

fn finite(c: Complex64) -> bool {
    c.re.is_finite() && c.im.is_finite()
}

fn close(a: Complex64, b: Complex64, tol: f64) -> bool {
    (a - b).norm() <= tol * a.norm().max(b.norm()).max(1.0)
}

/// A top-level decimal literal: (digits after the point, significant digits).
fn decimal_of(e: &Expr) -> Option<(u32, u32)> {
    match e {
        Expr::Num(n) => n.decimals.map(|d| (d, n.significant)),
        Expr::Neg(a) => decimal_of(a),
        _ => None,
    }
}

fn contains_matrix(e: &Expr) -> bool {
    if matches!(e, Expr::Matrix(_)) {
        return true;
    }
    let mut found = false;
    e.for_each_child(&mut |c| found |= contains_matrix(c));
    found
}

fn union_symbols(a: &Expr, b: &Expr) -> Vec<String> {
    let mut v = a.free_symbols();
    v.extend(b.free_symbols());
    v.sort();
    v.dedup();
    v
}

fn rename(e: &Expr, map: &[(String, String)]) -> Expr {
    match e {
        Expr::Sym(s) => Expr::Sym(
            map.iter()
                .find(|(from, _)| from == s)
                .map(|(_, to)| to.clone())
                .unwrap_or_else(|| s.clone()),
        ),
        Expr::Add(v) => Expr::Add(v.iter().map(|x| rename(x, map)).collect()),
        Expr::Mul(v) => Expr::Mul(v.iter().map(|x| rename(x, map)).collect()),
        Expr::Neg(a) => Expr::Neg(rename(a, map).boxed()),
        Expr::Div(a, b) => Expr::Div(rename(a, map).boxed(), rename(b, map).boxed()),
        Expr::Pow(a, b) => Expr::Pow(rename(a, map).boxed(), rename(b, map).boxed()),
        Expr::Call(f, v) => Expr::Call(*f, v.iter().map(|x| rename(x, map)).collect()),
        Expr::Apply(n, v) => Expr::Apply(n.clone(), v.iter().map(|x| rename(x, map)).collect()),
        other => other.clone(),
    }
}

fn difference(a: &Expr, b: &Expr) -> Expr {
    Expr::Add(vec![a.clone(), Expr::Neg(b.clone().boxed())])
}

/// `a op b` as `d < 0` / `d ≤ 0`: (d, strict).
fn oriented(a: &Expr, op: RelOp, b: &Expr) -> Option<(Expr, bool)> {
    match op {
        RelOp::Lt => Some((difference(a, b), true)),
        RelOp::Le => Some((difference(a, b), false)),
        RelOp::Gt => Some((difference(b, a), true)),
        RelOp::Ge => Some((difference(b, a), false)),
        _ => None,
    }
}

fn flip(op: RelOp) -> RelOp {
    match op {
        RelOp::Lt => RelOp::Gt,
        RelOp::Gt => RelOp::Lt,
        RelOp::Le => RelOp::Ge,
        RelOp::Ge => RelOp::Le,
        other => other,
    }
}

fn is_constant(e: &Expr) -> bool {
    e.free_symbols().is_empty() && !has_apply(e) && !e.is_structured()
}

/// `lo < x ≤ hi`, `x > 5`, `5 ≤ x` → (the middle expression, its interval).
fn chain_interval(rel: &Expr) -> Option<(Expr, Expr)> {
    let Expr::Relation(terms, ops) = rel else {
        return None;
    };
    let inf = || Expr::Const(Constant::Infinity);
    let neg_inf = || Expr::Neg(inf().boxed());
    let lower = |op: RelOp| matches!(op, RelOp::Lt | RelOp::Le);
    let closed = |op: RelOp| matches!(op, RelOp::Le | RelOp::Ge);
    let interval = |lo: Expr, lc: bool, hi: Expr, hc: bool| Expr::Interval {
        lo: lo.boxed(),
        hi: hi.boxed(),
        lo_closed: lc,
        hi_closed: hc,
    };
    match (terms.as_slice(), ops.as_slice()) {
        ([a, x, b], [o1, o2]) if is_constant(a) && is_constant(b) && !is_constant(x) => {
            if lower(*o1) && lower(*o2) {
                Some((
                    x.clone(),
                    interval(a.clone(), closed(*o1), b.clone(), closed(*o2)),
                ))
            } else if !lower(*o1) && !lower(*o2) {
                Some((
                    x.clone(),
                    interval(b.clone(), closed(*o2), a.clone(), closed(*o1)),
                ))
            } else {
                None
            }
        }
        ([x, c], [op]) if is_constant(c) && !is_constant(x) => Some((
            x.clone(),
            if lower(*op) {
                interval(neg_inf(), false, c.clone(), closed(*op))
            } else {
                interval(c.clone(), closed(*op), inf(), false)
            },
        )),
        ([c, x], [op]) if is_constant(c) && !is_constant(x) => Some((
            x.clone(),
            if lower(*op) {
                interval(c.clone(), closed(*op), inf(), false)
            } else {
                interval(neg_inf(), false, c.clone(), closed(*op))
            },
        )),
        _ => None,
    }
}

/// A 2-tuple read as an open interval.
fn as_interval(e: &Expr) -> Expr {
    match e {
        Expr::Tuple(v) if v.len() == 2 => Expr::Interval {
            lo: v[0].clone().boxed(),
            hi: v[1].clone().boxed(),
            lo_closed: false,
            hi_closed: false,
        },
        other => other.clone(),
    }
}

/// The pieces of a union (for order-insensitive comparison).
fn set_pieces(e: &Expr) -> Option<Vec<Expr>> {
    match e {
        Expr::SetOp(SetOp::Union, a, b) => {
            let mut v = set_pieces(a)?;
            v.extend(set_pieces(b)?);
            Some(v)
        }
        Expr::SetOp(..) => None,
        other => Some(vec![other.clone()]),
    }
}

fn infinity_sign(e: &Expr) -> Option<i8> {
    match e {
        Expr::Const(Constant::Infinity) => Some(1),
        Expr::Neg(a) => infinity_sign(a).map(|s| -s),
        _ => None,
    }
}

fn bound_value(c: &Comparer, e: &Expr, default: f64) -> f64 {
    match infinity_sign(e) {
        Some(s) => f64::from(s) * f64::INFINITY,
        None => c.real_value(e).unwrap_or(default),
    }
}

fn is_assignment_list(v: &[Expr]) -> bool {
    v.len() > 1 && v.iter().all(|e| as_eq(e).is_some_and(|(l, _)| is_name(l)))
}

fn text_key(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The letters of a product of symbols (`odd` parsed as o·d·d).
fn letters(e: &Expr) -> Option<String> {
    match e {
        Expr::Sym(s) => Some(s.clone()),
        Expr::Const(Constant::E) => Some("e".into()),
        Expr::Const(Constant::I) => Some("i".into()),
        Expr::Mul(v) => v.iter().map(letters).collect(),
        _ => None,
    }
}
