//! Environments: copies of one app from one file, each owning only its own resources.

use scaling_core::{DestroyOptions, RecordedEvents, Spec};
use scaling_memory::InMemoryCloud;
use scaling_tests::orchestrator;

const FILE: &str = r#"
    [app]
    name = "dashmath"
    port = 8050

    [image]
    reference = "registry.example/dashmath@sha256:1111111111111111111111111111111111111111111111111111111111111111"

    [domain]
    name = "dashmath.example.com"

    [environments.staging.app]
    desired_count = 1

    [environments.staging.domain]
    name = "staging.example.com"
"#;

#[tokio::test(start_paused = true)]
async fn destroying_one_environment_never_touches_another() {
    let file = Spec::parse_toml_str(FILE).unwrap();
    let (production, staging) = (file.for_environment(None).unwrap(), file.for_environment(Some("staging")).unwrap());
    let cloud = InMemoryCloud::new().shared();
    let o = orchestrator(&cloud);
    o.deploy(&production, None, &RecordedEvents::new()).await.unwrap();
    o.deploy(&staging, None, &RecordedEvents::new()).await.unwrap();
    let production_owns = cloud.owned_by("dashmath");
    assert!(!production_owns.is_empty() && !cloud.owned_by("dashmath-staging").is_empty());
    assert!(
        cloud.owned_by("dashmath-staging").iter().any(|l| l.contains("staging.example.com")),
        "staging answers on its own host names"
    );

    let everything = DestroyOptions { delete_images: true, delete_zone: true, delete_logs: true };
    o.destroy(&staging, &everything, &RecordedEvents::new()).await.unwrap();
    assert_eq!(cloud.owned_by("dashmath-staging"), Vec::<String>::new(), "staging is gone");
    assert_eq!(cloud.owned_by("dashmath"), production_owns, "production is exactly as it was");
    cloud.clear_calls();
    o.deploy(&production, None, &RecordedEvents::new()).await.unwrap();
    assert_eq!(cloud.mutating_calls(), [], "and needs nothing");
}
