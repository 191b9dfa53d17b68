//! Test servers.
pub mod pebble;
