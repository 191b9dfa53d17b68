//! The conformance kit on the in-memory cloud.

use scaling_core::conformance::{self, Subject, ThroughTheProvider};
use scaling_core::Providers;
use scaling_memory::InMemoryCloud;
use scaling_tests::{seed_spec, test_options};

#[tokio::test(start_paused = true)]
async fn the_in_memory_cloud_passes_the_conformance_kit() {
    let cloud = InMemoryCloud::new().shared();
    let providers = Providers::from_cloud(cloud.clone());
    let subject = Subject::new(providers.clone(), seed_spec()).with_options(test_options());
    conformance::run_all(&subject, &ThroughTheProvider(providers)).await;
    assert_eq!(cloud.owned_by("dashmath"), Vec::<String>::new(), "the kit leaves the cloud as it found it");
}
