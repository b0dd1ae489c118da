//! Text from an image, or from a server, made safe for a person to read. An image is untrusted
//! input: its file names, Dockerfile steps, tags and a registry's error pages may hold terminal
//! escapes (`ESC ] 0 ; title BEL`, `ESC [ 2 J`), line breaks that forge report lines, or
//! right-to-left overrides that make text read differently than it is. Everything a person reads
//! (the text and Markdown reports, error lines, progress labels) goes through [`escape`] or the
//! [`Terminal`] writer built on it; machine formats (JSON) escape by their own rules instead.
//!
//! The user's own secrets (a registry password, a token) are registered here once known and
//! replaced by `<redacted>` in everything escaped, so no server echoing one back can make pydive
//! print it.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::io;
use std::sync::{Mutex, PoisonError};

/// Error lines longer than this are cut: an error quoting a whole server response or a huge
/// file name is still one readable line.
pub const MAX_ERROR_CHARS: usize = 1000;

/// Whether a character must not reach a terminal as is: C0 controls, DEL, C1 controls, and the
/// invisible formatting characters that reorder text (bidi embeddings, overrides, isolates).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02X}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:X}}}", c as u32);
        }
    }
}

/// The text with every unsafe character written as an escape (`\x1B`, `\n`, `\u{202E}`), and
/// registered secrets replaced by `<redacted>`.
pub fn escape(s: &str) -> Cow<'_, str> {
    let s = redact(s);
    if !s.chars().any(is_unsafe) {
        return s;
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A byte string (a path from a tar header) for a person: valid UTF-8 as is, invalid bytes as
/// `\xHH`, unsafe characters escaped as by [`escape`].
pub struct Printable<'a>(pub &'a [u8]);

impl fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            f.write_str(&escape(chunk.valid()))?;
            for byte in chunk.invalid() {
                write!(f, "\\x{byte:02X}")?;
            }
        }
        Ok(())
    }
}

/// The absolute, printable form of a normalized path (`usr/bin` -> `/usr/bin`).
pub fn absolute(path: &[u8]) -> String {
    format!("/{}", Printable(path))
}

/// Cuts text to `max` characters, saying how much was left out.
pub fn cut(s: &str, max: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => Cow::Borrowed(s),
        Some((at, _)) => {
            let rest = s[at..].chars().count();
            Cow::Owned(format!("{}... ({rest} more characters)", &s[..at]))
        }
    }
}

/// An error as one line for standard error: its causes joined by `: `, line breaks folded into
/// spaces, unsafe characters escaped, secrets redacted, and cut to [`MAX_ERROR_CHARS`].
pub fn error_line(e: &anyhow::Error) -> String {
    let text = format!("{e:#}");
    let folded: String = fold_lines(&text);
    cut(&escape(&folded), MAX_ERROR_CHARS).into_owned()
}

/// Line breaks (with the blanks around them) become one space.
fn fold_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split(['\n', '\r']).enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if i > 0 && !out.is_empty() {
            out.push(' ');
        }
        out.push_str(line);
    }
    out
}

/// A warning on standard error, one escaped line: something was skipped or worked around, and
/// the run goes on.
pub fn warn(message: &str) {
    eprintln!(
        "pydive: warning: {}",
        cut(&escape(&fold_lines(message)), MAX_ERROR_CHARS)
    );
}

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Secrets shorter than this are not redacted: replacing every `a` of a report would say more
/// about a one-letter password than printing it.
const MIN_SECRET_CHARS: usize = 4;

/// Registers a secret of the user's (a password, a token) to be redacted from all output.
pub fn register_secret(secret: &str) {
    if secret.chars().count() < MIN_SECRET_CHARS {
        return;
    }
    let mut secrets = SECRETS.lock().unwrap_or_else(PoisonError::into_inner);
    if !secrets.iter().any(|s| s == secret) {
        secrets.push(secret.to_string());
        // The longest first, so that a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// The text with every registered secret replaced by `<redacted>`.
pub fn redact(s: &str) -> Cow<'_, str> {
    let secrets = SECRETS.lock().unwrap_or_else(PoisonError::into_inner);
    let mut out = Cow::Borrowed(s);
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), "<redacted>"));
        }
    }
    out
}

/// A writer for text a person reads in a terminal (the text and Markdown reports): it passes
/// line breaks and tabs, and escapes every other unsafe character, whichever value it came in.
/// Values that must stay on one line (paths, steps) are escaped with [`escape`] before.
pub struct Terminal<W: io::Write> {
    inner: W,
    /// The start of a UTF-8 sequence split across two writes.
    pending: Vec<u8>,
}

impl<W: io::Write> Terminal<W> {
    pub fn new(inner: W) -> Self {
        Terminal {
            inner,
            pending: Vec::new(),
        }
    }

    fn write_text(&mut self, text: &str) -> io::Result<()> {
        let text = redact(text);
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            if is_unsafe(c) && c != '\n' && c != '\t' {
                push_escaped(&mut out, c);
            } else {
                out.push(c);
            }
        }
        self.inner.write_all(out.as_bytes())
    }
}

impl<W: io::Write> io::Write for Terminal<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut bytes = std::mem::take(&mut self.pending);
        bytes.extend_from_slice(buf);
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            match std::str::from_utf8(rest) {
                Ok(text) => {
                    self.write_text(text)?;
                    rest = &[];
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    // Checked by from_utf8 up to here.
                    self.write_text(std::str::from_utf8(valid).unwrap_or_default())?;
                    match e.error_len() {
                        Some(n) => {
                            for byte in &after[..n] {
                                write!(self.inner, "\\x{byte:02X}")?;
                            }
                            rest = &after[n..];
                        }
                        None => {
                            // An incomplete sequence at the end: wait for the next write.
                            self.pending = after.to_vec();
                            rest = &[];
                        }
                    }
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        for byte in std::mem::take(&mut self.pending) {
            write!(self.inner, "\\x{byte:02X}")?;
        }
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn escapes_what_a_terminal_would_act_on() {
        assert_eq!(escape("plain/path é"), "plain/path é");
        assert_eq!(escape("\x1b]0;owned\x07x"), "\\x1B]0;owned\\x07x");
        assert_eq!(escape("a\nb\tc\r"), "a\\nb\\tc\\r");
        assert_eq!(escape("\u{9b}2J"), "\\u{9B}2J");
        assert_eq!(escape("abc\u{202E}fdp.exe"), "abc\\u{202E}fdp.exe");
        assert_eq!(
            Printable(b"caf\xe9/\x1b[2J").to_string(),
            "caf\\xE9/\\x1B[2J"
        );
    }

    #[test]
    fn terminal_writer_keeps_lines_and_escapes_the_rest() {
        let mut out = Terminal::new(Vec::new());
        out.write_all(b"one\x1b[2J\n").unwrap();
        // A C1 control split across two writes.
        out.write_all(b"two \xc2").unwrap();
        out.write_all(b"\x9b and \xff\n").unwrap();
        out.flush().unwrap();
        assert_eq!(
            String::from_utf8(out.inner).unwrap(),
            "one\\x1B[2J\ntwo \\u{9B} and \\xFF\n"
        );
    }

    #[test]
    fn errors_are_one_cut_line() {
        let e = anyhow::anyhow!("body:\n<html>\n  \x1b[31mred\n</html>").context("the registry");
        assert_eq!(
            error_line(&e),
            "the registry: body: <html> \\x1B[31mred </html>"
        );
        let long = anyhow::anyhow!("{}", "x".repeat(5000));
        let line = error_line(&long);
        assert!(line.chars().count() < MAX_ERROR_CHARS + 40, "{line}");
        assert!(line.ends_with("... (4000 more characters)"), "{line}");
    }

    #[test]
    fn registered_secrets_never_print() {
        register_secret("hunter2-pw");
        assert_eq!(
            escape("Authorization: hunter2-pw"),
            "Authorization: <redacted>"
        );
        let mut out = Terminal::new(Vec::new());
        out.write_all(b"echo hunter2-pw\n").unwrap();
        assert_eq!(String::from_utf8(out.inner).unwrap(), "echo <redacted>\n");
        // Too short to redact without mangling everything else.
        register_secret("ab");
        assert_eq!(escape("abc"), "abc");
    }
}
