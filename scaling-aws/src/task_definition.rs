//! A task definition read back as a neutral [`RevisionInfo`], and the parts of one that carry the
//! spec's `[secrets]`: each variable's `valueFrom` ARN, and the references as the spec wrote them,
//! kept in `scaling:secret:<VARIABLE>` tags (an ARN does not say whether a name or an ARN was written).

use std::collections::BTreeMap;

use aws_sdk_ecs as ecs;
use ecs::types::{CpuArchitecture, Secret, Tag};
use scaling_core::providers::{RevisionInfo, RevisionSpec};
use scaling_core::Platform;

/// The tag prefix that keeps a secret's reference.
const SECRET_TAG: &str = "scaling:secret:";

/// `tags` with one tag per secret reference.
pub(crate) fn with_secret_tags(mut tags: Vec<Tag>, secrets: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.extend(
        secrets.iter().map(|(variable, reference)| {
            Tag::builder().key(format!("{SECRET_TAG}{variable}")).value(reference).build()
        }),
    );
    tags
}

/// The container's `secrets`: each variable from its ARN (`None` without secrets).
pub(crate) fn secrets(arns: &BTreeMap<String, String>) -> Result<Option<Vec<Secret>>, ecs::error::BuildError> {
    if arns.is_empty() {
        return Ok(None);
    }
    arns.iter()
        .map(|(name, arn)| Secret::builder().name(name).value_from(arn).build())
        .collect::<Result<_, _>>()
        .map(Some)
}

/// The `valueFrom` ARNs of the first container's secrets.
pub(crate) fn secret_arns(d: &ecs::types::TaskDefinition) -> Vec<String> {
    let container = d.container_definitions().first();
    container.map(|c| c.secrets().iter().map(|s| s.value_from().to_string()).collect()).unwrap_or_default()
}

/// The revision a task definition is, with the secret references its tags keep.
pub(crate) fn info(d: &ecs::types::TaskDefinition, tags: &[Tag]) -> Option<RevisionInfo> {
    let container = d.container_definitions().first()?;
    let platform = match d.runtime_platform().and_then(|p| p.cpu_architecture()) {
        Some(CpuArchitecture::Arm64) => Platform::LinuxArm64,
        _ => Platform::LinuxAmd64,
    };
    let secrets = tags
        .iter()
        .filter_map(|t| Some((t.key()?.strip_prefix(SECRET_TAG)?.to_string(), t.value()?.to_string())))
        .filter(|(variable, _)| container.secrets().iter().any(|s| s.name() == variable))
        .collect();
    Some(RevisionInfo {
        id: d.task_definition_arn()?.to_string(),
        revision: u32::try_from(d.revision()).ok()?,
        spec: RevisionSpec {
            family: d.family()?.to_string(),
            container: container.name()?.to_string(),
            image: container.image()?.to_string(),
            platform,
            cpu: crate::sizes::vcpu_of_units(d.cpu()?.parse().ok()?),
            memory: d.memory()?.parse().ok()?,
            port: container
                .port_mappings()
                .first()
                .and_then(|p| p.container_port())
                .and_then(|p| u16::try_from(p).ok())?,
            env: container
                .environment()
                .iter()
                .filter_map(|kv| Some((kv.name()?.to_string(), kv.value().unwrap_or_default().to_string())))
                .collect(),
            secrets,
        },
        // The target group checks health; the task definition registers no container probe.
        health_check: None,
        registered_at: d.registered_at().and_then(|t| u64::try_from(t.to_millis().ok()?).ok()),
        drift: Vec::new(),
    })
}
