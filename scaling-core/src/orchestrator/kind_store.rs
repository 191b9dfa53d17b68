//! What plan observed and what apply made of each resource kind, kept by the kind's step: adding a
//! kind adds its descriptor, never a field here.

use std::any::Any;
use std::sync::{Arc, OnceLock};

use super::resource::Resource;
use super::StepId;

/// The owned ones of each kind as observed: none, one, or several (certificates).
#[derive(Clone, Default)]
pub(crate) struct Found {
    kinds: Vec<(StepId, Arc<dyn Any + Send + Sync>)>,
}

impl Found {
    /// Every observed one of kind `K`.
    pub fn all<K: Resource>(&self) -> &[K::Info] {
        let found = self.kinds.iter().find(|(step, _)| *step == K::STEP);
        found.and_then(|(_, values)| values.downcast_ref::<Vec<K::Info>>()).map_or(&[], Vec::as_slice)
    }

    /// What was read of kind `K` (replacing an earlier read).
    pub fn put<K: Resource>(&mut self, found: Vec<K::Info>) {
        self.kinds.retain(|(step, _)| *step != K::STEP);
        self.kinds.push((K::STEP, Arc::new(found)));
    }

    /// Everything `other` holds, over what this holds.
    pub fn extend(&mut self, other: Found) {
        for (step, values) in other.kinds {
            self.kinds.retain(|(s, _)| *s != step);
            self.kinds.push((step, values));
        }
    }
}

impl std::fmt::Debug for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.kinds.iter().map(|(step, _)| step)).finish()
    }
}

/// What apply's steps made of each kind, set once by the kind's step for the steps after it.
pub(crate) struct MadeKinds {
    slots: [OnceLock<Box<dyn Any + Send + Sync>>; StepId::ALL.len()],
}

impl Default for MadeKinds {
    fn default() -> Self {
        Self { slots: std::array::from_fn(|_| OnceLock::new()) }
    }
}

impl MadeKinds {
    /// What kind `K`'s step made, once it has run.
    pub fn get<K: Resource>(&self) -> Option<&K::Info> {
        self.slots.get(K::STEP.recipe_index()?)?.get()?.downcast_ref::<K::Info>()
    }

    /// Keeps what kind `K`'s step made (each step sets its own once; a second set would be a graph bug
    /// and is ignored).
    pub fn keep<K: Resource>(&self, info: K::Info) {
        if let Some(slot) = K::STEP.recipe_index().and_then(|i| self.slots.get(i)) {
            let _ = slot.set(Box::new(info));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Found, MadeKinds};
    use crate::orchestrator::kinds::{Certificate, Cluster, LoadBalancerFirewall, ReplicaFirewall};
    use crate::providers::{
        CertificateInfo, CertificateSpec, CertificateStatus, ClusterInfo, FirewallInfo, FirewallSpec,
    };

    fn firewall(id: &str) -> FirewallInfo {
        FirewallInfo {
            id: id.into(),
            spec: FirewallSpec { name: id.into(), ingress: Vec::new() },
            other_rules: Vec::new(),
        }
    }

    #[test]
    fn each_kind_keeps_its_own_values_even_where_two_kinds_share_a_type() {
        let mut found = Found::default();
        assert!(found.all::<Cluster>().is_empty(), "nothing read is nothing found");
        found.put::<LoadBalancerFirewall>(vec![firewall("sg-lb")]);
        found.put::<ReplicaFirewall>(vec![firewall("sg-tasks")]);
        assert_eq!(found.all::<LoadBalancerFirewall>()[0].id, "sg-lb");
        assert_eq!(found.all::<ReplicaFirewall>()[0].id, "sg-tasks");

        // A later read of a kind replaces the earlier one; several values of one kind stay together.
        let certificate = |id: &str| CertificateInfo {
            id: id.into(),
            spec: CertificateSpec { domain: "example.com".into(), alternative_names: Vec::new() },
            status: CertificateStatus::Issued,
            validation_records: Vec::new(),
            renewal_due: None,
            in_use: false,
        };
        let mut later = Found::default();
        later.put::<Certificate>(vec![certificate("a"), certificate("b")]);
        later.put::<ReplicaFirewall>(Vec::new());
        found.extend(later);
        assert_eq!(found.all::<Certificate>().len(), 2);
        assert!(found.all::<ReplicaFirewall>().is_empty());
        assert_eq!(found.all::<LoadBalancerFirewall>().len(), 1);

        let made = MadeKinds::default();
        assert!(made.get::<Cluster>().is_none());
        made.keep::<Cluster>(ClusterInfo { id: "c-1".into(), name: "app".into() });
        made.keep::<Cluster>(ClusterInfo { id: "c-2".into(), name: "app".into() });
        assert_eq!(made.get::<Cluster>().map(|c| c.id.as_str()), Some("c-1"), "set once");
        made.keep::<LoadBalancerFirewall>(firewall("sg-lb"));
        assert!(made.get::<ReplicaFirewall>().is_none(), "a kind of the same type is another slot");
    }
}
