//! Typed progress events a CLI (or a test) can render while the orchestrator works.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::orchestrator::{Action, StepId};

/// What happened to a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// The step started.
    Started {
        /// What it is about to do.
        action: Action,
    },
    /// The step waits for the provider.
    Waiting {
        /// What it waits for, e.g. `2/3 tasks running`.
        detail: String,
    },
    /// A retryable failure; the call is tried again.
    Retrying {
        /// The attempt that failed (1-based).
        attempt: u32,
        /// The provider's error.
        error: String,
    },
    /// The step finished.
    Done {
        /// What it did, e.g. `created sg-0123`.
        detail: String,
    },
    /// The step failed.
    Failed {
        /// Why.
        error: String,
    },
    /// The step did not run because a dependency failed.
    Skipped {
        /// The dependency that failed.
        because: StepId,
    },
}

/// One progress event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// The step.
    pub step: StepId,
    /// The resource it is about, e.g. `load balancer dashmath-alb`.
    pub resource: String,
    /// What happened.
    pub kind: EventKind,
    /// Time since the operation started (tokio's clock).
    pub elapsed: Duration,
}

/// Receives progress events; called from the orchestrator's task, so it must not block for long.
pub trait Progress: Send + Sync {
    /// One event.
    fn event(&self, event: &Event);
}

impl<F: Fn(&Event) + Send + Sync> Progress for F {
    fn event(&self, event: &Event) {
        self(event)
    }
}

/// A [`Progress`] that ignores every event.
pub struct Silent;

impl Progress for Silent {
    fn event(&self, _: &Event) {}
}

/// A [`Progress`] that keeps every event, for tests and reports.
#[derive(Clone, Default)]
pub struct RecordedEvents(Arc<Mutex<Vec<Event>>>);

impl RecordedEvents {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().map(|events| events.clone()).unwrap_or_default()
    }
}

impl Progress for RecordedEvents {
    fn event(&self, event: &Event) {
        if let Ok(mut events) = self.0.lock() {
            events.push(event.clone());
        }
    }
}
