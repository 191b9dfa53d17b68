//! Renewal while serving: the serving process of a public server looks every so often whether the
//! app's certificate is due (the ACME provider says so after two thirds of its life), and then
//! deploys the running release again, which orders the new certificate, swaps it into the balancer
//! with no connection dropped, and removes the old one.

use std::sync::Arc;
use std::time::Duration;

use scaling_core::providers::Owner;
use scaling_core::{Certificate, Orchestrator, Silent};

use crate::control::Current;

/// Looks every `every` (the first look one period after the start) until the task is aborted.
pub(crate) fn spawn(
    orchestrator: Orchestrator,
    current: Current,
    certificates: Arc<dyn Certificate>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let spec = current.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
            if let Err(why) = renew_if_due(&orchestrator, &spec, certificates.as_ref()).await {
                // The next look tries again; the certificate is still valid for a third of its life.
                tracing::warn!("{}: the certificate renewal did not finish: {why}", spec.app.name);
            }
        }
    })
}

/// Deploys `spec`'s running release again when one of its certificates is due for renewal.
async fn renew_if_due(
    orchestrator: &Orchestrator,
    spec: &scaling_core::Spec,
    certificates: &dyn Certificate,
) -> Result<(), String> {
    let owner = Owner::new(&spec.app.name);
    let names = spec.domain.as_ref().map(|d| d.hostnames()).unwrap_or_default();
    let found = certificates.find_certificates(&owner, &names).await.map_err(|e| e.to_string())?;
    let Some(due) = found.iter().find_map(|c| c.renewal_due.clone()) else { return Ok(()) };
    tracing::info!("{}: renewing the certificate ({due})", spec.app.name);
    // The release that runs, not a new build: renewal never changes what the app serves.
    let releases = orchestrator.releases(spec).await.map_err(|e| e.to_string())?;
    let image = releases.iter().find(|r| r.current).map(|r| r.image.clone());
    orchestrator.deploy(spec, image.as_deref(), &Silent).await.map_err(|e| e.to_string())?;
    tracing::info!("{}: the certificate is renewed", spec.app.name);
    Ok(())
}
