//! The words the parser knows: list separators, unit words dropped after a quantity, Greek
//! letter names, function names and the letters read as function applications.

use super::expr::Func;

/// Words read as list separators.
pub(super) fn separator_word(i: &str) -> Option<&str> {
    for w in ["and", "or"] {
        if let Some(rest) = strip_prefix_ci(i, w) {
            let next = rest.chars().next();
            let glued_capital = next.is_some_and(|c| c.is_ascii_uppercase());
            if next.is_none_or(|c| !c.is_ascii_alphabetic()) || glued_capital {
                return Some(rest);
            }
        }
    }
    None
}

fn strip_prefix_ci<'a>(i: &'a str, w: &str) -> Option<&'a str> {
    let head = i.get(..w.len())?;
    head.eq_ignore_ascii_case(w).then(|| &i[w.len()..])
}

/// Trailing unit words that are dropped after a quantity (never single
/// letters: those are variables).
const UNIT_WORDS: &[&str] = &[
    "cm",
    "mm",
    "km",
    "m",
    "meters",
    "meter",
    "metres",
    "metre",
    "centimeters",
    "centimeter",
    "kilometers",
    "inches",
    "inch",
    "in",
    "ft",
    "feet",
    "foot",
    "yards",
    "yard",
    "miles",
    "mile",
    "mph",
    "kg",
    "g",
    "grams",
    "gram",
    "kilograms",
    "lb",
    "lbs",
    "pounds",
    "pound",
    "ounces",
    "oz",
    "s",
    "sec",
    "seconds",
    "second",
    "min",
    "minutes",
    "minute",
    "hours",
    "hour",
    "hr",
    "hrs",
    "days",
    "day",
    "weeks",
    "week",
    "months",
    "month",
    "years",
    "year",
    "dollars",
    "dollar",
    "cents",
    "cent",
    "yuan",
    "euros",
    "euro",
    "units",
    "unit",
    "degrees",
    "degree",
    "square",
    "sq",
    "cubic",
    "ways",
    "people",
    "students",
    "points",
    "times",
    "liters",
    "liter",
    "l",
    "ml",
    "gallons",
    "gallon",
    "cups",
    "cup",
    "pages",
    "books",
    "apples",
    "marbles",
    "balls",
    "coins",
    "steps",
    "items",
    "pieces",
    "digits",
    "numbers",
    "integers",
    "boxes",
    "cars",
    "trees",
    "rows",
    "tiles",
    "handshakes",
    "games",
    "matches",
    "per",
    "each",
    "mL",
    "kW",
    "W",
    "V",
    "J",
    "N",
    "Pa",
    "K",
];

pub(super) fn is_unit_word(w: &str) -> bool {
    w.len() >= 2 && UNIT_WORDS.contains(&w)
}

pub(super) const GREEK: &[&str] = &[
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "varepsilon",
    "zeta",
    "eta",
    "theta",
    "vartheta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "varphi",
    "chi",
    "psi",
    "omega",
    "Gamma",
    "Delta",
    "Theta",
    "Lambda",
    "Xi",
    "Sigma",
    "Phi",
    "Psi",
    "Omega",
];

pub(super) fn func_by_name(name: &str) -> Option<Func> {
    Some(match name {
        "sin" => Func::Sin,
        "cos" => Func::Cos,
        "tan" | "tg" => Func::Tan,
        "sec" => Func::Sec,
        "csc" | "cosec" => Func::Csc,
        "cot" | "ctg" => Func::Cot,
        "arcsin" | "asin" => Func::Asin,
        "arccos" | "acos" => Func::Acos,
        "arctan" | "atan" => Func::Atan,
        "sinh" => Func::Sinh,
        "cosh" => Func::Cosh,
        "tanh" => Func::Tanh,
        "ln" => Func::Ln,
        "log" | "lg" => Func::Log,
        "exp" => Func::Exp,
        "sqrt" => Func::Root,
        "abs" => Func::Abs,
        "gcd" => Func::Gcd,
        "lcm" => Func::Lcm,
        "min" => Func::Min,
        "max" => Func::Max,
        "floor" => Func::Floor,
        "ceil" => Func::Ceil,
        _ => return None,
    })
}

/// Single letters that read `f(x)` as a function application rather than a product.
pub(super) fn is_function_letter(c: char) -> bool {
    matches!(c, 'f' | 'g' | 'h' | 'F' | 'G' | 'H' | 'P' | 'Q' | 'W' | 'Y')
}

pub(super) fn percent_word(j: &str) -> Option<&str> {
    for w in ["percentage", "percent", "pct"] {
        if let Some(r) = j.strip_prefix(w) {
            if !r.starts_with(|c: char| c.is_ascii_alphabetic()) {
                return Some(r);
            }
        }
    }
    None
}
