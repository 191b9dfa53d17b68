//! The local provider's words for a deployment's rows: the parts of one machine (the bundle store,
//! the TLS load balancer, the replica pool, the supervisor, N replicas) rather than a cloud's
//! resources by name.

use scaling_core::{Spec, StepId};

/// The rows of a deployment on this machine, its certificates from the local CA.
pub(crate) fn this_machine(step: StepId, spec: &Spec, neutral: String) -> String {
    machine_part(step, spec, neutral, "local CA certificate")
}

/// The rows of a public server's deployment, its certificates from an ACME authority.
pub(crate) fn public_server(step: StepId, spec: &Spec, neutral: String) -> String {
    machine_part(step, spec, neutral, "certificate")
}

/// What `step` is on this machine; `neutral` where it is nothing of its own (an own step, the zone,
/// the records, cleanup).
fn machine_part(step: StepId, spec: &Spec, neutral: String, certificate: &str) -> String {
    use StepId::*;
    let app = &spec.app.name;
    let count = match &spec.scaling {
        Some(scaling) => format!("{}–{}", scaling.min, scaling.max),
        None => spec.app.desired_count.to_string(),
    };
    match step {
        Repository => format!("bundle store of {app}"),
        Image => neutral.replacen("image", "bundle", 1),
        Certificate | CertificateIssued => format!("{certificate} {}", spec.hostnames().join(", ")),
        LoadBalancer | LoadBalancerActive => format!("TLS load balancer of {app}"),
        Backend => format!("replica pool (health checks on {})", spec.health_check.path),
        HttpListener | HttpRedirect => "plain HTTP port".into(),
        HttpsListener => "HTTPS port".into(),
        Cluster => "replica supervisor".into(),
        Revision => format!("start command of {app}"),
        Service | ServiceStable => format!("{count} replica(s) of {app}"),
        Autoscaling => format!("autoscaler of {app}"),
        _ => neutral,
    }
}

#[cfg(test)]
mod tests {
    use scaling_core::{ImageSpec, Spec, StepId};

    use super::{public_server, this_machine};

    #[test]
    fn rows_name_the_parts_of_this_machine_and_keep_the_neutral_label_elsewhere() {
        let spec = Spec::new("dashmath", 8050, ImageSpec::prebuilt("registry.example/dashmath:1"))
            .with_domain("dashmath.localhost")
            .with_desired_count(3);
        let words = |step| this_machine(step, &spec, "neutral label".into());
        assert_eq!(words(StepId::LoadBalancer), "TLS load balancer of dashmath");
        assert_eq!(words(StepId::ServiceStable), "3 replica(s) of dashmath");
        assert_eq!(words(StepId::Revision), "start command of dashmath");
        assert_eq!(words(StepId::Backend), "replica pool (health checks on /)");
        assert_eq!(words(StepId::Certificate), "local CA certificate dashmath.localhost, www.dashmath.localhost");
        assert_eq!(this_machine(StepId::Image, &spec, "image sha256:ab".into()), "bundle sha256:ab");
        // What is nothing of this machine's own keeps the neutral label.
        assert_eq!(words(StepId::Zone), "neutral label");
        assert_eq!(words(StepId::Own("namespace")), "neutral label");
        // A public server's certificate comes from an ACME authority, not the local CA.
        let public = public_server(StepId::CertificateIssued, &spec, String::new());
        assert_eq!(public, "certificate dashmath.localhost, www.dashmath.localhost");
    }
}
