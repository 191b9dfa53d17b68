//! Runs steps as a dependency graph: each starts when its dependencies are done, independent ones run
//! concurrently; a failed step skips its dependents but not the rest. Also the critical path of a plan.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use futures::future::{join_all, BoxFuture, FutureExt, Shared};

use super::StepId;
use crate::{Capabilities, Error};

/// How a step ended, as seen by its dependents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Done,
    /// Failed itself, or skipped because `root` failed.
    Failed {
        root: StepId,
    },
}

/// Runs `run(step)` for every step in `steps` (a subset of [`StepId::ALL`], dependencies outside it
/// count as done). `skipped(step, root)` is told about steps not run because `root` failed.
/// Returns every error, in step order.
pub(crate) async fn run_graph<'a>(
    steps: &[StepId],
    capabilities: &Capabilities,
    run: impl Fn(StepId) -> BoxFuture<'a, Result<(), Error>>,
    skipped: impl Fn(StepId, StepId) + Sync + 'a,
) -> Vec<Error> {
    let errors = Mutex::new(Vec::new());
    let mut handles: HashMap<StepId, Shared<BoxFuture<'_, Outcome>>> = HashMap::new();
    let ordered = capabilities.ordered(steps);
    for step in &ordered {
        let step = *step;
        let deps: Vec<_> = capabilities.dependencies(step).iter().filter_map(|d| handles.get(d).cloned()).collect();
        let work = run(step);
        let (errors, skipped) = (&errors, &skipped);
        let handle = async move {
            for dep in deps {
                if let Outcome::Failed { root } = dep.await {
                    skipped(step, root);
                    return Outcome::Failed { root };
                }
            }
            match work.await {
                Ok(()) => Outcome::Done,
                Err(error) => {
                    if let Ok(mut errors) = errors.lock() {
                        errors.push((step, error));
                    }
                    Outcome::Failed { root: step }
                }
            }
        }
        .boxed()
        .shared();
        handles.insert(step, handle);
    }
    join_all(ordered.iter().filter_map(|s| handles.get(s).cloned())).await;
    drop(handles);
    let mut errors = errors.into_inner().unwrap_or_default();
    errors.sort_by_key(|(step, _)| *step);
    errors.into_iter().map(|(_, e)| e).collect()
}

/// The longest chain through `steps` when each takes `cost(step)`: its length and its steps in order.
pub(crate) fn critical_path(
    steps: &[StepId],
    capabilities: &Capabilities,
    cost: impl Fn(StepId) -> Duration,
) -> (Duration, Vec<StepId>) {
    let mut finish: HashMap<StepId, (Duration, Option<StepId>)> = HashMap::new();
    for step in capabilities.ordered(steps) {
        let (start, via) = capabilities
            .dependencies(step)
            .iter()
            .filter_map(|d| finish.get(d).map(|(t, _)| (*t, Some(*d))))
            .max_by_key(|(t, _)| *t)
            .unwrap_or((Duration::ZERO, None));
        finish.insert(step, (start + cost(step), via));
    }
    let Some((&last, &(total, _))) = finish.iter().max_by_key(|(s, (t, _))| (*t, std::cmp::Reverse(**s))) else {
        return (Duration::ZERO, Vec::new());
    };
    let mut path = vec![last];
    while let Some((_, Some(prev))) = path.last().and_then(|s| finish.get(s)) {
        path.push(*prev);
    }
    path.reverse();
    (total, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn critical_path_follows_the_slowest_chain() {
        let cost = |s: StepId| match s {
            StepId::LoadBalancerActive => Duration::from_secs(180),
            StepId::ServiceStable => Duration::from_secs(150),
            _ => Duration::from_secs(1),
        };
        let (total, path) = critical_path(&StepId::ALL, &Capabilities::CLOUD, cost);
        assert_eq!(path, [StepId::LoadBalancerFirewall, StepId::LoadBalancer, StepId::LoadBalancerActive]);
        assert_eq!(total, Duration::from_secs(182));
    }

    #[tokio::test]
    async fn a_failed_step_skips_only_its_dependents() {
        let skipped = Mutex::new(Vec::new());
        let errors = run_graph(
            &StepId::ALL,
            &Capabilities::CLOUD,
            |step| {
                async move {
                    if step == StepId::Cluster {
                        Err(Error::Internal { step, missing: "test" })
                    } else {
                        Ok(())
                    }
                }
                .boxed()
            },
            |step, root| skipped.lock().unwrap().push((step, root)),
        )
        .await;
        assert_eq!(errors.len(), 1);
        let skipped = skipped.into_inner().unwrap();
        assert!(skipped.contains(&(StepId::Service, StepId::Cluster)));
        assert!(skipped.contains(&(StepId::ServiceStable, StepId::Cluster)));
        assert!(!skipped.iter().any(|(s, _)| *s == StepId::LoadBalancerActive));
    }
}
