//! The expression tree shared by LaTeX and plain-text answers.
//!
//! The tree keeps what was *written* where it matters for grading (a decimal
//! remembers how many digits it had, a percent sign stays a wrapper) so that the
//! comparison layer can apply policies instead of the parser guessing.

use num_bigint::BigInt;
use num_rational::BigRational;
use std::fmt;

/// A number literal, exact, plus how it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Number {
    pub value: BigRational,
    /// Digits after the decimal point when written as a terminating decimal.
    pub decimals: Option<u32>,
    /// Significant digits written (only meaningful for decimals).
    pub significant: u32,
}

impl Number {
    pub fn integer(n: impl Into<BigInt>) -> Self {
        Number {
            value: BigRational::from_integer(n.into()),
            decimals: None,
            significant: 0,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Constant {
    Pi,
    E,
    I,
    Infinity,
}

/// Built-in functions with a known numeric meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Func {
    Sin,
    Cos,
    Tan,
    Sec,
    Csc,
    Cot,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Ln,
    /// `log(base, x)`; a plain `\log x` has base 10 filled in by the parser.
    Log,
    Exp,
    /// `root(index, x)`: `\sqrt[n]{x}`; odd roots of negatives are real.
    Root,
    Abs,
    Factorial,
    Binom,
    Floor,
    Ceil,
    Gcd,
    Lcm,
    Min,
    Max,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RelOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Approx,
    In,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SetOp {
    Union,
    Intersection,
    Difference,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Num(Number),
    Const(Constant),
    /// A free variable, e.g. `x` or `\alpha`.
    Sym(String),
    Add(Vec<Expr>),
    Mul(Vec<Expr>),
    Neg(Box<Expr>),
    Div(Box<Expr>, Box<Expr>),
    Pow(Box<Expr>, Box<Expr>),
    Call(Func, Vec<Expr>),
    /// An unknown function or an indexed symbol: `f(x)`, `F_{n-1}`, `x_1`.
    Apply(String, Vec<Expr>),
    /// `\sum` / `\prod` with an index variable and bounds.
    BigOp {
        product: bool,
        var: String,
        lo: Box<Expr>,
        hi: Box<Expr>,
        body: Box<Expr>,
    },
    /// `a \pm b` (or `\pm b` when `a` is absent).
    PlusMinus(Option<Box<Expr>>, Box<Expr>),
    Percent(Box<Expr>),
    Degrees(Box<Expr>),
    Text(String),
    /// A chain `a op b op c …`.
    Relation(Vec<Expr>, Vec<RelOp>),
    Tuple(Vec<Expr>),
    Set(Vec<Expr>),
    /// A bare comma / `and` / `or` separated answer list: compared as a set.
    List(Vec<Expr>),
    Interval {
        lo: Box<Expr>,
        hi: Box<Expr>,
        lo_closed: bool,
        hi_closed: bool,
    },
    SetOp(SetOp, Box<Expr>, Box<Expr>),
    Matrix(Vec<Vec<Expr>>),
    /// `a : b` (ratios, clock times).
    Ratio(Vec<Expr>),
}

impl Expr {
    pub fn int(n: i64) -> Expr {
        Expr::Num(Number::integer(n))
    }

    pub fn boxed(self) -> Box<Expr> {
        Box::new(self)
    }

    /// Whether the expression (or any part) is a collection or relation, i.e.
    /// not something that evaluates to one scalar.
    pub fn is_structured(&self) -> bool {
        matches!(
            self,
            Expr::Relation(..)
                | Expr::Tuple(_)
                | Expr::Set(_)
                | Expr::List(_)
                | Expr::Interval { .. }
                | Expr::SetOp(..)
                | Expr::Matrix(_)
                | Expr::Ratio(_)
                | Expr::Text(_)
                | Expr::PlusMinus(..)
        )
    }

    /// Calls `f` on every direct child.
    pub fn for_each_child(&self, f: &mut dyn FnMut(&Expr)) {
        match self {
            Expr::Num(_) | Expr::Const(_) | Expr::Sym(_) | Expr::Text(_) => {}
            Expr::Add(v)
            | Expr::Mul(v)
            | Expr::Call(_, v)
            | Expr::Apply(_, v)
            | Expr::Relation(v, _)
            | Expr::Tuple(v)
            | Expr::Set(v)
            | Expr::List(v)
            | Expr::Ratio(v) => v.iter().for_each(f),
            Expr::Neg(a) | Expr::Percent(a) | Expr::Degrees(a) => f(a),
            Expr::Div(a, b) | Expr::Pow(a, b) | Expr::SetOp(_, a, b) => {
                f(a);
                f(b)
            }
            Expr::BigOp { lo, hi, body, .. } => {
                f(lo);
                f(hi);
                f(body)
            }
            Expr::PlusMinus(a, b) => {
                if let Some(a) = a {
                    f(a)
                }
                f(b)
            }
            Expr::Interval { lo, hi, .. } => {
                f(lo);
                f(hi)
            }
            Expr::Matrix(rows) => rows.iter().flatten().for_each(f),
        }
    }

    /// Free variables, sorted and deduplicated (index variables of sums are bound).
    pub fn free_symbols(&self) -> Vec<String> {
        fn walk(e: &Expr, bound: &mut Vec<String>, out: &mut Vec<String>) {
            match e {
                Expr::Sym(s) => {
                    if !bound.contains(s) {
                        out.push(s.clone())
                    }
                }
                Expr::BigOp {
                    var, lo, hi, body, ..
                } => {
                    walk(lo, bound, out);
                    walk(hi, bound, out);
                    bound.push(var.clone());
                    walk(body, bound, out);
                    bound.pop();
                }
                other => other.for_each_child(&mut |c| walk(c, bound, out)),
            }
        }
        let mut out = Vec::new();
        walk(self, &mut Vec::new(), &mut out);
        out.sort();
        out.dedup();
        out
    }

    /// Whether a decimal literal occurs anywhere (used by the rounding policy).
    pub fn has_decimal(&self) -> bool {
        if let Expr::Num(n) = self {
            return n.decimals.is_some();
        }
        let mut found = false;
        self.for_each_child(&mut |c| found |= c.has_decimal());
        found
    }
}

impl fmt::Display for RelOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RelOp::Eq => "=",
            RelOp::Ne => "≠",
            RelOp::Lt => "<",
            RelOp::Le => "≤",
            RelOp::Gt => ">",
            RelOp::Ge => "≥",
            RelOp::Approx => "≈",
            RelOp::In => "∈",
        })
    }
}

/// Parenthesised unless atomic.
struct Wrapped<'a>(&'a Expr);

impl fmt::Display for Wrapped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Expr::Num(n)
                if n.value.is_integer()
                    && n.value >= num_rational::BigRational::from_integer(0.into()) =>
            {
                write!(f, "{}", self.0)
            }
            Expr::Sym(_)
            | Expr::Const(_)
            | Expr::Add(_)
            | Expr::Mul(_)
            | Expr::Call(..)
            | Expr::Apply(..) => write!(f, "{}", self.0),
            other => write!(f, "({other})"),
        }
    }
}

fn join(f: &mut fmt::Formatter<'_>, items: &[Expr], sep: &str) -> fmt::Result {
    for (k, e) in items.iter().enumerate() {
        if k > 0 {
            f.write_str(sep)?;
        }
        write!(f, "{e}")?;
    }
    Ok(())
}

/// A canonical, readable rendering: what `r1-check` reports as the parsed form.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Num(n) => {
                if n.value.is_integer() {
                    write!(f, "{}", n.value.numer())
                } else {
                    write!(f, "{}/{}", n.value.numer(), n.value.denom())
                }
            }
            Expr::Const(c) => f.write_str(match c {
                Constant::Pi => "pi",
                Constant::E => "e",
                Constant::I => "i",
                Constant::Infinity => "oo",
            }),
            Expr::Sym(s) => f.write_str(s),
            Expr::Add(v) => {
                f.write_str("(")?;
                join(f, v, " + ")?;
                f.write_str(")")
            }
            Expr::Mul(v) => {
                f.write_str("(")?;
                join(f, v, "*")?;
                f.write_str(")")
            }
            Expr::Neg(a) => write!(f, "-{a}"),
            Expr::Div(a, b) => write!(f, "{}/{}", Wrapped(a), Wrapped(b)),
            Expr::Pow(a, b) => write!(f, "{}^{}", Wrapped(a), Wrapped(b)),
            Expr::Call(func, args) => {
                write!(f, "{}(", format!("{func:?}").to_lowercase())?;
                join(f, args, ", ")?;
                f.write_str(")")
            }
            Expr::Apply(name, args) => {
                write!(f, "{name}[")?;
                join(f, args, ", ")?;
                f.write_str("]")
            }
            Expr::BigOp {
                product,
                var,
                lo,
                hi,
                body,
            } => write!(
                f,
                "{}({body}, {var}={lo}..{hi})",
                if *product { "prod" } else { "sum" }
            ),
            Expr::PlusMinus(a, b) => match a {
                Some(a) => write!(f, "{a} ± {b}"),
                None => write!(f, "±{b}"),
            },
            Expr::Percent(a) => write!(f, "{a}%"),
            Expr::Degrees(a) => write!(f, "{a}°"),
            Expr::Text(t) => write!(f, "\"{t}\""),
            Expr::Relation(terms, ops) => {
                for (k, t) in terms.iter().enumerate() {
                    if k > 0 {
                        write!(f, " {} ", ops[k - 1])?;
                    }
                    write!(f, "{t}")?;
                }
                Ok(())
            }
            Expr::Tuple(v) => {
                f.write_str("(")?;
                join(f, v, ", ")?;
                f.write_str(")")
            }
            Expr::Set(v) => {
                f.write_str("{")?;
                join(f, v, ", ")?;
                f.write_str("}")
            }
            Expr::List(v) => join(f, v, ", "),
            Expr::Interval {
                lo,
                hi,
                lo_closed,
                hi_closed,
            } => write!(
                f,
                "{}{lo}, {hi}{}",
                if *lo_closed { "[" } else { "(" },
                if *hi_closed { "]" } else { ")" }
            ),
            Expr::SetOp(op, a, b) => {
                let sym = match op {
                    SetOp::Union => "∪",
                    SetOp::Intersection => "∩",
                    SetOp::Difference => "\\",
                };
                write!(f, "{a} {sym} {b}")
            }
            Expr::Matrix(rows) => {
                f.write_str("[")?;
                for (k, r) in rows.iter().enumerate() {
                    if k > 0 {
                        f.write_str("; ")?;
                    }
                    join(f, r, ", ")?;
                }
                f.write_str("]")
            }
            Expr::Ratio(v) => join(f, v, ":"),
        }
    }
}
