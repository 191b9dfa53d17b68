//! What the emulator does not enforce or echo, checked against recorded-style SDK responses
//! (aws-smithy-mocks): the service's grace period and rollback circuit breaker, a security group still
//! in use, a certificate in use or pending, access denied, Route 53's caller references and tag limit.

use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use scaling_core::providers::{
    Certificate, CertificateInfo, CertificateSpec, CertificateStatus, ClusterInfo, FirewallInfo, FirewallSpec,
    ListenerSpec, LoadBalancerSpec, Owner, Registry, ServiceSpec, TrafficSource,
};
use scaling_core::{Cluster, ErrorKind, LoadBalancer};
use tokio::sync::OnceCell;

use crate::provider::{AwsProvider, Network};

fn xml_error(status: u16, code: &str, message: &str) -> HttpResponse {
    let body = format!("<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>1</RequestID></Response>");
    HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
}

fn json_error(code: &str, message: &str) -> HttpResponse {
    let mut response = HttpResponse::new(
        StatusCode::try_from(400).unwrap(),
        SdkBody::from(format!(r#"{{"__type":"{code}","message":"{message}"}}"#)),
    );
    response.headers_mut().insert("x-amzn-errortype", code.to_string());
    response
}

/// A provider whose clients answer only the given rules.
#[derive(Default)]
struct Mocks {
    ecr: Vec<Rule>,
    ec2: Vec<Rule>,
    ecs: Vec<Rule>,
    acm: Vec<Rule>,
    logs: Vec<Rule>,
    route53: Vec<Rule>,
}

impl Mocks {
    fn provider(&self) -> AwsProvider {
        let network = Network { vpc_id: "vpc-1".into(), subnets: vec!["subnet-a".into(), "subnet-b".into()] };
        AwsProvider {
            ecr: mock_client!(aws_sdk_ecr, RuleMode::MatchAny, &self.ecr),
            ec2: mock_client!(aws_sdk_ec2, RuleMode::MatchAny, &self.ec2),
            ecs: mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &self.ecs),
            elb: mock_client!(aws_sdk_elasticloadbalancingv2, RuleMode::MatchAny, &Vec::<Rule>::new()),
            route53: mock_client!(aws_sdk_route53, RuleMode::MatchAny, &self.route53),
            acm: mock_client!(aws_sdk_acm, RuleMode::MatchAny, &self.acm),
            iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, &Vec::<Rule>::new()),
            logs: mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, &self.logs),
            ssm: mock_client!(aws_sdk_ssm, RuleMode::MatchAny, &Vec::<Rule>::new()),
            autoscaling: mock_client!(aws_sdk_applicationautoscaling, RuleMode::MatchAny, &Vec::<Rule>::new()),
            secrets: mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, &Vec::<Rule>::new()),
            region: "us-east-1".into(),
            settings: crate::AwsSettings::default(),
            network: OnceCell::new_with(Some(network)),
            dns_resolver: None,
            alias_zones: Default::default(),
        }
    }
}

fn owner() -> Owner {
    Owner::new("dashmath")
}

/// The seed's service on revision 1, restarting its rollout when `restart`.
fn desired_service(restart: bool) -> scaling_core::providers::DesiredService {
    scaling_core::providers::DesiredService {
        spec: ServiceSpec {
            name: "dashmath-service".into(),
            revision_id: "arn:taskdef:1".into(),
            desired_count: 3,
            firewall_id: Some("sg-task".into()),
        },
        cluster: ClusterInfo { id: "arn:cluster".into(), name: "dashmath-cluster".into() },
        template: None,
        container: "dashmath-container".into(),
        traffic: TrafficSource {
            backend_id: Some("arn:tg".into()),
            firewall_id: Some("sg-alb".into()),
            container_port: 8050,
        },
        health_check_grace_period: std::time::Duration::from_secs(30),
        autoscaled: false,
        restart_rollout: restart,
        tags: owner().tags(&Default::default()),
    }
}

#[tokio::test]
async fn a_new_service_gets_the_grace_period_and_a_circuit_breaker_that_rolls_back() {
    use aws_sdk_ecs::operation::{create_service::CreateServiceOutput, describe_services::DescribeServicesOutput};
    let describe =
        mock!(aws_sdk_ecs::Client::describe_services).then_output(|| DescribeServicesOutput::builder().build());
    let create = mock!(aws_sdk_ecs::Client::create_service)
        .match_requests(|r| {
            let breaker = r.deployment_configuration().and_then(|d| d.deployment_circuit_breaker());
            r.health_check_grace_period_seconds() == Some(30)
                && breaker.is_some_and(|b| b.enable() && b.rollback())
                && r.launch_type().map(|l| l.as_str()) == Some("FARGATE")
                && r.client_token().is_some_and(|t| t.len() == 32)
                && r.load_balancers().first().and_then(|l| l.container_port()) == Some(8050)
        })
        .then_output(|| {
            let service = aws_sdk_ecs::types::Service::builder()
                .service_name("dashmath-service")
                .desired_count(3)
                .health_check_grace_period_seconds(30)
                .build();
            CreateServiceOutput::builder().service(service).build()
        });
    let provider = Mocks { ecs: vec![describe, create.clone()], ..Default::default() }.provider();
    let service = provider.ensure_service(&desired_service(false)).await.unwrap();
    assert_eq!(create.num_calls(), 1, "the request carried the grace period, breaker, launch type and token");
    assert_eq!(service.health_check_grace_period, Some(std::time::Duration::from_secs(30)));
}

#[tokio::test]
async fn a_rollout_the_circuit_breaker_failed_shows_the_tasks_last_log_lines() {
    use aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsOutput;
    use aws_sdk_cloudwatchlogs::types::FilteredLogEvent;
    use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
    use aws_sdk_ecs::types::{Deployment, DeploymentRolloutState, Service, Tag};
    let describe = mock!(aws_sdk_ecs::Client::describe_services).then_output(|| {
        let deployment = Deployment::builder()
            .status("PRIMARY")
            .rollout_state(DeploymentRolloutState::Failed)
            .rollout_state_reason("ECS deployment circuit breaker: tasks failed to start.")
            .build();
        let service = Service::builder()
            .service_name("dashmath-service")
            .status("ACTIVE")
            .deployments(deployment)
            .tags(Tag::builder().key(Owner::TAG).value("dashmath").build())
            .build();
        DescribeServicesOutput::builder().services(service).build()
    });
    let events = mock!(aws_sdk_cloudwatchlogs::Client::filter_log_events)
        .match_requests(|r| r.log_group_name() == Some("/ecs/dashmath"))
        .then_output(|| {
            let now = scaling_core::providers::epoch_millis(std::time::SystemTime::now()) as i64;
            let event = |at: i64, text: &str| {
                FilteredLogEvent::builder()
                    .timestamp(at)
                    .event_id(at.to_string())
                    .log_stream_name("dashmath/dashmath-container/0123abcd")
                    .message(text)
                    .build()
            };
            FilterLogEventsOutput::builder()
                .events(event(now - 2000, "Traceback (most recent call last):"))
                .events(event(now - 1000, "ModuleNotFoundError: No module named 'dash'"))
                .build()
        });
    let provider = Mocks { ecs: vec![describe], logs: vec![events], ..Default::default() }.provider();
    let cluster = ClusterInfo { id: "arn:cluster".into(), name: "dashmath-cluster".into() };
    let service = provider.find_service(&owner(), &cluster, "dashmath-service").await.unwrap().unwrap();
    let scaling_core::providers::Rollout::Failed(reason) = service.rollout else { panic!("{:?}", service.rollout) };
    assert!(reason.starts_with("ECS deployment circuit breaker"), "the reason first: {reason}");
    assert!(reason.contains("[0123abcd] ModuleNotFoundError: No module named 'dash'"), "then the last lines: {reason}");
}

fn owned_group() -> Rule {
    use aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput;
    use aws_sdk_ec2::types::{SecurityGroup, Tag};
    mock!(aws_sdk_ec2::Client::describe_security_groups).then_output(|| {
        let group = SecurityGroup::builder()
            .group_id("sg-task")
            .group_name("dashmath-from-alb-sg")
            .tags(Tag::builder().key("scaling:app").value("dashmath").build())
            .build();
        DescribeSecurityGroupsOutput::builder().security_groups(group).build()
    })
}

#[tokio::test]
async fn a_security_group_whose_interfaces_linger_is_a_retryable_dependency_violation() {
    let delete = mock!(aws_sdk_ec2::Client::delete_security_group)
        .then_http_response(|| xml_error(400, "DependencyViolation", "resource sg-task has a dependent object"));
    let provider = Mocks { ec2: vec![owned_group(), delete], ..Default::default() }.provider();
    let group = FirewallInfo {
        spec: FirewallSpec { name: "dashmath-from-alb-sg".into(), ingress: vec![] },
        id: "sg-task".into(),
        other_rules: vec![],
    };
    let error = provider.delete_replica_firewall(&owner(), &group).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::DependencyViolation);
    assert!(error.is_retryable(), "destroy waits for the interfaces to go and tries again");
    assert!(error.message.contains("dependent object"));
}

#[tokio::test]
async fn a_foreign_security_group_with_our_name_is_never_adopted() {
    use aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput;
    use aws_sdk_ec2::types::SecurityGroup;
    let foreign = mock!(aws_sdk_ec2::Client::describe_security_groups).then_output(|| {
        DescribeSecurityGroupsOutput::builder()
            .security_groups(SecurityGroup::builder().group_id("sg-x").group_name("dashmath-alb-sg").build())
            .build()
    });
    let provider = Mocks { ec2: vec![foreign], ..Default::default() }.provider();
    let error = provider.find_firewall(&owner(), "dashmath-alb-sg").await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::NotOwned);
}

fn owned_certificate() -> Rule {
    use aws_sdk_acm::operation::list_tags_for_certificate::ListTagsForCertificateOutput;
    mock!(aws_sdk_acm::Client::list_tags_for_certificate).then_output(|| {
        ListTagsForCertificateOutput::builder()
            .tags(aws_sdk_acm::types::Tag::builder().key("scaling:app").value("dashmath").build().unwrap())
            .build()
    })
}

fn certificate_info() -> CertificateInfo {
    CertificateInfo {
        spec: CertificateSpec { domain: "dashmath.example.com".into(), alternative_names: vec![] },
        id: "arn:cert".into(),
        status: CertificateStatus::Issued,
        validation_records: vec![],
        in_use: true,
        renewal_due: None,
    }
}

#[tokio::test]
async fn a_certificate_in_use_is_retryable() {
    let delete = mock!(aws_sdk_acm::Client::delete_certificate)
        .then_http_response(|| json_error("ResourceInUseException", "Certificate arn:cert in use by arn:listener"));
    let provider = Mocks { acm: vec![owned_certificate(), delete], ..Default::default() }.provider();
    let error = provider.delete_certificate(&owner(), &certificate_info()).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::InUse);
    assert!(error.is_retryable());
}

#[tokio::test]
async fn a_pending_certificate_hands_out_its_validation_records() {
    use aws_sdk_acm::operation::describe_certificate::DescribeCertificateOutput;
    use aws_sdk_acm::types::{
        CertificateDetail, CertificateStatus as Status, DomainValidation, RecordType, ResourceRecord,
    };
    let describe = mock!(aws_sdk_acm::Client::describe_certificate).then_output(|| {
        let record = |n: &str| {
            ResourceRecord::builder()
                .name(format!("_x.{n}."))
                .r#type(RecordType::Cname)
                .value("_y.acm-validations.aws.")
                .build()
                .unwrap()
        };
        let detail = CertificateDetail::builder()
            .certificate_arn("arn:cert")
            .domain_name("dashmath.example.com")
            .subject_alternative_names("dashmath.example.com")
            .subject_alternative_names("www.dashmath.example.com")
            .status(Status::PendingValidation)
            .domain_validation_options(
                DomainValidation::builder()
                    .domain_name("dashmath.example.com")
                    .resource_record(record("dashmath.example.com"))
                    .build()
                    .unwrap(),
            )
            .domain_validation_options(
                DomainValidation::builder()
                    .domain_name("www.dashmath.example.com")
                    .resource_record(record("www.dashmath.example.com"))
                    .build()
                    .unwrap(),
            )
            .build();
        DescribeCertificateOutput::builder().certificate(detail).build()
    });
    let provider = Mocks { acm: vec![describe], ..Default::default() }.provider();
    let cert = provider.describe_certificate(&certificate_info()).await.unwrap();
    assert_eq!(cert.status, CertificateStatus::PendingValidation);
    assert_eq!(cert.spec.alternative_names, ["www.dashmath.example.com"]);
    let names: Vec<&str> = cert.validation_records.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["_x.dashmath.example.com", "_x.www.dashmath.example.com"]);
}

#[tokio::test]
async fn access_denied_is_permanent_and_keeps_the_message() {
    let denied = mock!(aws_sdk_ecr::Client::describe_repositories).then_http_response(|| {
        json_error(
            "AccessDeniedException",
            "User: arn:aws:iam::1:user/ci is not authorized to perform: ecr:DescribeRepositories",
        )
    });
    let provider = Mocks { ecr: vec![denied], ..Default::default() }.provider();
    let error = provider.find_repository(&owner(), "dashmath-repository").await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::AccessDenied);
    assert!(!error.is_retryable());
    assert!(error.message.contains("ecr:DescribeRepositories"));
}

#[tokio::test]
async fn throttling_is_retryable() {
    let throttled = mock!(aws_sdk_ecr::Client::describe_repositories)
        .then_http_response(|| json_error("ThrottlingException", "Rate exceeded"));
    let provider = Mocks { ecr: vec![throttled], ..Default::default() }.provider();
    let error = provider.find_repository(&owner(), "dashmath-repository").await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::Throttled);
    assert!(error.is_retryable());
}

#[tokio::test]
async fn a_built_archive_is_read_as_it_is_with_the_platform_it_really_has() {
    use scaling_image::{Blob, LocalImage};
    let config = Blob::from_bytes(
        "application/vnd.oci.image.config.v1+json",
        &br#"{"architecture":"arm64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#[..],
    );
    let image = LocalImage::assemble(config, Vec::new()).unwrap();
    let dir = std::env::temp_dir().join(format!("scaling-aws-archive-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    image.write_oci_layout(&dir).unwrap();

    let provider = Mocks::default().provider();
    let request = scaling_core::providers::BuildRequest {
        app: "dashmath".into(),
        context: std::path::PathBuf::new(),
        dockerfile: "Dockerfile".into(),
        platform: scaling_core::Platform::LinuxAmd64,
        archive: Some(dir.clone()),
    };
    let artifact = provider.build_image(&request).await.unwrap();
    assert_eq!(artifact.digest, image.digest());
    assert_eq!(artifact.platform, scaling_core::Platform::LinuxArm64, "the orchestrator then refuses it for x86 tasks");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_zone_is_created_with_a_caller_reference_of_its_own_and_tagged_ten_tags_at_a_time() {
    use aws_sdk_route53::operation::change_tags_for_resource::ChangeTagsForResourceOutput;
    use aws_sdk_route53::operation::create_hosted_zone::CreateHostedZoneOutput;
    use aws_sdk_route53::operation::get_hosted_zone::GetHostedZoneOutput;
    use aws_sdk_route53::operation::list_tags_for_resource::ListTagsForResourceOutput;
    use aws_sdk_route53::types::{DelegationSet, HostedZone};
    use scaling_core::providers::Dns;
    let references = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = references.clone();
    let zone = || {
        HostedZone::builder()
            .id("/hostedzone/Z1")
            .name("example.com.")
            .caller_reference("scaling:dashmath:1")
            .build()
            .unwrap()
    };
    let create = mock!(aws_sdk_route53::Client::create_hosted_zone)
        .match_requests(move |r| {
            seen.lock().unwrap().push(r.caller_reference().unwrap_or_default().to_string());
            true
        })
        .then_output(move || {
            CreateHostedZoneOutput::builder()
                .hosted_zone(zone())
                .location("x")
                .delegation_set(DelegationSet::builder().name_servers("ns-1.example").build().unwrap())
                .change_info(
                    aws_sdk_route53::types::ChangeInfo::builder()
                        .id("c")
                        .status("PENDING".into())
                        .submitted_at(aws_smithy_types::DateTime::from_secs(0))
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap()
        });
    // Route 53 refuses more than ten tags in one call.
    let tag_batches = std::sync::Arc::new(std::sync::Mutex::new(Vec::<usize>::new()));
    let batches = tag_batches.clone();
    let tag = mock!(aws_sdk_route53::Client::change_tags_for_resource)
        .match_requests(move |r| {
            batches.lock().unwrap().push(r.add_tags().len());
            r.add_tags().len() <= crate::dns::ZONE_TAGS_PER_CALL
        })
        .then_output(|| ChangeTagsForResourceOutput::builder().build());
    let too_many = mock!(aws_sdk_route53::Client::change_tags_for_resource)
        .match_requests(|r| r.add_tags().len() > crate::dns::ZONE_TAGS_PER_CALL)
        .then_http_response(|| xml_error(400, "InvalidInput", "too many tags"));
    let get = mock!(aws_sdk_route53::Client::get_hosted_zone)
        .then_output(move || GetHostedZoneOutput::builder().hosted_zone(zone()).build());
    // The tags are not there (a tagging that failed): the caller reference still says whose it is.
    let no_tags = mock!(aws_sdk_route53::Client::list_tags_for_resource)
        .then_output(|| ListTagsForResourceOutput::builder().build());
    let mocks = Mocks { route53: vec![create, too_many, tag, get, no_tags], ..Mocks::default() };
    let aws = mocks.provider();
    let mut tags = scaling_core::providers::Tags::new();
    for n in 0..15 {
        tags.insert(format!("team-{n}"), "x".into());
    }
    let made = aws.create_zone(&owner(), "example.com", &tags).await.unwrap();
    assert_eq!(made.owner.as_deref(), Some("dashmath"), "owned through its caller reference");
    aws.create_zone(&owner(), "example.com", &tags).await.unwrap();
    let references = references.lock().unwrap().clone();
    assert_eq!(references.len(), 2);
    assert_ne!(references[0], references[1], "every create has its own reference: {references:?}");
    assert!(references.iter().all(|r| crate::dns::created_by(r).as_deref() == Some("dashmath")), "{references:?}");
    assert_eq!(tag_batches.lock().unwrap()[..2], [10, 5], "15 tags in two calls");
    assert_eq!(crate::dns::created_by("5f2b0c…"), None, "a zone made elsewhere is nobody's");
}

#[tokio::test]
async fn a_rollout_the_circuit_breaker_failed_is_started_again_with_force_new_deployment() {
    use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
    use aws_sdk_ecs::operation::list_tags_for_resource::ListTagsForResourceOutput;
    use aws_sdk_ecs::operation::update_service::UpdateServiceOutput;
    use aws_sdk_ecs::types::{Deployment, DeploymentRolloutState, Service, Tag};
    let failed = || {
        Service::builder()
            .service_arn("arn:service")
            .service_name("dashmath-service")
            .status("ACTIVE")
            .cluster_arn("arn:cluster")
            .task_definition("arn:taskdef:1")
            .desired_count(3)
            .running_count(0)
            .deployments(
                Deployment::builder()
                    .status("PRIMARY")
                    .task_definition("arn:taskdef:1")
                    .rollout_state(DeploymentRolloutState::Failed)
                    .rollout_state_reason("ECS deployment circuit breaker: tasks failed to start.")
                    .build(),
            )
            .tags(Tag::builder().key(Owner::TAG).value("dashmath").build())
            .build()
    };
    let describe = mock!(aws_sdk_ecs::Client::describe_services)
        .then_output(move || DescribeServicesOutput::builder().services(failed()).build());
    let tags = mock!(aws_sdk_ecs::Client::list_tags_for_resource).then_output(|| {
        ListTagsForResourceOutput::builder().tags(Tag::builder().key(Owner::TAG).value("dashmath").build()).build()
    });
    let update = mock!(aws_sdk_ecs::Client::update_service)
        .match_requests(|r| r.force_new_deployment() == Some(true) && r.task_definition() == Some("arn:taskdef:1"))
        .then_output(move || UpdateServiceOutput::builder().service(failed()).build());
    // The failed rollout's message is completed with the tasks' last lines (none here).
    let logs = mock!(aws_sdk_cloudwatchlogs::Client::filter_log_events)
        .then_output(|| aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsOutput::builder().build());
    let provider =
        Mocks { ecs: vec![describe, tags, update.clone()], logs: vec![logs], ..Default::default() }.provider();
    let cluster = ClusterInfo { id: "arn:cluster".into(), name: "dashmath-cluster".into() };
    let found = provider.find_service(&owner(), &cluster, "dashmath-service").await.unwrap().unwrap();
    assert!(matches!(&found.rollout, scaling_core::providers::Rollout::Failed(r) if r.contains("circuit breaker")));
    provider.ensure_service(&desired_service(true)).await.unwrap();
    assert_eq!(update.num_calls(), 1, "UpdateService carried forceNewDeployment on the same revision");
}

#[tokio::test]
async fn an_alb_refuses_a_certificate_acm_does_not_hold_before_any_call() {
    use scaling_core::providers::{
        DesiredListener, Endpoint, ListenerAction, LoadBalancerInfo, LoadBalancerStatus, Protocol,
    };
    // No rule: any ELB call would fail the test with the mock's own error instead.
    let provider = Mocks::default().provider();
    let lb = LoadBalancerInfo {
        spec: LoadBalancerSpec { name: "dashmath-alb".into(), idle_timeout: std::time::Duration::from_secs(60) },
        id: "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/dashmath-alb/1".into(),
        endpoint: Endpoint::hostname("dashmath-alb.elb.amazonaws.com"),
        firewall_ids: Vec::new(),
        drop_invalid_header_fields: Some(true),
        hosts: None,
        status: LoadBalancerStatus::Active,
        drift: Vec::new(),
        connections: None,
    };
    let listener = DesiredListener {
        spec: ListenerSpec {
            port: 443,
            protocol: Protocol::Https,
            action: ListenerAction::Forward { backend_id: "arn:tg".into() },
            certificate_id: Some("acme-0001764770000-3f2a9c1d7b44".into()),
            min_tls_version: None,
        },
        hosts: vec!["dashmath.example.com".into()],
        tags: Default::default(),
    };
    let refused = provider.ensure_listener(&lb, &listener).await.unwrap_err();
    assert_eq!(refused.kind, ErrorKind::InvalidRequest, "{refused}");
    assert!(refused.message.contains("only ACM"), "{refused}");
    // ACM's ARNs (every HTTPS deploy of the moto suite) pass.
}

#[tokio::test]
async fn a_symbolic_load_balancer_source_is_refused_before_any_call() {
    use scaling_core::providers::{DesiredFirewall, IngressRule, TrafficFrom};
    // No rule: any EC2 call would fail the test with the mock's own error instead.
    let provider = Mocks::default().provider();
    let desired = DesiredFirewall {
        spec: FirewallSpec {
            name: "dashmath-ecs-sg".into(),
            ingress: vec![IngressRule { port: 8050, from: TrafficFrom::LoadBalancer }],
        },
        description: "only the load balancer".into(),
        tags: owner().tags(&Default::default()),
    };
    let refused = provider.ensure_replica_firewall(&desired).await.unwrap_err();
    assert_eq!(refused.kind, ErrorKind::InvalidRequest, "{refused}");
    assert!(refused.message.contains("pair the ECS cluster with the AWS load balancer"), "{refused}");
}
