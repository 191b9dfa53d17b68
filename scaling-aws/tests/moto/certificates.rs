//! Certificates in a large account: plan reads the app's own by domain, not every certificate's tags.

use scaling_core::RecordedEvents;

use crate::support::{moto_url, provider, sdk};
use crate::{orchestrator, spec};

/// ACM reads (tags and descriptions) in the calls so far.
fn certificate_reads(log: &crate::support::CallLog) -> usize {
    log.calls().iter().filter(|(_, op)| op == "ListTagsForCertificate" || op == "DescribeCertificate").count()
}

#[tokio::test]
async fn plan_in_an_account_of_many_certificates_reads_only_those_of_the_apps_domain() {
    let Some(url) = moto_url() else { return };
    let (aws, log, _, account) = provider(&url).await;
    let sdk = sdk(&url, &account).await;
    let o = orchestrator(&aws);
    o.deploy(&spec(), None, &RecordedEvents::new()).await.unwrap();
    // Forty certificates of other teams, some tagged as another app's.
    for n in 0..40 {
        let request = sdk
            .acm
            .request_certificate()
            .domain_name(format!("site{n}.other.example.net"))
            .validation_method(aws_sdk_acm::types::ValidationMethod::Dns);
        let request = if n % 2 == 0 {
            request.tags(aws_sdk_acm::types::Tag::builder().key("scaling:app").value("other").build().unwrap())
        } else {
            request
        };
        request.send().await.unwrap();
    }
    log.clear();
    let plan = o.plan(&spec(), o.prepare_image(&spec(), None).await.unwrap()).await.unwrap();
    assert!(!plan.has_changes(), "{:#?}", plan.changes);
    let reads = certificate_reads(&log);
    assert!(reads <= 4, "plan read {reads} certificates' tags and descriptions; the app has one certificate");
    let lists = log.calls().iter().filter(|(_, op)| op == "ListCertificates").count();
    assert_eq!(lists, 1, "one page lists up to 1,000 certificates");

    // Destroy reads them all (the app may own one of a domain it no longer names), and deletes only its own.
    log.clear();
    o.destroy(&spec(), &crate::EVERYTHING, &RecordedEvents::new()).await.unwrap();
    let left = sdk.acm.list_certificates().send().await.unwrap();
    assert_eq!(left.certificate_summary_list().len(), 40, "the other teams' certificates stay");
}
