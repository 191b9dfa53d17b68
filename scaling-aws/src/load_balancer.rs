//! [`LoadBalancer`] on ELBv2 and EC2: an internet-facing Application Load Balancer carrying its own
//! security group, an `ip` target group, and the HTTP/HTTPS listeners.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2 as elb;
use elb::types::{
    Action, ActionTypeEnum, Certificate, IpAddressType, LoadBalancerAttribute, LoadBalancerSchemeEnum,
    LoadBalancerStateEnum, LoadBalancerTypeEnum, Matcher, ProtocolEnum, RedirectActionConfig,
    RedirectActionStatusCodeEnum, Tag, TargetGroupAttribute, TargetHealthStateEnum, TargetTypeEnum,
};
use scaling_core::providers::{
    BackendInfo, BackendSpec, DesiredBackend, DesiredFirewall, DesiredListener, DesiredLoadBalancer, Endpoint,
    FirewallInfo, ListenerAction, ListenerInfo, ListenerSpec, LoadBalancer, LoadBalancerInfo, LoadBalancerSpec,
    LoadBalancerStatus, Owner, Protocol, TargetHealth, TargetState,
};
use scaling_core::{Algorithm, ErrorKind, HealthCheckSpec, ProviderResult};

use crate::error::{code, map, missing, not_owned};
use crate::provider::AwsProvider;
use crate::tags::{owned_by, owner_in};
use crate::tls_policy::{min_version_of, policy_for};

fn tags(desired: &scaling_core::providers::Tags) -> Vec<Tag> {
    desired.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

fn secs(d: Duration) -> i32 {
    i32::try_from(d.as_secs()).unwrap_or(i32::MAX)
}

fn action(action: &ListenerAction) -> Action {
    match action {
        ListenerAction::Forward { backend_id } => {
            Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(backend_id).build()
        }
        ListenerAction::RedirectToHttps { port } => {
            let redirect = RedirectActionConfig::builder()
                .protocol("HTTPS")
                .port(port.to_string())
                .status_code(RedirectActionStatusCodeEnum::Http301)
                .build();
            Action::builder().r#type(ActionTypeEnum::Redirect).redirect_config(redirect).build()
        }
    }
}

fn listener_action(actions: &[Action]) -> ListenerAction {
    let first = actions.first();
    match first.and_then(|a| a.redirect_config()) {
        Some(redirect) => {
            ListenerAction::RedirectToHttps { port: redirect.port().and_then(|p| p.parse().ok()).unwrap_or(443) }
        }
        None => ListenerAction::Forward {
            backend_id: first
                .and_then(|a| a.target_group_arn().map(str::to_string))
                .or_else(|| {
                    first
                        .and_then(|a| a.forward_config())
                        .and_then(|f| f.target_groups().first())
                        .and_then(|t| t.target_group_arn().map(str::to_string))
                })
                .unwrap_or_default(),
        },
    }
}

/// The load balancer attributes this provider sets.
const IDLE_TIMEOUT: &str = "idle_timeout.timeout_seconds";
const DROP_INVALID_HEADERS: &str = "routing.http.drop_invalid_header_fields.enabled";

/// The health check answers that count as healthy.
const SUCCESS_CODES: &str = "200-399";

/// What a target group carries that the core does not model but this provider sets, when changed.
fn target_group_drift(tg: &elb::types::TargetGroup) -> Vec<String> {
    let mut drift = Vec::new();
    let codes = tg.matcher().and_then(|m| m.http_code()).unwrap_or_default();
    if codes != SUCCESS_CODES {
        drift.push(format!("healthy answers: {codes} → {SUCCESS_CODES}"));
    }
    if let Some(protocol) = tg.health_check_protocol().filter(|p| **p != ProtocolEnum::Http) {
        drift.push(format!("health check protocol: {} → HTTP", protocol.as_str()));
    }
    if let Some(port) = tg.health_check_port().filter(|p| *p != "traffic-port") {
        drift.push(format!("health check port: {port} → the traffic port"));
    }
    drift
}

/// What a listener's default action carries beyond "forward to one group" or "301 to HTTPS", when off.
fn action_drift(actions: &[Action]) -> Vec<String> {
    let mut drift = Vec::new();
    if actions.len() > 1 {
        drift.push(format!("{} default actions → 1", actions.len()));
    }
    if let Some(redirect) = actions.first().and_then(|a| a.redirect_config()) {
        let status = redirect.status_code().map(|c| c.as_str()).unwrap_or_default();
        if status != "HTTP_301" {
            drift.push(format!("redirect status: {status} → HTTP_301"));
        }
        if redirect.protocol() != Some("HTTPS") {
            drift.push(format!("redirect protocol: {} → HTTPS", redirect.protocol().unwrap_or_default()));
        }
    }
    if let Some(groups) = actions.first().and_then(|a| a.forward_config()).map(|f| f.target_groups()) {
        if groups.len() > 1 {
            drift.push(format!("forwards to {} target groups → 1", groups.len()));
        }
    }
    drift
}

impl AwsProvider {
    /// Files `lb`'s host name under its canonical hosted zone, for Route 53 alias records.
    pub(crate) fn remember_alias_zone(&self, lb: &elb::types::LoadBalancer) {
        if let (Some(hostname), Some(zone)) = (lb.dns_name(), lb.canonical_hosted_zone_id()) {
            if let Ok(mut zones) = self.alias_zones.lock() {
                zones.insert(hostname.to_ascii_lowercase(), zone.to_string());
            }
        }
    }

    /// The canonical hosted zone of the load balancer answering on `hostname`, when it is one of this
    /// account's: known from an earlier read, else looked up (only for ELB host names).
    pub(crate) async fn alias_zone(&self, hostname: &str) -> ProviderResult<Option<String>> {
        let hostname = scaling_core::providers::canonical_name(hostname);
        let known = |zones: &std::sync::Mutex<std::collections::HashMap<String, String>>| {
            zones.lock().ok().and_then(|z| z.get(&hostname).cloned())
        };
        if let Some(zone) = known(&self.alias_zones) {
            return Ok(Some(zone));
        }
        if !hostname.ends_with(".elb.amazonaws.com") {
            return Ok(None);
        }
        let mut pages = self.elb.describe_load_balancers().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| map("DescribeLoadBalancers", &hostname, e))?;
            page.load_balancers().iter().for_each(|lb| self.remember_alias_zone(lb));
        }
        Ok(known(&self.alias_zones))
    }

    /// The HTTPS listener's policy in words when it is not the one this provider sets for the minimum
    /// TLS version it stands for (another policy of the same minimum, or not `provider.aws.tls_policy`).
    fn policy_drift(&self, found: &str) -> Option<String> {
        let expected = policy_for(min_version_of(found), self.settings.tls_policy.as_deref());
        (found != expected).then(|| format!("TLS policy: {found} → {expected}"))
    }

    /// True when the resource `arn` carries `owner`'s tag.
    async fn elb_owned(&self, owner: &Owner, arn: &str) -> ProviderResult<bool> {
        let out = self.elb.describe_tags().resource_arns(arn).send().await.map_err(|e| map("DescribeTags", arn, e))?;
        let descriptions = out.tag_descriptions();
        let pairs =
            descriptions.iter().flat_map(|d| d.tags()).filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())));
        Ok(owned_by(owner, pairs))
    }

    async fn attributes(&self, arn: &str) -> ProviderResult<Vec<(String, String)>> {
        let out = self
            .elb
            .describe_load_balancer_attributes()
            .load_balancer_arn(arn)
            .send()
            .await
            .map_err(|e| map("DescribeLoadBalancerAttributes", arn, e))?;
        Ok(out.attributes().iter().filter_map(|a| Some((a.key()?.to_string(), a.value()?.to_string()))).collect())
    }

    async fn set_balancer_attributes(&self, arn: &str, desired: &DesiredLoadBalancer) -> ProviderResult<()> {
        let attribute = |k: &str, v: String| LoadBalancerAttribute::builder().key(k).value(v).build();
        self.elb
            .modify_load_balancer_attributes()
            .load_balancer_arn(arn)
            .attributes(attribute(IDLE_TIMEOUT, desired.spec.idle_timeout.as_secs().to_string()))
            .attributes(attribute(DROP_INVALID_HEADERS, desired.drop_invalid_header_fields.to_string()))
            .send()
            .await
            .map_err(|e| map("ModifyLoadBalancerAttributes", arn, e))?;
        Ok(())
    }

    async fn set_target_group_attributes(&self, arn: &str, desired: &DesiredBackend) -> ProviderResult<()> {
        let desired = &desired.spec;
        let attribute = |k: &str, v: String| TargetGroupAttribute::builder().key(k).value(v).build();
        let mut call = self
            .elb
            .modify_target_group_attributes()
            .target_group_arn(arn)
            .attributes(attribute("deregistration_delay.timeout_seconds", desired.drain_time.as_secs().to_string()))
            .attributes(attribute("stickiness.enabled", desired.stickiness.is_some().to_string()))
            .attributes(attribute("load_balancing.algorithm.type", desired.algorithm.as_str().into()));
        if let Some(duration) = desired.stickiness {
            call = call
                .attributes(attribute("stickiness.type", "lb_cookie".into()))
                .attributes(attribute("stickiness.lb_cookie.duration_seconds", duration.as_secs().to_string()));
        }
        call.send().await.map_err(|e| map("ModifyTargetGroupAttributes", &desired.name, e))?;
        Ok(())
    }
}

/// An ARN of a certificate an ALB can serve: ACM's, or an IAM server certificate's.
/// <https://docs.aws.amazon.com/elasticloadbalancing/latest/application/https-listener-certificates.html>
fn is_acm_or_iam_certificate(id: &str) -> bool {
    let mut parts = id.splitn(6, ':');
    let (arn, _, service) = (parts.next(), parts.next(), parts.next());
    arn == Some("arn") && matches!(service, Some("acm") | Some("iam"))
}

#[async_trait]
impl LoadBalancer for AwsProvider {
    async fn find_firewall(&self, owner: &Owner, name: &str) -> ProviderResult<Option<FirewallInfo>> {
        self.find_group(owner, name).await
    }

    async fn ensure_firewall(&self, desired: &DesiredFirewall) -> ProviderResult<FirewallInfo> {
        self.ensure_group(desired).await
    }

    async fn delete_firewall(&self, owner: &Owner, group: &FirewallInfo) -> ProviderResult<()> {
        self.delete_group(owner, group).await
    }

    async fn find_load_balancer(&self, owner: &Owner, name: &str) -> ProviderResult<Option<LoadBalancerInfo>> {
        let out = match self.elb.describe_load_balancers().names(name).send().await {
            Ok(out) => out,
            Err(e) if code(&e) == Some("LoadBalancerNotFound") => return Ok(None),
            Err(e) => return Err(map("DescribeLoadBalancers", name, e)),
        };
        let Some(lb) = out.load_balancers().first() else { return Ok(None) };
        let arn = lb.load_balancer_arn().ok_or_else(|| missing("DescribeLoadBalancers", name, "LoadBalancerArn"))?;
        // Ownership and attributes in one round; the attributes of a foreign one are never used.
        let (owned, attributes) = tokio::join!(self.elb_owned(owner, arn), self.attributes(arn));
        if !owned? {
            return Err(not_owned("DescribeLoadBalancers", name, owner));
        }
        let attributes = attributes?;
        let attribute = |key: &str| attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        let idle = attribute(IDLE_TIMEOUT).and_then(|v| v.parse().ok()).unwrap_or(60);
        // The ALB's default is to keep invalid headers.
        let drop_invalid_header_fields = attribute(DROP_INVALID_HEADERS) == Some("true");
        let status = match lb.state().and_then(|s| s.code()) {
            Some(LoadBalancerStateEnum::Active) | Some(LoadBalancerStateEnum::ActiveImpaired) => {
                LoadBalancerStatus::Active
            }
            Some(LoadBalancerStateEnum::Failed) => {
                LoadBalancerStatus::Failed(lb.state().and_then(|s| s.reason()).unwrap_or("failed").to_string())
            }
            _ => LoadBalancerStatus::Provisioning,
        };
        let hostname = lb.dns_name().unwrap_or_default().to_ascii_lowercase();
        self.remember_alias_zone(lb);
        Ok(Some(LoadBalancerInfo {
            id: arn.to_string(),
            spec: LoadBalancerSpec { name: name.to_string(), idle_timeout: Duration::from_secs(idle) },
            endpoint: Endpoint::hostname(hostname),
            firewall_ids: lb.security_groups().to_vec(),
            drop_invalid_header_fields: Some(drop_invalid_header_fields),
            // An ALB answers for any name that leads to it.
            hosts: None,
            status,
            drift: Vec::new(),
            connections: None,
        }))
    }

    async fn ensure_load_balancer(&self, desired: &DesiredLoadBalancer) -> ProviderResult<LoadBalancerInfo> {
        let owner = owner_in(&desired.tags);
        let name = &desired.spec.name;
        match self.find_load_balancer(&owner, name).await? {
            Some(lb) => {
                let groups: Vec<String> = desired.firewall_id.iter().cloned().collect();
                if lb.firewall_ids != groups {
                    self.elb
                        .set_security_groups()
                        .load_balancer_arn(&lb.id)
                        .set_security_groups(Some(groups))
                        .send()
                        .await
                        .map_err(|e| map("SetSecurityGroups", name, e))?;
                }
                if lb.spec.idle_timeout != desired.spec.idle_timeout
                    || lb.drop_invalid_header_fields != Some(desired.drop_invalid_header_fields)
                {
                    self.set_balancer_attributes(&lb.id, desired).await?;
                }
            }
            None => {
                let network = self.network().await?;
                let out = self
                    .elb
                    .create_load_balancer()
                    .name(name)
                    .r#type(LoadBalancerTypeEnum::Application)
                    .scheme(LoadBalancerSchemeEnum::InternetFacing)
                    .ip_address_type(IpAddressType::Ipv4)
                    .set_subnets(Some(network.subnets.clone()))
                    .set_security_groups(desired.firewall_id.clone().map(|g| vec![g]))
                    .set_tags(Some(tags(&desired.tags)))
                    .send()
                    .await
                    .map_err(|e| map("CreateLoadBalancer", name, e))?;
                let arn = out
                    .load_balancers()
                    .first()
                    .and_then(|l| l.load_balancer_arn())
                    .ok_or_else(|| missing("CreateLoadBalancer", name, "LoadBalancerArn"))?;
                self.set_balancer_attributes(arn, desired).await?;
            }
        }
        self.find_load_balancer(&owner, name)
            .await?
            .ok_or_else(|| missing("DescribeLoadBalancers", name, "the new load balancer"))
    }

    async fn delete_load_balancer(&self, owner: &Owner, lb: &LoadBalancerInfo) -> ProviderResult<()> {
        if self.find_load_balancer(owner, &lb.spec.name).await?.is_none() {
            return Ok(());
        }
        self.elb
            .delete_load_balancer()
            .load_balancer_arn(&lb.id)
            .send()
            .await
            .map_err(|e| map("DeleteLoadBalancer", &lb.spec.name, e))?;
        Ok(())
    }

    async fn find_backend(&self, owner: &Owner, name: &str) -> ProviderResult<Option<BackendInfo>> {
        let out = match self.elb.describe_target_groups().names(name).send().await {
            Ok(out) => out,
            Err(e) if code(&e) == Some("TargetGroupNotFound") => return Ok(None),
            Err(e) => return Err(map("DescribeTargetGroups", name, e)),
        };
        let Some(tg) = out.target_groups().first() else { return Ok(None) };
        let arn = tg.target_group_arn().ok_or_else(|| missing("DescribeTargetGroups", name, "TargetGroupArn"))?;
        let (owned, attributes) = tokio::join!(
            self.elb_owned(owner, arn),
            self.elb.describe_target_group_attributes().target_group_arn(arn).send()
        );
        if !owned? {
            return Err(not_owned("DescribeTargetGroups", name, owner));
        }
        let attributes = attributes.map_err(|e| map("DescribeTargetGroupAttributes", name, e))?;
        let attribute = |key: &str| {
            attributes.attributes().iter().find(|a| a.key() == Some(key)).and_then(|a| a.value()).map(str::to_string)
        };
        let seconds = |key: &str| attribute(key).and_then(|v| v.parse().ok()).map(Duration::from_secs);
        let sticky = attribute("stickiness.enabled").as_deref() == Some("true");
        let count = |n: Option<i32>| n.and_then(|n| u32::try_from(n).ok()).unwrap_or_default();
        Ok(Some(BackendInfo {
            id: arn.to_string(),
            spec: BackendSpec {
                name: name.to_string(),
                port: tg.port().and_then(|p| u16::try_from(p).ok()).unwrap_or_default(),
                health_check: HealthCheckSpec {
                    path: tg.health_check_path().unwrap_or("/").to_string(),
                    grace_period: Duration::ZERO,
                    interval: Duration::from_secs(u64::from(count(tg.health_check_interval_seconds()))),
                    timeout: Duration::from_secs(u64::from(count(tg.health_check_timeout_seconds()))),
                    healthy_threshold: count(tg.healthy_threshold_count()),
                    unhealthy_threshold: count(tg.unhealthy_threshold_count()),
                },
                drain_time: seconds("deregistration_delay.timeout_seconds").unwrap_or(Duration::from_secs(300)),
                stickiness: if sticky { seconds("stickiness.lb_cookie.duration_seconds") } else { None },
                // The ALB's default (and anything this tool does not set) counts as round robin.
                algorithm: match attribute("load_balancing.algorithm.type").as_deref() {
                    Some("least_outstanding_requests") => Algorithm::LeastOutstandingRequests,
                    _ => Algorithm::RoundRobin,
                },
            },
            drift: target_group_drift(tg),
        }))
    }

    async fn ensure_backend(&self, desired: &DesiredBackend) -> ProviderResult<BackendInfo> {
        let owner = owner_in(&desired.tags);
        let name = &desired.spec.name;
        let hc = &desired.spec.health_check;
        let matcher = Matcher::builder().http_code(SUCCESS_CODES).build();
        let arn = match self.find_backend(&owner, name).await? {
            Some(tg) => {
                self.elb
                    .modify_target_group()
                    .target_group_arn(&tg.id)
                    .health_check_protocol(ProtocolEnum::Http)
                    .health_check_port("traffic-port")
                    .health_check_path(&hc.path)
                    .health_check_interval_seconds(secs(hc.interval))
                    .health_check_timeout_seconds(secs(hc.timeout))
                    .healthy_threshold_count(hc.healthy_threshold as i32)
                    .unhealthy_threshold_count(hc.unhealthy_threshold as i32)
                    .matcher(matcher)
                    .send()
                    .await
                    .map_err(|e| map("ModifyTargetGroup", name, e))?;
                tg.id
            }
            None => {
                let network = self.network().await?;
                let out = self
                    .elb
                    .create_target_group()
                    .name(name)
                    .protocol(ProtocolEnum::Http)
                    .port(i32::from(desired.spec.port))
                    .vpc_id(&network.vpc_id)
                    .target_type(TargetTypeEnum::Ip)
                    .health_check_path(&hc.path)
                    .health_check_interval_seconds(secs(hc.interval))
                    .health_check_timeout_seconds(secs(hc.timeout))
                    .healthy_threshold_count(hc.healthy_threshold as i32)
                    .unhealthy_threshold_count(hc.unhealthy_threshold as i32)
                    .matcher(matcher)
                    .set_tags(Some(tags(&desired.tags)))
                    .send()
                    .await
                    .map_err(|e| map("CreateTargetGroup", name, e))?;
                out.target_groups()
                    .first()
                    .and_then(|t| t.target_group_arn())
                    .ok_or_else(|| missing("CreateTargetGroup", name, "TargetGroupArn"))?
                    .to_string()
            }
        };
        self.set_target_group_attributes(&arn, desired).await?;
        self.find_backend(&owner, name)
            .await?
            .ok_or_else(|| missing("DescribeTargetGroups", name, "the new target group"))
    }

    async fn delete_backend(&self, owner: &Owner, group: &BackendInfo) -> ProviderResult<()> {
        if self.find_backend(owner, &group.spec.name).await?.is_none() {
            return Ok(());
        }
        self.elb
            .delete_target_group()
            .target_group_arn(&group.id)
            .send()
            .await
            .map_err(|e| map("DeleteTargetGroup", &group.spec.name, e))?;
        Ok(())
    }

    async fn list_listeners(&self, lb: &LoadBalancerInfo) -> ProviderResult<Vec<ListenerInfo>> {
        let out = self
            .elb
            .describe_listeners()
            .load_balancer_arn(&lb.id)
            .send()
            .await
            .map_err(|e| map("DescribeListeners", &lb.spec.name, e))?;
        Ok(out
            .listeners()
            .iter()
            .filter_map(|l| {
                let port = u16::try_from(l.port()?).ok()?;
                let https = l.protocol() == Some(&ProtocolEnum::Https);
                Some(ListenerInfo {
                    id: l.listener_arn()?.to_string(),
                    spec: ListenerSpec {
                        port,
                        protocol: if https { Protocol::Https } else { Protocol::Http },
                        action: listener_action(l.default_actions()),
                        // Plain HTTP listeners have no certificate or TLS policy, whatever an API echoes back.
                        certificate_id: l
                            .certificates()
                            .first()
                            .and_then(|c| c.certificate_arn())
                            .filter(|_| https)
                            .map(str::to_string),
                        min_tls_version: l.ssl_policy().filter(|_| https).map(min_version_of),
                    },
                    public_port: port,
                    // A default action serves any name; host names would be listener rules.
                    hosts: None,
                    drift: action_drift(l.default_actions())
                        .into_iter()
                        .chain(l.ssl_policy().filter(|_| https).and_then(|p| self.policy_drift(p)))
                        .collect(),
                })
            })
            .collect())
    }

    async fn ensure_listener(&self, lb: &LoadBalancerInfo, desired: &DesiredListener) -> ProviderResult<ListenerInfo> {
        let resource = format!("{}:{}", lb.spec.name, desired.spec.port);
        if let Some(id) = desired.spec.certificate_id.as_deref().filter(|id| !is_acm_or_iam_certificate(id)) {
            return Err(scaling_core::ProviderError::new(
                "CreateListener",
                &resource,
                scaling_core::ErrorKind::InvalidRequest,
                format!(
                    "an Application Load Balancer serves only ACM (or IAM) certificates, and {id} is not one: pair                      the AWS load balancer with the AWS certificate provider (ACM); certificates of other                      authorities serve from a load balancer that loads their key"
                ),
            ));
        }
        let protocol = match desired.spec.protocol {
            Protocol::Http => ProtocolEnum::Http,
            Protocol::Https => ProtocolEnum::Https,
        };
        let certificates =
            desired.spec.certificate_id.as_ref().map(|arn| vec![Certificate::builder().certificate_arn(arn).build()]);
        let policy = desired.spec.min_tls_version.map(|min| policy_for(min, self.settings.tls_policy.as_deref()));
        let existing = self.list_listeners(lb).await?.into_iter().find(|l| l.spec.port == desired.spec.port);
        match existing {
            Some(listener) => {
                self.elb
                    .modify_listener()
                    .listener_arn(&listener.id)
                    .protocol(protocol)
                    .default_actions(action(&desired.spec.action))
                    .set_certificates(certificates)
                    .set_ssl_policy(policy.clone())
                    .send()
                    .await
                    .map_err(|e| map("ModifyListener", &resource, e))?;
            }
            None => {
                self.elb
                    .create_listener()
                    .load_balancer_arn(&lb.id)
                    .port(i32::from(desired.spec.port))
                    .protocol(protocol)
                    .default_actions(action(&desired.spec.action))
                    .set_certificates(certificates)
                    .set_ssl_policy(policy.clone())
                    .set_tags(Some(tags(&desired.tags)))
                    .send()
                    .await
                    .map_err(|e| map("CreateListener", &resource, e))?;
            }
        }
        self.list_listeners(lb)
            .await?
            .into_iter()
            .find(|l| l.spec.port == desired.spec.port)
            .ok_or_else(|| missing("DescribeListeners", &resource, "the listener"))
    }

    /// Deletes a listener of an owned load balancer: a listener belongs to its load balancer, so one
    /// added out of band there is the app's to remove, while one on anyone else's is refused.
    async fn delete_listener(&self, owner: &Owner, listener: &ListenerInfo) -> ProviderResult<()> {
        let resource = format!("listener {}:{}", listener.spec.protocol, listener.spec.port);
        let described = match self.elb.describe_listeners().listener_arns(&listener.id).send().await {
            Ok(out) => out,
            Err(e) if code(&e) == Some("ListenerNotFound") => return Ok(()),
            Err(e) => return Err(map("DescribeListeners", &resource, e)),
        };
        let Some(balancer) = described.listeners().first().and_then(|l| l.load_balancer_arn()) else {
            return Ok(());
        };
        match self.elb_owned(owner, balancer).await {
            Ok(true) => {}
            Ok(false) => return Err(not_owned("DeleteListener", &resource, owner)),
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        }
        match self.elb.delete_listener().listener_arn(&listener.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == Some("ListenerNotFound") => Ok(()),
            Err(e) => Err(map("DeleteListener", &resource, e)),
        }
    }

    async fn target_health(&self, group: &BackendInfo) -> ProviderResult<Vec<TargetHealth>> {
        let out = self
            .elb
            .describe_target_health()
            .target_group_arn(&group.id)
            .send()
            .await
            .map_err(|e| map("DescribeTargetHealth", &group.spec.name, e))?;
        Ok(out
            .target_health_descriptions()
            .iter()
            .map(|d| {
                let target = d
                    .target()
                    .map(|t| format!("{}:{}", t.id().unwrap_or("?"), t.port().unwrap_or_default()))
                    .unwrap_or_default();
                let health = d.target_health();
                let state = match health.and_then(|h| h.state()) {
                    Some(TargetHealthStateEnum::Healthy) => TargetState::Healthy,
                    Some(TargetHealthStateEnum::Unhealthy) | Some(TargetHealthStateEnum::UnhealthyDraining) => {
                        TargetState::Unhealthy
                    }
                    Some(TargetHealthStateEnum::Draining) => TargetState::Draining,
                    _ => TargetState::Initial,
                };
                let reason =
                    health.and_then(|h| h.description().or(h.reason().map(|r| r.as_str()))).map(str::to_string);
                TargetHealth { target, state, reason }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_and_forward_actions_round_trip() {
        for wanted in
            [ListenerAction::RedirectToHttps { port: 443 }, ListenerAction::Forward { backend_id: "arn:tg".into() }]
        {
            assert_eq!(listener_action(&[action(&wanted)]), wanted);
        }
        let redirect = action(&ListenerAction::RedirectToHttps { port: 443 });
        assert_eq!(redirect.redirect_config().unwrap().status_code(), Some(&RedirectActionStatusCodeEnum::Http301));
    }
}
