//! [`StepGraph`]: the steps a provider's deploy has and what each waits for, declared by the provider.
//! A provider shaped like none of the seed's recipe (no cluster object, no listeners, a binding that
//! needs the service) drops the steps it lacks and adds the edges it needs; nothing is inherited.

use crate::StepId;

/// How many steps of its own a provider may add.
pub const OWN_STEPS_MAX: usize = 8;

const RECIPE_STEPS: usize = StepId::ALL.len();
const COUNT: usize = RECIPE_STEPS + OWN_STEPS_MAX;

/// The steps of a deploy and the edges between them ("`step` starts after `after`"). Built from
/// [`StepGraph::RECIPE`] or [`StepGraph::EMPTY`] by adding and dropping steps and edges — the
/// provider's own steps ([`StepId::Own`]) among them, at most [`OWN_STEPS_MAX`] — in `const` context
/// so a provider can declare it as a constant.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StepGraph {
    /// The names of the provider's own steps, in the order they were first named ("" for a free slot).
    own: [&'static str; OWN_STEPS_MAX],
    steps: u32,
    after: [u32; COUNT],
}

const fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

impl StepGraph {
    /// No step at all: a provider declares each step it has.
    pub const EMPTY: StepGraph = StepGraph { own: [""; OWN_STEPS_MAX], steps: 0, after: [0; COUNT] };

    /// Every step of the seed's recipe ([`StepId::ALL`]), with the neutral dependencies of
    /// [`StepId::dependencies`]; no step of a provider's own.
    pub const RECIPE: StepGraph = {
        let mut graph = StepGraph::EMPTY;
        let mut i = 0;
        while i < RECIPE_STEPS {
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

    /// Where `step` is kept, if the graph knows it.
    const fn slot(&self, step: StepId) -> Option<usize> {
        match step {
            StepId::Own(name) => {
                let mut i = 0;
                while i < OWN_STEPS_MAX {
                    if !self.own[i].is_empty() && same_name(self.own[i], name) {
                        return Some(RECIPE_STEPS + i);
                    }
                    i += 1;
                }
                None
            }
            _ => step.recipe_index(),
        }
    }

    /// Where `step` is kept, given a place if it is a new own step (panics, or fails to compile in a
    /// constant, past [`OWN_STEPS_MAX`]).
    const fn slot_or_add(&mut self, step: StepId) -> usize {
        if let Some(slot) = self.slot(step) {
            return slot;
        }
        let StepId::Own(name) = step else { unreachable!() };
        let mut i = 0;
        while i < OWN_STEPS_MAX {
            if self.own[i].is_empty() {
                self.own[i] = name;
                return RECIPE_STEPS + i;
            }
            i += 1;
        }
        panic!("a provider may add at most OWN_STEPS_MAX steps of its own");
    }

    const fn step_at(&self, slot: usize) -> StepId {
        match slot < RECIPE_STEPS {
            true => StepId::ALL[slot],
            false => StepId::Own(self.own[slot - RECIPE_STEPS]),
        }
    }

    /// The same graph with `step` (its edges are kept, or added with [`with_edge`](Self::with_edge)).
    pub const fn with_step(mut self, step: StepId) -> Self {
        let slot = self.slot_or_add(step);
        self.steps |= 1 << slot;
        self
    }

    /// The same graph without `step`: it does not run, has no plan row, and steps that waited for it
    /// count it as done.
    pub const fn without_step(mut self, step: StepId) -> Self {
        if let Some(slot) = self.slot(step) {
            self.steps &= !(1 << slot);
        }
        self
    }

    /// The same graph with `step` starting only after `after` is done.
    pub const fn with_edge(mut self, step: StepId, after: StepId) -> Self {
        let (slot, after) = (self.slot_or_add(step), self.slot_or_add(after));
        self.after[slot] |= 1 << after;
        self
    }

    /// The same graph without the edge from `step` to `after`.
    pub const fn without_edge(mut self, step: StepId, after: StepId) -> Self {
        if let (Some(slot), Some(after)) = (self.slot(step), self.slot(after)) {
            self.after[slot] &= !(1 << after);
        }
        self
    }

    /// True when the graph has `step`.
    pub const fn has(&self, step: StepId) -> bool {
        match self.slot(step) {
            Some(slot) => self.steps & (1 << slot) != 0,
            None => false,
        }
    }

    /// True when `step` waits for `after` (whether or not either is in the graph).
    pub const fn has_edge(&self, step: StepId, after: StepId) -> bool {
        match (self.slot(step), self.slot(after)) {
            (Some(slot), Some(after)) => self.after[slot] & (1 << after) != 0,
            _ => false,
        }
    }

    /// Every step the graph knows, in it or not: the recipe's in [`StepId::ALL`]'s order, then the
    /// provider's own in the order they were first named.
    pub fn known(&self) -> Vec<StepId> {
        self.at_slots(u32::MAX)
    }

    /// The steps known at the slots `bits` sets, in slot order.
    fn at_slots(&self, bits: u32) -> Vec<StepId> {
        (0..COUNT)
            .filter(|slot| bits & (1 << slot) != 0)
            .filter(|slot| *slot < RECIPE_STEPS || !self.own[slot - RECIPE_STEPS].is_empty())
            .map(|slot| self.step_at(slot))
            .collect()
    }

    /// The steps of the graph, in [`known`](Self::known)'s order.
    pub fn steps(&self) -> Vec<StepId> {
        self.at_slots(self.steps)
    }

    /// The provider's own steps in the graph ([`StepId::Own`]).
    pub fn own_steps(&self) -> Vec<StepId> {
        self.steps().into_iter().filter(|s| matches!(s, StepId::Own(_))).collect()
    }

    /// The steps `step` waits for, in [`known`](Self::known)'s order (steps outside the graph
    /// included: they count as done).
    pub fn dependencies(&self, step: StepId) -> Vec<StepId> {
        self.slot(step).map_or_else(Vec::new, |slot| self.at_slots(self.after[slot]))
    }

    /// A cycle among the graph's steps, as the steps around it (first repeated last), if there is one.
    pub fn cycle(&self) -> Option<Vec<StepId>> {
        fn visit(
            graph: &StepGraph,
            step: StepId,
            path: &mut Vec<StepId>,
            done: &mut Vec<StepId>,
        ) -> Option<Vec<StepId>> {
            if let Some(at) = path.iter().position(|s| *s == step) {
                let mut cycle = path[at..].to_vec();
                cycle.push(step);
                return Some(cycle);
            }
            if done.contains(&step) {
                return None;
            }
            path.push(step);
            for after in graph.dependencies(step).into_iter().filter(|s| graph.has(*s)) {
                if let Some(cycle) = visit(graph, after, path, done) {
                    return Some(cycle);
                }
            }
            path.pop();
            done.push(step);
            None
        }
        let mut done = Vec::new();
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
        assert_eq!(StepGraph::RECIPE.own_steps(), []);
    }

    #[test]
    fn an_own_step_can_come_before_every_other() {
        // A Kubernetes namespace: every root of the recipe waits for it.
        let namespace = StepId::Own("namespace");
        let mut graph = StepGraph::RECIPE.with_step(namespace);
        for step in StepId::ALL.into_iter().filter(|s| s.dependencies().is_empty()) {
            graph = graph.with_edge(step, namespace);
        }
        assert_eq!(graph.cycle(), None);
        assert!(graph.has(namespace) && graph.has_edge(StepId::Zone, namespace));
        assert_eq!(graph.dependencies(namespace), []);
        assert_eq!(graph.own_steps(), [namespace]);
        assert!(!graph.without_step(namespace).has(namespace));
        assert_eq!(graph.without_step(namespace).known().last(), Some(&namespace), "known even when dropped");
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
