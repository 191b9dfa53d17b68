//! Resource kinds described once. A [`Resource`] says, for one kind, how it is read, what the spec
//! wants given the ids of what it refers to, how the two differ, how it is made and how it goes.
//! Observe's reads, the plan's rows, apply's steps, destroy's deletions and the owned list all iterate
//! over the same descriptors ([`super::kinds`]); what differs between plan and apply is only where ids come from:
//! [`Planned`] (observed, or a placeholder for what apply will make) or [`Made`] (what earlier steps
//! made).

use futures::future::BoxFuture;

use super::apply::Outputs;
use super::desired::{Desired, ImageSource};
use super::diff::{Action, Diff};
use super::kinds::{self, EachKind};
use super::observe::Observed;
use super::{DestroyOptions, Providers, StepId};
use crate::providers::{Capabilities, ClusterInfo, Owner};
use crate::{Error, ProviderResult, Result};

/// The placeholder for an id that does not exist yet.
pub(crate) const NEW: &str = "(new)";

/// One resource kind: its step, its desired value and its observed one (spec and status), and the
/// calls that converge and delete it.
pub(crate) trait Resource: Sized + 'static {
    /// The step that makes it.
    const STEP: StepId;
    /// The id later steps refer to before it exists (the plan's placeholder).
    const PLACEHOLDER: &'static str = NEW;
    /// True when every change makes a new one with a new id (a revision), so the plan cannot refer to
    /// the observed one's id once it differs.
    const IMMUTABLE: bool = false;
    /// What the spec asks of it.
    type Wanted: Send + Sync + 'static;
    /// What a provider reports of it: the spec as it is, with its id and status.
    type Info: Clone + Send + Sync + 'static;

    /// True when the spec wants one at all (a certificate only with HTTPS).
    fn wanted(_d: &Desired) -> bool {
        true
    }
    /// What the spec wants, given the ids of what it refers to.
    fn desired(d: &Desired, ids: &dyn Ids) -> Result<Self::Wanted>;
    /// Its name in the plan's row (after the provider's noun for it).
    fn name(d: &Desired, wanted: &Self::Wanted) -> String;
    /// True when observe reads it in a chain of its own (another read needs it, or it needs
    /// another's: the load balancer before its listeners, the cluster before the service); every other
    /// kind is read by [`Resource::find`] beside everything else, at once.
    const READ_IN_A_CHAIN: bool = false;

    /// True when observe reads it with these providers (where they have its step, unless said
    /// otherwise).
    fn read_with(capabilities: &Capabilities) -> bool {
        capabilities.has_step(Self::STEP)
    }
    /// Reads what the app owns of it, by the names `d` gives; `o` holds what was read before it (the
    /// service's cluster) and how far observation reaches.
    fn find<'a>(p: &'a Providers, d: &'a Desired, o: &'a Observed) -> BoxFuture<'a, ProviderResult<Vec<Self::Info>>>;
    /// The observed one the spec's corresponds to (the one the app has, unless said otherwise).
    fn observed<'o>(d: &Desired, o: &'o Observed) -> Option<&'o Self::Info> {
        let _ = d;
        o.all::<Self>().first()
    }
    /// How `observed` (the one of all that `o` holds) differs from `wanted`.
    fn diff(o: &Observed, d: &Desired, wanted: &Self::Wanted, observed: Option<&Self::Info>) -> Diff;
    /// Makes it, or brings it to `wanted`.
    fn ensure<'a>(p: &'a Providers, wanted: &'a Self::Wanted) -> BoxFuture<'a, ProviderResult<Self::Info>>;
    /// Its id.
    fn id(info: &Self::Info) -> &str;
    /// What apply's done event shows beside the action (its id unless said otherwise).
    fn shown(info: &Self::Info) -> Option<String> {
        Some(Self::id(info).to_string())
    }
    /// Every observed one the app owns (what destroy deletes).
    fn owned(o: &Observed) -> Vec<&Self::Info> {
        o.all::<Self>().iter().collect()
    }
    /// An owned one's name in destroy's rows and the owned list (after the provider's noun).
    fn owned_name(info: &Self::Info) -> String;
    /// The step destroy deletes it under (its own unless the graph hands it to another).
    fn teardown_step(_capabilities: &Capabilities) -> StepId {
        Self::STEP
    }
    /// Why destroy with `options` keeps the owned ones, if it does (what to pass to delete them).
    fn kept_by(_options: &DestroyOptions) -> Option<&'static str> {
        None
    }
    /// Deletes an owned one.
    fn delete<'a>(p: &'a Providers, owner: &'a Owner, info: &'a Self::Info) -> BoxFuture<'a, ProviderResult<()>>;
}

/// `info`'s label in destroy's rows and the owned list: the provider's noun and its name.
pub(crate) fn owned_label<K: Resource>(capabilities: &Capabilities, info: &K::Info) -> String {
    format!("{} {}", capabilities.noun(K::STEP), K::owned_name(info))
}

/// The ids a desired resource refers to, and what was observed (the counts a service keeps).
pub(crate) trait Ids {
    /// What plan observed.
    fn observed(&self) -> &Observed;
    /// The id of `step`'s resource; `None` where these providers have no such step.
    fn id(&self, step: StepId) -> Result<Option<String>>;
    /// The image the revision runs.
    fn image(&self) -> Result<String>;
    /// The cluster the service runs in (the implicit one where there is no cluster step).
    fn cluster(&self) -> Result<ClusterInfo>;
}

/// Ids as the plan knows them: the observed resource's, or a placeholder for one apply will make.
pub(crate) struct Planned<'a> {
    pub desired: &'a Desired,
    pub observed: &'a Observed,
}

/// Ids as apply made them, for `step`: a missing one is a bug in the graph.
pub(crate) struct Made<'a> {
    pub desired: &'a Desired,
    pub observed: &'a Observed,
    pub out: &'a Outputs,
    pub step: StepId,
}

/// The id of `step`'s resource as `find` has it, and the placeholder the plan shows until it exists.
fn id_of<F: Find>(step: StepId, find: &F) -> (Option<String>, &'static str) {
    struct IdOf<'f, F> {
        step: StepId,
        find: &'f F,
        id: Option<String>,
        placeholder: &'static str,
    }
    impl<F: Find> EachKind for IdOf<'_, F> {
        fn kind<K: Resource>(&mut self) {
            if K::STEP == self.step {
                self.id = self.find.get::<K>().map(|info| K::id(info).to_string());
                self.placeholder = K::PLACEHOLDER;
            }
        }
    }
    let mut visit = IdOf { step, find, id: None, placeholder: NEW };
    kinds::each_kind(&mut visit);
    (visit.id, visit.placeholder)
}

/// Where a kind's current value is found.
trait Find {
    fn get<K: Resource>(&self) -> Option<&K::Info>;
}

/// The observed one of kind `K` that `wanted` keeps: any, unless every change of `K` makes a new one
/// (a revision) and `wanted` differs from it.
pub(crate) fn kept<'o, K: Resource>(d: &Desired, o: &'o Observed, wanted: &K::Wanted) -> Option<&'o K::Info> {
    let found = K::observed(d, o)?;
    (!K::IMMUTABLE || K::diff(o, d, wanted, Some(found)).action == Action::NoChange).then_some(found)
}

impl Find for Planned<'_> {
    /// The observed one, unless a change will replace it with a new id.
    fn get<K: Resource>(&self) -> Option<&K::Info> {
        let (d, o) = (self.desired, self.observed);
        match K::IMMUTABLE {
            true => kept::<K>(d, o, &K::desired(d, self).ok()?),
            false => K::observed(d, o),
        }
    }
}

impl Find for Made<'_> {
    fn get<K: Resource>(&self) -> Option<&K::Info> {
        self.out.made.get::<K>()
    }
}

impl Ids for Planned<'_> {
    fn observed(&self) -> &Observed {
        self.observed
    }

    fn id(&self, step: StepId) -> Result<Option<String>> {
        if !self.desired.capabilities.has_step(step) {
            return Ok(None);
        }
        let (id, placeholder) = id_of(step, self);
        Ok(Some(id.unwrap_or_else(|| placeholder.to_string())))
    }

    fn image(&self) -> Result<String> {
        let (d, o) = (self.desired, self.observed);
        Ok(match (&d.image, o.one::<kinds::Repository>()) {
            (ImageSource::Built(a), Some(repo)) => format!("{}@{}", repo.uri, a.digest),
            (ImageSource::Built(a), None) => format!("{}@{}", d.names.repository, a.digest),
            (ImageSource::Prebuilt(r), _) => r.to_string(),
        })
    }

    fn cluster(&self) -> Result<ClusterInfo> {
        let d = self.desired;
        let placeholder = || ClusterInfo { id: kinds::Cluster::PLACEHOLDER.into(), name: d.names.cluster.clone() };
        Ok(d.cluster_or_implicit(self.observed.one::<kinds::Cluster>()).unwrap_or_else(placeholder))
    }
}

impl Ids for Made<'_> {
    fn observed(&self) -> &Observed {
        self.observed
    }

    fn id(&self, step: StepId) -> Result<Option<String>> {
        if !self.desired.capabilities.has_step(step) {
            return Ok(None);
        }
        let missing = Error::Internal { step: self.step, missing: step.noun() };
        id_of(step, self).0.map(Some).ok_or(missing)
    }

    fn image(&self) -> Result<String> {
        match &self.desired.image {
            ImageSource::Prebuilt(reference) => Ok(reference.to_string()),
            ImageSource::Built(_) => {
                self.out.image.get().cloned().ok_or(Error::Internal { step: self.step, missing: "image" })
            }
        }
    }

    fn cluster(&self) -> Result<ClusterInfo> {
        let missing = Error::Internal { step: self.step, missing: "cluster" };
        self.desired.cluster_or_implicit(self.out.made.get::<kinds::Cluster>()).ok_or(missing)
    }
}
