//! mockall mocks stand in for one provider to drive error paths the in-memory cloud does not model.

use std::sync::Arc;

use scaling_core::providers::MockRegistry;
use scaling_core::{Error, ErrorKind, EventKind, ProviderError, Providers, RecordedEvents, Retry, StepId};
use scaling_memory::InMemoryCloud;
use scaling_tests::{orchestrator, seed_spec};

fn with_registry(cloud: &Arc<InMemoryCloud>, registry: MockRegistry) -> scaling_core::Orchestrator {
    let providers = Providers { registry: Arc::new(registry), ..Providers::from_cloud(cloud.clone()) };
    scaling_core::Orchestrator::new(providers).with_options(orchestrator(cloud).options().clone())
}

#[tokio::test(start_paused = true)]
async fn access_denied_on_the_repository_fails_once_without_retries() {
    let cloud = InMemoryCloud::new().shared();
    let mut registry = MockRegistry::new();
    registry.expect_find_repository().times(1).returning(|_, _| Ok(None));
    registry.expect_ensure_repository().times(1).returning(|desired| {
        Err(ProviderError::new(
            "CreateRepository",
            &desired.name,
            ErrorKind::AccessDenied,
            "User is not authorized to perform: ecr:CreateRepository",
        ))
    });
    let events = RecordedEvents::new();
    let error = with_registry(&cloud, registry).deploy(&seed_spec(), None, &events).await.unwrap_err();

    let Error::Provider { step, source } = &error else { panic!("unexpected {error}") };
    assert_eq!(*step, StepId::Repository);
    assert_eq!((source.kind, source.retry), (ErrorKind::AccessDenied, Retry::Permanent));
    assert!(error.to_string().contains("ecr:CreateRepository"), "the provider's message is kept: {error}");
    assert!(!error.is_retryable());
    assert!(events.events().iter().any(|e| e.step == StepId::Repository && matches!(e.kind, EventKind::Failed { .. })));
}

#[tokio::test(start_paused = true)]
async fn a_throttled_call_is_retried_and_succeeds() {
    let cloud = InMemoryCloud::new().shared();
    let mut registry = MockRegistry::new();
    registry.expect_find_repository().returning(|_, _| Ok(None));
    let mut seq = mockall::Sequence::new();
    registry
        .expect_ensure_repository()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|d| Err(ProviderError::new("CreateRepository", &d.name, ErrorKind::Throttled, "Rate exceeded")));
    registry.expect_ensure_repository().times(1).in_sequence(&mut seq).returning(|d| {
        Ok(scaling_core::providers::RepositoryInfo {
            name: d.name.clone(),
            uri: format!("mock/{}", d.name),
            drift: Vec::new(),
        })
    });
    let events = RecordedEvents::new();
    with_registry(&cloud, registry).deploy(&seed_spec(), None, &events).await.unwrap();
    let retried = events.events().iter().any(|e| {
        e.step == StepId::Repository
            && matches!(&e.kind, EventKind::Retrying { attempt: 1, error } if error.contains("Rate exceeded"))
    });
    assert!(retried);
}

#[tokio::test]
async fn a_platform_mismatch_is_refused_before_any_cloud_change() {
    let cloud = InMemoryCloud::new().shared();
    cloud.set_build_platform(Some(scaling_core::Platform::LinuxArm64));
    let dir = std::env::temp_dir().join(format!("scaling-arm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("app.py"), "print('arm')").unwrap();
    let mut spec = seed_spec();
    spec.image = scaling_core::ImageSpec::build(&dir);
    let error = orchestrator(&cloud).deploy(&spec, None, &RecordedEvents::new()).await.unwrap_err();
    assert!(matches!(error, Error::PlatformMismatch { .. }), "{error}");
    assert!(error.to_string().contains("exec format error"));
    assert_eq!(cloud.mutating_calls(), []);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_error_the_providers_client_already_retried_is_not_retried_again() {
    let cloud = InMemoryCloud::new().shared();
    let mut registry = MockRegistry::new();
    registry.expect_find_repository().times(1).returning(|_, name| {
        Err(ProviderError::new("DescribeRepositories", name, ErrorKind::Throttled, "Rate exceeded").retried_by_client())
    });
    let error = with_registry(&cloud, registry).deploy(&seed_spec(), None, &RecordedEvents::new()).await.unwrap_err();
    assert!(error.to_string().contains("Rate exceeded"), "{error}");
}
