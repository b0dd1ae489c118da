//! Path lookup inside the image the way the kernel and the loader see it: symlinks followed
//! (relative to their directory, absolute ones from the image root, never the host's), in the
//! middle of a path too (`/lib -> usr/lib`), with loop protection.

use crate::layer::EntryKind;
use crate::model::{Image, NodeId, Tree};

/// Symlinks followed in one lookup before giving up, as Linux does (MAXSYMLINKS).
const MAX_LINKS: usize = 40;

/// Finds what an absolute or root-relative path names in the final filesystem, following
/// symlinks (a hard link answers with the name that holds the file's bytes, see
/// [`Image::holder`]). `None` when it does not exist or loops.
pub fn resolve(image: &Image, path: &[u8]) -> Option<NodeId> {
    resolve_from(image, Tree::ROOT, path)
}

/// [`resolve`] for a path relative to a directory already found (an absolute path starts
/// from the root), so that a directory reached through long symlinks is walked once.
pub fn resolve_from(image: &Image, dir: NodeId, path: &[u8]) -> Option<NodeId> {
    let mut pending: Vec<Vec<u8>> = components(path).rev().map(<[u8]>::to_vec).collect();
    let mut at = if path.starts_with(b"/") {
        Tree::ROOT
    } else {
        dir
    };
    let mut links = 0;
    while let Some(name) = pending.pop() {
        match &name[..] {
            b"." => continue,
            b".." => {
                at = image.tree.node(at).parent;
                continue;
            }
            _ => {}
        }
        let child = *image.tree.node(at).children.get(&name[..])?;
        if !image.tree.node(child).exists() {
            return None;
        }
        let Some(entry) = image.final_entry(child) else {
            at = child; // an implied directory
            continue;
        };
        match (entry.kind, entry.link.as_deref()) {
            (EntryKind::Symlink, Some(target)) => {
                links += 1;
                if links > MAX_LINKS {
                    return None;
                }
                if target.starts_with(b"/") {
                    at = Tree::ROOT;
                }
                pending.extend(components(target).rev().map(<[u8]>::to_vec));
            }
            // All names of a file are the file; answer with the one that holds its bytes.
            (EntryKind::Hardlink, _) if pending.is_empty() => at = image.holder(child)?,
            _ => at = child,
        }
    }
    Some(at)
}

fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    path.split(|&b| b == b'/').filter(|c| !c.is_empty())
}

/// Joins a directory (absolute or root-relative) and a relative name.
pub fn join(dir: &str, name: &str) -> Vec<u8> {
    let mut out = dir.trim_end_matches('/').as_bytes().to_vec();
    out.push(b'/');
    out.extend_from_slice(name.as_bytes());
    out
}

/// Matches a file name against a shell pattern with `*` and `?` (what `ld.so.conf`'s `include`
/// lines use), in time proportional to the product of the lengths (a pattern from the image
/// such as `*a*a*a*a*b` must not backtrack exponentially).
pub fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    // Where the last `*` was, and the name position it currently stands for.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                // Let the last `*` swallow one more byte and retry from there.
                Some((sp, sn)) => {
                    star = Some((sp, sn + 1));
                    p = sp + 1;
                    n = sn + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match(b"*.conf", b"libc.conf"));
        assert!(glob_match(
            b"x86_64-linux-gnu.conf",
            b"x86_64-linux-gnu.conf"
        ));
        assert!(glob_match(b"lib?.conf", b"libc.conf"));
        assert!(!glob_match(b"*.conf", b"libc.conf.bak"));
        assert!(glob_match(b"*", b""));
        assert!(glob_match(b"a*b*c", b"aXXbYYc"));
        assert!(!glob_match(b"a*b*c", b"aXXbYY"));
        assert!(!glob_match(b"?", b""));
        // Exponential for a backtracking matcher; instant here.
        let hostile = b"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        assert!(!glob_match(hostile, &[b'a'; 4000]));
    }
}
