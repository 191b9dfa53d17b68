//! The network: the configured VPC and subnets, or the account's default VPC and its default subnets.

use aws_sdk_ec2::types::Filter;
use scaling_core::{ErrorKind, ProviderError, ProviderResult};

use crate::error::map;
use crate::provider::{AwsProvider, Network};

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

impl AwsProvider {
    /// The VPC and subnets, resolved once.
    pub async fn network(&self) -> ProviderResult<&Network> {
        self.network.get_or_try_init(|| self.resolve_network()).await
    }

    async fn resolve_network(&self) -> ProviderResult<Network> {
        let vpc_id = match &self.settings.vpc_id {
            Some(vpc) => vpc.clone(),
            None => {
                let out = self
                    .ec2
                    .describe_vpcs()
                    .filters(filter("is-default", "true"))
                    .send()
                    .await
                    .map_err(|e| map("DescribeVpcs", "default VPC", e))?;
                out.vpcs().iter().find_map(|v| v.vpc_id().map(str::to_string)).ok_or_else(|| {
                    ProviderError::new(
                        "DescribeVpcs",
                        "default VPC",
                        ErrorKind::NotFound,
                        "this region has no default VPC: set provider.aws.vpc_id and provider.aws.subnets",
                    )
                })?
            }
        };
        if !self.settings.subnets.is_empty() {
            return Ok(Network { vpc_id, subnets: self.settings.subnets.clone() });
        }
        let out = self
            .ec2
            .describe_subnets()
            .filters(filter("vpc-id", &vpc_id))
            .send()
            .await
            .map_err(|e| map("DescribeSubnets", &vpc_id, e))?;
        // One subnet per availability zone (the default ones first), as a load balancer takes at most one per zone.
        let mut subnets: Vec<(&str, &str, bool)> = out
            .subnets()
            .iter()
            .filter_map(|s| Some((s.availability_zone()?, s.subnet_id()?, s.default_for_az().unwrap_or(false))))
            .collect();
        subnets.sort_by_key(|(zone, id, default)| (*zone, !*default, *id));
        subnets.dedup_by_key(|(zone, _, _)| *zone);
        if subnets.len() < 2 {
            return Err(ProviderError::new(
                "DescribeSubnets",
                &vpc_id,
                ErrorKind::InvalidRequest,
                format!("{vpc_id} has subnets in {} availability zone(s); a load balancer needs two: set provider.aws.subnets", subnets.len()),
            ));
        }
        Ok(Network { vpc_id, subnets: subnets.into_iter().map(|(_, id, _)| id.to_string()).collect() })
    }
}
