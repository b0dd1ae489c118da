//! Which part of the fleet this run scans. A shard is chosen by the engine that runs pydive
//! (`--shard I/N`, a Kubernetes Indexed Job's `JOB_COMPLETION_INDEX`, GitLab's parallel jobs),
//! and an image belongs to a shard by a stable hash of its repository name, so that the tags
//! of a repository, which share most of their layers, are read by the same shard. Shards are
//! disjoint and together cover every image; the hash is SHA-256, which anyone can recompute:
//! the shard of a repository is the first 8 bytes of `sha256(name)`, big-endian, modulo N.

use std::fmt;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

/// Shard `index` of `total` (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub total: u32,
}

impl Shard {
    pub const ALL: Shard = Shard { index: 0, total: 1 };

    pub fn new(index: u32, total: u32) -> Result<Shard> {
        if total == 0 {
            bail!("a shard total of 0: there must be at least one shard");
        }
        if index >= total {
            bail!(
                "shard {index} of {total}: the index counts from 0 to {}",
                total - 1
            );
        }
        Ok(Shard { index, total })
    }

    /// `I/N`, 0-based.
    pub fn parse(text: &str) -> Result<Shard> {
        let (i, n) = text
            .split_once('/')
            .with_context(|| format!("--shard {text}: expected I/N, for example 0/4"))?;
        let number = |s: &str, what: &str| -> Result<u32> {
            s.trim()
                .parse()
                .with_context(|| format!("--shard {text}: the {what} is not a number"))
        };
        Shard::new(number(i, "index")?, number(n, "total")?)
    }

    /// The shard the engine asks for, from its variables (`env` looks one up): a Kubernetes
    /// Indexed Job's `JOB_COMPLETION_INDEX` (0-based) with the total from `total` or
    /// `JOB_COMPLETIONS`; else GitLab's `CI_NODE_INDEX` and `CI_NODE_TOTAL` (1-based); else
    /// the whole list.
    pub fn from_env(total: Option<u32>, env: impl Fn(&str) -> Option<String>) -> Result<Shard> {
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let number = |name: &str, value: String| -> Result<u32> {
            value
                .trim()
                .parse()
                .with_context(|| format!("{name}={value}: not a number"))
        };
        if let Some(index) = var("JOB_COMPLETION_INDEX") {
            let index = number("JOB_COMPLETION_INDEX", index)?;
            let total = match (total, var("JOB_COMPLETIONS")) {
                (Some(total), _) => total,
                (None, Some(n)) => number("JOB_COMPLETIONS", n)?,
                (None, None) => bail!(
                    "JOB_COMPLETION_INDEX={index} is set but not the number of shards: pass \
                     --shards N or set JOB_COMPLETIONS to the Job's completions"
                ),
            };
            return Shard::new(index, total)
                .with_context(|| format!("JOB_COMPLETION_INDEX={index}, {total} shards"));
        }
        if let Some(index) = var("CI_NODE_INDEX") {
            let index = number("CI_NODE_INDEX", index)?;
            let Some(n) = var("CI_NODE_TOTAL") else {
                bail!("CI_NODE_INDEX={index} is set but not CI_NODE_TOTAL");
            };
            let n = number("CI_NODE_TOTAL", n)?;
            if index == 0 {
                bail!("CI_NODE_INDEX=0: GitLab counts its parallel jobs from 1");
            }
            return Shard::new(index - 1, n)
                .with_context(|| format!("CI_NODE_INDEX={index}, CI_NODE_TOTAL={n}"));
        }
        match total {
            Some(total) if total != 1 => bail!(
                "--shards {total} without an index: pass --shard I/{total}, or run under an \
                 engine that sets JOB_COMPLETION_INDEX or CI_NODE_INDEX"
            ),
            _ => Ok(Shard::ALL),
        }
    }

    /// Whether a repository belongs to this shard.
    pub fn holds(&self, repository: &str) -> bool {
        shard_of(repository, self.total) == self.index
    }

    /// `shard-I-of-N`, for file names.
    pub fn file_stem(&self) -> String {
        format!("shard-{}-of-{}", self.index, self.total)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.total)
    }
}

/// The shard (0-based) of a repository among `total`.
pub fn shard_of(repository: &str, total: u32) -> u32 {
    let hash = Sha256::digest(repository.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash[..8]);
    (u64::from_be_bytes(first) % u64::from(total.max(1))) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn shards_parse_and_refuse_nonsense() {
        assert_eq!(Shard::parse("1/4").unwrap(), Shard { index: 1, total: 4 });
        assert!(Shard::parse("4/4").is_err());
        assert!(Shard::parse("0/0").is_err());
        assert!(Shard::parse("a/4").is_err());
        assert!(Shard::parse("3").is_err());
    }

    #[test]
    fn engines_name_the_shard_in_their_own_way() {
        // Kubernetes Indexed Job: 0-based, the total from the flag or JOB_COMPLETIONS.
        let k8s = [("JOB_COMPLETION_INDEX", "1"), ("JOB_COMPLETIONS", "4")];
        assert_eq!(
            Shard::from_env(None, env(&k8s)).unwrap(),
            Shard::new(1, 4).unwrap()
        );
        assert_eq!(
            Shard::from_env(Some(3), env(&k8s)).unwrap(),
            Shard::new(1, 3).unwrap()
        );
        let err = Shard::from_env(None, env(&[("JOB_COMPLETION_INDEX", "1")])).unwrap_err();
        assert!(err.to_string().contains("JOB_COMPLETIONS"), "{err}");
        // GitLab: 1-based.
        let gitlab = [("CI_NODE_INDEX", "4"), ("CI_NODE_TOTAL", "4")];
        assert_eq!(
            Shard::from_env(None, env(&gitlab)).unwrap(),
            Shard::new(3, 4).unwrap()
        );
        assert!(
            Shard::from_env(None, env(&[("CI_NODE_INDEX", "0"), ("CI_NODE_TOTAL", "4")])).is_err()
        );
        // Nothing: the whole list.
        assert_eq!(Shard::from_env(None, env(&[])).unwrap(), Shard::ALL);
        assert!(Shard::from_env(Some(4), env(&[])).is_err());
    }

    #[test]
    fn the_hash_is_stable_and_spreads_repositories() {
        // Pinned (computed with Python's hashlib): a repository must stay in its shard in every
        // pydive version, and anyone can compute where it goes.
        assert_eq!(shard_of("registry.example.com/team/app", 4), 2);
        assert_eq!(shard_of("registry.example.com/team/app", 1000), 790);
        assert_eq!(shard_of("docker.io/library/python", 1000), 545);
        let mut counts = [0u32; 4];
        for i in 0..400 {
            counts[shard_of(&format!("r/repo-{i}"), 4) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| c > 60), "{counts:?}");
        // Every repository in exactly one shard.
        for i in 0..50 {
            let name = format!("r/x{i}");
            let holders = (0..4)
                .filter(|&s| Shard::new(s, 4).unwrap().holds(&name))
                .count();
            assert_eq!(holders, 1);
        }
    }
}
