//! A realism layer between the SDK clients and moto: moto answers at once, is always consistent,
//! forgets a hosted zone's caller reference and takes any number of tags; AWS does none of that. Each
//! rule here reproduces one documented behaviour, on demand, by answering the request itself (in the
//! service's own error format) instead of sending it on. What it answered is logged, so a test can
//! check that the behaviour was met and survived.

use std::collections::HashSet;

use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

use crate::support::error_response;

/// "The next `times` calls of `then` after a call of `after` answer `code`": a change AWS has not
/// caught up with yet.
#[derive(Debug, Clone)]
pub struct Lag {
    /// The call that makes the change (`None`: from the start, as on a new account).
    pub after: Option<&'static str>,
    /// The call that does not see it yet.
    pub then: &'static str,
    /// Only when the request's body contains this (e.g. a listener with a certificate).
    pub only_if: Option<&'static str>,
    /// The error code and message AWS answers.
    pub code: &'static str,
    /// The message.
    pub message: &'static str,
    /// How many calls see the old state.
    pub times: usize,
    /// Where AWS documents it.
    pub source: &'static str,
    armed: usize,
}

impl Lag {
    const fn new(
        after: Option<&'static str>,
        then: &'static str,
        code: &'static str,
        message: &'static str,
        times: usize,
        source: &'static str,
    ) -> Self {
        Self {
            after,
            then,
            only_if: None,
            code,
            message,
            times,
            source,
            armed: if after.is_none() { times } else { 0 },
        }
    }
}

/// The rules in force, and what they did.
#[derive(Debug, Default)]
pub struct Realism {
    /// Eventual consistency and refusals that pass.
    pub lags: Vec<Lag>,
    /// Route 53 remembers every caller reference, even of a deleted zone.
    pub caller_references: Option<HashSet<String>>,
    /// Route 53 takes at most this many tags in one `ChangeTagsForResource`.
    pub zone_tag_limit: Option<usize>,
    /// Answer reads moto 5.2.5 lacks (`DescribeScalingActivities`) as AWS does for a new target.
    pub missing_reads: bool,
    /// After a record change, so many `GetChange` calls answer `PENDING` before it is `INSYNC`.
    pub pending_changes: usize,
    pending: usize,
    /// After `DeleteService`, so many `DescribeServices` show it `DRAINING` (its tasks stopping) before
    /// it is `INACTIVE`; moto marks it `INACTIVE` at once.
    pub draining_describes: usize,
    draining: usize,
    /// The circuit breaker fails the first rollout of a new service (tasks that cannot start: a role
    /// not yet assumable, a secret not readable), until a new deployment is forced.
    pub failing_first_rollout: bool,
    failing: bool,
    /// What was answered here instead of by moto: `operation: code`.
    pub answered: Vec<String>,
}

impl Realism {
    /// AWS as a first deploy on a new account meets it, each behaviour with its documentation.
    pub fn aws() -> Self {
        let ec2 = "https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html";
        let iam = "https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency";
        let mut listener_certificate = Lag::new(
            Some("RequestCertificate"),
            "CreateListener",
            "CertificateNotFound",
            "Certificate 'arn:aws:acm:us-east-1:123456789012:certificate/x' not found",
            2,
            "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateListener.html",
        );
        listener_certificate.only_if = Some("Certificates");
        let lags = vec![
            Lag::new(
                None,
                "CreateCluster",
                "InvalidParameterException",
                "Unable to assume the service linked role. Please verify that the ECS service linked role exists.",
                2,
                "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html",
            ),
            Lag::new(Some("CreateSecurityGroup"), "AuthorizeSecurityGroupIngress", "InvalidGroup.NotFound",
                "The security group 'sg-x' does not exist", 2, ec2),
            Lag::new(Some("CreateRole"), "RegisterTaskDefinition", "ClientException",
                "Role is not valid: ECS was unable to assume the role that was provided for this task", 2, iam),
            Lag::new(
                Some("CreateListener"),
                "CreateService",
                "InvalidParameterException",
                "The target group with targetGroupArn arn:aws:elasticloadbalancing:x does not have an associated load balancer.",
                2,
                "https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/ecs/service.go",
            ),
            listener_certificate,
            Lag::new(
                Some("CreateService"),
                "RegisterScalableTarget",
                "ValidationException",
                "ECS service doesn't exist: service/dashmath-cluster/dashmath-service",
                2,
                "https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html",
            ),
            Lag::new(
                Some("UpdateService"),
                "DeleteService",
                "InvalidParameterException",
                "The service cannot be stopped while deployments are active.",
                2,
                "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteService.html",
            ),
            Lag::new(
                Some("DeleteService"),
                "CreateService",
                "InvalidParameterException",
                "Unable to Start a service that is still Draining.",
                2,
                "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteService.html",
            ),
            Lag::new(Some("DeleteLoadBalancer"), "DeleteSecurityGroup", "DependencyViolation",
                "resource sg-x has a dependent object", 3, ec2),
            Lag::new(
                Some("DeleteListener"),
                "DeleteCertificate",
                "ResourceInUseException",
                "Certificate arn:aws:acm:x is in use.",
                3,
                "https://docs.aws.amazon.com/acm/latest/APIReference/API_DeleteCertificate.html",
            ),
            Lag::new(Some("DetachRolePolicy"), "DeleteRole", "DeleteConflict",
                "Cannot delete entity, must detach all policies first.", 2,
                "https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteRole.html"),
        ];
        Self {
            lags,
            caller_references: Some(HashSet::new()),
            zone_tag_limit: Some(10),
            missing_reads: true,
            pending_changes: 2,
            pending: 0,
            draining_describes: 3,
            draining: 0,
            failing_first_rollout: false,
            failing: false,
            answered: Vec::new(),
        }
    }

    /// The answer AWS would give `request` (`operation` of `service`) where moto's would be kinder.
    pub fn answer(&mut self, service: &str, operation: &str, request: &HttpRequest) -> Option<HttpResponse> {
        let body = request.body().bytes().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
        let answer = self.rule_answer(service, operation, &body);
        for lag in self.lags.iter_mut().filter(|l| l.after == Some(operation)) {
            lag.armed = lag.times;
        }
        match operation {
            "ChangeResourceRecordSets" => self.pending = self.pending_changes,
            "DeleteService" if answer.is_none() => self.draining = self.draining_describes,
            "CreateService" if answer.is_none() => self.failing = self.failing_first_rollout,
            "UpdateService" if body.contains("\"forceNewDeployment\":true") => self.failing = false,
            _ => {}
        }
        if answer.is_some() {
            self.answered.push(operation.to_string());
        }
        answer
    }

    fn rule_answer(&mut self, service: &str, operation: &str, body: &str) -> Option<HttpResponse> {
        for lag in self.lags.iter_mut().filter(|l| l.then == operation && l.armed > 0) {
            if lag.only_if.is_some_and(|needle| !body.contains(needle)) {
                continue;
            }
            lag.armed -= 1;
            return Some(error_response(service, lag.code, lag.message));
        }
        if operation == "CreateHostedZone" {
            let reference = between(body, "<CallerReference>", "</CallerReference>")?;
            let references = self.caller_references.as_mut()?;
            if !references.insert(reference.to_string()) {
                return Some(error_response(
                    service,
                    "HostedZoneAlreadyExists",
                    "A hosted zone has already been created with the specified caller reference.",
                ));
            }
        }
        if operation == "ChangeTagsForResource" {
            let limit = self.zone_tag_limit?;
            if body.matches("<Tag>").count() > limit {
                return Some(error_response(
                    service,
                    "InvalidInput",
                    "Number of tags in the request exceeds the limit of 10",
                ));
            }
        }
        if operation == "GetChange" && self.pending > 0 {
            self.pending -= 1;
            // <https://docs.aws.amazon.com/Route53/latest/APIReference/API_GetChange.html>: PENDING until
            // every name server has the change.
            let body =
                "<?xml version=\"1.0\"?><GetChangeResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">\
                <ChangeInfo><Id>/change/C1</Id><Status>PENDING</Status><SubmittedAt>2026-01-01T00:00:00Z</SubmittedAt>\
                </ChangeInfo></GetChangeResponse>";
            let mut response = HttpResponse::new(StatusCode::try_from(200).unwrap(), SdkBody::from(body));
            response.headers_mut().insert("content-type", "text/xml");
            return Some(response);
        }
        if operation == "DescribeScalingActivities" && self.missing_reads {
            let mut response =
                HttpResponse::new(StatusCode::try_from(200).unwrap(), SdkBody::from(r#"{"ScalingActivities":[]}"#));
            response.headers_mut().insert("content-type", "application/x-amz-json-1.1");
            return Some(response);
        }
        None
    }
}

impl Realism {
    /// True while a deleted service still shows `DRAINING`.
    pub fn draining(&self) -> bool {
        self.draining > 0
    }

    /// True when moto's answer to `operation` is rewritten: read its body and call [`Realism::rewrite`].
    pub fn rewrites(&self, operation: &str) -> bool {
        operation == "DescribeServices" && (self.draining > 0 || self.failing)
    }

    /// Moto's answer `body` to `operation` as AWS would give it.
    pub fn rewrite(&mut self, operation: &str, body: &[u8]) -> Option<Vec<u8>> {
        let mut answer: serde_json::Value = serde_json::from_slice(body).ok()?;
        let services = answer.get_mut("services")?.as_array_mut()?;
        let mut changed = false;
        for service in services {
            if self.draining > 0 && service["status"] == "INACTIVE" {
                // <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteService.html>:
                // ACTIVE → DRAINING while tasks stop → INACTIVE.
                self.draining -= 1;
                service["status"] = "DRAINING".into();
                changed = true;
            } else if self.failing && service["status"] == "ACTIVE" {
                // <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html>:
                // the deployment is FAILED and, with rollback off or nothing to roll back to, no task runs.
                service["runningCount"] = 0.into();
                for deployment in service["deployments"].as_array_mut().into_iter().flatten() {
                    if deployment["status"] == "PRIMARY" {
                        deployment["rolloutState"] = "FAILED".into();
                        deployment["rolloutStateReason"] =
                            "ECS deployment circuit breaker: tasks failed to start.".into();
                        deployment["runningCount"] = 0.into();
                    }
                }
                changed = true;
            }
        }
        if changed {
            self.answered.push(format!("{operation} rewritten"));
        }
        changed.then(|| serde_json::to_vec(&answer).ok()).flatten()
    }
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    Some(&text[from..from + text[from..].find(end)?])
}
