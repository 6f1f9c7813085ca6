//! Which requests a report looks at: by spec, endpoint, user agent and response code.

use regex::Regex;
use thiserror::Error;

use crate::run::{Request, Run};

/// Why a filter option could not be used.
#[derive(Debug, Error)]
pub enum FilterError {
    /// A `--spec`, `--endpoint` or `--user-agent` value is not a valid regular expression.
    #[error("--{flag}: invalid regular expression {pattern:?}: {source}")]
    BadRegex {
        flag: &'static str,
        pattern: String,
        source: regex::Error,
    },
    /// A `--code` value is not a list of codes or classes.
    #[error(
        "--code: {0:?} is not a list of HTTP codes or classes (e.g. \"4xx\", \"403\", \"200,201\", \"500-599\")"
    )]
    BadCode(String),
}

/// A set of HTTP status codes: exact codes, classes (`4xx`) and ranges (`500-503`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeFilter {
    /// Inclusive ranges of accepted codes.
    ranges: Vec<(u16, u16)>,
}

impl CodeFilter {
    /// Parses a comma-separated list such as `4xx`, `403`, `5xx`, `200,201` or `500-599`.
    pub fn parse(text: &str) -> Result<CodeFilter, FilterError> {
        let bad = || FilterError::BadCode(text.to_string());
        let mut ranges = Vec::new();
        for item in text.split(',').map(str::trim) {
            let range = if let Some((lo, hi)) = item.split_once('-') {
                let lo: u16 = lo.trim().parse().map_err(|_| bad())?;
                let hi: u16 = hi.trim().parse().map_err(|_| bad())?;
                if lo > hi {
                    return Err(bad());
                }
                (lo, hi)
            } else if item.len() == 3
                // `ü(` is three bytes too: never slice inside a character.
                && item.is_char_boundary(1)
                && item[1..].eq_ignore_ascii_case("xx")
            {
                let class = item[..1].parse::<u16>().map_err(|_| bad())?;
                if !(1..=5).contains(&class) {
                    return Err(bad());
                }
                (class * 100, class * 100 + 99)
            } else {
                let code: u16 = item.parse().map_err(|_| bad())?;
                (code, code)
            };
            ranges.push(range);
        }
        Ok(CodeFilter { ranges })
    }

    /// True when `code` is in the set.
    pub fn matches(&self, code: u16) -> bool {
        self.ranges
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&code))
    }
}

/// The conditions a request must meet to be counted; `None` fields accept everything.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Searched in the name of the spec the request is attributed to (requests without a
    /// spec never match).
    pub spec: Option<Regex>,
    /// Searched in the operationId, or `verb path` for requests no operation matched.
    pub endpoint: Option<Regex>,
    /// Searched in the raw user agent.
    pub user_agent: Option<Regex>,
    /// The response code must be in this set.
    pub code: Option<CodeFilter>,
    /// Filled on first use; leave it at its default.
    pub agents_matching: AgentMatches,
}

impl RequestFilter {
    /// True when the filter looks at the requests themselves (endpoint, user agent, code),
    /// not only at their spec: a per-spec report then lists only the specs with a request
    /// that passes.
    pub fn narrows_requests(&self) -> bool {
        self.endpoint.is_some() || self.user_agent.is_some() || self.code.is_some()
    }
}

/// Whether each agent of the run matches [`RequestFilter::user_agent`], worked out on first
/// use, so an agent's text is rendered once rather than once per request. A filter is used
/// with one run.
#[derive(Debug, Clone, Default)]
pub struct AgentMatches(std::sync::OnceLock<Vec<bool>>);

impl RequestFilter {
    /// True when no condition is set.
    pub fn is_empty(&self) -> bool {
        self.spec.is_none()
            && self.endpoint.is_none()
            && self.user_agent.is_none()
            && self.code.is_none()
    }

    /// True when `req` meets every condition.
    pub fn matches(&self, run: &Run, req: &Request) -> bool {
        if let Some(code) = &self.code
            && !code.matches(req.code)
        {
            return false;
        }
        if let Some(re) = &self.spec {
            let name = req
                .spec
                .and_then(|s| run.specs.get(s.index()))
                .map(|s| run.str(s.name));
            match name {
                Some(name) if re.is_match(name) => {}
                _ => return false,
            }
        }
        if let Some(re) = &self.endpoint {
            let op = req.endpoint.and_then(|o| run.operations.get(o.index()));
            let ok = match op {
                Some(op) => re.is_match(&op.id),
                None => re.is_match(&unmatched_key(run, req)),
            };
            if !ok {
                return false;
            }
        }
        if let Some(re) = &self.user_agent {
            let matching = self.agents_matching.0.get_or_init(|| {
                run.agents
                    .iter()
                    .map(|a| re.is_match(&run.agent_text(a)))
                    .collect()
            });
            let ok = match matching.get(req.agent as usize) {
                Some(&ok) => ok,
                None => re.is_match(""),
            };
            if !ok {
                return false;
            }
        }
        true
    }
}

/// How reports name a request no operation matched: `verb path` (query string dropped).
pub fn unmatched_key(run: &Run, req: &Request) -> String {
    let uri = run.str(req.uri);
    let path = uri.split('?').next().unwrap_or("");
    format!("{} {}", run.str(req.verb), path)
}

/// The filter options shared by the report commands.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FilterArgs {
    /// Only requests of specs whose name matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    pub spec: Option<String>,
    /// Only requests whose operationId (or `verb path` when unmatched) matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    pub endpoint: Option<String>,
    /// Only requests whose user agent matches this regular expression.
    #[arg(long = "user-agent", value_name = "REGEX")]
    pub user_agent: Option<String>,
    /// Only requests with these response codes: `4xx`, `403`, `200,201`, `500-599`.
    #[arg(long, value_name = "CODES")]
    pub code: Option<String>,
}

impl FilterArgs {
    /// Compiles the options into a [`RequestFilter`].
    pub fn to_filter(&self) -> Result<RequestFilter, FilterError> {
        let compile = |flag: &'static str, pattern: &Option<String>| {
            pattern
                .as_deref()
                .map(|p| {
                    Regex::new(p).map_err(|source| FilterError::BadRegex {
                        flag,
                        pattern: p.to_string(),
                        source,
                    })
                })
                .transpose()
        };
        Ok(RequestFilter {
            spec: compile("spec", &self.spec)?,
            endpoint: compile("endpoint", &self.endpoint)?,
            user_agent: compile("user-agent", &self.user_agent)?,
            code: self.code.as_deref().map(CodeFilter::parse).transpose()?,
            agents_matching: Default::default(),
        })
    }
}

impl TryFrom<&FilterArgs> for RequestFilter {
    type Error = FilterError;
    fn try_from(args: &FilterArgs) -> Result<Self, Self::Error> {
        args.to_filter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A three-byte item that is not three characters (found by the filter property test)
    /// is refused, not sliced inside `ü`.
    #[test]
    fn code_filter_refuses_multibyte_items() {
        let err = CodeFilter::parse("ü(").unwrap_err();
        assert_eq!(
            err.to_string(),
            FilterError::BadCode("ü(".into()).to_string()
        );
        assert!(CodeFilter::parse("4xx").unwrap().matches(404));
        assert!(!CodeFilter::parse("4XX").unwrap().matches(500));
    }
}
