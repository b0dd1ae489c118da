//! What every Markdown writer puts text through: messages, paths and steps come from the image
//! and must not turn into markup.

/// Plain text in Markdown (messages already use backticks for code). `<` and `>` become
/// entities outside code spans only: inside one, Markdown shows an entity literally.
pub fn text(s: &str) -> String {
    let s = crate::printable::escape(s).replace('|', "\\|");
    let spans: Vec<&str> = s.split('`').collect();
    // With an odd number of backticks the last one opens no span: what follows is text.
    let closed = if spans.len() % 2 == 0 {
        spans.len() - 1
    } else {
        spans.len()
    };
    let mut out = String::with_capacity(s.len());
    for (i, part) in spans.iter().enumerate() {
        if i > 0 {
            out.push('`');
        }
        if i % 2 == 1 && i < closed {
            out.push_str(part);
        } else {
            out.push_str(&part.replace('<', "&lt;").replace('>', "&gt;"));
        }
    }
    out
}

/// A code span holding arbitrary text.
pub fn code(s: &str) -> String {
    format!("`{}`", crate::printable::escape(s).replace('`', "'"))
}

/// A table cell: GitHub splits cells at every `|`, even inside code spans.
pub fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// A collapsed block when a list is long, for GitHub's and GitLab's renderers.
pub fn details(summary: &str, body: &str) -> String {
    format!(
        "<details><summary>{}</summary>\n\n{body}\n</details>\n",
        text(summary)
    )
}

#[cfg(test)]
mod tests {
    use super::text;

    #[test]
    fn angle_brackets_are_entities_outside_code_spans_only() {
        assert_eq!(
            text("use `pip install <package>` for <b>"),
            "use `pip install <package>` for &lt;b&gt;"
        );
        assert_eq!(text("a ` <b>"), "a ` &lt;b&gt;");
        assert_eq!(text("`a` <b> `c`"), "`a` &lt;b&gt; `c`");
        assert_eq!(text("x | y"), "x \\| y");
    }
}
