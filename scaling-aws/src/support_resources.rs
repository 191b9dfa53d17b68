//! What the ECS provider makes on its own behalf, beside the cluster: the task execution role (pull
//! from ECR, write logs) and the log group the tasks write to. Both carry the app's tags; destroy finds
//! them by owner, deletes the role and keeps the logs unless asked.

use scaling_core::providers::{OwnResource, OwnSteps, Owner};
use scaling_core::{ProviderResult, StepId};

use crate::error::{build, code, map, missing, not_owned};
use crate::provider::{AwsProvider, SUPPORT_RESOURCES};
use crate::tags::owned_by;

/// The kinds as destroy names them.
const ROLE: &str = "execution role";
const LOG_GROUP: &str = "log group";

/// The execution role of `app` in `region`: `<app>-<region>-execution-role`. IAM is global while the
/// cluster, the secrets it grants and the lock are per region, so each region's deployment owns a role
/// of its own: one region's secrets grant never overwrites another's, and destroying one region never
/// deletes the role another runs with.
pub(crate) fn role_name(app: &str, region: &str) -> String {
    format!("{app}-{region}-execution-role")
}

/// IAM role names are at most this long
/// (<https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html>).
pub(crate) const ROLE_NAME_MAX: usize = 64;

/// The log group of `app`'s tasks: `/ecs/<app>`, as the seed names it.
pub(crate) fn log_group_name(app: &str) -> String {
    format!("/ecs/{app}")
}

const EXECUTION_POLICY: &str = "policy/service-role/AmazonECSTaskExecutionRolePolicy";
/// How long the tasks' logs are kept.
const RETENTION_DAYS: i32 = 30;
const TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

impl AwsProvider {
    /// The task execution role (pull from ECR, write logs), created with the managed policy if missing.
    pub(crate) async fn execution_role(
        &self,
        app: &str,
        tags: &scaling_core::providers::Tags,
    ) -> ProviderResult<String> {
        let name = role_name(app, &self.region);
        let arn = match self.iam.get_role().role_name(&name).send().await {
            Ok(out) => out.role().map(|r| r.arn().to_string()),
            Err(e) if code(&e) == Some("NoSuchEntity") => None,
            Err(e) => return Err(map("GetRole", &name, e)),
        };
        let arn = match arn {
            Some(arn) => arn,
            None => {
                let iam_tags = tags
                    .iter()
                    .map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| build("CreateRole", &name, e))?;
                let created = self
                    .iam
                    .create_role()
                    .role_name(&name)
                    .assume_role_policy_document(TRUST_POLICY)
                    .set_tags(Some(iam_tags))
                    .send()
                    .await;
                match created {
                    Ok(out) => {
                        out.role().map(|r| r.arn().to_string()).ok_or_else(|| missing("CreateRole", &name, "Role"))?
                    }
                    Err(e) if code(&e) == Some("EntityAlreadyExists") => {
                        let out =
                            self.iam.get_role().role_name(&name).send().await.map_err(|e| map("GetRole", &name, e))?;
                        out.role().map(|r| r.arn().to_string()).ok_or_else(|| missing("GetRole", &name, "Role"))?
                    }
                    Err(e) => return Err(map("CreateRole", &name, e)),
                }
            }
        };
        if !self.has_execution_policy(&name).await? {
            self.iam
                .attach_role_policy()
                .role_name(&name)
                .policy_arn(self.execution_policy_arn())
                .send()
                .await
                .map_err(|e| map("AttachRolePolicy", &name, e))?;
        }
        Ok(arn)
    }

    /// The ARN of the managed policy the execution role carries, in this provider's partition.
    fn execution_policy_arn(&self) -> String {
        format!("arn:{}:iam::aws:{EXECUTION_POLICY}", self.partition())
    }

    /// The ARNs of the managed policies attached to the role `name`.
    async fn attached_policies(&self, name: &str) -> ProviderResult<Vec<String>> {
        let attached = self
            .iam
            .list_attached_role_policies()
            .role_name(name)
            .send()
            .await
            .map_err(|e| map("ListAttachedRolePolicies", name, e))?;
        Ok(attached.attached_policies().iter().filter_map(|p| p.policy_arn()).map(str::to_string).collect())
    }

    /// True when the role `name` has the execution policy attached.
    async fn has_execution_policy(&self, name: &str) -> ProviderResult<bool> {
        let policy = self.execution_policy_arn();
        Ok(self.attached_policies(name).await?.contains(&policy))
    }

    /// The log group the tasks write to, kept 30 days.
    pub(crate) async fn log_group(&self, name: &str, tags: &scaling_core::providers::Tags) -> ProviderResult<()> {
        let out = self
            .logs
            .describe_log_groups()
            .log_group_name_prefix(name)
            .send()
            .await
            .map_err(|e| map("DescribeLogGroups", name, e))?;
        let existing = out.log_groups().iter().find(|g| g.log_group_name() == Some(name));
        if existing.is_none() {
            match self
                .logs
                .create_log_group()
                .log_group_name(name)
                .set_tags(Some(tags.clone().into_iter().collect()))
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if code(&e) == Some("ResourceAlreadyExistsException") => {}
                Err(e) => return Err(map("CreateLogGroup", name, e)),
            }
        }
        if existing.and_then(|g| g.retention_in_days()) != Some(RETENTION_DAYS) {
            self.logs
                .put_retention_policy()
                .log_group_name(name)
                .retention_in_days(RETENTION_DAYS)
                .send()
                .await
                .map_err(|e| map("PutRetentionPolicy", name, e))?;
        }
        Ok(())
    }

    /// The role and the log group the tasks of `owner` need, by kind and name.
    pub(crate) fn needed_support(&self, owner: &Owner) -> Vec<OwnResource> {
        vec![
            OwnResource::needed(ROLE, role_name(&owner.app, &self.region), false),
            OwnResource::needed(LOG_GROUP, log_group_name(&owner.app), true),
        ]
    }

    /// Makes the role (with its managed policy) and the log group (with its retention), both tagged.
    pub(crate) async fn ensure_support(
        &self,
        owner: &Owner,
        tags: &scaling_core::providers::Tags,
    ) -> ProviderResult<Vec<OwnResource>> {
        let log_group = log_group_name(&owner.app);
        tokio::try_join!(self.execution_role(&owner.app, tags), self.log_group(&log_group, tags))?;
        self.find_support(owner).await
    }

    /// The ARN of the execution role a revision runs with; missing is an error (the
    /// `support_resources` step makes it before any revision is registered).
    pub(crate) async fn execution_role_arn(&self, owner: &Owner) -> ProviderResult<String> {
        match self.find_role(owner).await? {
            Some(role) => Ok(role.id),
            None => Err(scaling_core::ProviderError::new(
                "RegisterTaskDefinition",
                role_name(&owner.app, &self.region),
                scaling_core::ErrorKind::NotFound,
                "the execution role is missing: a deploy makes it in its `support_resources` step, before any task definition",
            )),
        }
    }

    /// The role and the log group, when this owner owns them.
    pub(crate) async fn find_support(&self, owner: &Owner) -> ProviderResult<Vec<OwnResource>> {
        let (role, logs) = tokio::try_join!(self.find_role(owner), self.find_log_group(owner))?;
        Ok(role.into_iter().chain(logs).collect())
    }

    async fn find_role(&self, owner: &Owner) -> ProviderResult<Option<OwnResource>> {
        let name = role_name(&owner.app, &self.region);
        let role = match self.iam.get_role().role_name(&name).send().await {
            Ok(out) => out.role().cloned(),
            Err(e) if code(&e) == Some("NoSuchEntity") => None,
            Err(e) => return Err(map("GetRole", &name, e)),
        };
        let Some(role) = role else { return Ok(None) };
        if !owned_by(owner, role.tags().iter().map(|t| (t.key(), t.value()))) {
            return Err(not_owned("GetRole", &name, owner));
        }
        let mut drift = Vec::new();
        if !self.has_execution_policy(&name).await? {
            drift.push("managed policy AmazonECSTaskExecutionRolePolicy: detached → attached".to_string());
        }
        Ok(Some(OwnResource { kind: ROLE.into(), name, id: role.arn().to_string(), holds_logs: false, drift }))
    }

    async fn find_log_group(&self, owner: &Owner) -> ProviderResult<Option<OwnResource>> {
        let name = log_group_name(&owner.app);
        let out = self
            .logs
            .describe_log_groups()
            .log_group_name_prefix(&name)
            .send()
            .await
            .map_err(|e| map("DescribeLogGroups", &name, e))?;
        let Some(group) = out.log_groups().iter().find(|g| g.log_group_name() == Some(name.as_str())) else {
            return Ok(None);
        };
        let arn = group
            .log_group_arn()
            .map(str::to_string)
            .or_else(|| group.arn().map(|a| a.trim_end_matches(":*").to_string()))
            .ok_or_else(|| missing("DescribeLogGroups", &name, "logGroupArn"))?;
        let tags = self
            .logs
            .list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await
            .map_err(|e| map("ListTagsForResource", &name, e))?;
        let pairs = tags.tags().into_iter().flatten().map(|(k, v)| (k.as_str(), v.as_str()));
        if !owned_by(owner, pairs) {
            return Err(not_owned("DescribeLogGroups", &name, owner));
        }
        let mut drift = Vec::new();
        if group.retention_in_days() != Some(RETENTION_DAYS) {
            let kept = group.retention_in_days().map_or("forever".to_string(), |d| format!("{d} days"));
            drift.push(format!("retention: {kept} → {RETENTION_DAYS} days"));
        }
        Ok(Some(OwnResource { kind: LOG_GROUP.into(), name, id: arn, holds_logs: true, drift }))
    }

    /// Deletes the role (its managed policies detached first) or the log group; gone already is fine.
    pub(crate) async fn delete_support(&self, owner: &Owner, resource: &OwnResource) -> ProviderResult<()> {
        let still_owned = match resource.kind.as_str() {
            ROLE => self.find_role(owner).await?,
            LOG_GROUP => self.find_log_group(owner).await?,
            other => {
                return Err(build("DeleteOwnResource", &resource.name, format!("unknown kind {other}")));
            }
        };
        if still_owned.is_none() {
            return Ok(());
        }
        if resource.kind == LOG_GROUP {
            return match self.logs.delete_log_group().log_group_name(&resource.name).send().await {
                Ok(_) => Ok(()),
                Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(()),
                Err(e) => Err(map("DeleteLogGroup", &resource.name, e)),
            };
        }
        let name = &resource.name;
        for policy in self.attached_policies(name).await? {
            self.iam
                .detach_role_policy()
                .role_name(name)
                .policy_arn(policy)
                .send()
                .await
                .map_err(|e| map("DetachRolePolicy", name, e))?;
        }
        // The grant of the task's secrets is inline: IAM refuses to delete a role that has one.
        self.grant_secrets(name, &[]).await?;
        match self.iam.delete_role().role_name(name).send().await {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == Some("NoSuchEntity") => Ok(()),
            Err(e) => Err(map("DeleteRole", name, e)),
        }
    }
}

/// AWS's own step, `support_resources`: the execution role and the log group, made before any task
/// definition names them.
#[async_trait::async_trait]
impl OwnSteps for AwsProvider {
    fn needed_resources(&self, step: StepId, owner: &Owner) -> Vec<OwnResource> {
        match step == SUPPORT_RESOURCES {
            true => self.needed_support(owner),
            false => Vec::new(),
        }
    }

    async fn ensure_resources(
        &self,
        step: StepId,
        owner: &Owner,
        tags: &scaling_core::providers::Tags,
    ) -> ProviderResult<Vec<OwnResource>> {
        match step == SUPPORT_RESOURCES {
            true => self.ensure_support(owner, tags).await,
            false => Ok(Vec::new()),
        }
    }

    async fn find_resources(&self, step: StepId, owner: &Owner) -> ProviderResult<Vec<OwnResource>> {
        match step == SUPPORT_RESOURCES {
            true => self.find_support(owner).await,
            false => Ok(Vec::new()),
        }
    }

    async fn delete_resource(&self, step: StepId, owner: &Owner, resource: &OwnResource) -> ProviderResult<()> {
        let _ = step;
        self.delete_support(owner, resource).await
    }
}
