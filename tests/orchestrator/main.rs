//! The orchestrator on the in-memory cloud: resource set, idempotence, faults, destroy, validation,
//! mocks and timing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod autoscaling;
mod capabilities;
mod cloud_run_shaped;
mod cloud_run_shaped_tests;
mod conformance;
mod deploy;
mod destroy;
mod domain;
mod environments;
mod faults;
mod graph;
mod invalid_specs;
mod lacking;
mod lock;
mod mocks;
mod own_steps;
mod pointers;
mod releases;
mod timing;
