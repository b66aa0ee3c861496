//! A nom parser for LaTeX and plain-text answers into [`Expr`].
//!
//! Grammar, loosest binding first:
//! `answer := group (';' group)*`, `group := item ((','|and|or) item)*`,
//! `item := set (relop set)*`, `set := ratio (\cup|\cap|\setminus ratio)*`,
//! `ratio := sum (':' sum)*`, `sum := term (('+'|'-'|\pm) term)*`,
//! `term := factor ((\cdot|\times|*|/|\div)? factor)*`, `factor := ('-'|'+')* power`,
//! `power := atom ('^' exponent | '!' | '%' | '°')*`.
//!
//! Work is bounded: input length, nesting depth and node count are capped, so
//! hostile inputs (`((((…))))`, power towers) fail fast instead of hanging.

use super::expr::{Constant, Expr, Func, Number, RelOp, SetOp};
use super::words::{
    func_by_name, is_function_letter, is_unit_word, percent_word, separator_word, GREEK,
};
use nom::branch::alt;
use nom::bytes::complete::{take_while, take_while1};
use nom::character::complete::{char, digit1};
use nom::combinator::{opt, recognize};
use nom::error::{Error, ErrorKind};
use nom::sequence::{pair, preceded};
use nom::IResult;
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Zero};
use std::cell::Cell;

type PResult<'a, T> = IResult<&'a str, T>;

/// Bounds on parsing work.
#[derive(Clone, Copy, Debug)]
pub struct ParseLimits {
    pub max_chars: usize,
    pub max_depth: u32,
    pub max_nodes: u32,
    pub max_digits: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_chars: 4_000,
            max_depth: 48,
            max_nodes: 4_000,
            max_digits: 400,
        }
    }
}

/// Why an answer could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("empty answer")]
    Empty,
    #[error("answer longer than {0} characters")]
    TooLong(usize),
    #[error("nesting deeper than {0}")]
    TooDeep(u32),
    #[error("more than {0} nodes")]
    TooManyNodes(u32),
    #[error("number with more than {0} digits")]
    TooManyDigits(usize),
    #[error("cannot parse at byte {at}: {near:?}")]
    Syntax { at: usize, near: String },
}

impl ParseError {
    /// Whether the failure is a resource bound rather than bad syntax.
    pub fn is_budget(&self) -> bool {
        matches!(
            self,
            ParseError::TooLong(_)
                | ParseError::TooDeep(_)
                | ParseError::TooManyNodes(_)
                | ParseError::TooManyDigits(_)
        )
    }
}

/// Parser options that change how ambiguous notation is read.
#[derive(Clone, Copy, Debug, Default)]
pub struct ParseOptions {
    /// Read `1,5` as 1.5 (continental decimal comma) instead of a list.
    pub decimal_comma: bool,
    pub limits: ParseLimits,
}

/// Parses one normalized answer.
pub fn parse(input: &str, options: &ParseOptions) -> Result<Expr, ParseError> {
    let limits = options.limits;
    if input.trim().is_empty() {
        return Err(ParseError::Empty);
    }
    if input.len() > limits.max_chars {
        return Err(ParseError::TooLong(limits.max_chars));
    }
    let parser = Parser {
        options: *options,
        depth: Cell::new(0),
        nodes: Cell::new(0),
        groups: Cell::new(0),
        abs: Cell::new(0),
        failure: Cell::new(None),
    };
    let result = parser.answer(input);
    if let Some(err) = parser.failure.take() {
        return Err(err);
    }
    match result {
        Ok((rest, expr)) if rest.trim().is_empty() => Ok(expr),
        Ok((rest, _)) => Err(syntax_error(input, rest)),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(syntax_error(input, e.input)),
        Err(nom::Err::Incomplete(_)) => Err(syntax_error(input, "")),
    }
}

fn syntax_error(input: &str, rest: &str) -> ParseError {
    ParseError::Syntax {
        at: input.len() - rest.len(),
        near: rest.chars().take(24).collect(),
    }
}

fn fail<T>(i: &str) -> PResult<'_, T> {
    Err(nom::Err::Error(Error::new(i, ErrorKind::Verify)))
}

fn ws(i: &str) -> &str {
    i.trim_start()
}

struct Parser {
    options: ParseOptions,
    depth: Cell<u32>,
    nodes: Cell<u32>,
    /// Bracket nesting: thousands separators are only read outside brackets.
    groups: Cell<u32>,
    /// Open `|…|` pairs: inside one a `|` closes instead of opening.
    abs: Cell<u32>,
    failure: Cell<Option<ParseError>>,
}

impl Parser {
    /// Records a budget failure (the first one wins) and aborts the parse.
    fn bail<'a, T>(&self, i: &'a str, err: ParseError) -> PResult<'a, T> {
        let first = self.failure.take().unwrap_or(err);
        self.failure.set(Some(first));
        Err(nom::Err::Failure(Error::new(i, ErrorKind::TooLarge)))
    }

    fn node<'a>(&self, i: &'a str) -> Result<(), nom::Err<Error<&'a str>>> {
        let n = self.nodes.get() + 1;
        self.nodes.set(n);
        if n > self.options.limits.max_nodes {
            self.bail::<()>(i, ParseError::TooManyNodes(self.options.limits.max_nodes))?;
        }
        Ok(())
    }

    /// Runs `f` one nesting level deeper.
    fn nested<'a, T>(
        &self,
        i: &'a str,
        f: impl FnOnce(&'a str) -> PResult<'a, T>,
    ) -> PResult<'a, T> {
        let d = self.depth.get() + 1;
        if d > self.options.limits.max_depth {
            return self.bail(i, ParseError::TooDeep(self.options.limits.max_depth));
        }
        self.depth.set(d);
        let r = f(i);
        self.depth.set(d - 1);
        r
    }

    fn in_group<'a, T>(
        &self,
        i: &'a str,
        f: impl FnOnce(&'a str) -> PResult<'a, T>,
    ) -> PResult<'a, T> {
        self.groups.set(self.groups.get() + 1);
        let r = self.nested(i, f);
        self.groups.set(self.groups.get() - 1);
        r
    }

    // ---- lists ---------------------------------------------------------

    fn answer<'a>(&self, i: &'a str) -> PResult<'a, Expr> {
        let (mut i, first) = self.group(i)?;
        let mut parts = vec![first];
        loop {
            let j = ws(i);
            let Some(rest) = j.strip_prefix(';') else {
                break;
            };
            if ws(rest).is_empty() {
                i = rest;
                break;
            }
            let (rest, g) = self.group(rest)?;
            parts.push(g);
            i = rest;
        }
        if parts.len() == 1 {
            return Ok((i, parts.pop().unwrap_or(Expr::List(vec![]))));
        }
        // `p=5,q=2; p=7,q=2`: each `;` part is one grouped solution.
        let parts = parts
            .into_iter()
            .map(|p| match p {
                Expr::List(v) => Expr::Tuple(v),
                other => other,
            })
            .collect();
        Ok((i, Expr::List(parts)))
    }

    fn group<'a>(&self, i: &'a str) -> PResult<'a, Expr> {
        let (i, items) = self.items(i, false)?;
        Ok((
            i,
            if items.len() == 1 {
                items.into_iter().next().unwrap_or(Expr::List(vec![]))
            } else {
                Expr::List(items)
            },
        ))
    }

    /// Items separated by `,` (or `;` inside brackets) and `and`/`or`.
    fn items<'a>(&self, i: &'a str, semicolons: bool) -> PResult<'a, Vec<Expr>> {
        let (mut i, first) = self.item(i)?;
        let mut items = vec![first];
        while let Some(rest) = self.list_separator(i, semicolons) {
            match self.item(rest) {
                Ok((r, e)) => {
                    items.push(e);
                    i = r;
                }
                Err(nom::Err::Failure(e)) => return Err(nom::Err::Failure(e)),
                Err(_) => break,
            }
        }
        Ok((i, items))
    }

    fn list_separator<'a>(&self, i: &'a str, semicolons: bool) -> Option<&'a str> {
        let j = ws(i);
        let mut rest = if let Some(r) = j.strip_prefix(',') {
            r
        } else if semicolons && j.starts_with(';') {
            &j[1..]
        } else if let Some(r) = separator_word(j) {
            r
        } else if let Some((r, t)) = self.text_command(j) {
            if matches!(
                t.trim().to_ascii_lowercase().as_str(),
                "and" | "or" | ", and" | ","
            ) {
                r
            } else {
                return None;
            }
        } else {
            return None;
        };
        // `1, and 2`, `1 \text{ and } 2`
        loop {
            let r = ws(rest);
            if let Some(r2) = separator_word(r) {
                rest = r2;
            } else if let Some((r2, t)) = self.text_command(r) {
                if matches!(t.trim().to_ascii_lowercase().as_str(), "and" | "or") {
                    rest = r2;
                } else {
                    break;
                }
            } else {
                break;
            }
        }
        Some(rest)
    }

    // ---- relations -----------------------------------------------------

    fn item<'a>(&self, i: &'a str) -> PResult<'a, Expr> {
        self.nested(i, |i| {
            let (mut i, first) = self.set_expr(i)?;
            let mut terms = vec![first];
            let mut ops = Vec::new();
            while let Some((rest, op)) = relop(ws(i)) {
                let (rest, t) = self.set_expr(rest)?;
                ops.push(op);
                terms.push(t);
                i = rest;
            }
            let i = self.skip_trailing_unit(i);
            if ops.is_empty() {
                return Ok((i, terms.pop().unwrap_or(Expr::List(vec![]))));
            }
            Ok((i, Expr::Relation(terms, ops)))
        })
    }

    fn set_expr<'a>(&self, i: &'a str) -> PResult<'a, Expr> {
        let (mut i, mut acc) = self.ratio(i)?;
        loop {
            let j = ws(i);
            let (rest, op) = if let Some(r) = strip_command(j, "cup") {
                (r, SetOp::Union)
            } else if let Some(r) = strip_command(j, "cap") {
                (r, SetOp::Intersection)
            } else if let Some(r) =
                strip_command(j, "setminus").or_else(|| strip_command(j, "backslash"))
            {
                (r, SetOp::Difference)
            } else if let Some(r) = j.strip_prefix("U ").filter(|_| is_set_like(&acc)) {
                (r, SetOp::Union)
            } else {
                break;
            };
            let (rest, rhs) = self.ratio(rest)?;
            acc = Expr::SetOp(op, acc.boxed(), rhs.boxed());
            i = rest;
        }
        Ok((i, acc))
    }

    fn ratio<'a>(&self, i: &'a str) -> PResult<'a, Expr> {
        let (mut i, first) = self.sum(i)?;
        let mut parts = vec![first];
        loop {
            let j = ws(i);
            match j.strip_prefix(':') {
                Some(r) if !r.starts_with('=') => {
                    let (r, e) = self.sum(r)?;
                    parts.push(e);
                    i = r;
                }
                _ => break,
            }
        }
        Ok((
            i,
            if parts.len() == 1 {
                parts.pop().unwrap_or(Expr::List(vec![]))
            } else {
                Expr::Ratio(parts)
            },
        ))
    }

    // ---- arithmetic ------------------------------------------------------

    fn sum<'a>(&self, i: &'a str) -> PResult<'a, Expr> {
        let j = ws(i);
        let (mut i, mut acc) =
            if let Some(r) = strip_command(j, "pm").or_else(|| strip_command(j, "mp")) {
                let (r, t) = self.term(r)?;
                (r, Expr::PlusMinus(None, t.boxed()))
            } else {
                self.term(j)?
            };
        loop {
            let j = ws(i);
            if let Some(r) = j.strip_prefix('+') {
                let (r, t) = self.term(r)?;
                acc = push_add(acc, t);
                i = r;
            } else if let Some(r) = j.strip_prefix('-').filter(|r| !r.starts_with('>')) {
                let (r, t) = self.term(r)?;
                acc = push_add(acc, Expr::Neg(t.boxed()));
                i = r;
            } else if let Some(r) = strip_command(j, "pm").or_else(|| strip_command(j, "mp")) {
                let (r, t) = self.term(r)?;
                acc = Expr::PlusMinus(Some(acc.boxed()), t.boxed());
                i = r;
            } else {
                break;
            }
        }
        Ok((i, acc))
    }

    fn term<'a>(&self, i: &'a str) -> PResult<'a, Expr> {
        let (mut i, first) = self.factor(i)?;
        let mut acc = first;
        // Mixed numbers: `2\frac12`, `4 4/9`.
        if let Some((rest, mixed)) = self.mixed_number(&acc, i) {
            acc = mixed;
            i = rest;
        }
        loop {
            let j = ws(i);
            if let Some(r) = strip_command(j, "cdot")
                .or_else(|| strip_command(j, "times"))
                .or_else(|| j.strip_prefix('*').filter(|r| !r.starts_with('*')))
            {
                let (r, f) = self.factor(r)?;
                acc = push_mul(acc, f);
                i = r;
            } else if let Some(r) = j.strip_prefix('/').or_else(|| strip_command(j, "div")) {
                let (r, f) = self.factor(r)?;
                acc = Expr::Div(acc.boxed(), f.boxed());
                i = r;
            } else if let Some(r) = percent_word(j) {
                acc = Expr::Percent(acc.boxed());
                i = r;
            } else if self.at_trailing_unit(j) {
                break;
            } else if self.starts_factor(j, &acc) {
                match self.factor(j) {
                    // Words do not multiply: `2 apples ago` is prose, not a product.
                    Ok((_, Expr::Text(_))) => break,
                    Ok(_) if matches!(acc, Expr::Text(_)) => break,
                    Ok((r, f)) => {
                        acc = push_mul(acc, f);
                        i = r;
                    }
                    Err(nom::Err::Error(_)) => break,
                    Err(e) => return Err(e),
                }
            } else {
                break;
            }
        }
        Ok((i, acc))
    }

    /// Whether `j` begins an implicitly multiplied factor.
    fn starts_factor(&self, j: &str, acc: &Expr) -> bool {
        let Some(c) = j.chars().next() else {
            return false;
        };
        if separator_word(j).is_some()
            && !j.starts_with(|c: char| c.is_ascii_uppercase() && j.len() == 1)
        {
            return false;
        }
        match c {
            '0'..='9' | '.' => !ends_with_number(acc),
            '(' | '{' => true,
            '[' => false,
            '|' => self.abs.get() == 0,
            '\\' => {
                let name: String = j[1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .collect();
                if name.is_empty() {
                    return j.starts_with("\\{");
                }
                !matches!(
                    name.as_str(),
                    "cdot"
                        | "times"
                        | "div"
                        | "pm"
                        | "mp"
                        | "le"
                        | "ge"
                        | "ne"
                        | "in"
                        | "approx"
                        | "cup"
                        | "cap"
                        | "setminus"
                        | "end"
                        | "right"
                        | "rfloor"
                        | "rceil"
                        | "quad"
                        | "qquad"
                        | "to"
                        | "equiv"
                        | "implies"
                        | "Rightarrow"
                        | "iff"
                        | "pmod"
                        | "bmod"
                        | "mod"
                        | "backslash"
                        | "neq"
                        | "leq"
                        | "geq"
                )
            }
            c if c.is_alphabetic() => true,
            _ => false,
        }
    }

    fn mixed_number<'a>(&self, whole: &Expr, i: &'a str) -> Option<(&'a str, Expr)> {
        let Expr::Num(n) = whole else { return None };
        if !n.value.is_integer() || n.decimals.is_some() || n.value < BigRational::zero() {
            return None;
        }
        let proper = |a: &BigInt, b: &BigInt| !b.is_zero() && a < b && *a > BigInt::zero();
        let j = ws(i);
        if let Some(r) = strip_command(j, "frac") {
            let (r, a) = self.frac_arg(r).ok()?;
            let (r, b) = self.frac_arg(r).ok()?;
            let (Expr::Num(a), Expr::Num(b)) = (&a, &b) else {
                return None;
            };
            if a.decimals.is_some() || b.decimals.is_some() {
                return None;
            }
            let (a, b) = (a.value.to_integer(), b.value.to_integer());
            if proper(&a, &b) {
                let v = n.value.clone() + BigRational::new(a, b);
                return Some((
                    r,
                    Expr::Num(Number {
                        value: v,
                        decimals: None,
                        significant: 0,
                    }),
                ));
            }
            return None;
        }
        // Plain `4 4/9`: whitespace, integer, slash, integer.
        if j.len() == i.len() {
            return None;
        }
        let (r, a) = digit1::<_, Error<&str>>(j).ok()?;
        let r = r.strip_prefix('/')?;
        let (r, b) = digit1::<_, Error<&str>>(r).ok()?;
        if r.starts_with(|c: char| c.is_ascii_digit() || c == '/' || c == '.') {
            return None;
        }
        let (a, b): (BigInt, BigInt) = (a.parse().ok()?, b.parse().ok()?);
        proper(&a, &b).then(|| {
            let v = n.value.clone() + BigRational::new(a, b);
            (
                r,
                Expr::Num(Number {
                    value: v,
                    decimals: None,
                    significant: 0,
                }),
            )
        })
    }

    fn factor<'a>(&self, i: &'a str) -> PResult<'a, Expr> {
        let j = ws(i);
        if let Some(r) = j.strip_prefix('-') {
            let (r, f) = self.nested(r, |r| self.factor(r))?;
            return Ok((r, Expr::Neg(f.boxed())));
        }
        if let Some(r) = j.strip_prefix('+') {
            return self.nested(r, |r| self.factor(r));
        }
        self.power(j)
    }

    fn power<'a>(&self, i: &'a str) -> PResult<'a, Expr> {
        let (mut i, mut base) = self.atom(i)?;
        loop {
            let j = ws(i);
            if let Some(r) = j.strip_prefix('^').or_else(|| j.strip_prefix("**")) {
                let (r, e) = self.exponent(r)?;
                base = Expr::Pow(base.boxed(), e.boxed());
                i = r;
            } else if let Some(r) = j.strip_prefix('!').filter(|r| !r.starts_with('=')) {
                base = Expr::Call(Func::Factorial, vec![base]);
                i = r;
            } else if let Some(r) = j.strip_prefix('%') {
                base = Expr::Percent(base.boxed());
                i = r;
            } else if let Some(r) = j.strip_prefix('°') {
                base = Expr::Degrees(base.boxed());
                i = r;
            } else {
                break;
            }
        }
        Ok((i, base))
    }

    fn exponent<'a>(&self, i: &'a str) -> PResult<'a, Expr> {
        let j = ws(i);
        if j.starts_with('{') {
            return self.braced(j);
        }
        if j.starts_with('(') {
            return self.atom(j);
        }
        if let Ok((r, d)) = recognize(pair(opt(char('-')), digit1::<_, Error<&str>>))(j) {
            return Ok((r, self.number_from_digits(r, d)?));
        }
        if j.starts_with('\\') {
            return self.atom(j);
        }
        let mut chars = j.chars();
        match chars.next() {
            Some(c) if c.is_alphabetic() => Ok((chars.as_str(), symbol(c))),
            _ => fail(j),
        }
    }

    fn number_from_digits<'a>(
        &self,
        at: &'a str,
        digits: &str,
    ) -> Result<Expr, nom::Err<Error<&'a str>>> {
        if digits.len() > self.options.limits.max_digits {
            return self
                .bail(
                    at,
                    ParseError::TooManyDigits(self.options.limits.max_digits),
                )
                .map(|(_, e)| e);
        }
        let n: BigInt = digits
            .parse()
            .map_err(|_| nom::Err::Error(Error::new(at, ErrorKind::Digit)))?;
        Ok(Expr::Num(Number::integer(n)))
    }

    // ---- atoms -----------------------------------------------------------

    fn atom<'a>(&self, i: &'a str) -> PResult<'a, Expr> {
        self.node(i)?;
        let j = ws(i);
        let Some(c) = j.chars().next() else {
            return fail(j);
        };
        match c {
            '0'..='9' | '.' => self.number(j),
            '(' => self.paren(j),
            '[' => self.bracket(j),
            '{' => self.brace_set_or_group(j),
            '|' if self.abs.get() == 0 || !j[1..].trim_start().is_empty() => self.abs_value(j),
            '\\' => self.command(j),
            c if c.is_alphabetic() => self.word(j),
            _ => fail(j),
        }
    }

    fn number<'a>(&self, i: &'a str) -> PResult<'a, Expr> {
        let top_level = self.groups.get() == 0;
        let (mut rest, int_part) = take_while(|c: char| c.is_ascii_digit())(i)?;
        let mut digits = int_part.to_string();
        let mut frac = String::new();
        let mut repeating = String::new();
        // Thousands separators: 3-digit groups after a 1–3 digit head.
        if !int_part.is_empty() && int_part.len() <= 3 && !int_part.starts_with('0') {
            loop {
                let sep_len = if rest.starts_with("{,}") {
                    3
                } else if top_level && (rest.starts_with(',') || rest.starts_with(' ')) {
                    1
                } else {
                    break;
                };
                let after = &rest[sep_len..];
                let group: String = after.chars().take_while(|c| c.is_ascii_digit()).collect();
                let next = after[group.len()..].chars().next();
                let ends_ok =
                    next.is_none_or(|c| c != ',' || rest.starts_with(',') || rest.starts_with('{'));
                if group.len() == 3 && ends_ok && !(rest.starts_with(' ') && next == Some('/')) {
                    digits.push_str(&group);
                    rest = &after[3..];
                } else {
                    break;
                }
            }
        }
        if self.options.decimal_comma && !int_part.is_empty() && digits.len() == int_part.len() {
            if let Some(after) = rest.strip_prefix(',') {
                let d: String = after.chars().take_while(|c| c.is_ascii_digit()).collect();
                if !d.is_empty() {
                    frac = d;
                    rest = &after[frac.len()..];
                }
            }
        }
        if frac.is_empty() {
            if let Some(after) = rest.strip_prefix('.') {
                let d: String = after.chars().take_while(|c| c.is_ascii_digit()).collect();
                let after_digits = &after[d.len()..];
                if let Some(r) = strip_command(after_digits, "overline")
                    .or_else(|| strip_command(after_digits, "bar"))
                {
                    let (r, rep) = self.braced_digits(r)?;
                    frac = d;
                    repeating = rep;
                    rest = r;
                } else if !d.is_empty() {
                    frac = d;
                    rest = after_digits;
                } else if int_part.is_empty() {
                    return fail(i);
                } else {
                    // `5.` — a trailing period.
                    rest = after;
                }
            }
        }
        if digits.is_empty() && frac.is_empty() && repeating.is_empty() {
            return fail(i);
        }
        if digits.len() + frac.len() + repeating.len() > self.options.limits.max_digits {
            return self.bail(i, ParseError::TooManyDigits(self.options.limits.max_digits));
        }
        let mut exponent: i64 = 0;
        if let Some(after) = rest.strip_prefix('e').or_else(|| rest.strip_prefix('E')) {
            if let Ok((r, e)) = recognize(pair(
                opt(alt((char('-'), char('+')))),
                digit1::<_, Error<&str>>,
            ))(after)
            {
                if !r.starts_with(|c: char| c.is_alphabetic()) {
                    exponent = e.parse().unwrap_or(0);
                    if exponent.unsigned_abs() > 400 {
                        return self
                            .bail(i, ParseError::TooManyDigits(self.options.limits.max_digits));
                    }
                    rest = r;
                }
            }
        }
        let value = match digits.parse::<u64>() {
            Ok(small) if frac.is_empty() && repeating.is_empty() && exponent == 0 => {
                BigRational::from_integer(small.into())
            }
            _ => decimal_value(&digits, &frac, &repeating, exponent),
        };
        let significant = if digits.trim_start_matches('0').is_empty() {
            frac.trim_start_matches('0').len()
        } else {
            digits.trim_start_matches('0').len() + frac.len()
        } as u32;
        let decimals = (!frac.is_empty() && repeating.is_empty() && exponent == 0)
            .then_some(frac.len() as u32);
        let number = Expr::Num(Number {
            value,
            decimals,
            significant,
        });
        // Base-n literal: `204_5`, `1011_{2}`.
        if let Some(r) = rest.strip_prefix('_') {
            let (r, base) = if let Some(inner) = r.strip_prefix('{') {
                let (r2, b) = digit1(inner)?;
                (
                    r2.strip_prefix('}')
                        .ok_or_else(|| nom::Err::Error(Error::new(r2, ErrorKind::Char)))?,
                    b,
                )
            } else {
                take_while1(|c: char| c.is_ascii_digit())(r)?
            };
            return Ok((r, base_literal(i, &digits, base, frac.is_empty())?));
        }
        Ok((rest, number))
    }

    fn braced_digits<'a>(&self, i: &'a str) -> PResult<'a, String> {
        if let Some(r) = i.strip_prefix('{') {
            let (r, d) = digit1(ws(r))?;
            let r = ws(r)
                .strip_prefix('}')
                .ok_or_else(|| nom::Err::Error(Error::new(r, ErrorKind::Char)))?;
            return Ok((r, d.to_string()));
        }
        match i.chars().next() {
            Some(c) if c.is_ascii_digit() => Ok((&i[1..], c.to_string())),
            _ => fail(i),
        }
    }

    fn paren<'a>(&self, i: &'a str) -> PResult<'a, Expr> {
        let inner = &i[1..];
        let (r, items) = self.in_group(inner, |s| {
            let s = ws(s);
            if s.starts_with(')') {
                return Ok((s, vec![]));
            }
            self.items(s, true)
        })?;
        let r = ws(r);
        if let Some(r) = r.strip_prefix(')') {
            return Ok((
                r,
                match items.len() {
                    0 => Expr::Tuple(vec![]),
                    1 => items.into_iter().next().unwrap_or(Expr::Tuple(vec![])),
                    _ => Expr::Tuple(items),
                },
            ));
        }
        if let Some(r) = r.strip_prefix(']') {
            let [lo, hi] = <[Expr; 2]>::try_from(items)
                .map_err(|_| nom::Err::Error(Error::new(r, ErrorKind::Char)))?;
            return Ok((
                r,
                Expr::Interval {
                    lo: lo.boxed(),
                    hi: hi.boxed(),
                    lo_closed: false,
                    hi_closed: true,
                },
            ));
        }
        fail(r)
    }

    fn bracket<'a>(&self, i: &'a str) -> PResult<'a, Expr> {
        let (r, items) = self.in_group(&i[1..], |s| self.items(s, true))?;
        let r = ws(r);
        let (r, hi_closed) = if let Some(r) = r.strip_prefix(']') {
            (r, true)
        } else if let Some(r) = r.strip_prefix(')') {
            (r, false)
        } else {
            return fail(r);
        };
        match items.len() {
            1 if hi_closed => Ok((r, items.into_iter().next().unwrap_or(Expr::Tuple(vec![])))),
            2 => {
                let mut it = items.into_iter();
                let (lo, hi) = (
                    it.next().unwrap_or(Expr::int(0)),
                    it.next().unwrap_or(Expr::int(0)),
                );
                Ok((
                    r,
                    Expr::Interval {
                        lo: lo.boxed(),
                        hi: hi.boxed(),
                        lo_closed: true,
                        hi_closed,
                    },
                ))
            }
            _ if hi_closed => Ok((r, Expr::Tuple(items))),
            _ => fail(r),
        }
    }

    /// `{a, b}` is a set (as models write it without escapes); `{x}` a group.
    fn brace_set_or_group<'a>(&self, i: &'a str) -> PResult<'a, Expr> {
        let (r, items) = self.in_group(&i[1..], |s| {
            let s = ws(s);
            if s.starts_with('}') {
                return Ok((s, vec![]));
            }
            self.items(s, false)
        })?;
        let r = ws(r)
            .strip_prefix('}')
            .ok_or_else(|| nom::Err::Error(Error::new(r, ErrorKind::Char)))?;
        Ok((
            r,
            if items.len() == 1 {
                items.into_iter().next().unwrap_or(Expr::Set(vec![]))
            } else {
                Expr::Set(items)
            },
        ))
    }

    /// A `{…}` group holding one expression (arguments, exponents).
    fn braced<'a>(&self, i: &'a str) -> PResult<'a, Expr> {
        let j = ws(i);
        let inner = j
            .strip_prefix('{')
            .ok_or_else(|| nom::Err::Error(Error::new(j, ErrorKind::Char)))?;
        let (r, e) = self.in_group(inner, |s| self.group(s))?;
        let r = ws(r)
            .strip_prefix('}')
            .ok_or_else(|| nom::Err::Error(Error::new(r, ErrorKind::Char)))?;
        Ok((r, e))
    }

    fn abs_value<'a>(&self, i: &'a str) -> PResult<'a, Expr> {
        self.abs.set(self.abs.get() + 1);
        let r = self.in_group(&i[1..], |s| self.sum(s));
        self.abs.set(self.abs.get() - 1);
        let (r, e) = r?;
        let r = ws(r)
            .strip_prefix('|')
            .ok_or_else(|| nom::Err::Error(Error::new(r, ErrorKind::Char)))?;
        Ok((r, Expr::Call(Func::Abs, vec![e])))
    }

    /// `\frac` / `\binom` argument: a braced group or one token (`\frac12`).
    fn frac_arg<'a>(&self, i: &'a str) -> PResult<'a, Expr> {
        let j = ws(i);
        match j.chars().next() {
            Some('{') => self.braced(j),
            Some(c) if c.is_ascii_digit() => Ok((&j[1..], Expr::int(c as i64 - '0' as i64))),
            Some('\\') => self.atom(j),
            Some(c) if c.is_alphabetic() => Ok((&j[c.len_utf8()..], symbol(c))),
            _ => fail(j),
        }
    }

    fn word<'a>(&self, i: &'a str) -> PResult<'a, Expr> {
        let (rest, w) = take_while1(|c: char| c.is_alphabetic())(i)?;
        let lower = w.to_ascii_lowercase();
        if separator_word(i).is_some() && (w.len() <= 3) {
            return fail(i);
        }
        if let Some(f) = func_by_name(&lower) {
            return self.function(rest, f);
        }
        match lower.as_str() {
            "pi" => return Ok((rest, Expr::Const(Constant::Pi))),
            "inf" | "infty" | "infinity" => return Ok((rest, Expr::Const(Constant::Infinity))),
            _ => {}
        }
        if w.chars().count() >= 4 {
            // Prose or a word answer: kept as text.
            return Ok((rest, Expr::Text(w.to_string())));
        }
        // Letters multiply: read one, leave the rest for implicit multiplication.
        let c = w.chars().next().unwrap_or('x');
        let rest = &i[c.len_utf8()..];
        self.symbol_tail(rest, c.to_string())
    }

    /// After a symbol name: subscripts (`x_1`, `F_{n-1}`), primes and `f(x)`.
    fn symbol_tail<'a>(&self, i: &'a str, mut name: String) -> PResult<'a, Expr> {
        let mut i = i;
        while let Some(r) = i.strip_prefix('\'') {
            name.push('\'');
            i = r;
        }
        if let Some(r) = i.strip_prefix('_') {
            let (r, sub) = self.subscript(r)?;
            let mut args = vec![sub];
            let mut r = r;
            if let Some(r2) = ws(r)
                .strip_prefix('(')
                .filter(|_| is_function_letter(name.chars().next().unwrap_or('x')))
            {
                let (r2, more) = self.call_args(r2)?;
                args.extend(more);
                r = r2;
            }
            return Ok((r, Expr::Apply(name, args)));
        }
        let first = name.chars().next().unwrap_or('x');
        if is_function_letter(first) && i.starts_with('(') {
            let (r, args) = self.call_args(&i[1..])?;
            return Ok((r, Expr::Apply(name, args)));
        }
        if name == "e" {
            return Ok((i, Expr::Const(Constant::E)));
        }
        if name == "i" || name == "j" {
            return Ok((i, Expr::Const(Constant::I)));
        }
        Ok((i, Expr::Sym(name)))
    }

    fn call_args<'a>(&self, i: &'a str) -> PResult<'a, Vec<Expr>> {
        let (r, args) = self.in_group(i, |s| self.items(s, false))?;
        let r = ws(r)
            .strip_prefix(')')
            .ok_or_else(|| nom::Err::Error(Error::new(r, ErrorKind::Char)))?;
        Ok((r, args))
    }

    fn subscript<'a>(&self, i: &'a str) -> PResult<'a, Expr> {
        if i.starts_with('{') {
            return self.braced(i);
        }
        if let Ok((r, d)) = digit1::<_, Error<&str>>(i) {
            return Ok((r, self.number_from_digits(r, d)?));
        }
        let mut chars = i.chars();
        match chars.next() {
            Some(c) if c.is_alphanumeric() => Ok((chars.as_str(), Expr::Sym(c.to_string()))),
            Some('\\') => self.atom(i),
            _ => fail(i),
        }
    }

    /// A built-in function: optional power (`\sin^2 x`, `\sin^{-1} x`), then
    /// its argument in parentheses, braces, or as the next factor.
    fn function<'a>(&self, i: &'a str, f: Func) -> PResult<'a, Expr> {
        let mut f = f;
        let mut i = i;
        let mut base = None;
        if f == Func::Log {
            if let Some(r) = i.strip_prefix('_') {
                let (r, b) = self.subscript(r)?;
                base = Some(b);
                i = r;
            }
        }
        let mut power = None;
        if let Some(r) = ws(i).strip_prefix('^') {
            let (r, p) = self.exponent(r)?;
            if p == Expr::Neg(Expr::int(1).boxed()) || p == Expr::int(-1) {
                f = match f {
                    Func::Sin => Func::Asin,
                    Func::Cos => Func::Acos,
                    Func::Tan => Func::Atan,
                    _ => return fail(i),
                };
            } else {
                power = Some(p);
            }
            i = r;
        }
        let j = ws(i);
        let (r, arg) = if let Some(r) = j.strip_prefix('(') {
            let (r, args) = self.call_args(r)?;
            if args.len() == 1 {
                (r, args.into_iter().next().unwrap_or(Expr::int(0)))
            } else if matches!(f, Func::Gcd | Func::Lcm | Func::Min | Func::Max | Func::Log)
                && args.len() == 2
            {
                let call = if f == Func::Log {
                    let mut it = args.into_iter();
                    let (x, b) = (
                        it.next().unwrap_or(Expr::int(1)),
                        it.next().unwrap_or(Expr::int(10)),
                    );
                    Expr::Call(Func::Log, vec![b, x])
                } else {
                    Expr::Call(f, args)
                };
                return Ok((r, wrap_power(call, power)));
            } else {
                return Ok((r, wrap_power(Expr::Call(f, args), power)));
            }
        } else if j.starts_with('{') {
            self.braced(j)?
        } else {
            self.factor(j)?
        };
        let call = match f {
            Func::Log => Expr::Call(
                Func::Log,
                vec![base.unwrap_or(Expr::Const(Constant::E)), arg],
            ),
            Func::Root => Expr::Call(Func::Root, vec![Expr::int(2), arg]),
            other => Expr::Call(other, vec![arg]),
        };
        Ok((r, wrap_power(call, power)))
    }

    /// `\text{…}`-like commands: returns the rest and the raw content.
    fn text_command<'a>(&self, i: &'a str) -> Option<(&'a str, String)> {
        let r = i.strip_prefix('\\')?;
        let (r, name) =
            take_while1::<_, _, Error<&str>>(|c: char| c.is_ascii_alphabetic())(r).ok()?;
        if !matches!(
            name,
            "text"
                | "textbf"
                | "textit"
                | "textrm"
                | "textnormal"
                | "mbox"
                | "textsf"
                | "texttt"
                | "emph"
        ) {
            return None;
        }
        let r = ws(r).strip_prefix('{')?;
        let mut depth = 1;
        for (k, c) in r.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some((&r[k + 1..], r[..k].to_string()));
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// A unit after a quantity: `\text{ cm}^2`, `\mbox{ miles}`, `cm`.
    fn at_trailing_unit(&self, j: &str) -> bool {
        self.skip_unit(j).is_some()
    }

    fn skip_unit<'a>(&self, j: &'a str) -> Option<&'a str> {
        let rest = if let Some((r, t)) = self.text_command(j) {
            let t = t.trim();
            if t.is_empty()
                || matches!(t.to_ascii_lowercase().as_str(), "and" | "or")
                || t.parse::<f64>().is_ok()
            {
                return None;
            }
            r
        } else {
            let (r, w) =
                take_while1::<_, _, Error<&str>>(|c: char| c.is_ascii_alphabetic())(j).ok()?;
            if !is_unit_word(w) {
                return None;
            }
            r
        };
        let mut rest = rest;
        if let Some(r) = rest.strip_prefix('^') {
            let r = r
                .strip_prefix("{2}")
                .or_else(|| r.strip_prefix("{3}"))
                .or_else(|| r.strip_prefix('2'))
                .or_else(|| r.strip_prefix('3'))?;
            rest = r;
        }
        let after = ws(rest);
        let boundary = after.is_empty()
            || after.starts_with([',', ';', ')', ']', '}', '=', '<', '>'])
            || after.starts_with("\\}")
            || after.starts_with("\\end")
            || after.starts_with('&')
            || after.starts_with("\\\\")
            || separator_word(after).is_some()
            || self
                .text_command(after)
                .is_some_and(|(_, t)| matches!(t.trim(), "and" | "or"))
            || after.starts_with("\\le")
            || after.starts_with("\\ge");
        boundary.then_some(rest)
    }

    fn skip_trailing_unit<'a>(&self, i: &'a str) -> &'a str {
        self.skip_unit(ws(i)).unwrap_or(i)
    }

    fn command<'a>(&self, i: &'a str) -> PResult<'a, Expr> {
        let r = &i[1..];
        if let Some(r) = r.strip_prefix('{') {
            return self.escaped_set(r);
        }
        let (r, name) = take_while1(|c: char| c.is_ascii_alphabetic())(r)?;
        if let Some(f) = func_by_name(name) {
            if f == Func::Root {
                return self.sqrt(r);
            }
            return self.function(r, f);
        }
        match name {
            "frac" | "over" => {
                let (r, a) = self.frac_arg(r)?;
                let (r, b) = self.frac_arg(r)?;
                Ok((r, Expr::Div(a.boxed(), b.boxed())))
            }
            "binom" | "choose" => {
                let (r, a) = self.frac_arg(r)?;
                let (r, b) = self.frac_arg(r)?;
                Ok((r, Expr::Call(Func::Binom, vec![a, b])))
            }
            "pi" => Ok((r, Expr::Const(Constant::Pi))),
            "infty" => Ok((r, Expr::Const(Constant::Infinity))),
            "emptyset" => Ok((r, Expr::Set(vec![]))),
            "mathbb" | "Bbb" => {
                let (r, c) = if let Some(r) = ws(r).strip_prefix('{') {
                    let (r, c) = take_while1(|c: char| c.is_alphabetic())(ws(r))?;
                    (
                        ws(r)
                            .strip_prefix('}')
                            .ok_or_else(|| nom::Err::Error(Error::new(r, ErrorKind::Char)))?,
                        c,
                    )
                } else {
                    let j = ws(r);
                    let c = j.get(..1).unwrap_or("");
                    (&j[c.len()..], c)
                };
                match c {
                    "R" => Ok((r, real_line())),
                    "C" | "Z" | "N" | "Q" => Ok((r, Expr::Sym(format!("set{c}")))),
                    _ => fail(r),
                }
            }
            "R" | "Reals" => Ok((r, real_line())),
            "boxed" | "fbox" | "overline" | "vec" | "hat" | "bar" | "tilde" | "widehat"
            | "overrightarrow" | "mathbf" | "boldsymbol" | "bm" | "mathit" | "mathcal"
            | "mathscr" | "mathsf" | "underline" | "mathbfit" => {
                let (r, e) = self.frac_arg(r)?;
                Ok((r, e))
            }
            "text" | "textbf" | "textit" | "textrm" | "textnormal" | "mbox" | "mathrm"
            | "operatorname" | "textsf" | "texttt" | "emph" => self.text_like(i, name, r),
            "lfloor" | "lceil" => {
                let (r, e) = self.in_group(r, |s| self.sum(s))?;
                let close = if name == "lfloor" { "rfloor" } else { "rceil" };
                let r = strip_command(ws(r), close)
                    .ok_or_else(|| nom::Err::Error(Error::new(r, ErrorKind::Tag)))?;
                Ok((
                    r,
                    Expr::Call(
                        if name == "lfloor" {
                            Func::Floor
                        } else {
                            Func::Ceil
                        },
                        vec![e],
                    ),
                ))
            }
            "begin" => self.environment(r),
            "sum" | "prod" => self.big_operator(r, name == "prod"),
            "sqrt" => self.sqrt(r),
            "imath" | "jmath" => Ok((r, Expr::Const(Constant::I))),
            "ell" => self.symbol_tail(r, "l".to_string()),
            g if GREEK.contains(&g) => self.symbol_tail(r, g.to_string()),
            // Layout, ellipses and environment ends are never values.
            "end" | "right" | "left" | "hline" | "ldots" | "cdots" | "dots" | "vdots" | "ddots"
            | "quad" | "qquad" | "rfloor" | "rceil" | "to" | "implies" | "Rightarrow" | "iff"
            | "pmod" | "bmod" | "mod" | "tag" | "label" => fail(i),
            // Unknown macros name a quantity (`\zzz`).
            other => self.symbol_tail(r, other.to_string()),
        }
    }

    fn text_like<'a>(&self, whole: &'a str, name: &str, r: &'a str) -> PResult<'a, Expr> {
        let j = ws(r);
        let inner = j
            .strip_prefix('{')
            .ok_or_else(|| nom::Err::Error(Error::new(j, ErrorKind::Char)))?;
        let mut depth = 1;
        let mut end = None;
        for (k, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(k);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(end) = end else { return fail(whole) };
        let content = inner[..end].trim();
        let rest = &inner[end + 1..];
        let lower = content.to_ascii_lowercase();
        if matches!(lower.as_str(), "and" | "or" | "") {
            return fail(whole);
        }
        // `\mathrm{e}`, `\operatorname{sin}`, `\text{13}`: math in text clothing.
        if name == "mathrm" || name == "operatorname" {
            if let Some(f) = func_by_name(&lower) {
                return self.function(rest, f);
            }
            if content.chars().count() == 1 {
                let c = content.chars().next().unwrap_or('x');
                return self.symbol_tail(rest, c.to_string());
            }
        }
        if let Ok(e) = parse(
            content,
            &ParseOptions {
                decimal_comma: self.options.decimal_comma,
                limits: self.options.limits,
            },
        ) {
            if matches!(e, Expr::Num(_)) || (matches!(e, Expr::Percent(_)) && content.len() < 12) {
                return Ok((rest, e));
            }
        }
        // A multiple-choice letter in parentheses: `\text{(C)}`.
        let trimmed = content.trim_matches(|c| c == '(' || c == ')' || c == ' ');
        Ok((rest, Expr::Text(trimmed.to_string())))
    }

    fn sqrt<'a>(&self, r: &'a str) -> PResult<'a, Expr> {
        let j = ws(r);
        let (r, index) = if let Some(inner) = j.strip_prefix('[') {
            let (r2, idx) = self.in_group(inner, |s| self.sum(s))?;
            let r2 = ws(r2)
                .strip_prefix(']')
                .ok_or_else(|| nom::Err::Error(Error::new(r2, ErrorKind::Char)))?;
            (r2, idx)
        } else {
            (j, Expr::int(2))
        };
        let j = ws(r);
        let (r, arg) = if j.starts_with('(') {
            self.atom(j)?
        } else {
            self.frac_arg(j)?
        };
        Ok((r, Expr::Call(Func::Root, vec![index, arg])))
    }

    fn escaped_set<'a>(&self, r: &'a str) -> PResult<'a, Expr> {
        let (r, items) = self.in_group(r, |s| {
            let s = ws(s);
            if s.starts_with("\\}") {
                return Ok((s, vec![]));
            }
            self.items(s, true)
        })?;
        let r = ws(r)
            .strip_prefix("\\}")
            .ok_or_else(|| nom::Err::Error(Error::new(r, ErrorKind::Char)))?;
        Ok((r, Expr::Set(items)))
    }

    fn environment<'a>(&self, r: &'a str) -> PResult<'a, Expr> {
        let (r, name) = preceded(
            char('{'),
            take_while1(|c: char| c.is_ascii_alphabetic() || c == '*'),
        )(ws(r))?;
        let (mut r, _) = char('}')(r)?;
        if !matches!(
            name,
            "pmatrix" | "bmatrix" | "Bmatrix" | "matrix" | "array" | "smallmatrix" | "vmatrix"
        ) {
            return fail(r);
        }
        if name == "array" {
            // Column spec `{cc}` or `{c|c}`.
            let (r2, _) = preceded(char('{'), take_while(|c: char| c != '}'))(ws(r))?;
            let (r2, _) = char('}')(r2)?;
            r = r2;
        }
        let end_tag = format!("\\end{{{name}}}");
        let (r, rows) = self.in_group(r, |mut s| {
            let mut rows: Vec<Vec<Expr>> = Vec::new();
            let mut row = Vec::new();
            loop {
                let t = ws(s);
                if let Some(rest) = t.strip_prefix(end_tag.as_str()) {
                    if !row.is_empty() {
                        rows.push(std::mem::take(&mut row));
                    }
                    return Ok((rest, rows));
                }
                let (rest, cell) = self.item(t)?;
                row.push(cell);
                let t = ws(rest);
                if let Some(rest) = t.strip_prefix('&') {
                    s = rest;
                } else if let Some(rest) = t.strip_prefix("\\\\") {
                    rows.push(std::mem::take(&mut row));
                    s = rest;
                    if ws(s).starts_with(end_tag.as_str()) {
                        continue;
                    }
                } else if t.starts_with(end_tag.as_str()) {
                    s = t;
                } else {
                    return fail(t);
                }
            }
        })?;
        if rows.is_empty() || rows.iter().any(|row| row.len() != rows[0].len()) {
            return fail(r);
        }
        Ok((r, Expr::Matrix(rows)))
    }

    fn big_operator<'a>(&self, r: &'a str, product: bool) -> PResult<'a, Expr> {
        let r = ws(r)
            .strip_prefix('_')
            .ok_or_else(|| nom::Err::Error(Error::new(r, ErrorKind::Char)))?;
        let (r, lower) = self.subscript(r)?;
        let Expr::Relation(terms, ops) = lower else {
            return fail(r);
        };
        let (Some(Expr::Sym(var)), Some(lo), [RelOp::Eq]) =
            (terms.first(), terms.get(1), ops.as_slice())
        else {
            return fail(r);
        };
        let r = ws(r)
            .strip_prefix('^')
            .ok_or_else(|| nom::Err::Error(Error::new(r, ErrorKind::Char)))?;
        let (r, hi) = self.exponent(r)?;
        let (r, body) = self.term(r)?;
        Ok((
            r,
            Expr::BigOp {
                product,
                var: var.clone(),
                lo: lo.clone().boxed(),
                hi: hi.boxed(),
                body: body.boxed(),
            },
        ))
    }
}

fn symbol(c: char) -> Expr {
    match c {
        'e' => Expr::Const(Constant::E),
        'i' => Expr::Const(Constant::I),
        c => Expr::Sym(c.to_string()),
    }
}

fn real_line() -> Expr {
    let inf = Expr::Const(Constant::Infinity);
    Expr::Interval {
        lo: Expr::Neg(inf.clone().boxed()).boxed(),
        hi: inf.boxed(),
        lo_closed: false,
        hi_closed: false,
    }
}

fn is_set_like(e: &Expr) -> bool {
    matches!(e, Expr::Interval { .. } | Expr::Set(_) | Expr::SetOp(..))
}

fn wrap_power(call: Expr, power: Option<Expr>) -> Expr {
    match power {
        Some(p) => Expr::Pow(call.boxed(), p.boxed()),
        None => call,
    }
}

fn push_add(acc: Expr, t: Expr) -> Expr {
    match acc {
        Expr::Add(mut v) => {
            v.push(t);
            Expr::Add(v)
        }
        other => Expr::Add(vec![other, t]),
    }
}

fn push_mul(acc: Expr, f: Expr) -> Expr {
    match acc {
        Expr::Mul(mut v) => {
            v.push(f);
            Expr::Mul(v)
        }
        other => Expr::Mul(vec![other, f]),
    }
}

fn ends_with_number(e: &Expr) -> bool {
    match e {
        Expr::Num(_) => true,
        Expr::Mul(v) => v.last().is_some_and(ends_with_number),
        Expr::Neg(a) => ends_with_number(a),
        _ => false,
    }
}

/// `\name` not followed by more letters.
fn strip_command<'a>(i: &'a str, name: &str) -> Option<&'a str> {
    let r = i.strip_prefix('\\')?.strip_prefix(name)?;
    (!r.starts_with(|c: char| c.is_ascii_alphabetic())).then_some(r)
}

fn relop(i: &str) -> Option<(&str, RelOp)> {
    const TABLE: &[(&str, RelOp)] = &[
        ("<=", RelOp::Le),
        (">=", RelOp::Ge),
        ("=<", RelOp::Le),
        ("!=", RelOp::Ne),
        ("==", RelOp::Eq),
        ("=", RelOp::Eq),
        ("<", RelOp::Lt),
        (">", RelOp::Gt),
    ];
    for (t, op) in TABLE {
        if let Some(r) = i.strip_prefix(t) {
            return Some((r, *op));
        }
    }
    const COMMANDS: &[(&str, RelOp)] = &[
        ("le", RelOp::Le),
        ("ge", RelOp::Ge),
        ("ne", RelOp::Ne),
        ("neq", RelOp::Ne),
        ("leq", RelOp::Le),
        ("geq", RelOp::Ge),
        ("approx", RelOp::Approx),
        ("simeq", RelOp::Approx),
        ("in", RelOp::In),
        ("equiv", RelOp::Eq),
    ];
    for (name, op) in COMMANDS {
        if let Some(r) = strip_command(i, name) {
            return Some((r, *op));
        }
    }
    None
}

fn decimal_value(int: &str, frac: &str, repeating: &str, exponent: i64) -> BigRational {
    let ten = BigInt::from(10);
    let whole: BigInt = format!("0{int}{frac}").parse().unwrap_or_default();
    let mut value = BigRational::new(whole, num_traits::pow(ten.clone(), frac.len()));
    if !repeating.is_empty() {
        // 0.1\overline{6}: the repeating block r adds r / (10^len(frac) * (10^len(r) - 1)).
        let r: BigInt = repeating.parse().unwrap_or_default();
        let den = num_traits::pow(ten.clone(), frac.len())
            * (num_traits::pow(ten.clone(), repeating.len()) - BigInt::one());
        value += BigRational::new(r, den);
    }
    if exponent != 0 {
        let scale =
            BigRational::from_integer(num_traits::pow(ten, exponent.unsigned_abs() as usize));
        value = if exponent > 0 {
            value * scale
        } else {
            value / scale
        };
    }
    value
}

fn base_literal<'a>(
    at: &'a str,
    digits: &str,
    base: &str,
    integral: bool,
) -> Result<Expr, nom::Err<Error<&'a str>>> {
    let bad = || nom::Err::Error(Error::new(at, ErrorKind::Digit));
    let base: u32 = base.parse().map_err(|_| bad())?;
    if !integral || !(2..=36).contains(&base) {
        return Err(bad());
    }
    let value = BigInt::parse_bytes(digits.as_bytes(), base).ok_or_else(bad)?;
    Ok(Expr::Num(Number::integer(value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> String {
        parse(
            &crate::math::normalize::normalize(s),
            &ParseOptions::default(),
        )
        .map(|e| e.to_string())
        .unwrap_or_else(|e| format!("ERR {e}"))
    }

    #[test]
    fn numbers() {
        assert_eq!(p("1,000,000"), "1000000");
        assert_eq!(p("1{,}000"), "1000");
        assert_eq!(p("1 000"), "1000");
        assert_eq!(p("0.375"), "3/8");
        assert_eq!(p("0.\\overline{3}"), "1/3");
        assert_eq!(p("2\\frac12"), "5/2");
        assert_eq!(p("4 4/9"), "40/9");
        assert!(p("4 4/0").starts_with("ERR"));
        assert_eq!(p("204_5"), "54");
        assert_eq!(p("1e-3"), "1/1000");
    }

    #[test]
    fn structures() {
        assert_eq!(p("[0,1)"), "[0, 1)");
        assert_eq!(p("(1,2)"), "(1, 2)");
        assert_eq!(p("\\{1,2\\}"), "{1, 2}");
        assert_eq!(p("x = 3"), "x = 3");
        assert_eq!(p("-2,1"), "-2, 1");
        assert_eq!(
            p("\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}"),
            "[1, 2; 3, 4]"
        );
        assert_eq!(p("\\frac{1}{3} \\text{meters}"), "1/3");
    }

    #[test]
    fn hostile_inputs_are_bounded() {
        let deep = format!("{}1{}", "(".repeat(200), ")".repeat(200));
        assert_eq!(
            parse(&deep, &ParseOptions::default()),
            Err(ParseError::TooDeep(48))
        );
        assert!(p(&"9".repeat(5000)).starts_with("ERR"));
    }
}
