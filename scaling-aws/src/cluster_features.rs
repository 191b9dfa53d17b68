//! What an ECS cluster has beside its services, each a small trait of the contract: the deploy lock
//! (an SSM parameter), replica logs (the service's CloudWatch log group), the secret store check (SSM
//! Parameter Store and Secrets Manager), and autoscaling (Application Auto Scaling). Each delegates
//! to the module that owns the AWS calls.

use async_trait::async_trait;
use scaling_core::providers::{AutoscalingInfo, DesiredAutoscaling, LockHolder, LogPage, LogQuery, Owner};
use scaling_core::{Problem, ProviderResult};

use crate::provider::AwsProvider;

#[async_trait]
impl scaling_core::providers::Locks for AwsProvider {
    async fn acquire_lock(&self, owner: &Owner, holder: &LockHolder) -> ProviderResult<Option<LockHolder>> {
        self.acquire(owner, holder).await
    }

    async fn release_lock(&self, owner: &Owner, holder: &LockHolder) -> ProviderResult<()> {
        self.release(owner, holder).await
    }

    async fn break_lock(&self, owner: &Owner) -> ProviderResult<Option<LockHolder>> {
        self.break_it(owner).await
    }

    async fn lock_holder(&self, owner: &Owner) -> ProviderResult<Option<LockHolder>> {
        self.holder(owner).await
    }
}

#[async_trait]
impl scaling_core::providers::Logs for AwsProvider {
    async fn read_logs(&self, owner: &Owner, _service: &str, query: &LogQuery) -> ProviderResult<LogPage> {
        self.task_logs(owner, query).await
    }
}

#[async_trait]
impl scaling_core::providers::SecretStore for AwsProvider {
    async fn check_secrets(
        &self,
        _owner: &Owner,
        secrets: &std::collections::BTreeMap<String, String>,
    ) -> ProviderResult<Vec<Problem>> {
        self.secret_problems(secrets).await
    }
}

#[async_trait]
impl scaling_core::providers::Autoscaler for AwsProvider {
    async fn find_autoscaling(
        &self,
        owner: &Owner,
        cluster: &str,
        service: &str,
    ) -> ProviderResult<Option<AutoscalingInfo>> {
        self.find_scaling(owner, cluster, service).await
    }

    async fn ensure_autoscaling(&self, desired: &DesiredAutoscaling) -> ProviderResult<AutoscalingInfo> {
        self.put_scaling(desired).await
    }

    async fn delete_autoscaling(&self, _owner: &Owner, autoscaling: &AutoscalingInfo) -> ProviderResult<()> {
        self.remove_scaling(autoscaling).await
    }
}
