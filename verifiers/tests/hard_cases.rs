//! The peer failure cases collected in the project notes (Math-Verify issues,
//! Qwen/DeepSeek/verl normalisers, lm-eval): each must get the mathematically
//! right verdict here.

use verifiers::{verify, Config, Status};

fn lenient(gold: &str, pred: &str) -> Status {
    verify(gold, pred, &Config::lenient()).status
}

fn strict(gold: &str, pred: &str) -> Status {
    verify(gold, pred, &Config::default()).status
}

const CORRECT: &[(&str, &str)] = &[
    // Sentence punctuation inside the math (false negatives in Math-Verify 0.9.0).
    ("\\frac{1}{3}", "$\\frac{1}{3}.$"),
    ("\\frac{1}{3}", "The answer is $\\frac{1}{3}.$"),
    ("\\frac{1}{3}", "\\[\\frac{1}{3}.\\]"),
    ("(1,2)", "$(1,2).$"),
    ("42", "$42.$"),
    // Markdown final answer after other numbers (issue #76).
    ("73", "We had 234 and 12 before. Final Answer: **73**"),
    // Un-delimited LaTeX (issues #29, #56, #70, #74).
    ("\\sqrt{17}", "\\sqrt{17}"),
    ("9/7", "\\dfrac{9}{7}"),
    ("1-\\sqrt2", "1 - \\sqrt{2}"),
    ("(3, \\pi/2)", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    // Multiple-choice letters (issue #16).
    ("A", "so \\boxed{A}"),
    ("C", "\\boxed{C}"),
    ("C", "\\boxed{\\text{(C)}}"),
    // Exact and approximate numbers.
    ("\\frac13", "0.333333"),
    ("\\frac13", "0.\\overline{3}"),
    ("\\frac{3}{8}", "0.375"),
    ("32349", "$32,\\! 349$"),
    ("28\\%", "28"),
    ("40/9", "4 4/9"),
    ("2^{100}", "1267650600228229401496703205376"),
    ("\\pi", "3.14159"),
    // Sets, tuples, intervals, inequalities.
    ("\\{1,2,3\\}", "\\{1,2,3,3\\}"),
    ("\\pm 2021", "\\{-2021, 2021\\}"),
    (
        "1\\leq|z|\\leq \\frac{3}{2}",
        "z \\in \\left[-\\frac{3}{2}, -1\\right] \\cup \\left[1, \\frac{3}{2}\\right]",
    ),
    ("0<f(x)<1", "(0,1)"),
    ("x<3", "(-\\infty, 3)"),
    ("[-2, 7]", "x \\in [-2,7]"),
    // Equations up to a constant factor and side swap.
    ("x^2/4 + y^2/3 = 1", "x^2/16 + y^2/12 = 1/4"),
    ("2x+4y-3=0", "y=-\\frac{1}{2}x+\\frac{3}{4}"),
    ("34x+45y-20z+100=0", "-34x-45y+20z-100=0"),
    ("y = x^2+2x+1", "2x+1+x^2"),
    ("2x+1+x^2", "y = x^2+2x+1"),
    ("x = 3", "3"),
    ("3", "x = 3"),
    // Matrices.
    (
        "\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}",
        "\\left[\\begin{array}{cc}1 & 2 \\\\3 & 4\\end{array}\\right]",
    ),
    // Symbols and text.
    ("\\text{E}", "E"),
    ("\\text{e}", "e"),
    ("\\text{odd}", "odd"),
    // Identity testing instead of simplify.
    ("\\frac{x^2-1}{x-1}", "x+1"),
    ("x^2-1", "(x-1)(x+1)"),
    ("\\tan^2 y+1", "\\sec^2 y"),
    ("\\sin(\\pi/6)", "1/2"),
    // Plain-text math (Math-Verify issue #69).
    ("e^{16} - 1", "-1 + exp(16)"),
    ("\\dfrac{\\pi}{2}", "pi/2"),
    ("14 - i", "14.0 + -1.0i"),
    ("-2\\pi", "-2*pi"),
    ("11", "1011_2"),
    ("6", "2\\cdot 3"),
    ("1000", "1{,}000"),
    ("\\sqrt[3]{-8}", "-2"),
    ("\\binom{5}{2}", "10"),
    ("5!", "120"),
];

const INCORRECT: &[(&str, &str)] = &[
    // A failed LaTeX span must never yield a number from its middle (PR #82).
    ("2", "$2^{10}.$"),
    ("1", "The answer is $1/3.$"),
    ("1 - \\frac{1}{\\mathrm{e}}", "1 + \\frac{1}{\\mathrm{e}}"),
    // Un-delimited equations are not both "0" (issue #60).
    ("3x + 4y + 14=0", "3*x-1*y+13=0"),
    // Tiny exact values are never rounded to zero (issue #14).
    ("\\frac{1}{2004!}", "\\frac{1}{2006!}"),
    ("\\frac{1}{2^{99}}", "\\frac{1}{2^{98}}"),
    ("0.0000012", "0.0000013"),
    // Too few digits to stand for an exact value; off-by-one large integers.
    ("\\frac13", "0.333"),
    ("\\frac13", "0.3333"),
    ("12000023", "12000024"),
    ("0.001", "0.0015"),
    ("32349", "32, 349"),
    ("1234", "(1,234)"),
    ("0.28", "28"),
    ("28", "0.28"),
    ("4", "4 4/9"),
    ("12:00", "1:00"),
    // Partial or hedged answers.
    ("2021", "\\pm 2021"),
    ("\\sqrt{67}", "\\sqrt{67},-\\sqrt{85}"),
    ("1331 \\text{ and } 1728", "1728"),
    ("5", "5 or 6"),
    ("\\boxed{1} no no no no no \\boxed{2}", "\\boxed{1,2}"),
    // Relations and equations.
    ("a +3z = 0", "0"),
    ("7 = 11a+c", "11a+c"),
    ("\\sin(x)=\\frac{42}{59}", "\\cos(x)=\\frac{42}{59}"),
    ("x > 5", "x < 5"),
    // Domain-sensitive identities are not identities over the reals.
    ("x", "\\sqrt{x^2}"),
    ("x", "|x|"),
    // Normaliser accidents of other graders.
    ("a+b", "c+b"),
    ("\\frac34 \\text{ and } \\frac12", "\\frac34"),
    ("23", "2\\cdot 3"),
    ("1011", "1011_2"),
    ("4", "4\\sqrt(2)"),
    ("d", "\\text{E}"),
];

#[test]
fn peer_false_negatives_are_correct_here() {
    let wrong: Vec<_> = CORRECT
        .iter()
        .filter(|(g, p)| lenient(g, p) != Status::Correct)
        .map(|(g, p)| format!("{g} vs {p}: {:?}", verify(g, p, &Config::lenient())))
        .collect();
    assert!(wrong.is_empty(), "should be correct:\n{}", wrong.join("\n"));
}

#[test]
fn peer_false_positives_are_rejected_here() {
    let wrong: Vec<_> = INCORRECT
        .iter()
        .filter(|(g, p)| lenient(g, p) == Status::Correct)
        .map(|(g, p)| format!("{g} vs {p}"))
        .collect();
    assert!(
        wrong.is_empty(),
        "should not be correct:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn reward_mode_needs_a_committed_answer() {
    assert_eq!(strict("7", "<answer>7</answer>"), Status::Correct);
    assert_eq!(
        strict("7", "<think>so 7</think><answer>7</answer>"),
        Status::Correct
    );
    assert_eq!(strict("7", "the answer is 7"), Status::NoAnswer);
    assert_eq!(
        strict("7", "<think>still thinking \\boxed{7}"),
        Status::NoAnswer
    );
    let hedge = "First \\boxed{5}. Then, after re-checking all of the cases more carefully and redoing the last step, it is \\boxed{7}";
    assert_eq!(strict("7", hedge), Status::NoAnswer);
    assert_eq!(strict("7", "\\boxed{5} or \\boxed{7}"), Status::Incorrect);
    assert_eq!(strict("\\frac12", "so \\boxed{0.5}"), Status::Correct);
}

#[test]
fn hostile_inputs_get_a_verdict() {
    let tower = "9^{9^{9^9}}";
    assert_eq!(
        lenient(tower, tower),
        Status::Correct,
        "identical text needs no evaluation"
    );
    assert_eq!(lenient(tower, "9^{9^{9^{8}}}"), Status::BudgetExceeded);
    assert_ne!(
        lenient("2", &format!("{}1{}", "(".repeat(200), ")".repeat(200))),
        Status::Correct
    );
    let nested = "\\boxed{\\dfrac{5^{(5^{(5^{(5^5)})} - 4)} - 5}{16}}";
    assert_ne!(lenient("1", nested), Status::Correct);
    let long_list = (0..2000)
        .map(|k| k.to_string())
        .collect::<Vec<_>>()
        .join(",");
    assert_ne!(lenient("1", &long_list), Status::Correct);
    assert_eq!(lenient("1", &"9".repeat(100_000)), Status::BudgetExceeded);
    // Found by fuzzing: an array environment whose column spec never closes.
    let unclosed = "$\\begin{pmatrix}1rix: $ \\left[\\begin{array}{ccw1 & 2 \\";
    assert_ne!(lenient("1", unclosed), Status::Correct);
}
