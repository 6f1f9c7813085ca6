//! The explorer's filter language, one parser for every pane.
//!
//! A query is words separated by spaces (double quotes keep spaces inside one word):
//! - plain words form one phrase, matched as a case-insensitive **substring**; rows that do
//!   not contain it but match it fuzzily are listed after the others, marked `≈`;
//! - `re:PATTERN`: a regular expression (case-insensitive) instead of a substring;
//! - fields: `status:failed|passed|skipped|pending`, `code:403` (or `4xx`, `500-599`,
//!   `200,201`), `attr:ua|window|ambiguous|none`, `user:NAME`, `verb:VERB`, `op:TEXT`,
//!   `slow:>500ms` (or `>1s`, `<10ms`);
//! - `!TERM` excludes what `TERM` matches.
//!
//! All terms must hold. A pane ignores the fields that do not apply to its rows (the
//! Backtrace pane has only text); the Tests pane keeps a test when at least one of its
//! requests meets every request field.

use crate::report::filter::CodeFilter;
use crate::run::{Attribution, SpecStatus};
use regex::Regex;
use thiserror::Error;

/// Why a query could not be used.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum QueryError {
    /// A field's value is not one it accepts.
    #[error("{field}: {value:?} is not {expected}")]
    BadValue {
        /// The field name.
        field: &'static str,
        /// What was typed.
        value: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// A `re:` pattern is not a valid regular expression.
    #[error("re: invalid regular expression {0:?}")]
    BadRegex(String),
}

/// A latency bound of `slow:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// Longer than this many microseconds.
    Above(i64),
    /// Shorter than this many microseconds.
    Below(i64),
}

/// One condition.
#[derive(Debug, Clone)]
pub enum Field {
    /// `status:` (spec status; `suite` for suite nodes is not a status).
    Status(Vec<SpecStatus>),
    /// `code:`.
    Code(CodeFilter),
    /// `attr:`.
    Attr(Vec<Attribution>),
    /// `user:` (lower case; substring of the user name).
    User(String),
    /// `verb:` (lower case; the whole verb).
    Verb(String),
    /// `op:` (lower case; substring of the operation id or `verb path` label).
    Op(String),
    /// `slow:`.
    Slow(Bound),
    /// `re:` on the row's text.
    Regex(Regex),
}

impl Field {
    /// True for the fields that are about a request.
    pub fn is_request_field(&self) -> bool {
        matches!(
            self,
            Field::Code(_)
                | Field::Attr(_)
                | Field::User(_)
                | Field::Verb(_)
                | Field::Op(_)
                | Field::Slow(_)
        )
    }
}

/// A field with its sign.
#[derive(Debug, Clone)]
pub struct Term {
    /// `!` before it.
    pub negated: bool,
    /// The condition.
    pub field: Field,
}

/// A negated plain word (`!word`): rows containing it are left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exclude(pub String);

/// A parsed query.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// The phrase of plain words, lower case, single-spaced (empty when none).
    pub phrase: String,
    /// Plain words to leave out (lower case).
    pub excluded: Vec<String>,
    /// Field conditions.
    pub terms: Vec<Term>,
}

/// How a row's text matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TextMatch {
    /// Not at all.
    No,
    /// Fuzzily, with the matcher's score.
    Fuzzy(i64),
    /// Contains the phrase (or matches the pattern).
    Exact,
}

/// Splits a query into words: spaces separate, double quotes group.
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            c => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out.retain(|w| !w.is_empty());
    out
}

fn parse_list<T: Copy>(
    field: &'static str,
    value: &str,
    expected: &'static str,
    table: &[(&str, T)],
) -> Result<Vec<T>, QueryError> {
    let mut out = Vec::new();
    for v in value.split(['|', ',']).filter(|v| !v.is_empty()) {
        let v = v.to_ascii_lowercase();
        let found = table
            .iter()
            .find(|(name, _)| *name == v || (v.len() >= 3 && name.starts_with(&v)));
        match found {
            Some((_, t)) => out.push(*t),
            None => {
                return Err(QueryError::BadValue {
                    field,
                    value: value.to_string(),
                    expected,
                });
            }
        }
    }
    if out.is_empty() {
        return Err(QueryError::BadValue {
            field,
            value: value.to_string(),
            expected,
        });
    }
    Ok(out)
}

/// Parses `>500ms`, `<2s`, `>150us`, `300ms` (means above).
fn parse_bound(value: &str) -> Option<Bound> {
    let v = value.trim();
    let (above, rest) = match v.strip_prefix('<') {
        Some(r) => (false, r),
        None => (true, v.strip_prefix('>').unwrap_or(v)),
    };
    let rest = rest.trim_start_matches('=');
    let split = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (num, unit) = rest.split_at(split);
    let n: f64 = num.parse().ok()?;
    let scale = match unit.to_ascii_lowercase().as_str() {
        "" | "ms" => 1e3,
        "s" => 1e6,
        "us" | "µs" => 1.0,
        "m" | "min" => 60e6,
        _ => return None,
    };
    let us = n * scale;
    if !us.is_finite() || us > 1e15 {
        return None;
    }
    let us = us as i64;
    Some(if above {
        Bound::Above(us)
    } else {
        Bound::Below(us)
    })
}

impl Query {
    /// Parses a query (see the module documentation).
    pub fn parse(text: &str) -> Result<Query, QueryError> {
        let mut q = Query::default();
        let mut phrase: Vec<String> = Vec::new();
        for word in words(text) {
            let (negated, body) = match word.strip_prefix('!') {
                Some(b) if !b.is_empty() => (true, b),
                _ => (false, word.as_str()),
            };
            let field = match body.split_once(':') {
                Some((name, value)) if !value.is_empty() => {
                    Self::field(&name.to_ascii_lowercase(), value)?
                }
                _ => None,
            };
            match (field, negated) {
                (Some(field), _) => q.terms.push(Term { negated, field }),
                (None, true) => q.excluded.push(body.to_lowercase()),
                (None, false) => phrase.push(body.to_lowercase()),
            }
        }
        q.phrase = phrase.join(" ");
        Ok(q)
    }

    /// One `name:value` field; `None` when `name` is not a field (the word is text).
    fn field(name: &str, value: &str) -> Result<Option<Field>, QueryError> {
        Ok(Some(match name {
            "status" => Field::Status(parse_list(
                "status",
                value,
                "failed, passed, skipped or pending",
                &[
                    ("failed", SpecStatus::Failed),
                    ("fail", SpecStatus::Failed),
                    ("passed", SpecStatus::Passed),
                    ("pass", SpecStatus::Passed),
                    ("skipped", SpecStatus::Skipped),
                    ("skip", SpecStatus::Skipped),
                    ("pending", SpecStatus::Pending),
                    ("unknown", SpecStatus::Unknown),
                ],
            )?),
            "code" => Field::Code(CodeFilter::parse(&value.replace('|', ",")).map_err(|_| {
                QueryError::BadValue {
                    field: "code",
                    value: value.to_string(),
                    expected: "a code, class or range (403, 4xx, 500-599)",
                }
            })?),
            "attr" => Field::Attr(parse_list(
                "attr",
                value,
                "ua, window, ambiguous or none",
                &[
                    ("ua", Attribution::Ua),
                    ("window", Attribution::Window),
                    ("ambiguous", Attribution::Ambiguous),
                    ("none", Attribution::None),
                ],
            )?),
            "user" => Field::User(value.to_lowercase()),
            "verb" => Field::Verb(value.to_lowercase()),
            "op" => Field::Op(value.to_lowercase()),
            "slow" => Field::Slow(parse_bound(value).ok_or_else(|| QueryError::BadValue {
                field: "slow",
                value: value.to_string(),
                expected: "a bound such as >500ms, >1s or <10ms",
            })?),
            "re" => Field::Regex(
                regex::RegexBuilder::new(value)
                    .case_insensitive(true)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|_| QueryError::BadRegex(value.to_string()))?,
            ),
            _ => return Ok(None),
        }))
    }

    /// True when nothing is asked.
    pub fn is_empty(&self) -> bool {
        self.phrase.is_empty() && self.excluded.is_empty() && self.terms.is_empty()
    }

    /// True when a field about requests is asked.
    pub fn has_request_fields(&self) -> bool {
        self.terms.iter().any(|t| t.field.is_request_field())
    }

    /// True when the row's text is asked about (phrase, exclusions or `re:`).
    pub fn has_text(&self) -> bool {
        !self.phrase.is_empty()
            || !self.excluded.is_empty()
            || self
                .terms
                .iter()
                .any(|t| matches!(t.field, Field::Regex(_)))
    }

    /// How `text` matches the phrase, exclusions and `re:` terms; `fuzzy` allows fuzzy
    /// matches of the phrase.
    pub fn match_text(&self, text: &str, fuzzy: bool) -> TextMatch {
        if !self.has_text() {
            return TextMatch::Exact;
        }
        if self.excluded.iter().any(|w| contains_lower(text, w)) {
            return TextMatch::No;
        }
        for t in &self.terms {
            if let Field::Regex(re) = &t.field
                && re.is_match(text) == t.negated
            {
                return TextMatch::No;
            }
        }
        if self.phrase.is_empty() || contains_lower(text, &self.phrase) {
            return TextMatch::Exact;
        }
        if fuzzy {
            use fuzzy_matcher::FuzzyMatcher;
            if let Some(score) =
                fuzzy_matcher::skim::SkimMatcherV2::default().fuzzy_match(text, &self.phrase)
            {
                return TextMatch::Fuzzy(score);
            }
        }
        TextMatch::No
    }

    /// True when a spec status passes the `status:` terms.
    pub fn match_status(&self, status: SpecStatus) -> bool {
        self.terms.iter().all(|t| match &t.field {
            Field::Status(list) => list.contains(&status) != t.negated,
            _ => true,
        })
    }

    /// True when the query names a status (then skipped specs are not hidden).
    pub fn asks_status(&self) -> bool {
        self.terms
            .iter()
            .any(|t| matches!(t.field, Field::Status(_)))
    }

    /// True when a request passes every request field. `user`, `verb` and `op` are the
    /// request's user name, verb and endpoint label; `latency_us` is `None` when unknown.
    pub fn match_request(&self, r: &RequestFacts<'_>) -> bool {
        self.terms.iter().all(|t| {
            let hit = match &t.field {
                Field::Code(c) => c.matches(r.code),
                Field::Attr(list) => list.contains(&r.attribution),
                Field::User(u) => r.user.to_lowercase().contains(u.as_str()),
                Field::Verb(v) => r.verb.eq_ignore_ascii_case(v),
                Field::Op(o) => r.op.to_lowercase().contains(o.as_str()),
                Field::Slow(Bound::Above(us)) => r.latency_us.is_some_and(|l| l > *us),
                Field::Slow(Bound::Below(us)) => r.latency_us.is_some_and(|l| l < *us),
                _ => return true,
            };
            hit != t.negated
        })
    }
}

/// What a request filter looks at.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    /// Response code.
    pub code: u16,
    /// How it was attributed.
    pub attribution: Attribution,
    /// User name.
    pub user: &'a str,
    /// Verb.
    pub verb: &'a str,
    /// Endpoint label (operationId or `verb path`).
    pub op: &'a str,
    /// Latency in microseconds, when known.
    pub latency_us: Option<i64>,
}

/// True when `text` in lower case contains `needle` (already lower case), as
/// `text.to_lowercase().contains(needle)`. ASCII text (nearly every URI and label) is
/// compared in place, without building its lower-case copy: a filter over the whole run
/// matches hundreds of thousands of distinct URIs, and the copies cost most of its time.
fn contains_lower(text: &str, needle: &str) -> bool {
    if !text.is_ascii() {
        return text.to_lowercase().contains(needle);
    }
    let (hay, pat) = (text.as_bytes(), needle.as_bytes());
    if pat.is_empty() {
        return true;
    }
    if pat.len() > hay.len() {
        return false;
    }
    // Candidates: where the needle's rarest byte is, in either case (in URIs and labels
    // letters, digits and `/-.` are everywhere; a `(` or `*` is rare, so few compares).
    let common = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'.' | b'_');
    let at = pat.iter().position(|&b| !common(b)).unwrap_or(0);
    let b = pat[at];
    let last_start = hay.len() - pat.len();
    memchr::memchr2_iter(b, b.to_ascii_uppercase(), &hay[at..=last_start + at])
        .any(|i| hay[i..i + pat.len()].eq_ignore_ascii_case(pat))
}

/// Char ranges of `text` to highlight for `query`: the phrase's occurrences, a `re:`
/// match, or the fuzzy positions.
pub fn highlight_positions(text: &str, query: &Query) -> Vec<usize> {
    if !query.phrase.is_empty() {
        let lower: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
        let n_chars = text.chars().count();
        let p: Vec<char> = query.phrase.chars().collect();
        // Positions map one to one only when lower-casing kept the length.
        if lower.len() == n_chars
            && let Some(start) = lower.windows(p.len().max(1)).position(|w| w == &p[..])
        {
            return (start..start + p.len()).collect();
        }
        use fuzzy_matcher::FuzzyMatcher;
        return fuzzy_matcher::skim::SkimMatcherV2::default()
            .fuzzy_indices(text, &query.phrase)
            .map(|(_, i)| i)
            .unwrap_or_default();
    }
    for t in &query.terms {
        if let (Field::Regex(re), false) = (&t.field, t.negated)
            && let Some(m) = re.find(text)
        {
            let start = text[..m.start()].chars().count();
            let len = m.as_str().chars().count();
            return (start..start + len).collect();
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_lower_is_lowercase_contains() {
        let texts = [
            "/api/v1/namespaces/kube-system/pods/Coredns-5D78C9869D-Abc",
            "k8s.io/client-go/rest.(*Request).Do",
            "",
            "ab",
            "Straße/ÉTÉ/pods",
            "aaaB",
        ];
        let needles = [
            "",
            "pods",
            "coredns-5d78",
            "rest.(*request)",
            "abc",
            "ab",
            "aab",
            "é",
            "straße",
            "été",
            "x",
            "aaab",
            "(*request).do",
            "go/rest.(",
            "t.(*r",
            "/pods/",
            "9d-abc",
        ];
        for t in texts {
            for n in needles {
                assert_eq!(
                    contains_lower(t, n),
                    t.to_lowercase().contains(n),
                    "{t:?} contains {n:?}"
                );
            }
        }
    }

    fn facts(code: u16, attribution: Attribution) -> RequestFacts<'static> {
        RequestFacts {
            code,
            attribution,
            user: "system:serviceaccount:kube-system:deployment-controller",
            verb: "patch",
            op: "patchCoreV1NodeStatus",
            latency_us: Some(600_000),
        }
    }

    #[test]
    fn phrase_is_a_substring_and_fuzzy_comes_after() {
        let q = Query::parse("sig-apps").unwrap();
        assert_eq!(
            q.match_text("[sig-apps] Deployment should work", true),
            TextMatch::Exact
        );
        assert_eq!(
            q.match_text("[SIG-APPS] upper case too", false),
            TextMatch::Exact
        );
        // sig-api-machinery ... pods holds the letters in order: fuzzy only.
        assert!(matches!(
            q.match_text("[sig-api-machinery] should list pods", true),
            TextMatch::Fuzzy(_)
        ));
        assert_eq!(
            q.match_text("[sig-api-machinery] should list pods", false),
            TextMatch::No
        );
        let q = Query::parse("delete old   replica").unwrap();
        assert_eq!(q.phrase, "delete old replica");
        assert_eq!(
            q.match_text("should delete old replicas", false),
            TextMatch::Exact
        );
        assert_eq!(
            q.match_text("old replica should delete", false),
            TextMatch::No
        );
    }

    #[test]
    fn fields_regex_and_exclusions() {
        let q =
            Query::parse("status:failed|skipped !sig-storage re:^\\[sig-(apps|node)\\]").unwrap();
        assert!(q.match_status(SpecStatus::Failed));
        assert!(q.match_status(SpecStatus::Skipped));
        assert!(!q.match_status(SpecStatus::Passed));
        assert!(q.asks_status());
        assert_eq!(q.match_text("[sig-apps] x", false), TextMatch::Exact);
        assert_eq!(q.match_text("[sig-storage] x", false), TextMatch::No);
        assert_eq!(q.match_text("[sig-cli] x", false), TextMatch::No);
        assert!(!q.has_request_fields());

        let q = Query::parse(
            "code:4xx !attr:window user:deployment verb:PATCH op:nodestatus slow:>500ms",
        )
        .unwrap();
        assert!(q.has_request_fields());
        assert!(q.match_request(&facts(403, Attribution::Ua)));
        assert!(!q.match_request(&facts(200, Attribution::Ua)));
        assert!(!q.match_request(&facts(403, Attribution::Window)));
        let q = Query::parse("slow:<10ms").unwrap();
        assert!(!q.match_request(&facts(200, Attribution::Ua)));
        let q = Query::parse("code:200,201|500-599").unwrap();
        assert!(q.match_request(&facts(503, Attribution::Ua)));
        assert!(q.match_request(&facts(201, Attribution::Ua)));
        assert!(!q.match_request(&facts(404, Attribution::Ua)));
    }

    #[test]
    fn quotes_unknown_fields_and_errors() {
        let q = Query::parse("\"status:failed\" foo:bar").unwrap();
        // A quoted field is still a field (quotes only keep spaces); unknown names are text.
        assert!(q.asks_status());
        assert_eq!(q.phrase, "foo:bar");
        let q = Query::parse("\"a  b\" c").unwrap();
        assert_eq!(q.phrase, "a  b c");
        assert_eq!(
            Query::parse("status:maybe").unwrap_err().to_string(),
            "status: \"maybe\" is not failed, passed, skipped or pending"
        );
        assert_eq!(
            Query::parse("code:4zz").unwrap_err().to_string(),
            "code: \"4zz\" is not a code, class or range (403, 4xx, 500-599)"
        );
        assert_eq!(
            Query::parse("re:(").unwrap_err(),
            QueryError::BadRegex("(".into())
        );
        assert!(Query::parse("slow:>fast").is_err());
        assert!(Query::parse("!").unwrap().phrase == "!");
        assert!(Query::parse("").unwrap().is_empty());
        assert!(Query::parse("status:").unwrap().phrase == "status:");
    }

    #[test]
    fn highlights_the_phrase_or_the_regex() {
        let q = Query::parse("PODS").unwrap();
        assert_eq!(highlight_positions("ünicode pods", &q), vec![8, 9, 10, 11]);
        let q = Query::parse("re:p.d").unwrap();
        assert_eq!(highlight_positions("ünicode pods", &q), vec![8, 9, 10]);
    }
}

/// A query's request fields, ready to test many requests of one run: the fields on users,
/// endpoint groups and verbs are decided once per distinct value.
#[derive(Debug)]
pub struct RequestPredicate {
    query: Query,
    verb_q: Query,
    users: Vec<bool>,
    groups: Vec<bool>,
    verbs: Vec<(crate::run::StrId, bool)>,
    active: bool,
}

impl RequestPredicate {
    /// Prepares `query`'s request fields for `ctx`'s run.
    pub fn new(ctx: &super::context::Ctx, query: &Query) -> RequestPredicate {
        let only = |f: fn(&Field) -> bool| Query {
            terms: query
                .terms
                .iter()
                .filter(|t| f(&t.field))
                .cloned()
                .collect(),
            ..Query::default()
        };
        let user_q = only(|f| matches!(f, Field::User(_)));
        let op_q = only(|f| matches!(f, Field::Op(_)));
        let run = &ctx.run;
        fn facts<'a>(user: &'a str, op: &'a str) -> RequestFacts<'a> {
            RequestFacts {
                code: 0,
                attribution: Attribution::None,
                user,
                verb: "",
                op,
                latency_us: None,
            }
        }
        let users = if user_q.terms.is_empty() {
            Vec::new()
        } else {
            run.users
                .iter()
                .map(|u| user_q.match_request(&facts(run.str(u.name), "")))
                .collect()
        };
        let groups = if op_q.terms.is_empty() {
            Vec::new()
        } else {
            ctx.index
                .groups
                .iter()
                .map(|g| op_q.match_request(&facts("", &g.label)))
                .collect()
        };
        RequestPredicate {
            query: only(|f| matches!(f, Field::Code(_) | Field::Attr(_) | Field::Slow(_))),
            verb_q: only(|f| matches!(f, Field::Verb(_))),
            users,
            groups,
            verbs: Vec::new(),
            active: query.has_request_fields(),
        }
    }

    /// True when the query has request fields at all.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// True when request `r` of the run meets every request field.
    pub fn matches(&mut self, ctx: &super::context::Ctx, r: u32) -> bool {
        if !self.active {
            return true;
        }
        let run = &ctx.run;
        let Some(req) = run.requests.get(r as usize) else {
            return false;
        };
        if !self.users.is_empty() && !self.users.get(req.user as usize).copied().unwrap_or(false) {
            return false;
        }
        if !self.groups.is_empty() {
            let g = ctx
                .index
                .req_group
                .get(r as usize)
                .copied()
                .unwrap_or(u32::MAX);
            if !self.groups.get(g as usize).copied().unwrap_or(false) {
                return false;
            }
        }
        let verb_ok = match self.verbs.iter().find(|(v, _)| *v == req.verb) {
            Some(&(_, ok)) => ok,
            None => {
                // Decided once per distinct verb.
                let ok = self.verb_q.match_request(&RequestFacts {
                    code: 0,
                    attribution: Attribution::None,
                    user: "",
                    verb: run.str(req.verb),
                    op: "",
                    latency_us: None,
                });
                self.verbs.push((req.verb, ok));
                ok
            }
        };
        if !verb_ok {
            return false;
        }
        let latency = (req.received != crate::run::NO_TIME && req.completed != crate::run::NO_TIME)
            .then(|| req.completed - req.received);
        self.query.terms.iter().all(|t| {
            let hit = match &t.field {
                Field::Code(c) => c.matches(req.code),
                Field::Attr(list) => list.contains(&req.attribution),
                Field::Slow(Bound::Above(us)) => latency.is_some_and(|l| l > *us),
                Field::Slow(Bound::Below(us)) => latency.is_some_and(|l| l < *us),
                _ => return true,
            };
            hit != t.negated
        })
    }
}
