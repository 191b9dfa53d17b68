//! Drift made out of band after a clean deploy, one test per class of managed property (rule sets,
//! load-balancer attributes, listener settings, health check, service settings, record values): `plan`
//! names it, one deploy repairs it, and the deploy after that makes no write.

use std::sync::Arc;

use aws_sdk_ec2::types::{Filter, IpPermission, Ipv6Range};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, LoadBalancerAttribute, ProtocolEnum, RedirectActionConfig, RedirectActionStatusCodeEnum,
};
use aws_sdk_route53::types::RrType;
use scaling_aws::AwsProvider;
use scaling_core::{Orchestrator, RecordedEvents, Spec};

use crate::support::{moto_url, provider, sdk, CallLog, Sdk};
use crate::{orchestrator, spec};

/// A clean deploy of the seed's recipe in an account of its own, with direct SDK access to it.
struct Deployed {
    aws: Arc<AwsProvider>,
    log: CallLog,
    sdk: Sdk,
    zone_id: String,
}

impl Deployed {
    async fn new() -> Option<Self> {
        let url = moto_url()?;
        let (aws, log, _, account) = provider(&url).await;
        let report = orchestrator(&aws).deploy(&spec(), None, &RecordedEvents::new()).await.unwrap();
        let sdk = sdk(&url, &account).await;
        Some(Self { aws, log, sdk, zone_id: report.new_zone.unwrap().id })
    }

    fn orchestrator(&self) -> Orchestrator {
        orchestrator(&self.aws)
    }

    /// The plan names `resource` with an update or delete whose reason contains `reason`.
    async fn assert_planned(&self, resource: &str, reason: &str) {
        let plan = self.orchestrator().plan(&spec(), image_source(&spec())).await.unwrap();
        let row = plan.changes.iter().find(|c| c.resource == resource && c.action.mutates());
        let row = row.unwrap_or_else(|| panic!("no change planned for {resource}: {:#?}", plan.changes));
        assert!(row.reason.contains(reason), "{resource}: {:?} does not say {reason:?}", row.reason);
    }

    /// One deploy repairs the drift; the next one writes nothing.
    async fn assert_repaired_in_one_deploy(&self) {
        self.orchestrator().deploy(&spec(), None, &RecordedEvents::new()).await.unwrap();
        let plan = self.orchestrator().plan(&spec(), image_source(&spec())).await.unwrap();
        let left: Vec<_> = plan.changes.iter().filter(|c| c.action.mutates()).collect();
        assert!(left.is_empty(), "one deploy left drift: {left:#?}");
        self.log.clear();
        self.orchestrator().deploy(&spec(), None, &RecordedEvents::new()).await.unwrap();
        assert_eq!(self.log.mutating(), Vec::<String>::new(), "the deploy after the repair writes nothing");
    }

    async fn group(&self, name: &str) -> aws_sdk_ec2::types::SecurityGroup {
        let filter = Filter::builder().name("group-name").values(name).build();
        self.sdk.ec2.describe_security_groups().filters(filter).send().await.unwrap().security_groups()[0].clone()
    }

    async fn load_balancer_arn(&self) -> String {
        let out = self.sdk.elb.describe_load_balancers().names("dashmath-alb").send().await.unwrap();
        out.load_balancers()[0].load_balancer_arn().unwrap().to_string()
    }

    async fn listener(&self, port: i32) -> Option<aws_sdk_elasticloadbalancingv2::types::Listener> {
        let arn = self.load_balancer_arn().await;
        let out = self.sdk.elb.describe_listeners().load_balancer_arn(arn).send().await.unwrap();
        out.listeners().iter().find(|l| l.port() == Some(port)).cloned()
    }

    async fn target_group(&self) -> aws_sdk_elasticloadbalancingv2::types::TargetGroup {
        let out = self.sdk.elb.describe_target_groups().names("dashmath-tg").send().await.unwrap();
        out.target_groups()[0].clone()
    }
}

fn image_source(spec: &Spec) -> scaling_core::ImageSource {
    scaling_core::ImageSource::Prebuilt(spec.image.reference.as_deref().unwrap().parse().unwrap())
}

fn tcp(port: i32) -> aws_sdk_ec2::types::builders::IpPermissionBuilder {
    IpPermission::builder().ip_protocol("tcp").from_port(port).to_port(port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extra_rule_on_the_task_group_is_seen_and_revoked() {
    let Some(d) = Deployed::new().await else { return };
    let task = d.group("dashmath-from-alb-sg").await;
    let open_ssh = tcp(22).ip_ranges(aws_sdk_ec2::types::IpRange::builder().cidr_ip("0.0.0.0/0").build()).build();
    d.sdk
        .ec2
        .authorize_security_group_ingress()
        .group_id(task.group_id().unwrap())
        .ip_permissions(open_ssh)
        .send()
        .await
        .unwrap();

    d.assert_planned("security group dashmath-from-alb-sg", "extra rule tcp/22 from 0.0.0.0/0").await;
    d.assert_repaired_in_one_deploy().await;
    let task = d.group("dashmath-from-alb-sg").await;
    let ports: Vec<_> = task.ip_permissions().iter().map(|p| p.from_port()).collect();
    assert_eq!(ports, [Some(8050)], "only the container port is admitted again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_ipv6_half_of_a_web_rule_is_seen_and_granted_again() {
    let Some(d) = Deployed::new().await else { return };
    let alb = d.group("dashmath-alb-sg").await;
    let v6_half = tcp(80).ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build()).build();
    d.sdk
        .ec2
        .revoke_security_group_ingress()
        .group_id(alb.group_id().unwrap())
        .ip_permissions(v6_half)
        .send()
        .await
        .unwrap();

    d.assert_planned("security group dashmath-alb-sg", "missing rule tcp/80 from ::/0").await;
    d.assert_repaired_in_one_deploy().await;
    let alb = d.group("dashmath-alb-sg").await;
    let port_80 = alb.ip_permissions().iter().find(|p| p.from_port() == Some(80)).unwrap();
    assert_eq!(port_80.ipv6_ranges().len(), 1, "IPv6 admitted on 80 again");
    assert_eq!(port_80.ip_ranges().len(), 1, "IPv4 still admitted on 80");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_balancer_attributes_turned_off_are_seen_and_turned_back_on() {
    let Some(d) = Deployed::new().await else { return };
    let arn = d.load_balancer_arn().await;
    let attribute = |k: &str, v: &str| LoadBalancerAttribute::builder().key(k).value(v).build();
    d.sdk
        .elb
        .modify_load_balancer_attributes()
        .load_balancer_arn(&arn)
        .attributes(attribute("routing.http.drop_invalid_header_fields.enabled", "false"))
        .attributes(attribute("idle_timeout.timeout_seconds", "4000"))
        .send()
        .await
        .unwrap();

    d.assert_planned("load balancer dashmath-alb", "drop invalid header fields: off → on").await;
    d.assert_planned("load balancer dashmath-alb", "idle timeout").await;
    d.assert_repaired_in_one_deploy().await;
    let out = d.sdk.elb.describe_load_balancer_attributes().load_balancer_arn(&arn).send().await.unwrap();
    let value =
        |key: &str| out.attributes().iter().find(|a| a.key() == Some(key)).and_then(|a| a.value()).map(str::to_string);
    assert_eq!(value("routing.http.drop_invalid_header_fields.enabled").as_deref(), Some("true"));
    assert_eq!(value("idle_timeout.timeout_seconds").as_deref(), Some("60"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weaker_tls_policy_is_seen_and_restored() {
    let Some(d) = Deployed::new().await else { return };
    let https = d.listener(443).await.unwrap();
    d.sdk
        .elb
        .modify_listener()
        .listener_arn(https.listener_arn().unwrap())
        .ssl_policy("ELBSecurityPolicy-2016-08")
        .send()
        .await
        .unwrap();

    d.assert_planned("listener HTTPS:443", "minimum TLS version: TLS 1.0 → TLS 1.2").await;
    d.assert_planned(
        "listener HTTPS:443",
        "TLS policy: ELBSecurityPolicy-2016-08 → ELBSecurityPolicy-TLS13-1-2-2021-06",
    )
    .await;
    d.assert_repaired_in_one_deploy().await;
    let https = d.listener(443).await.unwrap();
    assert_eq!(https.ssl_policy(), Some("ELBSecurityPolicy-TLS13-1-2-2021-06"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_policy_of_the_same_minimum_is_still_drift() {
    let Some(d) = Deployed::new().await else { return };
    let https = d.listener(443).await.unwrap();
    let other = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06";
    d.sdk.elb.modify_listener().listener_arn(https.listener_arn().unwrap()).ssl_policy(other).send().await.unwrap();

    d.assert_planned("listener HTTPS:443", &format!("TLS policy: {other} → {}", scaling_aws::TLS12_POLICY)).await;
    d.assert_repaired_in_one_deploy().await;
    assert_eq!(d.listener(443).await.unwrap().ssl_policy(), Some(scaling_aws::TLS12_POLICY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_made_temporary_is_seen_and_made_permanent_again() {
    let Some(d) = Deployed::new().await else { return };
    let http = d.listener(80).await.unwrap();
    let temporary = RedirectActionConfig::builder()
        .protocol("HTTPS")
        .port("443")
        .status_code(RedirectActionStatusCodeEnum::Http302)
        .build();
    d.sdk
        .elb
        .modify_listener()
        .listener_arn(http.listener_arn().unwrap())
        .default_actions(Action::builder().r#type(ActionTypeEnum::Redirect).redirect_config(temporary).build())
        .send()
        .await
        .unwrap();

    d.assert_planned("listener HTTP:80", "redirect status: HTTP_302 → HTTP_301").await;
    d.assert_repaired_in_one_deploy().await;
    let http = d.listener(80).await.unwrap();
    let status = http.default_actions()[0].redirect_config().unwrap().status_code().map(|s| s.as_str().to_string());
    assert_eq!(status.as_deref(), Some("HTTP_301"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extra_listener_is_seen_and_deleted() {
    let Some(d) = Deployed::new().await else { return };
    let arn = d.load_balancer_arn().await;
    let tg = d.target_group().await;
    d.sdk
        .elb
        .create_listener()
        .load_balancer_arn(&arn)
        .port(8080)
        .protocol(ProtocolEnum::Http)
        .default_actions(
            Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(tg.target_group_arn().unwrap()).build(),
        )
        .send()
        .await
        .unwrap();

    d.assert_planned("listener HTTP:8080", "the spec serves no port 8080").await;
    d.assert_repaired_in_one_deploy().await;
    assert!(d.listener(8080).await.is_none(), "the extra listener is gone");
    assert!(d.listener(80).await.is_some() && d.listener(443).await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_health_check_is_seen_and_restored() {
    let Some(d) = Deployed::new().await else { return };
    let tg = d.target_group().await;
    d.sdk
        .elb
        .modify_target_group()
        .target_group_arn(tg.target_group_arn().unwrap())
        .health_check_path("/admin")
        .matcher(aws_sdk_elasticloadbalancingv2::types::Matcher::builder().http_code("200-499").build())
        .send()
        .await
        .unwrap();

    d.assert_planned("target group dashmath-tg", "health check").await;
    d.assert_planned("target group dashmath-tg", "healthy answers: 200-499 → 200-399").await;
    d.assert_repaired_in_one_deploy().await;
    let tg = d.target_group().await;
    assert_eq!(tg.health_check_path(), Some("/"));
    assert_eq!(tg.matcher().and_then(|m| m.http_code()), Some("200-399"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_service_is_seen_and_restored() {
    let Some(d) = Deployed::new().await else { return };
    d.sdk
        .ecs
        .update_service()
        .cluster("dashmath-cluster")
        .service("dashmath-service")
        .desired_count(1)
        .health_check_grace_period_seconds(600)
        .send()
        .await
        .unwrap();

    d.assert_planned("service dashmath-service", "desired count: 1 → 3").await;
    d.assert_planned("service dashmath-service", "health check grace period").await;
    d.assert_repaired_in_one_deploy().await;
    let out =
        d.sdk.ecs.describe_services().cluster("dashmath-cluster").services("dashmath-service").send().await.unwrap();
    let service = &out.services()[0];
    assert_eq!((service.desired_count(), service.health_check_grace_period_seconds()), (3, Some(30)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_pointed_elsewhere_is_seen_and_pointed_back() {
    let Some(d) = Deployed::new().await else { return };
    d.sdk.point_elsewhere(&d.zone_id, "www.dashmath.example.com.").await;

    d.assert_planned("DNS records dashmath.example.com, www.dashmath.example.com", "www.dashmath.example.com").await;
    d.assert_repaired_in_one_deploy().await;
    let records = d.sdk.route53.list_resource_record_sets().hosted_zone_id(&d.zone_id).send().await.unwrap();
    let www = records
        .resource_record_sets()
        .iter()
        .find(|s| s.name() == "www.dashmath.example.com." && s.r#type() == &RrType::A)
        .unwrap();
    let target = www.alias_target().unwrap().dns_name().to_ascii_lowercase();
    assert!(target.contains("dashmath-alb"), "www points at the load balancer again: {target}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_resources_changed_out_of_band_are_seen_and_restored() {
    let Some(d) = Deployed::new().await else { return };
    let policy = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";
    d.sdk
        .iam
        .detach_role_policy()
        .role_name("dashmath-us-east-1-execution-role")
        .policy_arn(policy)
        .send()
        .await
        .unwrap();
    d.sdk.logs.delete_retention_policy().log_group_name("/ecs/dashmath").send().await.unwrap();

    d.assert_planned(
        "execution role dashmath-us-east-1-execution-role",
        "AmazonECSTaskExecutionRolePolicy: detached → attached",
    )
    .await;
    d.assert_planned("log group /ecs/dashmath", "retention: forever → 30 days").await;
    d.assert_repaired_in_one_deploy().await;
    let attached =
        d.sdk.iam.list_attached_role_policies().role_name("dashmath-us-east-1-execution-role").send().await.unwrap();
    assert!(attached.attached_policies().iter().any(|p| p.policy_arn() == Some(policy)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_plan_shows_the_role_and_the_log_group_as_rows_of_their_own() {
    let Some(url) = moto_url() else { return };
    let (aws, _, _, _) = provider(&url).await;
    let plan = orchestrator(&aws).plan(&spec(), image_source(&spec())).await.unwrap();
    for resource in ["execution role dashmath-us-east-1-execution-role", "log group /ecs/dashmath"] {
        let row = plan.changes.iter().find(|c| c.resource == resource).unwrap_or_else(|| panic!("{resource}"));
        assert_eq!(row.action, scaling_core::Action::Create, "{row:?}");
        assert_eq!(row.step, scaling_aws::SUPPORT_RESOURCES);
    }
}
