//! EC2 security groups, for the load balancer (`app-alb-sg`) and the tasks (`app-from-alb-sg`): found by
//! name in the VPC, owned by tag, with exactly the desired inbound rules (IPv4 and IPv6 for "anywhere").

use std::collections::BTreeSet;

use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, ResourceType, Tag, TagSpecification, UserIdGroupPair,
};
use scaling_core::providers::{DesiredSecurityGroup, IngressRule, Owner, SecurityGroupInfo, TrafficFrom};
use scaling_core::ProviderResult;

use crate::error::{code, map, missing, not_owned};
use crate::provider::AwsProvider;
use crate::tags::{owned_by, owner_in};

fn rules_of(permissions: &[IpPermission]) -> BTreeSet<IngressRule> {
    let mut rules = BTreeSet::new();
    for p in permissions.iter().filter(|p| p.ip_protocol() == Some("tcp")) {
        let (Some(from), Some(to)) = (p.from_port(), p.to_port()) else { continue };
        if from != to {
            continue;
        }
        let Ok(port) = u16::try_from(from) else { continue };
        let v4 = p.ip_ranges().iter().any(|r| r.cidr_ip() == Some("0.0.0.0/0"));
        let v6 = p.ipv6_ranges().iter().any(|r| r.cidr_ipv6() == Some("::/0"));
        if v4 && v6 {
            rules.insert(IngressRule { port, from: TrafficFrom::Anywhere });
        }
        for pair in p.user_id_group_pairs() {
            if let Some(group) = pair.group_id() {
                rules.insert(IngressRule { port, from: TrafficFrom::Group(group.to_string()) });
            }
        }
    }
    rules
}

fn permission(rule: &IngressRule) -> IpPermission {
    let base = IpPermission::builder().ip_protocol("tcp").from_port(i32::from(rule.port)).to_port(i32::from(rule.port));
    match &rule.from {
        TrafficFrom::Anywhere => base
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").description("web traffic").build())
            .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").description("web traffic").build())
            .build(),
        TrafficFrom::Group(id) => base.user_id_group_pairs(UserIdGroupPair::builder().group_id(id).build()).build(),
    }
}

impl AwsProvider {
    pub(crate) async fn find_group(&self, owner: &Owner, name: &str) -> ProviderResult<Option<SecurityGroupInfo>> {
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
        let id = group.group_id().ok_or_else(|| missing("DescribeSecurityGroups", name, "GroupId"))?;
        Ok(Some(SecurityGroupInfo {
            id: id.to_string(),
            name: name.to_string(),
            ingress: rules_of(group.ip_permissions()).into_iter().collect(),
        }))
    }

    pub(crate) async fn ensure_group(&self, desired: &DesiredSecurityGroup) -> ProviderResult<SecurityGroupInfo> {
        let name = &desired.name;
        let existing = self.find_group(&owner_in(&desired.tags), name).await?;
        let (id, current) = match existing {
            Some(group) => (group.id, group.ingress.into_iter().collect::<BTreeSet<_>>()),
            None => {
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
                (
                    out.group_id().ok_or_else(|| missing("CreateSecurityGroup", name, "GroupId"))?.to_string(),
                    BTreeSet::new(),
                )
            }
        };
        let wanted: BTreeSet<IngressRule> = desired.ingress.iter().cloned().collect();
        let add: Vec<IpPermission> = wanted.difference(&current).map(permission).collect();
        let remove: Vec<IpPermission> = current.difference(&wanted).map(permission).collect();
        if !remove.is_empty() {
            self.ec2
                .revoke_security_group_ingress()
                .group_id(&id)
                .set_ip_permissions(Some(remove))
                .send()
                .await
                .map_err(|e| map("RevokeSecurityGroupIngress", name, e))?;
        }
        if !add.is_empty() {
            let result =
                self.ec2.authorize_security_group_ingress().group_id(&id).set_ip_permissions(Some(add)).send().await;
            // A retried call after a lost response finds its rules already there.
            if let Err(e) = result {
                if code(&e) != Some("InvalidPermission.Duplicate") {
                    return Err(map("AuthorizeSecurityGroupIngress", name, e));
                }
            }
        }
        Ok(SecurityGroupInfo { id, name: name.clone(), ingress: wanted.into_iter().collect() })
    }

    pub(crate) async fn delete_group(&self, owner: &Owner, group: &SecurityGroupInfo) -> ProviderResult<()> {
        if self.find_group(owner, &group.name).await?.is_none() {
            return Ok(());
        }
        match self.ec2.delete_security_group().group_id(&group.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == Some("InvalidGroup.NotFound") => Ok(()),
            Err(e) => Err(map("DeleteSecurityGroup", &group.name, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anywhere_needs_both_address_families_and_groups_are_kept() {
        let both = permission(&IngressRule { port: 443, from: TrafficFrom::Anywhere });
        let v4_only = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(80)
            .to_port(80)
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build();
        let group = permission(&IngressRule { port: 8050, from: TrafficFrom::Group("sg-1".into()) });
        let rules = rules_of(&[both, v4_only, group]);
        assert_eq!(
            rules.into_iter().collect::<Vec<_>>(),
            [
                IngressRule { port: 443, from: TrafficFrom::Anywhere },
                IngressRule { port: 8050, from: TrafficFrom::Group("sg-1".into()) }
            ]
        );
    }
}
