//! Fault injection for the in-memory cloud: fail a chosen call, once or always.

use scaling_core::{ErrorKind, ProviderError, Retry};

/// Which calls a fault hits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultTarget {
    /// The Nth call of any kind (1-based, counted from when the fault was added).
    NthCall(usize),
    /// The Nth mutating call (1-based, counted from when the fault was added).
    NthMutatingCall(usize),
    /// Every call of the named operation, e.g. `create_zone` or `ensure_load_balancer`.
    Operation(String),
}

/// Whether the failed call's effect happened before the error (a lost response) or not at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultTiming {
    /// The call fails without effect.
    BeforeEffect,
    /// The call takes effect, then the response is lost and an error returned.
    AfterEffect,
}

/// A fault: which calls fail, how often, and with what error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Which calls.
    pub target: FaultTarget,
    /// Fail only the first matching call (else every one).
    pub once: bool,
    /// The error class.
    pub kind: ErrorKind,
    /// Retryable or permanent.
    pub retry: Retry,
    /// Before or after the effect.
    pub timing: FaultTiming,
}

impl Fault {
    fn new(target: FaultTarget) -> Self {
        Self {
            target,
            once: true,
            kind: ErrorKind::Unavailable,
            retry: Retry::Permanent,
            timing: FaultTiming::BeforeEffect,
        }
    }

    /// Fails the Nth call (1-based).
    pub fn nth_call(n: usize) -> Self {
        Self::new(FaultTarget::NthCall(n))
    }

    /// Fails the Nth mutating call (1-based).
    pub fn nth_mutating_call(n: usize) -> Self {
        Self::new(FaultTarget::NthMutatingCall(n))
    }

    /// Fails calls of `operation`.
    pub fn operation(operation: impl Into<String>) -> Self {
        Self::new(FaultTarget::Operation(operation.into()))
    }

    /// Fails every matching call, not just the first.
    pub fn always(mut self) -> Self {
        self.once = false;
        self
    }

    /// Fails with a retryable error (throttling) instead of a permanent one.
    pub fn retryable(mut self) -> Self {
        self.kind = ErrorKind::Throttled;
        self.retry = Retry::Retryable;
        self
    }

    /// Fails with this error kind (its usual retry class).
    pub fn kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self.retry = kind.default_retry();
        self
    }

    /// The call takes effect before the error is returned (a lost response).
    pub fn after_effect(mut self) -> Self {
        self.timing = FaultTiming::AfterEffect;
        self
    }

    pub(crate) fn error(&self, operation: &str, resource: &str) -> ProviderError {
        ProviderError::new(operation, resource, self.kind, "injected fault").with_retry(self.retry)
    }
}

/// A fault with its counters.
#[derive(Debug, Clone)]
pub(crate) struct ArmedFault {
    pub fault: Fault,
    pub calls_seen: usize,
    pub mutating_seen: usize,
    pub fired: bool,
}

impl ArmedFault {
    pub fn new(fault: Fault) -> Self {
        Self { fault, calls_seen: 0, mutating_seen: 0, fired: false }
    }

    /// Counts the call and says whether the fault hits it.
    pub fn hits(&mut self, operation: &str, mutating: bool) -> bool {
        self.calls_seen += 1;
        if mutating {
            self.mutating_seen += 1;
        }
        if self.fired && self.fault.once {
            return false;
        }
        let hit = match &self.fault.target {
            FaultTarget::NthCall(n) => self.calls_seen == *n,
            FaultTarget::NthMutatingCall(n) => mutating && self.mutating_seen == *n,
            FaultTarget::Operation(op) => op == operation,
        };
        self.fired |= hit;
        hit
    }
}
