//! Choosing the release whose endpoint table a run is matched against.

use crate::model::release::{Release, ReleaseSource, RunRelease};

use super::Catalog;

/// Programs that ship with the API server and carry its version in their user agent
/// (`kubelet/v1.25.6 (linux/amd64) kubernetes/ff2c119`). kubectl is not one: a client of any
/// version can talk to the server.
pub const COMPONENTS: [&str; 10] = [
    "kubelet",
    "kube-controller-manager",
    "kube-scheduler",
    "kube-proxy",
    "kube-apiserver",
    "kubelite",
    "hyperkube",
    "k3s",
    "cloud-controller-manager",
    "kube-aggregator",
];

/// What the inputs say about the release, for [`choose_release`].
#[derive(Debug, Clone, Default)]
pub struct ReleaseEvidence {
    /// `--release X.Y`.
    pub flag: Option<Release>,
    /// Versions printed by e2e logs (`v1.26.0+k3s1`).
    pub e2e_log: Vec<String>,
    /// `(product, version, n)`: each product and version the run's user agents carry, in the
    /// order first seen, with how many distinct user agents carry it (a run of the 2018 kind
    /// has a hundred thousand agents, most of them one client's with different backtraces).
    pub agents: Vec<(String, String, usize)>,
}

/// Picks the release: `--release`, else the e2e log's `kube-apiserver version`, else the
/// `e2e.test/vX` user agent, else the cluster components' user agents (the most common
/// version among them), else the newest release of `catalog`. A release the catalog lacks
/// is replaced by the nearest one it has, and [`RunRelease::detected`] keeps the original.
pub fn choose_release(evidence: &ReleaseEvidence, catalog: &Catalog) -> RunRelease {
    let latest = catalog.latest().unwrap_or(Release::new(1, 37));
    let found = evidence
        .flag
        .map(|r| (r, ReleaseSource::Flag, String::new()))
        .or_else(|| {
            evidence
                .e2e_log
                .iter()
                .find_map(|v| Release::parse(v).map(|r| (r, ReleaseSource::E2eLog, v.clone())))
        })
        .or_else(|| most_common(evidence, |p| p == "e2e.test", ReleaseSource::E2eUserAgent))
        .or_else(|| {
            most_common(
                evidence,
                |p| COMPONENTS.contains(&p),
                ReleaseSource::ComponentUserAgent,
            )
        });
    let Some((release, source, evidence_text)) = found else {
        return RunRelease {
            release: latest,
            source: ReleaseSource::Latest,
            evidence: String::new(),
            detected: None,
        };
    };
    let nearest = catalog.nearest(release).unwrap_or(latest);
    RunRelease {
        release: nearest,
        source,
        evidence: evidence_text,
        detected: (nearest != release).then_some(release),
    }
}

/// The most common release among the agents whose product passes `wanted` (ties: the newer).
fn most_common(
    evidence: &ReleaseEvidence,
    wanted: impl Fn(&str) -> bool,
    source: ReleaseSource,
) -> Option<(Release, ReleaseSource, String)> {
    let mut counts: Vec<(Release, usize, String)> = Vec::new();
    for (product, version, n) in &evidence.agents {
        if !wanted(product) {
            continue;
        }
        let Some(r) = Release::parse(version) else {
            continue;
        };
        match counts.iter_mut().find(|(c, _, _)| *c == r) {
            Some(entry) => entry.1 += n,
            None => counts.push((r, *n, format!("{product}/{version}"))),
        }
    }
    counts
        .into_iter()
        .max_by_key(|(r, n, _)| (*n, *r))
        .map(|(r, _, text)| (r, source, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agents(list: &[(&str, &str)]) -> Vec<(String, String, usize)> {
        list.iter()
            .map(|(p, v)| (p.to_string(), v.to_string(), 1))
            .collect()
    }

    #[test]
    fn order_of_evidence() {
        let c = Catalog::embedded();
        let mut e = ReleaseEvidence {
            agents: agents(&[
                ("kubelite", "v1.25.6"),
                ("kubectl", "v1.30.0"),
                ("kube-controller-manager", "v1.25.6"),
            ]),
            ..Default::default()
        };
        let r = choose_release(&e, c);
        assert_eq!(
            (r.release.to_string(), r.source, r.evidence.as_str()),
            (
                "1.25".into(),
                ReleaseSource::ComponentUserAgent,
                "kubelite/v1.25.6"
            )
        );
        e.agents.push(("e2e.test".into(), "v1.26.1".into(), 1));
        assert_eq!(choose_release(&e, c).source, ReleaseSource::E2eUserAgent);
        e.e2e_log.push("v1.27.0+k3s1".into());
        let r = choose_release(&e, c);
        assert_eq!(
            (r.release, r.source),
            (Release::new(1, 27), ReleaseSource::E2eLog)
        );
        e.flag = Some(Release::new(1, 33));
        assert_eq!(choose_release(&e, c).source, ReleaseSource::Flag);
        let r = choose_release(&ReleaseEvidence::default(), c);
        assert_eq!(
            (r.release, r.source),
            (Release::new(1, 37), ReleaseSource::Latest)
        );
        // AKS 1.15: not in the tables, the oldest one is used and the detected one kept.
        let r = choose_release(
            &ReleaseEvidence {
                agents: agents(&[("hyperkube", "v1.15.10")]),
                ..Default::default()
            },
            c,
        );
        assert_eq!(
            (r.release, r.detected),
            (Release::new(1, 17), Some(Release::new(1, 15)))
        );
    }
}
