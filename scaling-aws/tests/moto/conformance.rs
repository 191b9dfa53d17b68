//! The conformance kit on the AWS provider against moto, with drift made through the SDK directly.

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, IpPermission, IpRange};
use scaling_core::conformance::{self, Drift, Subject, Tamper};
use scaling_core::{Providers, Spec};

use crate::support::{moto_url, provider, sdk, Sdk};
use crate::{orchestrator, spec};

/// Someone with console access to the account.
struct Console(Sdk);

#[async_trait]
impl Tamper for Console {
    async fn tamper(&self, spec: &Spec, drift: Drift) -> bool {
        let (sdk, app) = (&self.0, &spec.app.name);
        match drift {
            Drift::ReplicaCount => {
                let (cluster, service) = (format!("{app}-cluster"), format!("{app}-service"));
                sdk.ecs.update_service().cluster(cluster).service(service).desired_count(1).send().await.unwrap();
            }
            Drift::HealthCheckPath => {
                let out = sdk.elb.describe_target_groups().names(format!("{app}-tg")).send().await.unwrap();
                let arn = out.target_groups()[0].target_group_arn().unwrap().to_string();
                sdk.elb
                    .modify_target_group()
                    .target_group_arn(arn)
                    .health_check_path("/tampered")
                    .send()
                    .await
                    .unwrap();
            }
            Drift::ExtraIngressRule => {
                let filter = Filter::builder().name("group-name").values(format!("{app}-from-alb-sg")).build();
                let out = sdk.ec2.describe_security_groups().filters(filter).send().await.unwrap();
                let id = out.security_groups()[0].group_id().unwrap().to_string();
                let ssh = IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(22)
                    .to_port(22)
                    .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build();
                sdk.ec2.authorize_security_group_ingress().group_id(id).ip_permissions(ssh).send().await.unwrap();
            }
            Drift::RecordValue => {
                let Some(domain) = &spec.domain else { return false };
                let zones = sdk.route53.list_hosted_zones_by_name().dns_name(&domain.name).send().await.unwrap();
                let zone = zones.hosted_zones()[0].id().to_string();
                sdk.point_elsewhere(&zone, &format!("{}.", domain.name)).await;
            }
            Drift::OwnResource => {
                let policy = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";
                let role = format!("{app}-us-east-1-execution-role");
                sdk.iam.detach_role_policy().role_name(role).policy_arn(policy).send().await.unwrap();
            }
            _ => return false,
        }
        true
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_provider_passes_the_conformance_kit() {
    let Some(url) = moto_url() else { return };
    let (aws, _, _, account) = provider(&url).await;
    let options = orchestrator(&aws).options().clone();
    let subject = Subject::new(Providers::from_cloud(aws), spec()).with_options(options);
    conformance::run_all(&subject, &Console(sdk(&url, &account).await)).await;
}
