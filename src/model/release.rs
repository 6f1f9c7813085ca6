//! Kubernetes releases (`1.33`) and sets of them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A Kubernetes minor release, such as `1.33`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Release {
    pub major: u8,
    pub minor: u8,
}

impl Release {
    /// `major.minor`.
    pub const fn new(major: u8, minor: u8) -> Release {
        Release { major, minor }
    }

    /// Reads a release or version as people and programs write it: `1.33`, `v1.33.2`,
    /// `1.33.0`, `v1.26.0+k3s1`, `v1.25.6-eks-…`. Only major and minor are kept.
    pub fn parse(text: &str) -> Option<Release> {
        let t = text.trim();
        let t = t.strip_prefix(['v', 'V']).unwrap_or(t);
        let mut parts = t.splitn(3, '.');
        let major = parts.next()?;
        let minor_part = parts.next()?;
        let digits = minor_part
            .find(|c: char| !c.is_ascii_digit())
            .map_or(minor_part, |i| &minor_part[..i]);
        if major.is_empty() || digits.is_empty() || !major.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Release {
            major: major.parse().ok()?,
            minor: digits.parse().ok()?,
        })
    }

    /// The previous minor release (`1.33` → `1.32`), if there is one.
    pub fn previous(self) -> Option<Release> {
        self.minor
            .checked_sub(1)
            .map(|m| Release::new(self.major, m))
    }

    /// The form APISnoop's coverage files use in `release`: `1.33.0`.
    pub fn patch_zero(self) -> String {
        format!("{self}.0")
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for Release {
    type Err = String;
    fn from_str(s: &str) -> Result<Release, String> {
        Release::parse(s).ok_or_else(|| format!("{s:?} is not a release such as 1.33"))
    }
}

impl Serialize for Release {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Release {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Release, D::Error> {
        let text = String::deserialize(d)?;
        Release::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("bad release {text:?}")))
    }
}

/// A set of `1.x` releases (1.0 to 1.63), one bit per minor version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ReleaseSet(pub u64);

impl ReleaseSet {
    /// The set holding no release.
    pub const EMPTY: ReleaseSet = ReleaseSet(0);

    /// Adds `r` (releases outside 1.0–1.63 cannot be held and are ignored).
    pub fn insert(&mut self, r: Release) {
        if r.major == 1 && r.minor < 64 {
            self.0 |= 1 << r.minor;
        }
    }

    /// True when `r` is in the set.
    pub fn contains(self, r: Release) -> bool {
        r.major == 1 && r.minor < 64 && self.0 & (1 << r.minor) != 0
    }

    /// Every release of `self` and `other`.
    pub fn union(self, other: ReleaseSet) -> ReleaseSet {
        ReleaseSet(self.0 | other.0)
    }

    /// True when the set holds no release.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The releases, oldest first.
    pub fn iter(self) -> impl Iterator<Item = Release> {
        (0..64u8)
            .filter(move |m| self.0 & (1 << m) != 0)
            .map(|m| Release::new(1, m))
    }

    /// Written as ranges: `1.17-1.27,1.30`.
    pub fn to_text(self) -> String {
        let mut out = String::new();
        let all: Vec<u8> = self.iter().map(|r| r.minor).collect();
        let mut i = 0;
        while i < all.len() {
            let mut j = i;
            while j + 1 < all.len() && all[j + 1] == all[j] + 1 {
                j += 1;
            }
            if !out.is_empty() {
                out.push(',');
            }
            if i == j {
                out.push_str(&format!("1.{}", all[i]));
            } else {
                out.push_str(&format!("1.{}-1.{}", all[i], all[j]));
            }
            i = j + 1;
        }
        out
    }

    /// Reads [`ReleaseSet::to_text`]'s form.
    pub fn parse(text: &str) -> Option<ReleaseSet> {
        let mut set = ReleaseSet::EMPTY;
        for part in text.split(',') {
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            let (a, b) = (Release::parse(a)?, Release::parse(b)?);
            if a.major != 1 || b.major != 1 || a.minor > b.minor || b.minor >= 64 {
                return None;
            }
            for m in a.minor..=b.minor {
                set.insert(Release::new(1, m));
            }
        }
        Some(set)
    }
}

/// How the run's Kubernetes release was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReleaseSource {
    /// `--release X.Y` on the command line.
    Flag,
    /// The e2e log's `kube-apiserver version: v1.26.0+k3s1`.
    E2eLog,
    /// The e2e client's user agent (`e2e.test/v1.35.0`).
    E2eUserAgent,
    /// The user agents of the cluster's own components (`kubelet/v1.25.6`, `kubelite/…`).
    ComponentUserAgent,
    /// Nothing in the inputs said: the newest release known.
    Latest,
}

impl ReleaseSource {
    /// How `report summary` says it.
    pub fn describe(self) -> &'static str {
        match self {
            ReleaseSource::Flag => "given with --release",
            ReleaseSource::E2eLog => "from the e2e log's kube-apiserver version",
            ReleaseSource::E2eUserAgent => "from the e2e.test user agent",
            ReleaseSource::ComponentUserAgent => "from the cluster components' user agents",
            ReleaseSource::Latest => "the latest known (nothing in the inputs said)",
        }
    }
}

/// The Kubernetes release whose endpoint table the requests were matched against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRelease {
    /// The release used (`1.25`).
    pub release: Release,
    /// How it was chosen.
    pub source: ReleaseSource,
    /// What the source said, as written (`v1.25.6`, `kubelet/v1.25.6`); empty for
    /// [`ReleaseSource::Latest`].
    #[serde(default)]
    pub evidence: String,
    /// The release the inputs named when the tables do not have it (then [`RunRelease::release`]
    /// is the nearest one they have).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected: Option<Release>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions_as_written() {
        for (text, want) in [
            ("1.33", (1, 33)),
            ("v1.26.0+k3s1", (1, 26)),
            ("v1.25.6", (1, 25)),
            ("1.37.0", (1, 37)),
            ("v1.30.2-eks-1552ad0", (1, 30)),
            ("v1.19+", (1, 19)),
        ] {
            assert_eq!(
                Release::parse(text),
                Some(Release::new(want.0, want.1)),
                "{text}"
            );
        }
        for bad in ["", "1", "v", "x.y", "1.", ".3", "300.1"] {
            assert_eq!(Release::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn sets_round_trip_as_ranges() {
        let set = ReleaseSet::parse("1.17-1.27,1.30,1.32-1.33").unwrap();
        assert_eq!(set.iter().count(), 14);
        assert_eq!(set.to_text(), "1.17-1.27,1.30,1.32-1.33");
        assert!(ReleaseSet::parse("1.30-1.20").is_none());
        assert!(ReleaseSet::parse("2.1").is_none());
    }
}
