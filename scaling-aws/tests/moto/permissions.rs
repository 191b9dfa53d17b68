//! The IAM permissions `docs/CI.md` lists are derived from the calls the provider really makes: a whole
//! lifecycle (with autoscaling, secrets and a zone) runs through the emulator with every call
//! recorded, and each call's IAM action must be granted by the policy the document shows, so the list
//! cannot go stale when a call is added.

use scaling_core::{AutoscalingSpec, RecordedEvents};

use crate::support::{moto_url, provider, sdk};
use crate::{image, orchestrator, spec};

/// The IAM action of an SDK call: the service's IAM prefix and the operation's name.
fn action(service: &str, operation: &str) -> String {
    let prefix = match service.to_ascii_lowercase().as_str() {
        "elasticloadbalancingv2" | "elastic load balancing v2" => "elasticloadbalancing".to_string(),
        "cloudwatchlogs" | "cloudwatch logs" => "logs".to_string(),
        "applicationautoscaling" | "application auto scaling" => "application-autoscaling".to_string(),
        "route 53" => "route53".to_string(),
        other => other.replace(' ', ""),
    };
    format!("{prefix}:{operation}")
}

/// Whether `granted` (an action, possibly with `*` wildcards) covers `wanted`.
fn covers(granted: &str, wanted: &str) -> bool {
    let parts: Vec<&str> = granted.split('*').collect();
    let mut rest = wanted;
    for (n, part) in parts.iter().enumerate() {
        match rest.find(part) {
            Some(at) if n > 0 || at == 0 => rest = &rest[at + part.len()..],
            _ => return false,
        }
    }
    granted.ends_with('*') || rest.is_empty()
}

/// Every action the policy in `docs/CI.md` grants (the quoted `prefix:Action` strings of its JSON).
fn granted() -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/CI.md");
    let text = std::fs::read_to_string(path).unwrap();
    let policy = text.split("<!-- permissions -->").nth(1).expect("docs/CI.md marks its policy");
    policy
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| s.contains(':') && !s.contains(' ') && !s.starts_with("arn:") && !s.contains('/'))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn every_call_of_a_whole_lifecycle_is_granted_by_the_policy_docs_ci_lists() {
    let Some(url) = moto_url() else { return };
    let (aws, log, _, account) = provider(&url).await;
    let sdk = sdk(&url, &account).await;
    sdk.ssm
        .put_parameter()
        .name("/dashmath/db-password")
        .value("x")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    sdk.secrets.create_secret().name("dashmath/api-key").secret_string("x").send().await.unwrap();
    let mut spec = spec().with_autoscaling(AutoscalingSpec::on_cpu(2, 10, 60));
    spec.secrets.insert("DB_PASSWORD".into(), "ssm:/dashmath/db-password".into());
    spec.secrets.insert("API_KEY".into(), "secretsmanager:dashmath/api-key".into());
    let o = orchestrator(&aws);
    log.clear();
    o.check_secrets(&spec).await.unwrap();
    o.deploy(&spec, Some(&image(1)), &RecordedEvents::new()).await.unwrap();
    o.deploy(&spec, Some(&image(2)), &RecordedEvents::new()).await.unwrap();
    o.status(&spec).await.unwrap();
    o.scale(&spec, 3, &RecordedEvents::new()).await.unwrap();
    o.releases(&spec).await.unwrap();
    o.rollback(&spec, None, &RecordedEvents::new()).await.unwrap();
    let _ = o.logs(&spec, &Default::default()).await;
    let everything = crate::EVERYTHING;
    o.destroy(&spec, &everything, &RecordedEvents::new()).await.unwrap();

    let granted = granted();
    let mut called: Vec<String> = log.calls().iter().map(|(service, op)| action(service, op)).collect();
    called.sort();
    called.dedup();
    assert!(called.len() > 40, "the lifecycle made its calls: {called:?}");
    let missing: Vec<&String> = called.iter().filter(|c| !granted.iter().any(|g| covers(g, c))).collect();
    assert!(missing.is_empty(), "docs/CI.md's policy lacks {missing:?} (the lifecycle called {called:?})");
}

#[test]
fn wildcards_cover_what_they_name() {
    assert!(covers("application-autoscaling:*", "application-autoscaling:RegisterScalableTarget"));
    assert!(covers("ecs:Describe*", "ecs:DescribeServices"));
    assert!(!covers("ecs:Describe*", "ecs:DeleteService"));
    assert!(covers("ssm:*Parameter", "ssm:GetParameter") && !covers("ssm:*Parameter", "ssm:GetParameters"));
}
