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
    let mut pending: Vec<Vec<u8>> = components(path).rev().map(<[u8]>::to_vec).collect();
    let mut at = Tree::ROOT;
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
/// lines use).
pub fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob_match(&pattern[1..], name) || (!name.is_empty() && glob_match(pattern, &name[1..]))
        }
        (Some(b'?'), Some(_)) => glob_match(&pattern[1..], &name[1..]),
        (Some(p), Some(n)) if p == n => glob_match(&pattern[1..], &name[1..]),
        _ => false,
    }
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
    }
}
