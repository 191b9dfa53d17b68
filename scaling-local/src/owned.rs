//! [`Owned`]: what this process made, by name, with the app that made it. It is the only bookkeeping
//! the local provider keeps: the effects live in the balancer, the supervisor, the bundle store and the
//! local CA, and each resource's record holds what the provider reads back. A name another app holds is
//! refused ([`ErrorKind::NotOwned`]), never adopted.

use std::collections::BTreeMap;
use std::sync::Mutex;

use scaling_core::providers::{Owner, Tags};
use scaling_core::{ErrorKind, ProviderError, ProviderResult};

use crate::cloud::lock;

struct Entry<T> {
    app: String,
    value: T,
}

/// Records of one kind of resource, by name.
pub(crate) struct Owned<T> {
    entries: Mutex<BTreeMap<String, Entry<T>>>,
}

impl<T> Default for Owned<T> {
    fn default() -> Self {
        Self { entries: Mutex::new(BTreeMap::new()) }
    }
}

/// The app the ownership tag of `tags` names (empty when untagged).
pub(crate) fn owner_of(tags: &Tags) -> Owner {
    Owner::new(tags.get(Owner::TAG).cloned().unwrap_or_default())
}

fn not_owned(operation: &str, name: &str, owner: &Owner, holder: &str) -> ProviderError {
    ProviderError::new(
        operation,
        name,
        ErrorKind::NotOwned,
        format!("{name} exists on this machine but belongs to {holder}, not {}", owner.app),
    )
}

impl<T: Clone> Owned<T> {
    /// The record `name` when `owner` made it; `NotOwned` when another app did.
    pub fn find(&self, owner: &Owner, name: &str, operation: &str) -> ProviderResult<Option<T>> {
        match lock(&self.entries).get(name) {
            Some(entry) if entry.app == owner.app => Ok(Some(entry.value.clone())),
            Some(entry) => Err(not_owned(operation, name, owner, &entry.app)),
            None => Ok(None),
        }
    }

    /// Makes or replaces the record `name` of `owner` with what `make` returns from the current one
    /// (`None` when there is none); a record of another app is refused untouched.
    pub fn put(
        &self,
        owner: &Owner,
        name: &str,
        operation: &str,
        make: impl FnOnce(Option<&T>) -> ProviderResult<T>,
    ) -> ProviderResult<T> {
        let mut entries = lock(&self.entries);
        let current = match entries.get(name) {
            Some(entry) if entry.app != owner.app => return Err(not_owned(operation, name, owner, &entry.app)),
            Some(entry) => Some(&entry.value),
            None => None,
        };
        let value = make(current)?;
        entries.insert(name.to_string(), Entry { app: owner.app.clone(), value: value.clone() });
        Ok(value)
    }

    /// Removes the record `name` of `owner` and returns it; one already gone is `Ok(None)`, one of
    /// another app is refused untouched.
    pub fn remove(&self, owner: &Owner, name: &str, operation: &str) -> ProviderResult<Option<T>> {
        let mut entries = lock(&self.entries);
        match entries.get(name) {
            Some(entry) if entry.app != owner.app => Err(not_owned(operation, name, owner, &entry.app)),
            Some(_) => Ok(entries.remove(name).map(|entry| entry.value)),
            None => Ok(None),
        }
    }

    /// Every record of `owner`, by name.
    pub fn of(&self, owner: &Owner) -> Vec<T> {
        lock(&self.entries).values().filter(|e| e.app == owner.app).map(|e| e.value.clone()).collect()
    }

    /// The first record (of any app) `pick` maps to something.
    pub fn find_map<U>(&self, pick: impl Fn(&T) -> Option<U>) -> Option<U> {
        lock(&self.entries).values().find_map(|e| pick(&e.value))
    }

    /// Every record (of any app) `keep` picks, by name.
    pub fn filter(&self, keep: impl Fn(&T) -> bool) -> Vec<T> {
        lock(&self.entries).values().filter(|e| keep(&e.value)).map(|e| e.value.clone()).collect()
    }

    /// Removes every record (of any app) `doomed` picks.
    pub fn remove_where(&self, doomed: impl Fn(&T) -> bool) {
        lock(&self.entries).retain(|_, e| !doomed(&e.value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_held_by_one_app_and_refused_to_others() {
        let table = Owned::<u32>::default();
        let (mine, theirs) = (Owner::new("mine"), Owner::new("theirs"));
        assert_eq!(table.put(&mine, "pool", "ensure", |_| Ok(1)).unwrap(), 1);
        assert_eq!(table.put(&mine, "pool", "ensure", |now| Ok(now.copied().unwrap_or(0) + 1)).unwrap(), 2);
        assert_eq!(table.find(&theirs, "pool", "find").unwrap_err().kind, ErrorKind::NotOwned);
        assert_eq!(table.put(&theirs, "pool", "ensure", |_| Ok(9)).unwrap_err().kind, ErrorKind::NotOwned);
        assert_eq!(table.remove(&theirs, "pool", "delete").unwrap_err().kind, ErrorKind::NotOwned);
        assert_eq!(table.find(&mine, "pool", "find").unwrap(), Some(2), "a refused write changed nothing");
        assert_eq!(table.remove(&mine, "pool", "delete").unwrap(), Some(2));
        assert_eq!(table.remove(&mine, "pool", "delete").unwrap(), None, "deleting what is gone succeeds");
        assert!(table.of(&mine).is_empty());
    }
}
