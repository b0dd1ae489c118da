//! What every Markdown writer puts text through: messages, paths and steps come from the image
//! and must not turn into markup.

/// Plain text in Markdown (messages already use backticks for code).
pub fn text(s: &str) -> String {
    crate::printable::escape(s)
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
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
