//! Taking the program out of a raw model completion.

/// The last fenced ```python block; without one, the last untagged block (so a trailing
/// untagged "Input / Output" example after the solution is not judged instead of it). An
/// unclosed final fence runs to the end; text without fences is taken whole. Returns the code
/// and how it was found.
pub fn extract_code(completion: &str) -> (&str, &'static str) {
    let mut tagged: Option<(&str, &'static str)> = None;
    let mut untagged: Option<(&str, &'static str)> = None;
    let mut rest = completion;
    let mut offset = 0usize;
    while let Some(start) = rest.find("```") {
        let after_ticks = &rest[start + 3..];
        let line_end = after_ticks.find('\n').unwrap_or(after_ticks.len());
        let tag = after_ticks[..line_end].trim().to_ascii_lowercase();
        let body_start = (line_end + 1).min(after_ticks.len());
        let body = &after_ticks[body_start..];
        let slot = match tag.as_str() {
            "python" | "py" | "python3" => Some(&mut tagged),
            "" => Some(&mut untagged),
            _ => None,
        };
        match body.find("```") {
            Some(end) => {
                if let Some(slot) = slot {
                    *slot = Some((&body[..end], "fenced"));
                }
                offset += start + 3 + body_start + end + 3;
                rest = &completion[offset..];
            }
            None => {
                if let Some(slot) = slot {
                    *slot = Some((body, "incomplete_fenced"));
                }
                break;
            }
        }
    }
    tagged.or(untagged).unwrap_or((completion, "whole"))
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
    fn a_trailing_untagged_example_is_not_the_solution() {
        let text =
            "```python\nprint(int(input()) * 2)\n```\nExample:\n```\nInput: 3\nOutput: 6\n```\n";
        assert_eq!(extract_code(text), ("print(int(input()) * 2)\n", "fenced"));
        // Untagged blocks still count when there is no python block.
        assert_eq!(extract_code("```\nprint(1)\n```"), ("print(1)\n", "fenced"));
    }

    #[test]
    fn plain_source_is_taken_whole() {
        assert_eq!(extract_code("def f():\n    return 1\n").1, "whole");
    }
}
