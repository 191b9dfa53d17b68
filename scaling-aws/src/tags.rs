//! Ownership tags: each service has its own tag type; these helpers convert and check them.

use scaling_core::providers::{Owner, Tags};

/// The owner the tag pairs name, if they carry the ownership tag.
pub fn owner_of<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<String> {
    pairs.into_iter().find(|(k, _)| *k == Owner::TAG).map(|(_, v)| v.to_string())
}

/// True when the tag pairs mark the resource as `owner`'s.
pub fn owned_by<'a>(owner: &Owner, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
    owner_of(pairs).as_deref() == Some(owner.app.as_str())
}

/// The app named by a desired resource's tags.
pub fn owner_in(tags: &Tags) -> Owner {
    Owner::new(tags.get(Owner::TAG).cloned().unwrap_or_default())
}
