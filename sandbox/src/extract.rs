//! Taking the program out of a raw model completion.

/// The last fenced ```python (or untagged) block; an unclosed final fence runs to the end;
/// text without fences is taken whole. Returns the code and how it was found.
pub fn extract_code(completion: &str) -> (&str, &'static str) {
    let mut best: Option<&str> = None;
    let mut kind = "whole";
    let mut rest = completion;
    let mut offset = 0usize;
    while let Some(start) = rest.find("```") {
        let after_ticks = &rest[start + 3..];
        let line_end = after_ticks.find('\n').unwrap_or(after_ticks.len());
        let tag = after_ticks[..line_end].trim().to_ascii_lowercase();
        let body_start = (line_end + 1).min(after_ticks.len());
        let body = &after_ticks[body_start..];
        let python = matches!(tag.as_str(), "" | "python" | "py" | "python3");
        match body.find("```") {
            Some(end) => {
                if python {
                    best = Some(&body[..end]);
                    kind = "fenced";
                }
                let consumed = start + 3 + body_start + end + 3;
                offset += consumed;
                rest = &completion[offset..];
            }
            None => {
                if python {
                    best = Some(body);
                    kind = "incomplete_fenced";
                }
                break;
            }
        }
    }
    match best {
        Some(code) => (code, kind),
        None => (completion, "whole"),
    }
}

#[cfg(test)]
mod tests {
    use super::extract_code;

    #[test]
    fn takes_the_last_python_block() {
        let text = "try\n```python\nprint(1)\n```\nthen\n```py\nprint(2)\n```\n";
        assert_eq!(extract_code(text), ("print(2)\n", "fenced"));
    }

    #[test]
    fn skips_other_languages_and_keeps_unclosed_fences() {
        let text = "```bash\nls\n```\n```python\nx = 1\n";
        assert_eq!(extract_code(text), ("x = 1\n", "incomplete_fenced"));
        assert_eq!(
            extract_code("```cpp\nint x;\n```"),
            ("```cpp\nint x;\n```", "whole")
        );
    }

    #[test]
    fn plain_source_is_taken_whole() {
        assert_eq!(extract_code("def f():\n    return 1\n").1, "whole");
    }
}
