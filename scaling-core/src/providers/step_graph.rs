//! [`StepGraph`]: the steps a provider's deploy has and what each waits for, declared by the provider.
//! A provider shaped like none of the seed's recipe (no cluster object, no listeners, a binding that
//! needs the service) drops the steps it lacks and adds the edges it needs; nothing is inherited.

use crate::StepId;

const COUNT: usize = StepId::ALL.len();

/// The steps of a deploy and the edges between them ("`step` starts after `after`"). Built from
/// [`StepGraph::RECIPE`] or [`StepGraph::EMPTY`] by adding and dropping steps and edges, in `const`
/// context so a provider can declare it as a constant.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StepGraph {
    steps: u32,
    after: [u32; COUNT],
}

const fn bit(step: StepId) -> u32 {
    1 << step as usize
}

impl StepGraph {
    /// No step at all: a provider declares each step it has.
    pub const EMPTY: StepGraph = StepGraph { steps: 0, after: [0; COUNT] };

    /// Every step of the seed's recipe, with the neutral dependencies of [`StepId::dependencies`].
    pub const RECIPE: StepGraph = {
        let mut graph = StepGraph::EMPTY;
        let mut i = 0;
        while i < COUNT {
            graph = graph.with_step(StepId::ALL[i]);
            let deps = StepId::ALL[i].dependencies();
            let mut j = 0;
            while j < deps.len() {
                graph = graph.with_edge(StepId::ALL[i], deps[j]);
                j += 1;
            }
            i += 1;
        }
        graph
    };

    /// The same graph with `step` (its edges are kept, or added with [`with_edge`](Self::with_edge)).
    pub const fn with_step(mut self, step: StepId) -> Self {
        self.steps |= bit(step);
        self
    }

    /// The same graph without `step`: it does not run, has no plan row, and steps that waited for it
    /// count it as done.
    pub const fn without_step(mut self, step: StepId) -> Self {
        self.steps &= !bit(step);
        self
    }

    /// The same graph with `step` starting only after `after` is done.
    pub const fn with_edge(mut self, step: StepId, after: StepId) -> Self {
        self.after[step as usize] |= bit(after);
        self
    }

    /// The same graph without the edge from `step` to `after`.
    pub const fn without_edge(mut self, step: StepId, after: StepId) -> Self {
        self.after[step as usize] &= !bit(after);
        self
    }

    /// True when the graph has `step`.
    pub const fn has(&self, step: StepId) -> bool {
        self.steps & bit(step) != 0
    }

    /// True when `step` waits for `after` (whether or not either is in the graph).
    pub const fn has_edge(&self, step: StepId, after: StepId) -> bool {
        self.after[step as usize] & bit(after) != 0
    }

    /// The steps of the graph, in [`StepId::ALL`]'s order.
    pub fn steps(&self) -> Vec<StepId> {
        StepId::ALL.into_iter().filter(|s| self.has(*s)).collect()
    }

    /// The steps `step` waits for, in [`StepId::ALL`]'s order (steps outside the graph included: they
    /// count as done).
    pub fn dependencies(&self, step: StepId) -> Vec<StepId> {
        StepId::ALL.into_iter().filter(|after| self.has_edge(step, *after)).collect()
    }

    /// A cycle among the graph's steps, as the steps around it (first repeated last), if there is one.
    pub fn cycle(&self) -> Option<Vec<StepId>> {
        fn visit(graph: &StepGraph, step: StepId, path: &mut Vec<StepId>, done: &mut u32) -> Option<Vec<StepId>> {
            if let Some(at) = path.iter().position(|s| *s == step) {
                let mut cycle = path[at..].to_vec();
                cycle.push(step);
                return Some(cycle);
            }
            if *done & bit(step) != 0 {
                return None;
            }
            path.push(step);
            for after in graph.dependencies(step).into_iter().filter(|s| graph.has(*s)) {
                if let Some(cycle) = visit(graph, after, path, done) {
                    return Some(cycle);
                }
            }
            path.pop();
            *done |= bit(step);
            None
        }
        let mut done = 0;
        self.steps().into_iter().find_map(|step| visit(self, step, &mut Vec::new(), &mut done))
    }
}

impl std::fmt::Debug for StepGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for step in self.steps() {
            map.entry(&step, &self.dependencies(step));
        }
        map.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recipe_is_the_neutral_table() {
        for step in StepId::ALL {
            assert!(StepGraph::RECIPE.has(step));
            let mut neutral = step.dependencies().to_vec();
            neutral.sort();
            assert_eq!(StepGraph::RECIPE.dependencies(step), neutral);
        }
        assert_eq!(StepGraph::RECIPE.cycle(), None);
    }

    #[test]
    fn steps_and_edges_come_and_go() {
        let graph = StepGraph::EMPTY
            .with_step(StepId::Service)
            .with_step(StepId::LoadBalancer)
            .with_edge(StepId::LoadBalancer, StepId::Service);
        assert_eq!(graph.steps(), [StepId::LoadBalancer, StepId::Service]);
        assert_eq!(graph.dependencies(StepId::LoadBalancer), [StepId::Service]);
        assert!(!graph
            .without_edge(StepId::LoadBalancer, StepId::Service)
            .has_edge(StepId::LoadBalancer, StepId::Service));
        assert!(!graph.without_step(StepId::Service).has(StepId::Service));
    }

    #[test]
    fn a_cycle_is_found_and_named() {
        let graph = StepGraph::RECIPE.with_edge(StepId::LoadBalancerFirewall, StepId::LoadBalancerActive);
        let cycle = graph.cycle().expect("a cycle");
        assert_eq!(cycle.first(), cycle.last());
        assert!(cycle.contains(&StepId::LoadBalancer) && cycle.contains(&StepId::LoadBalancerActive), "{cycle:?}");
        // Dropping a step on the way breaks it.
        assert_eq!(graph.without_step(StepId::LoadBalancerActive).cycle(), None);
    }
}
