//! The merged call tree of a set of traces, kept as a flattened list of visible rows.
//!
//! The rows are rebuilt only on expand/collapse/filter, and drawing touches only the rows
//! in the window, so a tree of 100k nodes costs nothing per frame.

use crate::run::{FrameId, Run, TraceId};

/// Node key of a run of folded (vendored or runtime) frames.
pub const KEY_FOLDED: u32 = u32::MAX;
/// Node key of the marker for a truncated trace.
pub const KEY_TRUNCATED: u32 = u32::MAX - 1;
/// "No node".
pub const NO_NODE: u32 = u32::MAX;

/// How the tree is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TreeOptions {
    /// From the test function inwards (traces are stored innermost first).
    pub caller_first: bool,
    /// Fold runs of vendored (`/vendor/`) and runtime (`runtime.`, `testing.`) frames.
    pub fold: bool,
}

/// One node of the merged tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// A [`FrameId`], or [`KEY_FOLDED`] / [`KEY_TRUNCATED`].
    pub key: u32,
    /// Requests through this node.
    pub count: u64,
    /// The parent node, [`NO_NODE`] for a root.
    pub parent: u32,
    /// The children are `CallTree::child_list[child_start..child_start + child_len]`.
    pub child_start: u32,
    /// How many children.
    pub child_len: u32,
    /// Distance from the root.
    pub depth: u16,
    /// The first trace inserted through this node (for copying a representative trace).
    pub sample_trace: TraceId,
}

/// One visible row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// The node shown.
    pub node: u32,
    /// Distance from the root.
    pub depth: u16,
}

/// A merged call tree.
#[derive(Debug, Clone, Default)]
pub struct CallTree {
    /// Every node; a parent comes before its children.
    pub nodes: Vec<Node>,
    /// The top nodes, heaviest first.
    pub roots: Vec<u32>,
    /// Every node's children, node after node (see [`Node::child_start`]).
    pub child_list: Vec<u32>,
    /// Which nodes are open.
    pub expanded: Vec<bool>,
    /// The visible rows, in display order.
    pub rows: Vec<Row>,
    /// With a filter: which nodes match directly, and which are shown (match or have a
    /// matching descendant). Filtered trees show every shown node expanded.
    pub matched: Option<Vec<bool>>,
    shown: Option<Vec<bool>>,
    /// Requests in the selection that carry no trace.
    pub untraced: u64,
    /// Distinct traces merged.
    pub traces: usize,
    /// How the tree was built.
    pub options: TreeOptions,
}

/// True for frames folded by [`TreeOptions::fold`].
pub fn is_foldable(function: &str, file: &str) -> bool {
    function.starts_with("runtime.")
        || function.starts_with("testing.")
        || function.contains("/vendor/")
        || file.contains("/vendor/")
}

/// Above this many nodes a new tree opens only its first levels.
const EXPAND_ALL_LIMIT: usize = 400;

impl CallTree {
    /// Merges `traces` (each with its request count) into a tree.
    pub fn build(
        run: &Run,
        traces: &[(TraceId, u64)],
        untraced: u64,
        options: TreeOptions,
    ) -> CallTree {
        let mut tree = CallTree {
            untraced,
            traces: traces.len(),
            options,
            ..Default::default()
        };
        // Each trace becomes a path of node keys; sorting the paths puts shared prefixes
        // next to each other, so the trie is built in one pass without hashing.
        let mut paths: Vec<(Vec<u32>, u64, TraceId)> = Vec::with_capacity(traces.len());
        for &(t, weight) in traces {
            let Some(trace) = run.traces.get(t as usize) else {
                continue;
            };
            let mut path: Vec<u32> = Vec::with_capacity(trace.frames.len() + 1);
            if trace.truncated && options.caller_first {
                path.push(KEY_TRUNCATED);
            }
            let n = trace.frames.len();
            for i in 0..n {
                // Stored order is innermost first; the innermost frame (the client call)
                // is never folded, so the tree keeps its anchor.
                let stored = if options.caller_first { n - 1 - i } else { i };
                let f: FrameId = trace.frames[stored];
                let fold = options.fold
                    && stored != 0
                    && run
                        .frames
                        .get(f as usize)
                        .is_some_and(|fr| is_foldable(run.str(fr.function), run.str(fr.file)));
                if fold {
                    if path.last() != Some(&KEY_FOLDED) {
                        path.push(KEY_FOLDED);
                    }
                } else {
                    path.push(f);
                }
            }
            if trace.truncated && !options.caller_first {
                path.push(KEY_TRUNCATED);
            }
            paths.push((path, weight, t));
        }
        paths.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.2.cmp(&b.2)));
        let mut stack: Vec<u32> = Vec::new();
        let mut prev: &[u32] = &[];
        for (path, weight, t) in &paths {
            let common = prev
                .iter()
                .zip(path.iter())
                .take_while(|(a, b)| a == b)
                .count();
            stack.truncate(common);
            for (depth, &key) in path.iter().enumerate() {
                if depth >= stack.len() {
                    let parent = stack.last().copied().unwrap_or(NO_NODE);
                    let id = tree.nodes.len() as u32;
                    tree.nodes.push(Node {
                        key,
                        count: 0,
                        parent,
                        child_start: 0,
                        child_len: 0,
                        depth: depth as u16,
                        sample_trace: *t,
                    });
                    if parent == NO_NODE {
                        tree.roots.push(id);
                    } else if let Some(p) = tree.nodes.get_mut(parent as usize) {
                        p.child_len += 1;
                    }
                    stack.push(id);
                }
                if let Some(n) = stack
                    .get(depth)
                    .and_then(|&id| tree.nodes.get_mut(id as usize))
                {
                    n.count += weight;
                }
            }
            prev = path;
        }
        // Children in one flat list (no allocation per node), heaviest branch first;
        // ties by key so the order is stable.
        let mut at = 0u32;
        for n in tree.nodes.iter_mut() {
            n.child_start = at;
            at += n.child_len;
        }
        let mut fill: Vec<u32> = tree.nodes.iter().map(|n| n.child_start).collect();
        tree.child_list = vec![0; at as usize];
        for id in 0..tree.nodes.len() {
            let p = tree.nodes[id].parent;
            if let Some(slot) = fill.get_mut(p as usize) {
                tree.child_list[*slot as usize] = id as u32;
                *slot += 1;
            }
        }
        let nodes = &tree.nodes;
        let order = |list: &mut [u32]| {
            list.sort_by(|&a, &b| {
                let (na, nb) = (&nodes[a as usize], &nodes[b as usize]);
                nb.count.cmp(&na.count).then(na.key.cmp(&nb.key))
            });
        };
        order(&mut tree.roots);
        for n in nodes {
            if n.child_len > 1 {
                let range = n.child_start as usize..(n.child_start + n.child_len) as usize;
                order(&mut tree.child_list[range]);
            }
        }
        let all = tree.nodes.len() <= EXPAND_ALL_LIMIT;
        tree.expanded = tree.nodes.iter().map(|n| all || n.depth < 3).collect();
        tree.rebuild_rows();
        tree
    }

    /// Recomputes the visible rows.
    pub fn rebuild_rows(&mut self) {
        self.rows.clear();
        let mut stack: Vec<u32> = self.roots.iter().rev().copied().collect();
        while let Some(n) = stack.pop() {
            let Some(node) = self.nodes.get(n as usize) else {
                continue;
            };
            if let Some(shown) = &self.shown
                && !shown.get(n as usize).copied().unwrap_or(false)
            {
                continue;
            }
            self.rows.push(Row {
                node: n,
                depth: node.depth,
            });
            let open =
                self.shown.is_some() || self.expanded.get(n as usize).copied().unwrap_or(false);
            if open {
                stack.extend(self.children(n).iter().rev().copied());
            }
        }
    }

    /// Sets (or with `None` clears) a filter: `matched(node)` says which nodes match.
    pub fn set_filter(&mut self, matched: Option<Vec<bool>>) {
        match matched {
            None => {
                self.matched = None;
                self.shown = None;
            }
            Some(m) => {
                let mut shown = m.clone();
                // Children come after their parents in `nodes`: one backward pass marks
                // every ancestor of a match.
                for i in (0..self.nodes.len()).rev() {
                    if shown.get(i).copied().unwrap_or(false) {
                        let p = self.nodes[i].parent;
                        if let Some(s) = shown.get_mut(p as usize) {
                            *s = true;
                        }
                    }
                }
                self.matched = Some(m);
                self.shown = Some(shown);
            }
        }
        self.rebuild_rows();
    }

    /// The children of a node, heaviest first.
    pub fn children(&self, node: u32) -> &[u32] {
        self.nodes
            .get(node as usize)
            .and_then(|n| {
                self.child_list
                    .get(n.child_start as usize..(n.child_start + n.child_len) as usize)
            })
            .unwrap_or(&[])
    }

    /// True when the node has children.
    pub fn has_children(&self, node: u32) -> bool {
        self.nodes
            .get(node as usize)
            .is_some_and(|n| n.child_len > 0)
    }

    /// True when the node is shown open.
    pub fn is_open(&self, node: u32) -> bool {
        self.shown.is_some() || self.expanded.get(node as usize).copied().unwrap_or(false)
    }

    /// Opens or closes one node.
    pub fn set_expanded(&mut self, node: u32, open: bool) {
        if let Some(e) = self.expanded.get_mut(node as usize) {
            *e = open;
        }
        self.rebuild_rows();
    }

    /// Opens a node and everything below it.
    pub fn expand_subtree(&mut self, node: u32) {
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            if let Some(e) = self.expanded.get_mut(n as usize) {
                *e = true;
            }
            stack.extend(self.children(n).iter().copied());
        }
        self.rebuild_rows();
    }

    /// Opens or closes every node.
    pub fn set_all(&mut self, open: bool) {
        self.expanded.iter_mut().for_each(|e| *e = open);
        self.rebuild_rows();
    }

    /// Opens every ancestor of `node` so it is visible.
    pub fn reveal(&mut self, node: u32) {
        let mut p = self
            .nodes
            .get(node as usize)
            .map(|n| n.parent)
            .unwrap_or(NO_NODE);
        while let Some(n) = self.nodes.get(p as usize) {
            self.expanded[p as usize] = true;
            p = n.parent;
        }
        self.rebuild_rows();
    }

    /// The nodes from a root down to `node`.
    pub fn path_to(&self, node: u32) -> Vec<u32> {
        let mut path = Vec::new();
        let mut n = node;
        while let Some(nd) = self.nodes.get(n as usize) {
            path.push(n);
            n = nd.parent;
        }
        path.reverse();
        path
    }

    /// The row showing `node`, if visible.
    pub fn row_of(&self, node: u32) -> Option<usize> {
        self.rows.iter().position(|r| r.node == node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::testing::sample_run;

    #[test]
    fn merges_callee_first_and_folds() {
        let run = sample_run();
        // Traces 1 (get, 3 requests) and 2 (create, 1 request) share rest.Do.
        let t = CallTree::build(&run, &[(1, 3), (2, 1)], 0, TreeOptions::default());
        assert_eq!(t.roots.len(), 1);
        assert_eq!(t.nodes[t.roots[0] as usize].count, 4);
        assert_eq!(t.children(t.roots[0]).len(), 2);
        // 6 + 7 frames, sharing the root only.
        assert_eq!(t.nodes.len(), 12);
        assert_eq!(t.rows.len(), 12);
        let folded = CallTree::build(
            &run,
            &[(1, 3)],
            0,
            TreeOptions {
                caller_first: false,
                fold: true,
            },
        );
        // rest.Do stays; (*pods).Get folded; test func; ginkgo+testing+runtime folded.
        let keys: Vec<u32> = folded.nodes.iter().map(|n| n.key).collect();
        assert_eq!(
            keys,
            vec![0, KEY_FOLDED, run.traces[1].frames[2], KEY_FOLDED]
        );
        let caller = CallTree::build(
            &run,
            &[(4, 1)],
            0,
            TreeOptions {
                caller_first: true,
                fold: false,
            },
        );
        assert_eq!(caller.nodes[0].key, KEY_TRUNCATED);
        assert_eq!(caller.nodes.last().map(|n| n.key), Some(0));
    }

    #[test]
    fn filter_shows_ancestors() {
        let run = sample_run();
        let mut t = CallTree::build(&run, &[(1, 3), (2, 1)], 0, TreeOptions::default());
        let mut m = vec![false; t.nodes.len()];
        m[3] = true;
        t.set_filter(Some(m));
        assert_eq!(
            t.rows.iter().map(|r| r.node).collect::<Vec<_>>(),
            vec![0, 1, 2, 3]
        );
        t.set_filter(None);
        assert_eq!(t.rows.len(), 12);
        t.set_all(false);
        assert_eq!(t.rows.len(), 1);
    }
}
