//! The AWS emulator harness: moto server (started by scripts/test, its URL in `SCALING_MOTO_URL`), one
//! emulated account per test (the `x-moto-account-id` header, set by an interceptor), a call counter,
//! and an HTTP client that injects faults without sending the request.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse, Metadata};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use scaling_aws::AwsProvider;

/// The emulator's URL, or `None` outside CI when it is not running (the tests then say so and stop).
pub fn moto_url() -> Option<String> {
    static CREDENTIALS: Once = Once::new();
    // The emulator takes any credentials; the default chain reads them from the environment.
    CREDENTIALS.call_once(|| {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::remove_var("AWS_PROFILE");
    });
    let url = std::env::var("SCALING_MOTO_URL").ok();
    assert!(
        url.is_some() || std::env::var("CI").is_err(),
        "SCALING_MOTO_URL must be set in CI (scripts/test starts moto)"
    );
    if url.is_none() {
        eprintln!("skipping: the AWS emulator is not running (scripts/test starts it)");
    }
    url
}

/// The name servers moto gives every hosted zone.
const MOTO_NAME_SERVERS: [&str; 4] =
    ["ns-2048.awsdns-64.com.", "ns-2049.awsdns-65.net.", "ns-2050.awsdns-66.org.", "ns-2051.awsdns-67.co.uk."];

/// A DNS server on loopback that says every domain is delegated to moto's name servers, so the
/// delegation check never leaves this machine.
pub fn fake_public_dns() -> std::net::SocketAddr {
    use hickory_proto::op::{Message, MessageType};
    use hickory_proto::rr::rdata::NS;
    use hickory_proto::rr::{Name, RData, Record};
    static ADDR: std::sync::OnceLock<std::net::SocketAddr> = std::sync::OnceLock::new();
    *ADDR.get_or_init(|| {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 1500];
            while let Ok((len, peer)) = socket.recv_from(&mut buffer) {
                let Ok(query) = Message::from_vec(&buffer[..len]) else { continue };
                let mut reply = Message::new();
                reply.set_id(query.id()).set_message_type(MessageType::Response).set_recursion_available(true);
                reply.add_queries(query.queries().to_vec());
                if let Some(question) = query.queries().first() {
                    for server in MOTO_NAME_SERVERS {
                        reply.add_answer(Record::from_rdata(
                            question.name().clone(),
                            300,
                            RData::NS(NS(Name::from_ascii(server).unwrap())),
                        ));
                    }
                }
                let _ = socket.send_to(&reply.to_vec().unwrap(), peer);
            }
        });
        addr
    })
}

/// A fresh 12-digit account id, so tests never see each other's resources.
pub fn account() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{:012}", 100_000_000_000 + u64::from(std::process::id()) * 1000 + NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Adds the moto account header to every request.
#[derive(Debug)]
pub struct MotoAccount(pub String);

impl Intercept for MotoAccount {
    fn name(&self) -> &'static str {
        "MotoAccount"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        context.request_mut().headers_mut().insert("x-moto-account-id", self.0.clone());
        Ok(())
    }
}

/// Records every operation (once per call, not per retry attempt).
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<Vec<(String, String)>>>);

impl CallLog {
    /// (service, operation) of every call so far.
    pub fn calls(&self) -> Vec<(String, String)> {
        self.0.lock().unwrap().clone()
    }

    /// The mutating calls to the app's resources: every operation that is not a Describe, List or
    /// Get, the deploy lock's (SSM) left out — the lock is not a resource of the app.
    pub fn mutating(&self) -> Vec<String> {
        let reads = ["Describe", "List", "Get"];
        self.calls()
            .into_iter()
            .filter(|(service, op)| !service.eq_ignore_ascii_case("ssm") && !reads.iter().any(|r| op.starts_with(r)))
            .map(|(_, op)| op)
            .collect()
    }

    /// The deploy lock's calls (SSM), in order.
    pub fn lock_calls(&self) -> Vec<String> {
        self.calls().into_iter().filter(|(service, _)| service.eq_ignore_ascii_case("ssm")).map(|(_, op)| op).collect()
    }

    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    fn read_before_serialization(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(meta) = cfg.load::<Metadata>() {
            self.0.lock().unwrap().push((meta.service().to_string(), meta.name().to_string()));
        }
        Ok(())
    }
}

/// Which requests the faulty client answers itself.
#[derive(Debug, Clone)]
pub enum Faults {
    /// None: every request goes to the emulator.
    None,
    /// The first call of this operation fails with a permanent error.
    FailOnce(String),
    /// This share of calls (0–100 %, deterministic) answers with the protocol's throttling error.
    Throttle(u64),
    /// Every call of this operation (first) answers with this error code (second).
    Answer(String, String),
    /// Every call is sent this long after it is made: a region far from the caller (the read_rounds bench).
    #[allow(dead_code)]
    Delay(std::time::Duration),
}

/// An HTTP client in front of the real one that answers chosen requests with an error, unsent.
#[derive(Debug, Clone)]
pub struct FaultyClient {
    inner: SharedHttpClient,
    faults: Arc<Mutex<Faults>>,
    /// AWS's behaviours moto lacks, when switched on ([`crate::realism::Realism`]).
    pub realism: Arc<Mutex<Option<crate::realism::Realism>>>,
    counter: Arc<AtomicUsize>,
    pub injected: Arc<AtomicUsize>,
}

impl FaultyClient {
    pub fn new(faults: Faults) -> Self {
        let inner = aws_smithy_http_client::Builder::new().build_http();
        Self {
            inner,
            faults: Arc::new(Mutex::new(faults)),
            realism: Arc::default(),
            counter: Arc::default(),
            injected: Arc::default(),
        }
    }

    pub fn set(&self, faults: Faults) {
        *self.faults.lock().unwrap() = faults;
    }
}

#[derive(Debug)]
struct FaultyConnector {
    inner: SharedHttpConnector,
    client: FaultyClient,
}

/// The service a signed request is for (from its credential scope) and its operation name.
fn identify(request: &HttpRequest) -> (String, String) {
    let auth = request.headers().get("authorization").unwrap_or_default();
    let service = auth.split("Credential=").nth(1).and_then(|c| c.split('/').nth(3)).unwrap_or_default().to_string();
    let target = request.headers().get("x-amz-target").and_then(|t| t.rsplit('.').next()).map(str::to_string);
    let action = || {
        let body = request.body().bytes().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
        body.split('&').find_map(|kv| kv.strip_prefix("Action=").map(str::to_string)).unwrap_or_default()
    };
    // Route 53 speaks REST-XML: the operation is in the method and path.
    let rest = || {
        let (method, uri) = (request.method(), request.uri());
        let operation = match (method, uri) {
            ("POST", u) if u.contains("/rrset") => "ChangeResourceRecordSets",
            ("POST", u) if u.contains("/tags/") => "ChangeTagsForResource",
            ("POST", u) if u.trim_end_matches('/').ends_with("/hostedzone") => "CreateHostedZone",
            ("DELETE", _) => "DeleteHostedZone",
            ("GET", u) if u.contains("/change/") => "GetChange",
            _ => "ListOrGet",
        };
        operation.to_string()
    };
    let operation = match target {
        Some(target) => target,
        None if service == "route53" => rest(),
        None => action(),
    };
    (service, operation)
}

/// An error response in the service's protocol.
pub fn error_response(service: &str, code: &str, message: &str) -> HttpResponse {
    let (status, body, json) = match service {
        "ecs" | "ecr" | "acm" | "logs" | "ssm" | "application-autoscaling" | "secretsmanager" => {
            (400, format!(r#"{{"__type":"{code}","message":"{message}"}}"#), true)
        }
        "ec2" => (if code == "RequestLimitExceeded" { 503 } else { 400 }, format!("<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>injected</RequestID></Response>"), false),
        _ => (400, format!("<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>injected</RequestId></ErrorResponse>"), false),
    };
    let mut response = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body));
    if json {
        response.headers_mut().insert("content-type", "application/x-amz-json-1.1");
        response.headers_mut().insert("x-amzn-errortype", code.to_string());
    } else {
        response.headers_mut().insert("content-type", "text/xml");
    }
    response
}

impl HttpConnector for FaultyConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (service, operation) = identify(&request);
        let realistic =
            self.client.realism.lock().unwrap().as_mut().and_then(|r| r.answer(&service, &operation, &request));
        if let Some(response) = realistic {
            return HttpConnectorFuture::ready(Ok(response));
        }
        let rewritten = self.client.realism.lock().unwrap().as_ref().is_some_and(|r| r.rewrites(&operation));
        let n = self.client.counter.fetch_add(1, Ordering::Relaxed) as u64;
        let answer = {
            let mut faults = self.client.faults.lock().unwrap();
            match &*faults {
                Faults::FailOnce(op) if *op == operation => {
                    *faults = Faults::None;
                    Some(error_response(&service, "InjectedFault", "injected permanent failure"))
                }
                Faults::Answer(op, code) if *op == operation => Some(error_response(&service, code, "injected answer")),
                // A deterministic 30 %: a multiplicative hash of the request number.
                Faults::Throttle(percent) if n.wrapping_mul(0x9E37_79B9_7F4A_7C15) % 100 < *percent => {
                    let code = match service.as_str() {
                        "ec2" => "RequestLimitExceeded",
                        "ecs" | "ecr" | "acm" | "logs" | "ssm" => "ThrottlingException",
                        _ => "Throttling",
                    };
                    Some(error_response(&service, code, "Rate exceeded"))
                }
                _ => None,
            }
        };
        let delay = match &*self.client.faults.lock().unwrap() {
            Faults::Delay(delay) => Some(*delay),
            _ => None,
        };
        match (answer, delay) {
            (Some(response), _) => {
                self.client.injected.fetch_add(1, Ordering::Relaxed);
                HttpConnectorFuture::ready(Ok(response))
            }
            (None, Some(delay)) => {
                let inner = self.inner.clone();
                HttpConnectorFuture::new(async move {
                    tokio::time::sleep(delay).await;
                    inner.call(request).await
                })
            }
            (None, None) if rewritten => {
                let (inner, realism) = (self.inner.clone(), self.client.realism.clone());
                HttpConnectorFuture::new(async move {
                    let response = inner.call(request).await?;
                    let (status, headers) = (response.status(), response.headers().clone());
                    let collected = aws_smithy_types::byte_stream::ByteStream::new(response.into_body())
                        .collect()
                        .await
                        .map_err(|e| aws_smithy_runtime_api::client::result::ConnectorError::io(e.into()))?
                        .into_bytes();
                    let body = realism
                        .lock()
                        .unwrap()
                        .as_mut()
                        .and_then(|r| r.rewrite(&operation, &collected))
                        .unwrap_or_else(|| collected.to_vec());
                    let mut rewritten = HttpResponse::new(status, SdkBody::from(body));
                    *rewritten.headers_mut() = headers;
                    rewritten.headers_mut().remove("content-length");
                    Ok(rewritten)
                })
            }
            (None, None) => self.inner.call(request),
        }
    }
}

impl HttpClient for FaultyClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(FaultyConnector {
            inner: self.inner.http_connector(settings, components),
            client: self.clone(),
        })
    }
}

/// The SDK's attempts per call in these tests (as in `scaling_aws::default_retry`, with short backoffs).
pub const SDK_ATTEMPTS: u32 = 8;

/// A provider on the emulator in a fresh account, with a call log, a faulty HTTP client, and the account.
pub async fn provider(url: &str) -> (Arc<AwsProvider>, CallLog, FaultyClient, String) {
    provider_in(url, &account(), "us-east-1").await
}

/// [`provider`] in `region` of emulated `account` (the same app in two regions of one account).
pub async fn provider_in(url: &str, account: &str, region: &str) -> (Arc<AwsProvider>, CallLog, FaultyClient, String) {
    let account = account.to_string();
    let log = CallLog::default();
    let client = FaultyClient::new(Faults::None);
    let retry = aws_config::retry::RetryConfig::standard()
        .with_max_attempts(SDK_ATTEMPTS)
        .with_initial_backoff(std::time::Duration::from_millis(20))
        .with_max_backoff(std::time::Duration::from_millis(200));
    let provider = AwsProvider::builder()
        .endpoint_url(url)
        .region(region)
        .interceptor(MotoAccount(account.clone()))
        .interceptor(log.clone())
        .http_client(client.clone())
        .dns_resolver(fake_public_dns())
        .retry(retry)
        .build()
        .await
        .expect("provider");
    (Arc::new(provider), log, client, account)
}

/// Plain SDK clients on the emulator in `account`, to read back what a deploy left.
pub struct Sdk {
    pub ecr: aws_sdk_ecr::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub route53: aws_sdk_route53::Client,
    pub acm: aws_sdk_acm::Client,
    pub iam: aws_sdk_iam::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

pub async fn sdk(url: &str, account: &str) -> Sdk {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    macro_rules! client {
        ($service:ident) => {
            $service::Client::from_conf(
                $service::config::Builder::from(&config).interceptor(MotoAccount(account.to_string())).build(),
            )
        };
    }
    Sdk {
        ecr: client!(aws_sdk_ecr),
        ec2: client!(aws_sdk_ec2),
        ecs: client!(aws_sdk_ecs),
        elb: client!(aws_sdk_elasticloadbalancingv2),
        route53: client!(aws_sdk_route53),
        acm: client!(aws_sdk_acm),
        iam: client!(aws_sdk_iam),
        logs: client!(aws_sdk_cloudwatchlogs),
        ssm: client!(aws_sdk_ssm),
        autoscaling: client!(aws_sdk_applicationautoscaling),
        secrets: client!(aws_sdk_secretsmanager),
    }
}

impl Sdk {
    /// A TXT record someone else made.
    pub async fn add_txt(&self, zone: &str, name: &str, value: &str) {
        use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType};
        let set = ResourceRecordSet::builder()
            .name(name)
            .r#type(RrType::Txt)
            .ttl(300)
            .resource_records(ResourceRecord::builder().value(value).build().unwrap())
            .build()
            .unwrap();
        let batch = ChangeBatch::builder()
            .changes(Change::builder().action(ChangeAction::Create).resource_record_set(set).build().unwrap())
            .build()
            .unwrap();
        self.route53.change_resource_record_sets().hosted_zone_id(zone).change_batch(batch).send().await.unwrap();
    }

    /// Points the A record `name` (with a trailing dot) at a load balancer that is not the app's.
    pub async fn point_elsewhere(&self, zone: &str, name: &str) {
        use aws_sdk_route53::types::{AliasTarget, Change, ChangeAction, ChangeBatch, ResourceRecordSet, RrType};
        let elsewhere = AliasTarget::builder()
            .hosted_zone_id("Z35SXDOTRQ7X7K")
            .dns_name("elsewhere.example.net.")
            .evaluate_target_health(false)
            .build()
            .unwrap();
        let set = ResourceRecordSet::builder().name(name).r#type(RrType::A).alias_target(elsewhere).build().unwrap();
        let change = Change::builder().action(ChangeAction::Upsert).resource_record_set(set).build().unwrap();
        let batch = ChangeBatch::builder().changes(change).build().unwrap();
        self.route53.change_resource_record_sets().hosted_zone_id(zone).change_batch(batch).send().await.unwrap();
    }
}
