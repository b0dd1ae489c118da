//! Path handling shared by every stage: tar names become normalized byte paths relative to `/`,
//! and byte paths are printed losslessly (invalid UTF-8 as `\xHH`).

use std::fmt;

/// Normalizes a name from a tar header: no leading `/` or `./`, no `.` components, `..` resolved
/// lexically (never above the root), no trailing `/`. Returns `None` for the root itself.
pub fn normalize(raw: &[u8]) -> Option<Box<[u8]>> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in raw.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(parts.join(&b'/').into_boxed_slice())
}

/// Splits a normalized path into its parent (empty for top-level names) and its last component.
pub fn split_last(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&[], path),
    }
}

/// Joins a normalized parent path and a name.
pub fn join(parent: &[u8], name: &[u8]) -> Box<[u8]> {
    if parent.is_empty() {
        return name.into();
    }
    let mut out = Vec::with_capacity(parent.len() + 1 + name.len());
    out.extend_from_slice(parent);
    out.push(b'/');
    out.extend_from_slice(name);
    out.into_boxed_slice()
}

/// Displays a byte string losslessly: valid UTF-8 as is, every invalid byte as `\xHH`.
pub struct Lossless<'a>(pub &'a [u8]);

impl fmt::Display for Lossless<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            f.write_str(chunk.valid())?;
            for byte in chunk.invalid() {
                write!(f, "\\x{byte:02X}")?;
            }
        }
        Ok(())
    }
}

/// The absolute, printable form of a normalized path (`usr/bin` -> `/usr/bin`).
pub fn absolute(path: &[u8]) -> String {
    format!("/{}", Lossless(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(raw: &str) -> Option<String> {
        normalize(raw.as_bytes()).map(|p| String::from_utf8(p.into_vec()).unwrap())
    }

    #[test]
    fn normalizes_tar_names() {
        assert_eq!(norm("./usr/bin/"), Some("usr/bin".into()));
        assert_eq!(norm("/etc//passwd"), Some("etc/passwd".into()));
        assert_eq!(norm("a/./b/../c"), Some("a/c".into()));
        assert_eq!(norm("../../etc"), Some("etc".into()));
        assert_eq!(norm("./"), None);
        assert_eq!(norm("."), None);
    }

    #[test]
    fn prints_invalid_utf8_as_hex() {
        let raw = b"caf\xe9/na\xffme";
        assert_eq!(Lossless(raw).to_string(), "caf\\xE9/na\\xFFme");
        assert_eq!(absolute("tmp/ok".as_bytes()), "/tmp/ok");
    }

    #[test]
    fn splits_and_joins() {
        assert_eq!(split_last(b"a/b/c"), (&b"a/b"[..], &b"c"[..]));
        assert_eq!(split_last(b"top"), (&b""[..], &b"top"[..]));
        assert_eq!(&*join(b"", b"x"), b"x");
        assert_eq!(&*join(b"a/b", b"x"), b"a/b/x");
    }
}
