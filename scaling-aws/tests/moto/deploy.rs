//! A deploy leaves exactly the recipe in the account; re-deploys change nothing; destroy cleans up.

use aws_sdk_elasticloadbalancingv2::types::{ActionTypeEnum, ProtocolEnum};
use scaling_core::{DestroyOptions, RecordedEvents};

use crate::support::{moto_url, provider, sdk, Sdk};
use crate::{image, orchestrator, spec};

async fn tags_of_elb(sdk: &Sdk, arn: &str) -> Vec<(String, String)> {
    let out = sdk.elb.describe_tags().resource_arns(arn).send().await.unwrap();
    out.tag_descriptions()[0]
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_string(), t.value().unwrap_or_default().to_string()))
        .collect()
}

fn owned(tags: &[(String, String)]) -> bool {
    tags.iter().any(|(k, v)| k == "scaling:app" && v == "dashmath")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_leaves_the_seed_recipe_in_the_account() {
    let Some(url) = moto_url() else { return };
    let (aws, _, _, account) = provider(&url).await;
    let report = orchestrator(&aws).deploy(&spec(), None, &RecordedEvents::new()).await.unwrap();
    let sdk = sdk(&url, &account).await;

    // ECR: the seed's repository, scanned on push, immutable tags.
    let repos = sdk.ecr.describe_repositories().repository_names("dashmath-repository").send().await.unwrap();
    let repo = &repos.repositories()[0];
    assert!(repo.image_scanning_configuration().unwrap().scan_on_push());
    assert_eq!(repo.image_tag_mutability().unwrap().as_str(), "IMMUTABLE");

    // Security groups: 80/443 from anywhere (IPv4 and IPv6); tasks admit only 8050 from the ALB's group.
    let group = |name: &'static str| {
        let sdk = &sdk;
        async move {
            let f = aws_sdk_ec2::types::Filter::builder().name("group-name").values(name).build();
            sdk.ec2.describe_security_groups().filters(f).send().await.unwrap().security_groups()[0].clone()
        }
    };
    let (alb_sg, task_sg) = (group("dashmath-alb-sg").await, group("dashmath-from-alb-sg").await);
    let mut ports: Vec<i32> = alb_sg.ip_permissions().iter().map(|p| p.from_port().unwrap()).collect();
    ports.sort();
    assert_eq!(ports, [80, 443]);
    for p in alb_sg.ip_permissions() {
        assert_eq!(p.ip_ranges()[0].cidr_ip(), Some("0.0.0.0/0"));
        assert_eq!(p.ipv6_ranges()[0].cidr_ipv6(), Some("::/0"));
    }
    assert_eq!(task_sg.ip_permissions().len(), 1, "only the container port");
    let rule = &task_sg.ip_permissions()[0];
    assert_eq!((rule.from_port(), rule.to_port()), (Some(8050), Some(8050)));
    assert!(rule.ip_ranges().is_empty());
    assert_eq!(rule.user_id_group_pairs()[0].group_id(), alb_sg.group_id(), "only from the load balancer's group");
    assert!(alb_sg.tags().iter().any(|t| t.key() == Some("scaling:app") && t.value() == Some("dashmath")));

    // The ALB: internet-facing, really carrying its own group, invalid headers dropped.
    let lbs = sdk.elb.describe_load_balancers().names("dashmath-alb").send().await.unwrap();
    let lb = &lbs.load_balancers()[0];
    assert_eq!(lb.scheme().unwrap().as_str(), "internet-facing");
    assert_eq!(lb.security_groups(), [alb_sg.group_id().unwrap().to_string()]);
    let lb_arn = lb.load_balancer_arn().unwrap();
    assert!(owned(&tags_of_elb(&sdk, lb_arn).await));
    let attributes = sdk.elb.describe_load_balancer_attributes().load_balancer_arn(lb_arn).send().await.unwrap();
    let attribute = |key: &str| {
        attributes.attributes().iter().find(|a| a.key() == Some(key)).and_then(|a| a.value()).map(str::to_string)
    };
    assert_eq!(attribute("routing.http.drop_invalid_header_fields.enabled").as_deref(), Some("true"));
    assert_eq!(attribute("idle_timeout.timeout_seconds").as_deref(), Some("60"));

    // The target group: ip targets, health check on /, a short deregistration delay.
    let tgs = sdk.elb.describe_target_groups().names("dashmath-tg").send().await.unwrap();
    let tg = &tgs.target_groups()[0];
    assert_eq!(tg.target_type().unwrap().as_str(), "ip");
    assert_eq!((tg.health_check_path(), tg.port()), (Some("/"), Some(8050)));
    let tg_arn = tg.target_group_arn().unwrap();
    let tg_attributes = sdk.elb.describe_target_group_attributes().target_group_arn(tg_arn).send().await.unwrap();
    let tg_attribute = |key: &str| {
        tg_attributes.attributes().iter().find(|a| a.key() == Some(key)).and_then(|a| a.value()).map(str::to_string)
    };
    assert_eq!(tg_attribute("deregistration_delay.timeout_seconds").as_deref(), Some("30"));
    assert_eq!(tg_attribute("load_balancing.algorithm.type").as_deref(), Some("least_outstanding_requests"));

    // Listeners: HTTPS:443 with the certificate and TLS 1.3; HTTP:80 a 301 to HTTPS.
    let certs = sdk.acm.list_certificates().send().await.unwrap();
    let cert_arn = certs.certificate_summary_list()[0].certificate_arn().unwrap().to_string();
    let listeners = sdk.elb.describe_listeners().load_balancer_arn(lb_arn).send().await.unwrap();
    assert_eq!(listeners.listeners().len(), 2);
    for l in listeners.listeners() {
        let action = &l.default_actions()[0];
        match l.port() {
            Some(443) => {
                assert_eq!(l.protocol(), Some(&ProtocolEnum::Https));
                assert_eq!(l.ssl_policy(), Some("ELBSecurityPolicy-TLS13-1-2-2021-06"));
                assert_eq!(l.certificates()[0].certificate_arn(), Some(cert_arn.as_str()));
                assert_eq!(
                    (action.r#type(), action.target_group_arn()),
                    (Some(&ActionTypeEnum::Forward), Some(tg_arn))
                );
            }
            Some(80) => {
                let redirect = action.redirect_config().unwrap();
                assert_eq!(
                    (redirect.protocol(), redirect.port(), redirect.status_code().map(|c| c.as_str())),
                    (Some("HTTPS"), Some("443"), Some("HTTP_301"))
                );
            }
            other => panic!("unexpected listener {other:?}"),
        }
    }

    // ACM: one certificate for the apex with www as SAN, issued, owned.
    let cert = sdk.acm.describe_certificate().certificate_arn(&cert_arn).send().await.unwrap();
    let cert = cert.certificate().unwrap();
    assert_eq!(cert.domain_name(), Some("dashmath.example.com"));
    assert!(cert.subject_alternative_names().contains(&"www.dashmath.example.com".to_string()));
    assert_eq!(cert.status().unwrap().as_str(), "ISSUED");
    let cert_tags = sdk.acm.list_tags_for_certificate().certificate_arn(&cert_arn).send().await.unwrap();
    assert!(cert_tags.tags().iter().any(|t| t.key() == "scaling:app"));

    // ECS: the cluster, the task definition, the service.
    let clusters = sdk.ecs.describe_clusters().clusters("dashmath-cluster").send().await.unwrap();
    assert_eq!(clusters.clusters()[0].status(), Some("ACTIVE"));
    let def = sdk.ecs.describe_task_definition().task_definition("dashmath-taskdef").send().await.unwrap();
    let def = def.task_definition().unwrap();
    assert_eq!(def.network_mode().unwrap().as_str(), "awsvpc");
    assert_eq!((def.cpu(), def.memory()), (Some("1024"), Some("3072")));
    assert_eq!(def.runtime_platform().unwrap().cpu_architecture().unwrap().as_str(), "X86_64");
    assert!(def.execution_role_arn().unwrap().ends_with("role/dashmath-us-east-1-execution-role"));
    let container = &def.container_definitions()[0];
    assert_eq!((container.name(), container.image()), (Some("dashmath-container"), Some(image(1).as_str())));
    assert_eq!(container.port_mappings()[0].container_port(), Some(8050));
    let logging = container.log_configuration().unwrap();
    assert_eq!(logging.log_driver().as_str(), "awslogs");
    assert_eq!(logging.options().unwrap().get("awslogs-group").map(String::as_str), Some("/ecs/dashmath"));
    let groups = sdk.logs.describe_log_groups().log_group_name_prefix("/ecs/dashmath").send().await.unwrap();
    assert_eq!(groups.log_groups().len(), 1);
    let policies =
        sdk.iam.list_attached_role_policies().role_name("dashmath-us-east-1-execution-role").send().await.unwrap();
    assert!(policies.attached_policies().iter().any(|p| p.policy_name() == Some("AmazonECSTaskExecutionRolePolicy")));
    let services =
        sdk.ecs.describe_services().cluster("dashmath-cluster").services("dashmath-service").send().await.unwrap();
    let service = &services.services()[0];
    assert_eq!((service.desired_count(), service.launch_type().map(|l| l.as_str())), (3, Some("FARGATE")));
    let awsvpc = service.network_configuration().unwrap().awsvpc_configuration().unwrap();
    assert_eq!(awsvpc.security_groups(), [task_sg.group_id().unwrap().to_string()]);
    let target = &service.load_balancers()[0];
    assert_eq!(
        (target.target_group_arn(), target.container_name(), target.container_port()),
        (Some(tg_arn), Some("dashmath-container"), Some(8050))
    );

    // Route 53: the zone, and alias A records for the apex and www pointing at the ALB.
    let zone = report.new_zone.clone().expect("a new zone");
    assert_eq!(zone.name_servers.len(), 4);
    let records = sdk.route53.list_resource_record_sets().hosted_zone_id(&zone.id).send().await.unwrap();
    for name in ["dashmath.example.com.", "www.dashmath.example.com."] {
        let set = records
            .resource_record_sets()
            .iter()
            .find(|s| s.name() == name && s.r#type().as_str() == "A")
            .unwrap_or_else(|| panic!("{name}"));
        let alias = set.alias_target().unwrap();
        assert_eq!(
            alias.dns_name().trim_end_matches('.').to_ascii_lowercase(),
            lb.dns_name().unwrap().to_ascii_lowercase()
        );
    }
    assert_eq!(report.urls, ["https://dashmath.example.com", "https://www.dashmath.example.com"]);

    // status: tasks, rollout, certificate, URLs, and the public delegation (a loopback DNS here).
    let status = orchestrator(&aws).status(&spec()).await.unwrap();
    let service = status.service.unwrap();
    assert_eq!(
        (service.spec.desired_count, service.running_count, service.rollout),
        (3, 3, scaling_core::providers::Rollout::Completed)
    );
    assert_eq!(status.certificate, Some(scaling_core::providers::CertificateStatus::Issued));
    assert_eq!(status.delegation, Some(scaling_core::providers::Delegation::Delegated));
    assert_eq!(status.name_servers, zone.name_servers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_deploy_makes_no_mutating_call_and_an_image_change_touches_only_task_definition_and_service() {
    let Some(url) = moto_url() else { return };
    let (aws, log, _, _) = provider(&url).await;
    let orchestrator = orchestrator(&aws);
    orchestrator.deploy(&spec(), None, &RecordedEvents::new()).await.unwrap();
    log.clear();

    orchestrator.deploy(&spec(), None, &RecordedEvents::new()).await.unwrap();
    assert_eq!(log.mutating(), Vec::<String>::new(), "a second deploy changes nothing");
    let reads = log.calls().len();
    eprintln!("a no-op re-deploy made {reads} reads");
    assert!((1..=30).contains(&reads), "a no-op re-deploy reads at most 30 times, made {reads}: {:?}", log.calls());

    log.clear();
    let mut changed = spec();
    changed.image = scaling_core::ImageSpec::prebuilt(image(2));
    orchestrator.deploy(&changed, None, &RecordedEvents::new()).await.unwrap();
    assert_eq!(log.mutating(), ["RegisterTaskDefinition", "UpdateService"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_removes_everything_owned_and_keeps_the_zone_and_a_foreign_record() {
    let Some(url) = moto_url() else { return };
    let (aws, _, _, account) = provider(&url).await;
    let orchestrator = orchestrator(&aws);
    let report = orchestrator.deploy(&spec(), None, &RecordedEvents::new()).await.unwrap();
    let sdk = sdk(&url, &account).await;
    let zone_id = report.new_zone.unwrap().id;
    sdk.add_txt(&zone_id, "mail.dashmath.example.com", "\"v=spf1 -all\"").await;

    let options = DestroyOptions { delete_images: true, delete_zone: false, delete_logs: false };
    let planned = orchestrator.plan_destroy(&spec(), &options).await.unwrap();
    let destroyed = orchestrator.destroy(&spec(), &options, &RecordedEvents::new()).await.unwrap();
    assert!(destroyed.kept.iter().any(|k| k.contains("--delete-zone")));
    assert!(destroyed.kept.iter().any(|k| k.starts_with("log group /ecs/dashmath") && k.contains("--delete-logs")));
    let planned_deletes: Vec<&str> = planned
        .changes
        .iter()
        .filter(|c| c.action == scaling_core::Action::Delete)
        .map(|c| c.resource.as_str())
        .collect();
    assert_eq!(planned_deletes, destroyed.deleted, "destroy deletes exactly what its plan said");
    assert!(destroyed.deleted.contains(&"execution role dashmath-us-east-1-execution-role".to_string()));

    assert!(sdk.ecr.describe_repositories().repository_names("dashmath-repository").send().await.is_err());
    assert!(sdk.elb.describe_load_balancers().names("dashmath-alb").send().await.is_err());
    assert!(sdk.elb.describe_target_groups().names("dashmath-tg").send().await.is_err());
    assert!(sdk.acm.list_certificates().send().await.unwrap().certificate_summary_list().is_empty());
    let groups = sdk.ec2.describe_security_groups().send().await.unwrap();
    assert!(!groups.security_groups().iter().any(|g| g.group_name().unwrap_or_default().starts_with("dashmath")));
    let clusters = sdk.ecs.describe_clusters().clusters("dashmath-cluster").send().await.unwrap();
    assert!(clusters.clusters().iter().all(|c| c.status() != Some("ACTIVE")));
    let records = sdk.route53.list_resource_record_sets().hosted_zone_id(&zone_id).send().await.unwrap();
    let left: Vec<String> =
        records.resource_record_sets().iter().map(|s| format!("{} {}", s.name(), s.r#type().as_str())).collect();
    assert_eq!(left.len(), 3, "NS, SOA and the foreign record remain: {left:?}");
    assert!(left.contains(&"mail.dashmath.example.com. TXT".to_string()));
    assert!(
        sdk.iam.get_role().role_name("dashmath-us-east-1-execution-role").send().await.is_err(),
        "the role is gone"
    );
    let logs = sdk.logs.describe_log_groups().log_group_name_prefix("/ecs/dashmath").send().await.unwrap();
    assert_eq!(logs.log_groups().len(), 1, "the logs are kept, as destroy said");
    assert_eq!(
        orchestrator.plan_destroy(&spec(), &options).await.unwrap().owned_resources(),
        ["log group /ecs/dashmath", "zone dashmath.example.com"],
        "only what destroy named as kept"
    );
    let with_logs = DestroyOptions { delete_logs: true, ..options };
    orchestrator.destroy(&spec(), &with_logs, &RecordedEvents::new()).await.unwrap();
    let logs = sdk.logs.describe_log_groups().log_group_name_prefix("/ecs/dashmath").send().await.unwrap();
    assert!(logs.log_groups().is_empty(), "--delete-logs deletes them");
}
