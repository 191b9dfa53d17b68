//! Bad input: every problem reported at once, with the field and the fix, and not one provider call.

use scaling_core::{Error, RecordedEvents, Spec};
use scaling_memory::InMemoryCloud;
use scaling_tests::orchestrator;

const GOOD: &str = r#"
[app]
name = "dashmath"
port = 8050

[image]
reference = "registry.example/dashmath@sha256:1111111111111111111111111111111111111111111111111111111111111111"

[domain]
name = "dashmath.example.com"
"#;

/// Replaces `from` in the good spec with `to` (or appends `to` when `from` is empty).
fn variant(from: &str, to: &str) -> String {
    if from.is_empty() {
        format!("{GOOD}\n{to}\n")
    } else {
        assert!(GOOD.contains(from), "{from} is not in the good spec");
        GOOD.replace(from, to)
    }
}

/// (case, from, to, field, words the message or fix must contain)
const CASES: &[(&str, &str, &str, &str, &str)] = &[
    ("uppercase name", "name = \"dashmath\"", "name = \"DashMath\"", "app.name", "lowercase"),
    ("name with underscore", "name = \"dashmath\"", "name = \"dash_math\"", "app.name", "`_`"),
    ("name starting with digit", "name = \"dashmath\"", "name = \"9lives\"", "app.name", "start with a lowercase letter"),
    ("name ending with hyphen", "name = \"dashmath\"", "name = \"dash-\"", "app.name", "hyphen"),
    ("name too long", "name = \"dashmath\"", "name = \"a-very-long-application-name-that-goes-on-x\"", "app.name", "1–40"),
    ("empty name", "name = \"dashmath\"", "name = \"\"", "app.name", "empty"),
    ("port zero", "port = 8050", "port = 0", "app.port", "1–65535"),
    ("port out of range", "port = 8050", "port = 70000", "app.port", "70000"),
    ("cpu in old CPU units", "port = 8050", "port = 8050\ncpu = 1024", "app.cpu", "`cpu = 1`"),
    ("no cpu", "port = 8050", "port = 8050\ncpu = 0", "app.cpu", "cpu = 0.25"),
    ("cpu not a number", "port = 8050", "port = 8050\ncpu = \"fast\"", "app.cpu", "500m"),
    ("memory too small", "port = 8050", "port = 8050\nmemory = 10", "app.memory", "in MiB"),
    ("too many replicas", "port = 8050", "port = 8050\ndesired_count = 10000", "app.desired_count", "0–5000"),
    ("unknown key", "port = 8050", "port = 8050\nreplicas = 3", "app.replicas", "accepted names"),
    ("unknown table", "", "[databse]\nurl = \"x\"", "databse", "spelling"),
    ("image both", "[image]", "[image]\ncontext = \".\"", "image", "more than one"),
    ("image neither", "reference = \"registry.example/dashmath@sha256:1111111111111111111111111111111111111111111111111111111111111111\"", "", "image", "neither"),
    ("bad digest", "sha256:1111111111111111111111111111111111111111111111111111111111111111", "sha256:abc", "image.reference", "64"),
    ("uppercase domain", "name = \"dashmath.example.com\"", "name = \"DashMath.example.com\"", "domain.name", "lowercase"),
    ("single-label domain", "name = \"dashmath.example.com\"", "name = \"localhostonly\"", "domain.name", "two labels"),
    ("domain with scheme", "name = \"dashmath.example.com\"", "name = \"https://dashmath.example.com\"", "domain.name", "`:`"),
    ("label too long", "name = \"dashmath.example.com\"", "name = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.com\"", "domain.name", "1–63"),
    ("wildcard alias", "name = \"dashmath.example.com\"", "name = \"dashmath.example.com\"\naliases = [\"*\"]", "domain.aliases[0]", "wildcard"),
    ("duplicate alias", "name = \"dashmath.example.com\"", "name = \"dashmath.example.com\"\naliases = [\"www\", \"www\"]", "domain.aliases[1]", "twice"),
    ("redirect without https", "name = \"dashmath.example.com\"", "name = \"dashmath.example.com\"\nhttps = false", "domain.redirect_http", "domain.https"),
    ("insecure tls minimum", "name = \"dashmath.example.com\"", "name = \"dashmath.example.com\"\nmin_tls_version = \"1.0\"", "domain.min_tls_version", "\"1.3\""),
    ("unknown tls version", "name = \"dashmath.example.com\"", "name = \"dashmath.example.com\"\nmin_tls_version = \"2.0\"", "domain.min_tls_version", "1.2"),
    ("an AWS policy name in the neutral place", "name = \"dashmath.example.com\"", "name = \"dashmath.example.com\"\ntls_policy = \"ELBSecurityPolicy-TLS13-1-2-2021-06\"", "domain.tls_policy", "min_tls_version"),
    ("relative health path", "", "[health_check]\npath = \"health\"", "health_check.path", "starting with `/`"),
    ("timeout above interval", "", "[health_check]\ninterval = \"10s\"\ntimeout = \"20s\"", "health_check.timeout", "shorter than"),
    ("threshold out of range", "", "[health_check]\nhealthy_threshold = 1", "health_check.healthy_threshold", "2–10"),
    ("bad duration", "", "[health_check]\ngrace_period = \"thirty\"", "health_check.grace_period", "\"30s\""),
    ("idle timeout too long", "", "[load_balancer]\nidle_timeout = \"2h\"", "load_balancer.idle_timeout", "4000s"),
    ("reserved tag", "", "[tags]\n\"scaling:team\" = \"x\"", "tags.scaling:team", "reserved"),
    ("bad env name", "", "[env]\n\"1BAD\" = \"x\"", "env.1BAD", "not starting with a digit"),
    ("unknown algorithm", "", "[load_balancer]\nalgorithm = \"random\"", "load_balancer.algorithm", "least_outstanding_requests"),
];

#[tokio::test]
async fn every_bad_case_names_its_field_and_fix_and_calls_no_provider() {
    assert!(CASES.len() >= 20);
    Spec::from_toml_str(GOOD).expect("the base spec is valid");
    let cloud = InMemoryCloud::new().shared();
    let orchestrator = orchestrator(&cloud);
    for (case, from, to, field, words) in CASES {
        let text = variant(from, to);
        let errors = Spec::from_toml_str(&text).expect_err(case);
        let problem = errors
            .problems
            .iter()
            .find(|p| p.field == *field)
            .unwrap_or_else(|| panic!("{case}: no problem on `{field}` in {errors}"));
        let said = format!("{} {}", problem.message, problem.fix);
        assert!(said.contains(words), "{case}: `{said}` should mention `{words}`");
        assert!(!problem.fix.is_empty(), "{case}: every problem says how to fix it");

        // Specs built in code are validated before any call, too.
        if let Ok(spec) = toml_without_validation(&text) {
            let error = orchestrator.deploy(&spec, None, &RecordedEvents::new()).await.unwrap_err();
            assert!(matches!(error, Error::InvalidSpec(_)), "{case}: {error}");
        }
    }
    assert_eq!(cloud.calls(), [], "invalid specs make no provider call");
}

#[test]
fn all_problems_are_reported_at_once() {
    let text = GOOD.replace("name = \"dashmath\"", "name = \"Bad_Name\"").replace("port = 8050", "port = 0")
        + "\n[health_check]\npath = \"x\"\n";
    let errors = Spec::from_toml_str(&text).unwrap_err();
    for field in ["app.name", "app.port", "health_check.path"] {
        assert!(errors.mentions(field), "{field} missing from {errors}");
    }
    assert!(errors.to_string().starts_with("the spec has 3 problems:"), "{errors}");
}

fn toml_without_validation(text: &str) -> Result<Spec, toml::de::Error> {
    toml::from_str(text)
}
