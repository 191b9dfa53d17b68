//! Autoscaling and secrets on the emulator: Application Auto Scaling's target and policies, a
//! count autoscaling set kept by the next deploy, task-definition secrets with an execution-role
//! grant of exactly them, missing secrets refused before any write, and no value anywhere.

use aws_sdk_applicationautoscaling::types::{MetricType, ServiceNamespace};
use scaling_core::{AutoscalingSpec, DestroyOptions, Error, RecordedEvents, StepId};

use crate::support::{moto_url, provider, sdk};
use crate::{image, orchestrator, spec};

const VALUE: &str = "do-not-print-me-7f3a";

fn autoscaled() -> scaling_core::Spec {
    let mut scaling = AutoscalingSpec::on_cpu(2, 10, 60);
    scaling.requests_per_second = Some(100);
    let mut spec = spec().with_autoscaling(scaling);
    spec.secrets.insert("DB_PASSWORD".into(), "ssm:/dashmath/db-password".into());
    spec.secrets.insert("API_KEY".into(), "secretsmanager:dashmath/api-key".into());
    spec
}

#[tokio::test]
async fn autoscaling_and_secrets_are_registered_kept_and_removed() {
    let Some(url) = moto_url() else { return };
    let (aws, log, _, account) = provider(&url).await;
    let sdk = sdk(&url, &account).await;
    let o = orchestrator(&aws);
    let spec = autoscaled();

    // A secret that does not exist yet: refused, named, nothing created.
    let error = o.deploy(&spec, Some(&image(1)), &RecordedEvents::new()).await.unwrap_err();
    let Error::InvalidSpec(problems) = &error else { panic!("{error}") };
    let fields: Vec<&str> = problems.problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["secrets.API_KEY", "secrets.DB_PASSWORD"], "{error}");
    assert_eq!(log.mutating(), Vec::<String>::new(), "nothing created");

    sdk.ssm
        .put_parameter()
        .name("/dashmath/db-password")
        .value(VALUE)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let secret = sdk.secrets.create_secret().name("dashmath/api-key").secret_string(VALUE).send().await.unwrap();
    let secret_arn = secret.arn().unwrap().to_string();
    let events = RecordedEvents::new();
    let report = o.deploy(&spec, Some(&image(1)), &events).await.unwrap();

    let id = "service/dashmath-cluster/dashmath-service";
    let targets = sdk
        .autoscaling
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_ids(id)
        .send()
        .await
        .unwrap();
    let target = &targets.scalable_targets()[0];
    assert_eq!((target.min_capacity(), target.max_capacity()), (2, 10));
    let policies = sdk
        .autoscaling
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(id)
        .send()
        .await
        .unwrap();
    let mut seen: Vec<(String, f64, Option<String>)> = policies
        .scaling_policies()
        .iter()
        .map(|p| {
            let config = p.target_tracking_scaling_policy_configuration().unwrap();
            let metric = config.predefined_metric_specification().unwrap();
            (
                metric.predefined_metric_type().as_str().to_string(),
                config.target_value(),
                metric.resource_label().map(str::to_string),
            )
        })
        .collect();
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!((seen[0].0.as_str(), seen[0].1), (MetricType::AlbRequestCountPerTarget.as_str(), 6000.0));
    let label = seen[0].2.clone().unwrap();
    assert!(label.starts_with("app/dashmath-alb/") && label.contains("/targetgroup/dashmath-tg/"), "{label}");
    assert_eq!((seen[1].0.as_str(), seen[1].1), (MetricType::EcsServiceAverageCpuUtilization.as_str(), 60.0));

    // The task definition names the secrets by ARN; the execution role may read exactly those.
    let definition = sdk.ecs.describe_task_definition().task_definition("dashmath-taskdef").send().await.unwrap();
    let container = &definition.task_definition().unwrap().container_definitions()[0];
    let mut from: Vec<(String, String)> =
        container.secrets().iter().map(|s| (s.name().to_string(), s.value_from().to_string())).collect();
    from.sort();
    let parameter_arn = format!("arn:aws:ssm:us-east-1:{account}:parameter/dashmath/db-password");
    assert_eq!(from, [("API_KEY".to_string(), secret_arn.clone()), ("DB_PASSWORD".to_string(), parameter_arn.clone())]);
    let grant = sdk
        .iam
        .get_role_policy()
        .role_name("dashmath-us-east-1-execution-role")
        .policy_name("scaling-secrets")
        .send()
        .await
        .unwrap();
    let document = grant.policy_document().replace("%22", "\"").replace("%3A", ":").replace("%2F", "/");
    assert!(document.contains(&parameter_arn) && document.contains(&secret_arn), "{document}");
    assert!(!document.contains('*'), "no wildcard: {document}");

    // The autoscaler moved the count; the next deploy (a new image) keeps it.
    sdk.ecs
        .update_service()
        .cluster("dashmath-cluster")
        .service("dashmath-service")
        .desired_count(6)
        .send()
        .await
        .unwrap();
    o.deploy(&spec, Some(&image(2)), &RecordedEvents::new()).await.unwrap();
    let status = o.status(&spec).await.unwrap();
    assert_eq!(status.service.as_ref().unwrap().spec.desired_count, 6, "a deploy does not reset autoscaling's count");
    let autoscaling = status.autoscaling.clone().expect("status shows autoscaling");
    assert_eq!((autoscaling.spec.min, autoscaling.spec.max, autoscaling.spec.targets.len()), (2, 10, 2));
    // moto 5.2.5 has no DescribeScalingActivities: the decision is "unknown (why)", asked once, not
    // retried through the SDK's eight attempts (22 s of every status of the example before).
    let unknown = autoscaling.last_decision_unknown.clone().unwrap_or_default();
    assert!(autoscaling.last_decision.is_none() && unknown.contains("DescribeScalingActivities"), "{autoscaling:?}");

    // Unchanged: no write.
    log.clear();
    o.deploy(&spec, Some(&image(2)), &RecordedEvents::new()).await.unwrap();
    assert_eq!(log.mutating(), Vec::<String>::new());

    // A count set out of band below the bounds: the plan says so, the deploy itself brings it to the
    // minimum, and the next deploy writes nothing.
    sdk.ecs
        .update_service()
        .cluster("dashmath-cluster")
        .service("dashmath-service")
        .desired_count(1)
        .send()
        .await
        .unwrap();
    let plan = o.plan(&spec, o.prepare_image(&spec, Some(&image(2))).await.unwrap()).await.unwrap();
    let service = plan.change(StepId::Service).expect("a service row");
    assert!(service.reason.contains("1 → 2"), "{}", service.reason);
    o.deploy(&spec, Some(&image(2)), &RecordedEvents::new()).await.unwrap();
    assert_eq!(o.status(&spec).await.unwrap().service.unwrap().spec.desired_count, 2, "brought within the bounds");
    log.clear();
    o.deploy(&spec, Some(&image(2)), &RecordedEvents::new()).await.unwrap();
    assert_eq!(log.mutating(), Vec::<String>::new(), "then nothing to write");

    // The grant removed out of band is drift, put back by the next deploy.
    sdk.iam
        .delete_role_policy()
        .role_name("dashmath-us-east-1-execution-role")
        .policy_name("scaling-secrets")
        .send()
        .await
        .unwrap();
    let plan = o.plan(&spec, o.prepare_image(&spec, Some(&image(2))).await.unwrap()).await.unwrap();
    let revision = plan.change(StepId::Revision).unwrap();
    assert!(revision.reason.contains("scaling-secrets"), "{}", revision.reason);
    o.deploy(&spec, Some(&image(2)), &RecordedEvents::new()).await.unwrap();
    sdk.iam
        .get_role_policy()
        .role_name("dashmath-us-east-1-execution-role")
        .policy_name("scaling-secrets")
        .send()
        .await
        .unwrap();

    // No value in what the tool says.
    let said = format!(
        "{:?}{:?}{}{}",
        events.events(),
        plan.changes,
        serde_json::to_string(&status).unwrap(),
        serde_json::to_string(&report.changes).unwrap()
    );
    assert!(!said.contains(VALUE), "a secret's value was shown");

    o.destroy(&spec, &DestroyOptions { delete_logs: true, ..Default::default() }, &RecordedEvents::new())
        .await
        .unwrap();
    let left = sdk
        .autoscaling
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_ids(id)
        .send()
        .await
        .unwrap();
    assert!(left.scalable_targets().is_empty(), "destroy deregisters the target");
    assert!(
        sdk.iam.get_role().role_name("dashmath-us-east-1-execution-role").send().await.is_err(),
        "role gone, grant first"
    );
}
