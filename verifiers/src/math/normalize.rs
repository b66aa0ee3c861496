//! Token-level clean-up of an extracted answer before parsing.
//!
//! Every rewrite here is keyed on a whole LaTeX command or a digit context,
//! never a bare substring, so it cannot corrupt letters inside other words
//! (the classic failure of string-replace normalisers: `\cdot` deleted, `a`
//! removed as a unit, `and` dropped).

/// Commands whose doubled backslash (`\\frac`, seen in JSON-escaped data) is
/// an escaping accident rather than a LaTeX line break.
const KNOWN_COMMANDS: &[&str] = &[
    "frac",
    "dfrac",
    "tfrac",
    "cfrac",
    "sqrt",
    "left",
    "right",
    "boxed",
    "fbox",
    "text",
    "textbf",
    "mathrm",
    "mathbf",
    "pi",
    "cdot",
    "times",
    "le",
    "leq",
    "ge",
    "geq",
    "ne",
    "neq",
    "lt",
    "gt",
    "infty",
    "in",
    "cup",
    "cap",
    "pm",
    "sin",
    "cos",
    "tan",
    "log",
    "ln",
    "begin",
    "end",
    "quad",
    "qquad",
    "dots",
    "ldots",
    "approx",
    "circ",
    "binom",
    "mbox",
    "sum",
    "prod",
    "mathbb",
    "emptyset",
    "varnothing",
    "div",
];

/// Rewrites an answer span into the dialect the parser reads.
pub fn normalize(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let chars: Vec<char> = input.chars().collect();
    let mut k = 0;
    while k < chars.len() {
        let c = chars[k];
        match c {
            '\\' => {
                // `\\name` where name is a known command: collapse the escape.
                if chars.get(k + 1) == Some(&'\\') {
                    let name = read_letters(&chars, k + 2);
                    if !name.is_empty() && KNOWN_COMMANDS.contains(&name.as_str()) {
                        k += 1;
                        continue;
                    }
                    out.push_str("\\\\");
                    k += 2;
                    continue;
                }
                let name = read_letters(&chars, k + 1);
                if name.is_empty() {
                    // Escaped symbol: `\!`, `\,`, `\{`, `\%`, `\$` …
                    let Some(&next) = chars.get(k + 1) else {
                        k += 1;
                        continue;
                    };
                    k += 2;
                    match next {
                        '!' => {}
                        ',' => {
                            // `1\,000`: a thin space between digit groups.
                            if prev_is_digit(&out) && three_digits_at(&chars, k) {
                                out.push_str("{,}");
                            } else {
                                out.push(' ');
                            }
                        }
                        ';' | ':' | ' ' | '>' => out.push(' '),
                        '$' => {}
                        '%' => out.push('%'),
                        other => {
                            out.push('\\');
                            out.push(other);
                        }
                    }
                    continue;
                }
                k += 1 + name.chars().count();
                rewrite_command(&name, &chars, &mut k, &mut out);
            }
            '$' | '€' | '£' | '¥' | '₹' => k += 1,
            ',' => {
                // `,\!` and `{, }` variants of a thousands separator.
                let mut j = k + 1;
                let mut saw_bang = false;
                while j < chars.len() {
                    if chars[j] == '\\' && chars.get(j + 1) == Some(&'!') {
                        saw_bang = true;
                        j += 2;
                    } else if chars[j] == ' ' && saw_bang {
                        j += 1;
                    } else {
                        break;
                    }
                }
                if saw_bang && prev_is_digit(&out) && three_digits_at(&chars, j) {
                    out.push_str("{,}");
                    k = j;
                } else {
                    out.push(',');
                    k += 1;
                }
            }
            '{' => {
                // `{,}` and `{, }` thousands separators.
                let mut j = k + 1;
                while chars.get(j) == Some(&' ') {
                    j += 1;
                }
                if chars.get(j) == Some(&',') {
                    let mut e = j + 1;
                    while chars.get(e) == Some(&' ') {
                        e += 1;
                    }
                    if chars.get(e) == Some(&'}') {
                        while out.ends_with(' ') {
                            out.pop();
                        }
                        out.push_str("{,}");
                        k = e + 1;
                        while chars.get(k) == Some(&' ') {
                            k += 1;
                        }
                        continue;
                    }
                }
                out.push('{');
                k += 1;
            }
            '°' => {
                out.push('°');
                k += 1;
            }
            '^' if is_degree_marker(&chars, k) => {
                k = skip_degree_marker(&chars, k);
                out.push('°');
            }
            '−' | '–' | '—' => {
                out.push('-');
                k += 1;
            }
            '×' => {
                out.push_str("\\times ");
                k += 1;
            }
            '·' | '⋅' => {
                out.push_str("\\cdot ");
                k += 1;
            }
            '÷' => {
                out.push_str("\\div ");
                k += 1;
            }
            '≤' => {
                out.push_str("\\le ");
                k += 1;
            }
            '≥' => {
                out.push_str("\\ge ");
                k += 1;
            }
            '≠' => {
                out.push_str("\\ne ");
                k += 1;
            }
            '≈' => {
                out.push_str("\\approx ");
                k += 1;
            }
            'π' => {
                out.push_str("\\pi ");
                k += 1;
            }
            '∞' => {
                out.push_str("\\infty ");
                k += 1;
            }
            '√' => {
                out.push_str("\\sqrt");
                k += 1;
            }
            '∪' => {
                out.push_str("\\cup ");
                k += 1;
            }
            '∩' => {
                out.push_str("\\cap ");
                k += 1;
            }
            '∈' => {
                out.push_str("\\in ");
                k += 1;
            }
            '±' => {
                out.push_str("\\pm ");
                k += 1;
            }
            '²' => {
                out.push_str("^2");
                k += 1;
            }
            '³' => {
                out.push_str("^3");
                k += 1;
            }
            '\u{a0}' | '\t' | '\n' | '\r' | '~' => {
                out.push(' ');
                k += 1;
            }
            c if ('０'..='９').contains(&c) => {
                out.push(char::from(b'0' + (c as u32 - '０' as u32) as u8));
                k += 1;
            }
            _ => {
                out.push(c);
                k += 1;
            }
        }
    }
    strip_trailing_punctuation(out.trim()).to_string()
}

fn read_letters(chars: &[char], from: usize) -> String {
    chars[from.min(chars.len())..]
        .iter()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect()
}

fn prev_is_digit(out: &str) -> bool {
    out.trim_end()
        .chars()
        .last()
        .is_some_and(|c| c.is_ascii_digit())
}

fn three_digits_at(chars: &[char], at: usize) -> bool {
    let mut j = at;
    while chars.get(j) == Some(&' ') {
        j += 1;
    }
    (0..3).all(|d| chars.get(j + d).is_some_and(|c| c.is_ascii_digit()))
        && !chars.get(j + 3).is_some_and(|c| c.is_ascii_digit())
}

fn is_degree_marker(chars: &[char], k: usize) -> bool {
    skip_degree_marker(chars, k) != k
}

/// `^\circ`, `^{\circ}`, `^{ \circ }` → index after the marker (or `k` if none).
fn skip_degree_marker(chars: &[char], k: usize) -> usize {
    let rest: String = chars[k..chars.len().min(k + 16)].iter().collect();
    for pat in [
        "^\\circ",
        "^{\\circ}",
        "^{ \\circ }",
        "^ \\circ",
        "^{\\circ }",
    ] {
        if rest.starts_with(pat) {
            let end = k + pat.chars().count();
            // `^\circle` would be some other command.
            if pat == "^\\circ" && chars.get(end).is_some_and(|c| c.is_ascii_alphabetic()) {
                return k;
            }
            return end;
        }
    }
    k
}

fn rewrite_command(name: &str, chars: &[char], k: &mut usize, out: &mut String) {
    match name {
        "left" | "right" | "bigl" | "bigr" | "Bigl" | "Bigr" | "big" | "Big" | "bigg" | "Bigg"
        | "biggl" | "biggr" | "Biggl" | "Biggr" | "middle" => {
            // The delimiter that follows is kept; `\left.` is invisible.
            while chars.get(*k) == Some(&' ') {
                *k += 1;
            }
            if chars.get(*k) == Some(&'.') {
                *k += 1;
            }
        }
        "displaystyle" | "textstyle" | "scriptstyle" | "limits" | "nolimits" | "mathstrut"
        | "strut" | "hfill" | "nonumber" | "notag" | "phantom" => {}
        "quad" | "qquad" | "enspace" | "thinspace" | "medspace" | "thickspace" | "space"
        | "hspace" => {
            if name == "hspace" {
                skip_group(chars, k);
            }
            out.push(' ');
        }
        "dfrac" | "tfrac" | "cfrac" => out.push_str("\\frac"),
        "dbinom" | "tbinom" => out.push_str("\\binom"),
        "lt" => out.push('<'),
        "gt" => out.push('>'),
        "leqslant" | "leq" | "le" => out.push_str("\\le "),
        "geqslant" | "geq" | "ge" => out.push_str("\\ge "),
        "neq" | "ne" => out.push_str("\\ne "),
        "dollar" | "euro" | "pounds" => {}
        "circ" | "degree" => out.push('°'),
        "lvert" | "rvert" | "vert" | "lVert" | "rVert" | "Vert" => out.push('|'),
        "lbrace" => out.push_str("\\{"),
        "rbrace" => out.push_str("\\}"),
        "langle" => out.push('('),
        "rangle" => out.push(')'),
        "varnothing" => out.push_str("\\emptyset "),
        "infin" => out.push_str("\\infty "),
        other => {
            // `\quadx` (a spacing command glued to a letter) is common in
            // scraped answers: split it.
            for space in ["qquad", "quad"] {
                if let Some(rest) = other.strip_prefix(space) {
                    if !rest.is_empty() {
                        out.push(' ');
                        out.push_str(rest);
                        return;
                    }
                }
            }
            out.push('\\');
            out.push_str(other);
            // Keep a following letter from gluing onto the command name.
            if chars.get(*k).is_some_and(|c| c.is_ascii_alphabetic()) {
                out.push(' ');
            }
        }
    }
}

fn skip_group(chars: &[char], k: &mut usize) {
    if chars.get(*k) == Some(&'{') {
        let mut depth = 0;
        while *k < chars.len() {
            match chars[*k] {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        *k += 1;
                        return;
                    }
                }
                _ => {}
            }
            *k += 1;
        }
    }
}

/// Sentence punctuation written inside the math (`$\frac13.$`) is not part of
/// the answer. A trailing `!` is kept: it is a factorial.
fn strip_trailing_punctuation(s: &str) -> &str {
    let mut s = s;
    loop {
        let t = s.trim_end();
        let t2 = t
            .strip_suffix("\\\\")
            .or_else(|| t.strip_suffix('.').filter(|r| !r.ends_with('.')))
            .or_else(|| t.strip_suffix(','))
            .or_else(|| t.strip_suffix(';'))
            .or_else(|| t.strip_suffix(':'));
        match t2 {
            Some(r) => s = r,
            None => return t,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn rewrites_are_token_level() {
        assert_eq!(
            normalize("\\left( \\frac{1}{3} \\right)"),
            "( \\frac{1}{3} )"
        );
        assert_eq!(normalize("\\dfrac{1}{3}."), "\\frac{1}{3}");
        assert_eq!(normalize("11,\\! 111,\\! 100"), "11{,}111{,}100");
        assert_eq!(normalize("14 {, }916"), "14{,}916");
        assert_eq!(normalize("1\\,000"), "1{,}000");
        assert_eq!(normalize("90^\\circ"), "90°");
        assert_eq!(normalize("\\\\frac12"), "\\frac12");
        assert_eq!(normalize("x_{1}=1,\\quadx_{2}=2"), "x_{1}=1, x_{2}=2");
        assert_eq!(normalize("\\$5.00"), "5.00");
        assert_eq!(normalize("5!"), "5!");
    }
}
