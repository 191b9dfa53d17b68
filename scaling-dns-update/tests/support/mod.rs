//! Test servers.
pub mod bind;
