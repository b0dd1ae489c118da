//! The gate's configuration: read once, from the first place that has one, and validated before
//! any image is read. Sources, highest first: `--rule key=value` flags (over whichever file is
//! used); `--config FILE`; `.pydive.toml` in the working directory; `[tool.pydive]` in
//! `pyproject.toml`; and dive's `.dive-ci`, read one to one, only when none of those exists.
//! A wrong key, type or value is an error naming the file, line and key.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use serde::Deserialize;
use serde::de::{self, Deserializer};

use crate::analysis::Category;
use crate::findings::Severity;

/// A byte limit, or a share of something (the image, the baseline).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Limit {
    Bytes(u64),
    /// 0-100.
    Percent(f64),
}

impl Limit {
    /// The limit in bytes, a percent being of `whole`.
    pub fn bytes_of(self, whole: u64) -> u64 {
        match self {
            Limit::Bytes(b) => b,
            Limit::Percent(p) => (whole as f64 * p / 100.0) as u64,
        }
    }
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Limit::Bytes(b) => f.write_str(&crate::findings::size(*b)),
            Limit::Percent(p) => write!(f, "{p} %"),
        }
    }
}

/// Where the configuration came from, for the report and for errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// No file: the defaults (and flags).
    Defaults,
    Pydive(PathBuf),
    Pyproject(PathBuf),
    DiveCi(PathBuf),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Defaults => f.write_str("defaults"),
            Origin::Pydive(p) => write!(f, "{}", p.display()),
            Origin::Pyproject(p) => write!(f, "{} [tool.pydive]", p.display()),
            Origin::DiveCi(p) => write!(f, "{} (dive's CI rules)", p.display()),
        }
    }
}

/// A finding the team accepted: by rule, by path glob, or both; always with a reason.
#[derive(Clone, Debug)]
pub struct Ignore {
    pub rule: Option<String>,
    pub path: Option<glob::Pattern>,
    pub reason: String,
}

impl Ignore {
    /// Whether this entry accepts a finding of `rule` with these paths.
    pub fn matches(&self, rule: &str, paths: &[String]) -> bool {
        self.rule.as_deref().is_none_or(|r| r == rule)
            && self
                .path
                .as_ref()
                .is_none_or(|p| !paths.is_empty() && paths.iter().all(|x| p.matches(x)))
    }
}

/// The validated configuration: nothing downstream parses a string.
#[derive(Clone, Debug)]
pub struct Config {
    pub origin: Origin,
    pub max_size: Option<u64>,
    pub max_growth: Option<Limit>,
    pub max_wasted: Option<Limit>,
    /// A ratio, 0-1.
    pub min_efficiency: Option<f64>,
    pub max_dive_wasted: Option<u64>,
    /// A ratio, 0-1.
    pub max_dive_user_wasted: Option<f64>,
    pub max_layers: Option<u64>,
    pub budget: BTreeMap<Category, u64>,
    /// None: findings never fail the gate.
    pub fail_on: Option<Severity>,
    pub new_findings_only: bool,
    pub ignore: Vec<Ignore>,
}

impl Config {
    fn defaults(origin: Origin) -> Config {
        Config {
            origin,
            max_size: None,
            max_growth: None,
            max_wasted: None,
            min_efficiency: None,
            max_dive_wasted: None,
            max_dive_user_wasted: None,
            max_layers: None,
            budget: BTreeMap::new(),
            fail_on: Some(Severity::Error),
            new_findings_only: false,
            ignore: Vec::new(),
        }
    }
}

/// The keys of a pydive configuration, as written in TOML.
#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Raw {
    max_size: Option<Bytes>,
    max_growth: Option<BytesOrPercent>,
    max_wasted: Option<BytesOrPercent>,
    min_efficiency: Option<Ratio>,
    max_dive_wasted: Option<Bytes>,
    max_dive_user_wasted: Option<Ratio>,
    max_layers: Option<u64>,
    budget: Option<BTreeMap<CategoryId, Bytes>>,
    fail_on: Option<FailOn>,
    new_findings_only: Option<bool>,
    ignore: Option<Vec<RawIgnore>>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RawIgnore {
    rule: Option<RuleId>,
    path: Option<Glob>,
    reason: String,
}

#[derive(Debug)]
struct Bytes(u64);
#[derive(Debug)]
struct BytesOrPercent(Limit);
#[derive(Debug)]
struct Ratio(f64);
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct CategoryId(Category);
#[derive(Debug)]
struct RuleId(String);
#[derive(Debug)]
struct Glob(glob::Pattern);
#[derive(Debug)]
struct FailOn(Option<Severity>);

/// A TOML integer or string, for the values that take either.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Int(i64),
    Float(f64),
    Text(String),
}

fn scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
    Scalar::deserialize(d)
        .map_err(|_| de::Error::custom("expected a number or a string such as \"50MB\""))
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match scalar(d)? {
            Scalar::Int(n) if n < 0 => Err(de::Error::custom(format!(
                "{n} is negative: a size is 0 or more"
            ))),
            Scalar::Int(n) => Ok(Bytes(n as u64)),
            Scalar::Float(_) => Err(de::Error::custom(
                "a size is a whole number of bytes or a string such as \"1.5MB\"",
            )),
            Scalar::Text(s) => match parse_size(&s) {
                Ok(Limit::Bytes(b)) => Ok(Bytes(b)),
                Ok(Limit::Percent(_)) => Err(de::Error::custom(format!(
                    "\"{s}\": this limit takes a size, not a percentage"
                ))),
                Err(e) => Err(de::Error::custom(e)),
            },
        }
    }
}

impl<'de> Deserialize<'de> for BytesOrPercent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match scalar(d)? {
            Scalar::Int(n) if n < 0 => Err(de::Error::custom(format!(
                "{n} is negative: a limit is 0 or more"
            ))),
            Scalar::Int(n) => Ok(BytesOrPercent(Limit::Bytes(n as u64))),
            Scalar::Float(_) => Err(de::Error::custom(
                "a limit is a size such as \"50MB\" or a percentage such as \"10%\"",
            )),
            Scalar::Text(s) => parse_size(&s)
                .map(BytesOrPercent)
                .map_err(de::Error::custom),
        }
    }
}

impl<'de> Deserialize<'de> for Ratio {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let ratio = match scalar(d)? {
            Scalar::Int(n) => n as f64,
            Scalar::Float(f) => f,
            Scalar::Text(s) => match parse_size(&s) {
                Ok(Limit::Percent(p)) => p / 100.0,
                _ => {
                    return Err(de::Error::custom(format!(
                        "\"{s}\": expected a ratio from 0 to 1, or a percentage such as \"95%\""
                    )));
                }
            },
        };
        if !(0.0..=1.0).contains(&ratio) {
            return Err(de::Error::custom(format!(
                "{ratio} is outside 0-1 (a ratio; \"95%\" is 0.95)"
            )));
        }
        Ok(Ratio(ratio))
    }
}

impl<'de> Deserialize<'de> for CategoryId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let id = String::deserialize(d)?;
        Category::ALL
            .iter()
            .find(|c| c.id() == id)
            .map(|&c| CategoryId(c))
            .ok_or_else(|| {
                let known: Vec<&str> = Category::ALL.iter().map(|c| c.id()).collect();
                de::Error::custom(format!(
                    "no category `{id}`; categories: {}",
                    known.join(", ")
                ))
            })
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let id = String::deserialize(d)?;
        match crate::findings::RULES.iter().find(|r| r.id == id) {
            Some(_) => Ok(RuleId(id)),
            None => Err(de::Error::custom(format!(
                "no finding rule `{id}` (`pydive explain` lists them)"
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for Glob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        glob::Pattern::new(&text)
            .map(Glob)
            .map_err(|e| de::Error::custom(format!("\"{text}\" is not a glob: {e}")))
    }
}

impl<'de> Deserialize<'de> for FailOn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(FailOn(match text.as_str() {
            "error" => Some(Severity::Error),
            "warning" => Some(Severity::Warning),
            "info" => Some(Severity::Info),
            "never" => None,
            _ => {
                return Err(de::Error::custom(format!(
                    "\"{text}\": expected \"error\", \"warning\", \"info\" or \"never\""
                )));
            }
        }))
    }
}

/// "50MB", "1.5GiB", "10%", "123": decimal (kB, MB, GB, TB) and binary (KiB, MiB, GiB, TiB)
/// units, any case, an optional space; a bare number is bytes.
pub fn parse_size(text: &str) -> Result<Limit, String> {
    let t = text.trim();
    let bad = || format!("\"{text}\" is not a size such as \"50MB\", \"1.5GiB\" or \"10%\"");
    if let Some(number) = t.strip_suffix('%') {
        let p: f64 = number.trim().parse().map_err(|_| bad())?;
        if !(0.0..=100_000.0).contains(&p) || p.is_nan() {
            return Err(format!("\"{text}\": a percentage is 0 or more"));
        }
        return Ok(Limit::Percent(p));
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number.parse().map_err(|_| bad())?;
    if value < 0.0 {
        return Err(format!("\"{text}\" is negative: a size is 0 or more"));
    }
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "ki" | "kib" => 1024.0,
        "mi" | "mib" => 1024.0 * 1024.0,
        "gi" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "ti" | "tib" => 1024.0f64.powi(4),
        _ => return Err(bad()),
    };
    Ok(Limit::Bytes((value * scale).round() as u64))
}

impl Raw {
    /// Fills a configuration with the keys this source sets.
    fn apply(self, c: &mut Config) {
        if let Some(v) = self.max_size {
            c.max_size = Some(v.0);
        }
        if let Some(v) = self.max_growth {
            c.max_growth = Some(v.0);
        }
        if let Some(v) = self.max_wasted {
            c.max_wasted = Some(v.0);
        }
        if let Some(v) = self.min_efficiency {
            c.min_efficiency = Some(v.0);
        }
        if let Some(v) = self.max_dive_wasted {
            c.max_dive_wasted = Some(v.0);
        }
        if let Some(v) = self.max_dive_user_wasted {
            c.max_dive_user_wasted = Some(v.0);
        }
        if let Some(v) = self.max_layers {
            c.max_layers = Some(v);
        }
        for (category, bytes) in self.budget.into_iter().flatten() {
            c.budget.insert(category.0, bytes.0);
        }
        if let Some(v) = self.fail_on {
            c.fail_on = v.0;
        }
        if let Some(v) = self.new_findings_only {
            c.new_findings_only = v;
        }
        for i in self.ignore.into_iter().flatten() {
            c.ignore.push(Ignore {
                rule: i.rule.map(|r| r.0),
                path: i.path.map(|p| p.0),
                reason: i.reason,
            });
        }
    }
}

/// "FILE:LINE: KEY: message" from a TOML error in `text`.
fn located(file: &Path, text: &str, err: &toml::de::Error) -> anyhow::Error {
    let message = err.message().trim_end_matches('.').to_string();
    let Some(span) = err.span() else {
        return anyhow!("{}: {message}", file.display());
    };
    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
    match key_at(text, span) {
        Some(key) if !message.contains(&format!("`{key}`")) => {
            anyhow!("{}:{line}: {key}: {message}", file.display())
        }
        _ => anyhow!("{}:{line}: {message}", file.display()),
    }
}

/// The key written on the line an error points at (`key = value`), if any.
fn key_at(text: &str, span: Range<usize>) -> Option<String> {
    let start = text[..span.start.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line = text[start..].lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && !key.starts_with('[')).then(|| key.to_string())
}

#[derive(Deserialize)]
struct Pyproject {
    tool: Option<Tool>,
}

#[derive(Deserialize)]
struct Tool {
    pydive: Option<Raw>,
}

/// What `pydive ci` was given.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    pub rules: Vec<String>,
    pub config: Option<PathBuf>,
    /// Where `.pydive.toml`, `pyproject.toml` and `.dive-ci` are looked for.
    pub dir: PathBuf,
}

/// Reads and validates the configuration from the first source that has one, then the flags.
pub fn load(sources: &Sources) -> Result<Config> {
    let mut config = match &sources.config {
        Some(path) => from_pydive(path)?,
        None => {
            let dot = sources.dir.join(".pydive.toml");
            let pyproject = sources.dir.join("pyproject.toml");
            let dive = sources.dir.join(".dive-ci");
            if dot.is_file() {
                from_pydive(&dot)?
            } else if let Some(c) = from_pyproject(&pyproject)? {
                c
            } else if dive.is_file() {
                from_dive_ci(&dive)?
            } else {
                Config::defaults(Origin::Defaults)
            }
        }
    };
    for rule in &sources.rules {
        flag(rule)?.apply(&mut config);
    }
    Ok(config)
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn from_pydive(path: &Path) -> Result<Config> {
    let text = read(path)?;
    let raw: Raw = toml::from_str(&text).map_err(|e| located(path, &text, &e))?;
    let mut config = Config::defaults(Origin::Pydive(path.to_path_buf()));
    raw.apply(&mut config);
    Ok(config)
}

fn from_pyproject(path: &Path) -> Result<Option<Config>> {
    if !path.is_file() {
        return Ok(None);
    }
    let text = read(path)?;
    let project: Pyproject = toml::from_str(&text).map_err(|e| located(path, &text, &e))?;
    Ok(project.tool.and_then(|t| t.pydive).map(|raw| {
        let mut config = Config::defaults(Origin::Pyproject(path.to_path_buf()));
        raw.apply(&mut config);
        config
    }))
}

/// `--rule key=value`: the value as TOML (`max-layers=30`, `fail-on=warning`,
/// `budget.pip-cache=0`), or as a string when it is not TOML (`max-size=500MB`).
fn flag(rule: &str) -> Result<Raw> {
    let Some((key, value)) = rule.split_once('=') else {
        bail!("--rule {rule}: expected KEY=VALUE, e.g. --rule max-growth=10%");
    };
    let key = key.trim();
    let value = value.trim();
    let quoted = toml::Value::String(value.to_string()).to_string();
    let parse = |value: &str| -> Result<Raw, toml::de::Error> {
        match key.split_once('.') {
            Some((table, sub)) => toml::from_str(&format!("[{table}]\n\"{sub}\" = {value}\n")),
            None => toml::from_str(&format!("{key} = {value}\n")),
        }
    };
    // A value that is not TOML is a string; a string where a number is wanted says so.
    let is_toml = toml::from_str::<toml::Table>(&format!("v = {value}")).is_ok();
    parse(if is_toml { value } else { &quoted })
        .map_err(|e| anyhow!("--rule {rule}: {}", e.message().trim_end_matches('.')))
}

/// dive's `.dive-ci`, one to one: `rules.lowestEfficiency` (default 0.9),
/// `rules.highestWastedBytes` (default disabled), `rules.highestUserWastedPercent` (default
/// 0.1), each "disabled" to turn it off, as dive 0.13.1 reads them. Findings do not fail the
/// gate, so that the verdict is dive's.
fn from_dive_ci(path: &Path) -> Result<Config> {
    let text = read(path)?;
    let doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&text).map_err(|e| match e.location() {
            Some(l) => anyhow!(
                "{}:{}: {}",
                path.display(),
                l.line(),
                e.to_string().split(" at line").next().unwrap_or_default()
            ),
            None => anyhow!("{}: {e}", path.display()),
        })?;
    let rules = doc.get("rules");
    let value = |key: &str, default: &str| -> String {
        match rules.and_then(|r| r.get(key)) {
            None | Some(serde_yaml_ng::Value::Null) => default.to_string(),
            Some(serde_yaml_ng::Value::String(s)) => s.clone(),
            Some(serde_yaml_ng::Value::Number(n)) => n.to_string(),
            Some(serde_yaml_ng::Value::Bool(b)) => b.to_string(),
            Some(_) => String::from("?"),
        }
    };
    let line_of = |key: &str| {
        text.lines()
            .position(|l| l.trim_start().starts_with(&format!("{key}:")))
            .map_or(String::new(), |i| format!(":{}", i + 1))
    };
    let err = |key: &str, why: String| anyhow!("{}{}: {key}: {why}", path.display(), line_of(key));
    let ratio = |key: &str, v: &str| -> Result<Option<f64>> {
        if v == "disabled" {
            return Ok(None);
        }
        let r: f64 = v
            .trim()
            .parse()
            .map_err(|_| err(key, format!("\"{v}\" is not a ratio from 0 to 1")))?;
        if !(0.0..=1.0).contains(&r) {
            return Err(err(key, format!("{v} is outside 0-1")));
        }
        Ok(Some(r))
    };
    let mut config = Config::defaults(Origin::DiveCi(path.to_path_buf()));
    config.fail_on = None;
    config.min_efficiency = ratio("lowestEfficiency", &value("lowestEfficiency", "0.9"))?;
    config.max_dive_user_wasted = ratio(
        "highestUserWastedPercent",
        &value("highestUserWastedPercent", "0.1"),
    )?;
    let wasted = value("highestWastedBytes", "disabled");
    config.max_dive_wasted = if wasted == "disabled" {
        None
    } else {
        match parse_size(&wasted) {
            Ok(Limit::Bytes(b)) => Some(b),
            _ => {
                return Err(err(
                    "highestWastedBytes",
                    format!("\"{wasted}\" is not a size such as 20MB"),
                ));
            }
        }
    };
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(parse_size("50MB"), Ok(Limit::Bytes(50_000_000)));
        assert_eq!(parse_size("1.5GiB"), Ok(Limit::Bytes(1_610_612_736)));
        assert_eq!(parse_size("20Mb"), Ok(Limit::Bytes(20_000_000)));
        assert_eq!(parse_size("1 kB"), Ok(Limit::Bytes(1000)));
        assert_eq!(parse_size("123"), Ok(Limit::Bytes(123)));
        assert_eq!(parse_size("10%"), Ok(Limit::Percent(10.0)));
        assert!(parse_size("-1MB").is_err());
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5 parsecs").is_err());
    }

    fn error(toml_text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".pydive.toml");
        std::fs::write(&path, toml_text).unwrap();
        let e = from_pydive(&path).unwrap_err().to_string();
        e.replace(&path.display().to_string(), "FILE")
    }

    #[test]
    fn bad_configs_name_file_line_and_key() {
        assert_eq!(
            error("max-size = \"1GB\"\nmax-sise = 3\n"),
            "FILE:2: unknown field `max-sise`, expected one of `max-size`, `max-growth`, `max-wasted`, `min-efficiency`, `max-dive-wasted`, `max-dive-user-wasted`, `max-layers`, `budget`, `fail-on`, `new-findings-only`, `ignore`"
        );
        assert_eq!(
            error("max-layers = \"many\"\n"),
            "FILE:1: max-layers: invalid type: string \"many\", expected u64"
        );
        assert_eq!(
            error("[budget]\npip-cache = 0\ncompilers = -5\n"),
            "FILE:3: compilers: -5 is negative: a size is 0 or more"
        );
        assert_eq!(
            error("[[ignore]]\nrule = \"debug-info\"\n"),
            "FILE:1: missing field `reason`"
        );
        assert_eq!(
            error("min-efficiency = 1.5\n"),
            "FILE:1: min-efficiency: 1.5 is outside 0-1 (a ratio; \"95%\" is 0.95)"
        );
    }

    #[test]
    fn flags_take_toml_or_plain_strings() {
        let c = |rules: &[&str]| {
            load(&Sources {
                rules: rules.iter().map(|s| s.to_string()).collect(),
                config: None,
                dir: tempfile::tempdir().unwrap().path().to_path_buf(),
            })
        };
        let config = c(&[
            "max-size=500MB",
            "max-growth=10%",
            "max-layers=30",
            "budget.pip-cache=0",
            "fail-on=warning",
            "new-findings-only=true",
        ])
        .unwrap();
        assert_eq!(config.max_size, Some(500_000_000));
        assert_eq!(config.max_growth, Some(Limit::Percent(10.0)));
        assert_eq!(config.max_layers, Some(30));
        assert_eq!(config.budget.get(&Category::PipCache), Some(&0));
        assert_eq!(config.fail_on, Some(Severity::Warning));
        assert!(config.new_findings_only);
        let e = c(&["max-layers=lots"]).unwrap_err().to_string();
        assert!(
            e.starts_with("--rule max-layers=lots: invalid type: string"),
            "{e}"
        );
        let e = c(&["budget.nope=0"]).unwrap_err().to_string();
        assert!(e.contains("no category `nope`"), "{e}");
    }
}
