//! Autoscaling on AWS: Application Auto Scaling's scalable target on the service's desired count
//! (`service/<cluster>/<service>`), with one target-tracking policy per target —
//! `ECSServiceAverageCPUUtilization`, and `ALBRequestCountPerTarget` labelled by the load balancer
//! and target group (a per-minute count: the spec's per-second target times 60). The last scaling
//! activity is the last decision. Deregistering the target removes its policies. The target is
//! owned through its service (see [`AwsProvider::find_scaling`]).

use std::time::Duration;

use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ServiceNamespace,
    TargetTrackingScalingPolicyConfiguration,
};
use scaling_core::providers::{
    AutoscalingInfo, DesiredAutoscaling, Owner, ScalingDecision, ScalingPolicy, ScalingTarget,
};
use scaling_core::ProviderResult;

use crate::error::{build, code, map};
use crate::AwsProvider;

/// The scalable target's resource id.
pub(crate) fn resource_id(cluster: &str, service: &str) -> String {
    format!("service/{cluster}/{service}")
}

/// The policy that follows `target`, by name: `<service>-cpu`, `<service>-requests`.
fn policy_name(service: &str, target: &ScalingTarget) -> String {
    match target {
        ScalingTarget::CpuPercent(_) => format!("{service}-cpu"),
        _ => format!("{service}-requests"),
    }
}

/// `app/<alb>/<id>/targetgroup/<tg>/<id>`: the ends of the two ARNs.
pub(crate) fn resource_label(load_balancer_arn: &str, target_group_arn: &str) -> Option<String> {
    let lb = load_balancer_arn.split_once(":loadbalancer/")?.1;
    let tg = target_group_arn.rsplit_once(':')?.1;
    Some(format!("{lb}/{tg}"))
}

/// How long `status` waits for the last scaling decision before saying it is unknown.
const DECISION_READ_TIMEOUT: Duration = Duration::from_secs(2);

fn seconds(d: Duration) -> i32 {
    i32::try_from(d.as_secs()).unwrap_or(i32::MAX)
}

impl AwsProvider {
    pub(crate) async fn find_scaling(
        &self,
        owner: &Owner,
        cluster: &str,
        service: &str,
    ) -> ProviderResult<Option<AutoscalingInfo>> {
        let id = resource_id(cluster, service);
        let aas = &self.autoscaling;
        let (targets, policies, activities) = tokio::join!(
            aas.describe_scalable_targets().service_namespace(ServiceNamespace::Ecs).resource_ids(&id).send(),
            aas.describe_scaling_policies().service_namespace(ServiceNamespace::Ecs).resource_id(&id).send(),
            // The last decision only decorates `status`: one short try, never the SDK's retries.
            aas.describe_scaling_activities()
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(&id)
                .max_results(1)
                .customize()
                .config_override(
                    aws_sdk_applicationautoscaling::config::Builder::default()
                        .retry_config(aws_config::retry::RetryConfig::disabled())
                        .timeout_config(
                            aws_config::timeout::TimeoutConfig::builder()
                                .operation_timeout(DECISION_READ_TIMEOUT)
                                .build(),
                        ),
                )
                .send(),
        );
        let targets = targets.map_err(|e| map("DescribeScalableTargets", &id, e))?;
        let Some(target) = targets.scalable_targets().first() else { return Ok(None) };
        // Owned through its service: the resource id names the service in the app's cluster, and
        // the same read of the deployment refuses that service when it is another's (tags are put
        // on the target all the same).
        let _ = owner;
        let policies = policies.map_err(|e| map("DescribeScalingPolicies", &id, e))?;
        let mut found = Vec::new();
        let (mut scale_out, mut scale_in) = (None, None);
        for policy in policies.scaling_policies() {
            let Some(config) = policy.target_tracking_scaling_policy_configuration() else { continue };
            let metric = config.predefined_metric_specification().map(|m| m.predefined_metric_type().clone());
            let value = config.target_value();
            let target = match metric {
                Some(MetricType::EcsServiceAverageCpuUtilization) => ScalingTarget::CpuPercent(value.round() as u32),
                Some(MetricType::AlbRequestCountPerTarget) => {
                    ScalingTarget::RequestsPerSecond((value / 60.0).round() as u32)
                }
                _ => continue,
            };
            scale_out = scale_out.or(config.scale_out_cooldown());
            scale_in = scale_in.or(config.scale_in_cooldown());
            found.push(target);
        }
        found.sort();
        let (activities, last_decision_unknown) = match activities {
            Ok(out) => (Some(out), None),
            Err(e) => (None, Some(format!("DescribeScalingActivities: {}", map("DescribeScalingActivities", &id, e)))),
        };
        let last_decision = activities.and_then(|out| {
            let activity = out.scaling_activities().first()?;
            Some(ScalingDecision {
                at: u64::try_from(activity.start_time().to_millis().ok()?).ok()?,
                from: None,
                to: None,
                reason: format!("{} ({})", activity.description(), activity.cause()),
            })
        });
        let secs = |s: Option<i32>| Duration::from_secs(u64::try_from(s.unwrap_or(0)).unwrap_or(0));
        Ok(Some(AutoscalingInfo {
            spec: ScalingPolicy {
                min: u32::try_from(target.min_capacity()).unwrap_or(0),
                max: u32::try_from(target.max_capacity()).unwrap_or(0),
                targets: found,
                scale_out_cooldown: secs(scale_out),
                scale_in_cooldown: secs(scale_in),
            },
            id,
            service: service.to_string(),
            cap: None,
            last_decision,
            last_decision_unknown,
            drift: Vec::new(),
        }))
    }

    pub(crate) async fn put_scaling(&self, desired: &DesiredAutoscaling) -> ProviderResult<AutoscalingInfo> {
        let id = resource_id(&desired.cluster, &desired.service);
        let owner = crate::tags::owner_in(&desired.tags);
        let aas = &self.autoscaling;
        let mut register = aas
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(&id)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .min_capacity(i32::try_from(desired.spec.min).unwrap_or(i32::MAX))
            .max_capacity(i32::try_from(desired.spec.max).unwrap_or(i32::MAX));
        for (key, value) in &desired.tags {
            register = register.tags(key, value);
        }
        register.send().await.map_err(|e| map("RegisterScalableTarget", &id, e))?;
        let label = resource_label(
            desired.load_balancer_id.as_deref().unwrap_or_default(),
            desired.backend_id.as_deref().unwrap_or_default(),
        );
        for target in &desired.spec.targets {
            let name = policy_name(&desired.service, target);
            let (metric, value, label) = match target {
                ScalingTarget::CpuPercent(p) => (MetricType::EcsServiceAverageCpuUtilization, f64::from(*p), None),
                ScalingTarget::RequestsPerSecond(r) => {
                    (MetricType::AlbRequestCountPerTarget, f64::from(*r) * 60.0, label.clone())
                }
                _ => continue,
            };
            let metric = PredefinedMetricSpecification::builder()
                .predefined_metric_type(metric)
                .set_resource_label(label)
                .build()
                .map_err(|e| build("PutScalingPolicy", &name, e))?;
            let config = TargetTrackingScalingPolicyConfiguration::builder()
                .target_value(value)
                .predefined_metric_specification(metric)
                .scale_out_cooldown(seconds(desired.spec.scale_out_cooldown))
                .scale_in_cooldown(seconds(desired.spec.scale_in_cooldown))
                .build()
                .map_err(|e| build("PutScalingPolicy", &name, e))?;
            aas.put_scaling_policy()
                .policy_name(&name)
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(&id)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .policy_type(PolicyType::TargetTrackingScaling)
                .target_tracking_scaling_policy_configuration(config)
                .send()
                .await
                .map_err(|e| map("PutScalingPolicy", &name, e))?;
        }
        // A target the spec no longer has: its policy goes.
        for stale in [ScalingTarget::CpuPercent(0), ScalingTarget::RequestsPerSecond(0)] {
            let kept = desired.spec.targets.iter().any(|t| std::mem::discriminant(t) == std::mem::discriminant(&stale));
            if !kept {
                self.delete_policy(&id, &policy_name(&desired.service, &stale)).await?;
            }
        }
        Ok(self
            .find_scaling(&owner, &desired.cluster, &desired.service)
            .await?
            .unwrap_or_else(|| desired.as_registered(id)))
    }

    async fn delete_policy(&self, id: &str, name: &str) -> ProviderResult<()> {
        let deleted = self
            .autoscaling
            .delete_scaling_policy()
            .policy_name(name)
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(id)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(e) if matches!(code(&e), Some("ObjectNotFoundException")) => Ok(()),
            // The emulator (moto 5.2.5) answers a missing policy with a ValidationException instead.
            Err(e)
                if code(&e) == Some("ValidationException")
                    && aws_smithy_types::error::metadata::ProvideErrorMetadata::message(&e)
                        .is_some_and(|m| m.contains("No scaling policy found")) =>
            {
                Ok(())
            }
            Err(e) => Err(map("DeleteScalingPolicy", name, e)),
        }
    }

    pub(crate) async fn remove_scaling(&self, autoscaling: &AutoscalingInfo) -> ProviderResult<()> {
        let deregistered = self
            .autoscaling
            .deregister_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(&autoscaling.id)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .send()
            .await;
        match deregistered {
            Ok(_) => Ok(()),
            Err(e) if matches!(code(&e), Some("ObjectNotFoundException")) => Ok(()),
            Err(e) => Err(map("DeregisterScalableTarget", &autoscaling.id, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_request_label_joins_the_ends_of_the_two_arns() {
        let lb = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/dashmath-alb/50dc6c495c0c9188";
        let tg = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/dashmath-tg/73e2d6bc24d8a067";
        assert_eq!(
            super::resource_label(lb, tg).as_deref(),
            Some("app/dashmath-alb/50dc6c495c0c9188/targetgroup/dashmath-tg/73e2d6bc24d8a067")
        );
    }
}
