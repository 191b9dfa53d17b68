//! Hosted zones as Route 53 has them: a private zone beside the public one of the same name, and a
//! zone created again after `destroy --delete-zone`; and what is global (IAM) for an app in two regions.

use scaling_core::providers::{Dns, Owner};
use scaling_core::RecordedEvents;

use crate::support::{moto_url, provider, sdk};
use crate::{orchestrator, spec};

#[tokio::test]
async fn a_private_zone_of_the_same_name_never_hides_the_public_one() {
    let Some(url) = moto_url() else { return };
    let (aws, _, _, account) = provider(&url).await;
    let sdk = sdk(&url, &account).await;
    let vpc = sdk.ec2.describe_vpcs().send().await.unwrap().vpcs()[0].vpc_id().unwrap().to_string();
    let vpc = aws_sdk_route53::types::Vpc::builder().vpc_id(vpc).vpc_region("us-east-1".into()).build();
    for n in 0..2 {
        sdk.route53
            .create_hosted_zone()
            .name("example.com")
            .caller_reference(format!("private-{n}"))
            .vpc(vpc.clone())
            .hosted_zone_config(aws_sdk_route53::types::HostedZoneConfig::builder().private_zone(true).build())
            .send()
            .await
            .unwrap();
    }
    let public = sdk.route53.create_hosted_zone().name("example.com").caller_reference("public").send().await.unwrap();
    let public_id = public.hosted_zone().unwrap().id().trim_start_matches("/hostedzone/").to_string();
    let found = aws.find_zone("dashmath.example.com").await.unwrap().expect("the public zone");
    assert_eq!(found.id, public_id, "the public zone, whatever order the private ones sort in");
}

#[tokio::test]
async fn after_destroy_with_the_zone_a_deploy_creates_it_again() {
    let Some(url) = moto_url() else { return };
    let (aws, _, _, _) = provider(&url).await;
    let o = orchestrator(&aws);
    let first = o.deploy(&spec(), None, &RecordedEvents::new()).await.unwrap().new_zone.expect("a new zone");
    let everything = crate::EVERYTHING;
    o.destroy(&spec(), &everything, &RecordedEvents::new()).await.unwrap();
    let second = o.deploy(&spec(), None, &RecordedEvents::new()).await.unwrap().new_zone.expect("made again");
    assert_ne!(first.id, second.id);
    assert_eq!(aws.find_zone("dashmath.example.com").await.unwrap().and_then(|z| z.owner), Some("dashmath".into()));
    o.destroy(&spec(), &everything, &RecordedEvents::new()).await.unwrap();
    assert!(aws.find_zone("dashmath.example.com").await.unwrap().is_none(), "{:?}", Owner::new("dashmath"));
}

#[tokio::test]
async fn the_same_app_in_two_regions_owns_a_role_in_each_and_destroying_one_leaves_the_other() {
    let Some(url) = moto_url() else { return };
    let account = crate::support::account();
    let (east, _, _, _) = crate::support::provider_in(&url, &account, "us-east-1").await;
    let (west, _, _, _) = crate::support::provider_in(&url, &account, "us-west-2").await;
    // No domain: names are global, and one app's zone is served from one region.
    let spec = scaling_core::Spec::new("dashmath", 8050, scaling_core::ImageSpec::prebuilt(crate::image(1)))
        .with_desired_count(3);
    orchestrator(&east).deploy(&spec, None, &RecordedEvents::new()).await.unwrap();
    orchestrator(&west).deploy(&spec, None, &RecordedEvents::new()).await.unwrap();
    let iam = sdk(&url, &account).await.iam;
    for region in ["us-east-1", "us-west-2"] {
        iam.get_role().role_name(format!("dashmath-{region}-execution-role")).send().await.expect("a role per region");
    }
    let everything = crate::EVERYTHING;
    orchestrator(&west).destroy(&spec, &everything, &RecordedEvents::new()).await.unwrap();
    assert!(iam.get_role().role_name("dashmath-us-west-2-execution-role").send().await.is_err(), "west's role is gone");
    iam.get_role().role_name("dashmath-us-east-1-execution-role").send().await.expect("east's role stays");
    orchestrator(&east).deploy(&spec, None, &RecordedEvents::new()).await.expect("east still deploys");
    orchestrator(&east).destroy(&spec, &everything, &RecordedEvents::new()).await.unwrap();
}
