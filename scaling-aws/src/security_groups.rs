//! EC2 security groups, for the load balancer (`app-alb-sg`) and the tasks (`app-from-alb-sg`): found by
//! name in the VPC, owned by tag, with exactly the desired inbound rules (IPv4 and IPv6 for "anywhere"):
//! every rule is read back one source at a time, so an extra rule or a missing half is seen and repaired.

use std::collections::BTreeSet;

use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, ResourceType, SecurityGroup, Tag, TagSpecification, UserIdGroupPair,
};
use scaling_core::providers::{DesiredFirewall, FirewallInfo, FirewallSpec, IngressRule, Owner, TrafficFrom};
use scaling_core::{ErrorKind, ProviderError, ProviderResult, Retry};

use crate::error::{code, map, missing, not_owned};
use crate::provider::AwsProvider;
use crate::tags::{owned_by, owner_in};

/// The inbound rules of a group as it is, one source a rule: the TCP single-port ones the core models,
/// and every other one in words (it is never wanted, so it shows as drift and is revoked).
fn rules_of(permissions: &[IpPermission]) -> (BTreeSet<IngressRule>, Vec<String>) {
    let mut rules = BTreeSet::new();
    let mut others = Vec::new();
    for atom in permissions.iter().flat_map(atoms) {
        match modelled(&atom) {
            Some(rule) => {
                rules.insert(rule);
            }
            None => others.push(describe(&atom)),
        }
    }
    others.sort();
    (rules, others)
}

/// One permission split into one permission per source (address range, group or prefix list).
fn atoms(p: &IpPermission) -> Vec<IpPermission> {
    let base = || {
        IpPermission::builder()
            .set_ip_protocol(p.ip_protocol().map(str::to_string))
            .set_from_port(p.from_port())
            .set_to_port(p.to_port())
    };
    let mut out = Vec::new();
    out.extend(p.ip_ranges().iter().map(|r| base().ip_ranges(r.clone()).build()));
    out.extend(p.ipv6_ranges().iter().map(|r| base().ipv6_ranges(r.clone()).build()));
    out.extend(p.user_id_group_pairs().iter().map(|g| base().user_id_group_pairs(g.clone()).build()));
    out.extend(p.prefix_list_ids().iter().map(|l| base().prefix_list_ids(l.clone()).build()));
    out
}

/// The core's rule for a one-source permission, when it is TCP on one port from a range or a group.
fn modelled(atom: &IpPermission) -> Option<IngressRule> {
    if atom.ip_protocol() != Some("tcp") || atom.from_port() != atom.to_port() {
        return None;
    }
    let port = u16::try_from(atom.from_port()?).ok()?;
    let from = if let Some(range) = atom.ip_ranges().first() {
        TrafficFrom::Cidr(range.cidr_ip()?.to_string())
    } else if let Some(range) = atom.ipv6_ranges().first() {
        TrafficFrom::Cidr(range.cidr_ipv6()?.to_string())
    } else {
        TrafficFrom::Group(atom.user_id_group_pairs().first()?.group_id()?.to_string())
    };
    Some(IngressRule { port, from })
}

/// A one-source permission in words: `udp/53 from 10.0.0.0/8`, `all traffic from pl-1`.
fn describe(atom: &IpPermission) -> String {
    let protocol = match atom.ip_protocol() {
        Some("-1") | None => "all traffic".to_string(),
        Some(protocol) => match (atom.from_port(), atom.to_port()) {
            (Some(from), Some(to)) if from == to => format!("{protocol}/{from}"),
            (Some(from), Some(to)) => format!("{protocol}/{from}-{to}"),
            _ => protocol.to_string(),
        },
    };
    let source = atom
        .ip_ranges()
        .iter()
        .filter_map(|r| r.cidr_ip())
        .chain(atom.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6()))
        .chain(atom.user_id_group_pairs().iter().filter_map(|g| g.group_id()))
        .chain(atom.prefix_list_ids().iter().filter_map(|l| l.prefix_list_id()))
        .next()
        .unwrap_or("?");
    format!("{protocol} from {source}")
}

/// The permission that grants exactly one rule of one address family (or group).
fn permission(atom: &IngressRule) -> IpPermission {
    let base = IpPermission::builder().ip_protocol("tcp").from_port(i32::from(atom.port)).to_port(i32::from(atom.port));
    let v4 = |cidr: &str| IpRange::builder().cidr_ip(cidr).description("web traffic").build();
    let v6 = |cidr: &str| Ipv6Range::builder().cidr_ipv6(cidr).description("web traffic").build();
    match &atom.from {
        TrafficFrom::Anywhere => base.ip_ranges(v4("0.0.0.0/0")).ipv6_ranges(v6("::/0")).build(),
        TrafficFrom::Cidr(cidr) if cidr.contains(':') => base.ipv6_ranges(v6(cidr)).build(),
        TrafficFrom::Cidr(cidr) => base.ip_ranges(v4(cidr)).build(),
        TrafficFrom::Group(id) => base.user_id_group_pairs(UserIdGroupPair::builder().group_id(id).build()).build(),
        // Refused by `ensure_group` before any call: a security group names its sources.
        TrafficFrom::LoadBalancer => base.build(),
    }
}

impl AwsProvider {
    /// The group `name` in the app's VPC, as EC2 describes it, when this owner owns it.
    async fn describe_group(&self, owner: &Owner, name: &str) -> ProviderResult<Option<SecurityGroup>> {
        let vpc = self.network().await?.vpc_id.clone();
        let out = self
            .ec2
            .describe_security_groups()
            .filters(Filter::builder().name("group-name").values(name).build())
            .filters(Filter::builder().name("vpc-id").values(&vpc).build())
            .send()
            .await
            .map_err(|e| map("DescribeSecurityGroups", name, e))?;
        let Some(group) = out.security_groups().first() else { return Ok(None) };
        if !owned_by(owner, group.tags().iter().filter_map(|t| Some((t.key()?, t.value()?)))) {
            return Err(not_owned("DescribeSecurityGroups", name, owner));
        }
        Ok(Some(group.clone()))
    }

    pub(crate) async fn find_group(&self, owner: &Owner, name: &str) -> ProviderResult<Option<FirewallInfo>> {
        let Some(group) = self.describe_group(owner, name).await? else { return Ok(None) };
        let id = group.group_id().ok_or_else(|| missing("DescribeSecurityGroups", name, "GroupId"))?;
        let (rules, other_rules) = rules_of(group.ip_permissions());
        Ok(Some(FirewallInfo {
            spec: FirewallSpec { name: name.to_string(), ingress: rules.into_iter().collect() },
            id: id.to_string(),
            other_rules,
        }))
    }

    async fn create_group(&self, desired: &DesiredFirewall) -> ProviderResult<String> {
        let name = &desired.spec.name;
        let vpc = self.network().await?.vpc_id.clone();
        let tags = desired
            .tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .chain([Tag::builder().key("Name").value(name).build()]);
        let out = self
            .ec2
            .create_security_group()
            .group_name(name)
            .description(&desired.description)
            .vpc_id(vpc)
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::SecurityGroup)
                    .set_tags(Some(tags.collect()))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| map("CreateSecurityGroup", name, e))?;
        Ok(out.group_id().ok_or_else(|| missing("CreateSecurityGroup", name, "GroupId"))?.to_string())
    }

    /// Creates the group when missing, then revokes every inbound rule the spec does not want and grants
    /// every one it lacks, one address family at a time; reads the group back and fails unless it now
    /// holds exactly the wanted rules.
    pub(crate) async fn ensure_group(&self, desired: &DesiredFirewall) -> ProviderResult<FirewallInfo> {
        let name = &desired.spec.name;
        if desired.spec.ingress.iter().any(|r| r.from == TrafficFrom::LoadBalancer) {
            return Err(ProviderError::new(
                "AuthorizeSecurityGroupIngress",
                name,
                ErrorKind::InvalidRequest,
                "a security group admits a load balancer by the load balancer's own security group, and this one \
                 has none: pair the ECS cluster with the AWS load balancer",
            ));
        }
        let owner = owner_in(&desired.tags);
        let (id, permissions) = match self.describe_group(&owner, name).await? {
            Some(group) => (
                group.group_id().ok_or_else(|| missing("DescribeSecurityGroups", name, "GroupId"))?.to_string(),
                group.ip_permissions().to_vec(),
            ),
            None => (self.create_group(desired).await?, Vec::new()),
        };
        let wanted: BTreeSet<IngressRule> = desired.spec.ingress.iter().flat_map(IngressRule::atoms).collect();
        let mut present = BTreeSet::new();
        let mut revoke = Vec::new();
        for atom in permissions.iter().flat_map(atoms) {
            match modelled(&atom).filter(|rule| wanted.contains(rule)) {
                Some(rule) => {
                    present.insert(rule);
                }
                None => revoke.push(atom),
            }
        }
        let grant: Vec<IpPermission> = wanted.difference(&present).map(permission).collect();
        if !revoke.is_empty() {
            self.ec2
                .revoke_security_group_ingress()
                .group_id(&id)
                .set_ip_permissions(Some(revoke))
                .send()
                .await
                .map_err(|e| map("RevokeSecurityGroupIngress", name, e))?;
        }
        if !grant.is_empty() {
            let result =
                self.ec2.authorize_security_group_ingress().group_id(&id).set_ip_permissions(Some(grant)).send().await;
            // A retried call after a lost response finds its rules there: the read-back below tells.
            if let Err(e) = result {
                if code(&e) != Some("InvalidPermission.Duplicate") {
                    return Err(map("AuthorizeSecurityGroupIngress", name, e));
                }
            }
        }
        let now = self
            .find_group(&owner, name)
            .await?
            .ok_or_else(|| missing("DescribeSecurityGroups", name, "the security group"))?;
        let have: BTreeSet<IngressRule> = now.spec.ingress.iter().cloned().collect();
        if have != wanted || !now.other_rules.is_empty() {
            let missing: Vec<String> = wanted.difference(&have).map(ToString::to_string).collect();
            let extra: Vec<String> =
                have.difference(&wanted).map(ToString::to_string).chain(now.other_rules.iter().cloned()).collect();
            return Err(ProviderError::new(
                "AuthorizeSecurityGroupIngress",
                name,
                ErrorKind::Conflict,
                format!(
                    "the rules did not converge: still missing [{}], still extra [{}]",
                    missing.join(", "),
                    extra.join(", ")
                ),
            )
            .with_retry(Retry::Retryable));
        }
        Ok(now)
    }

    pub(crate) async fn delete_group(&self, owner: &Owner, group: &FirewallInfo) -> ProviderResult<()> {
        if self.find_group(owner, &group.spec.name).await?.is_none() {
            return Ok(());
        }
        match self.ec2.delete_security_group().group_id(&group.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == Some("InvalidGroup.NotFound") => Ok(()),
            Err(e) => Err(map("DeleteSecurityGroup", &group.spec.name, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(port: i32, cidr: &str) -> IpPermission {
        IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(port)
            .to_port(port)
            .ip_ranges(IpRange::builder().cidr_ip(cidr).build())
            .build()
    }

    #[test]
    fn every_source_is_its_own_rule_and_unmodelled_ones_are_named() {
        let anywhere = permission(&IngressRule { port: 443, from: TrafficFrom::Anywhere });
        let group = permission(&IngressRule { port: 8050, from: TrafficFrom::Group("sg-1".into()) });
        let udp = IpPermission::builder()
            .ip_protocol("udp")
            .from_port(53)
            .to_port(53)
            .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/8").build())
            .build();
        let (rules, others) = rules_of(&[anywhere, v4(22, "0.0.0.0/0"), group, udp]);
        assert_eq!(
            rules.into_iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            ["tcp/22 from 0.0.0.0/0", "tcp/443 from 0.0.0.0/0", "tcp/443 from ::/0", "tcp/8050 from group sg-1"]
        );
        assert_eq!(others, ["udp/53 from 10.0.0.0/8"]);
    }

    #[test]
    fn a_range_of_ports_is_not_mistaken_for_its_first_port() {
        let range = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(80)
            .to_port(90)
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build();
        let (rules, others) = rules_of(&[range]);
        assert!(rules.is_empty());
        assert_eq!(others, ["tcp/80-90 from 0.0.0.0/0"]);
    }
}
