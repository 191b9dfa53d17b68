//! A normalized listing of the in-memory cloud: one line per resource, ids replaced by names.

use std::collections::HashMap;

use super::state::{owner_of, State};
use scaling_core::providers::{ListenerAction, RecordValue, Tags};

fn owner(tags: &Tags) -> String {
    format!("owner={}", owner_of(tags).app)
}

pub(crate) fn lines(s: &State) -> Vec<String> {
    let mut names: HashMap<String, String> = HashMap::new();
    names.extend(s.firewalls.values().map(|g| (g.info.id.clone(), g.info.spec.name.clone())));
    names.extend(s.load_balancers.values().map(|l| (l.info.id.clone(), l.info.spec.name.clone())));
    names.extend(
        s.load_balancers.values().filter_map(|l| Some((l.info.endpoint.hostname.clone()?, l.info.spec.name.clone()))),
    );
    names.extend(s.backends.values().map(|t| (t.info.id.clone(), t.info.spec.name.clone())));
    names.extend(s.certificates.values().map(|c| (c.info.id.clone(), format!("cert:{}", c.info.spec.domain))));
    let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_string());

    let mut out = Vec::new();
    for r in s.repositories.values() {
        let i = &r.info;
        out.push(format!("repository {} {} images={}", i.name, owner(&r.tags), r.images.len()));
    }
    for g in s.firewalls.values() {
        let rules: Vec<String> =
            g.info.spec.ingress.iter().map(|r| format!("{}<-{}", r.port, from(&r.from, &name))).collect();
        out.push(format!("firewall {} {} ingress=[{}]", g.info.spec.name, owner(&g.tags), rules.join(",")));
    }
    for l in s.load_balancers.values() {
        let groups: Vec<String> = l.info.firewall_ids.iter().map(|g| name(g)).collect();
        out.push(format!(
            "load_balancer {} {} groups=[{}] idle={}s",
            l.info.spec.name,
            owner(&l.tags),
            groups.join(","),
            l.info.spec.idle_timeout.as_secs()
        ));
    }
    for t in s.backends.values() {
        let i = &t.info.spec;
        out.push(format!(
            "backend {} {} port={} health_path={} grace={}s",
            i.name,
            owner(&t.tags),
            i.port,
            i.health_check.path,
            i.health_check.grace_period.as_secs()
        ));
    }
    for l in s.listeners.values() {
        let action = match &l.info.spec.action {
            ListenerAction::Forward { backend_id } => format!("forward:{}", name(backend_id)),
            ListenerAction::RedirectToHttps { port } => format!("redirect:{port}"),
        };
        let cert = l.info.spec.certificate_id.as_deref().map(&name).unwrap_or_default();
        let min_tls = l.info.spec.min_tls_version.map(|v| v.as_str()).unwrap_or_default();
        out.push(format!(
            "listener {}:{} {} {} {action} cert={cert} min_tls={min_tls}",
            name(&l.load_balancer_id),
            l.info.spec.port,
            owner(&l.tags),
            l.info.spec.protocol
        ));
    }
    for c in s.clusters.values() {
        out.push(format!("cluster {} {}", c.info.name, owner(&c.tags)));
    }
    for t in s.revisions.iter().filter(|t| t.active) {
        let i = &t.info.spec;
        out.push(format!(
            "revision {} {} container={} image={} cpu={}m memory={} port={} platform={}",
            t.info.id,
            owner(&t.tags),
            i.container,
            i.image,
            i.cpu.millis(),
            i.memory,
            i.port,
            i.platform
        ));
    }
    for a in s.autoscalers.values() {
        let targets: Vec<String> = a.info.spec.targets.iter().map(ToString::to_string).collect();
        out.push(format!(
            "autoscaling {} {} min={} max={} targets=[{}]",
            a.info.service,
            owner(&a.tags),
            a.info.spec.min,
            a.info.spec.max,
            targets.join(",")
        ));
    }
    for svc in s.services.values() {
        let i = &svc.info;
        out.push(format!(
            "service {} {} revision={} count={} backend={} group={} grace={}s",
            i.spec.name,
            owner(&svc.tags),
            i.spec.revision_id,
            i.spec.desired_count,
            i.backend_id.as_deref().map(&name).unwrap_or_default(),
            i.spec.firewall_id.as_deref().map(&name).unwrap_or_default(),
            i.health_check_grace_period.unwrap_or_default().as_secs()
        ));
    }
    for z in s.zones.values() {
        out.push(format!("zone {} owner={}", z.info.name, z.info.owner.clone().unwrap_or_default()));
        for r in &z.records {
            let value = match &r.value {
                RecordValue::Alias(target) => format!("alias:{}", name(&target.dns_name)),
                RecordValue::Values { values, ttl } => format!("{}@{ttl}", values.join(",")),
            };
            out.push(format!("record {} {:?} owner={} {value}", r.name, r.kind, r.owner.clone().unwrap_or_default()));
        }
    }
    for c in s.certificates.values() {
        let i = &c.info;
        out.push(format!(
            "certificate {} {} names=[{}] status={:?}",
            i.spec.domain,
            owner(&c.tags),
            i.spec.alternative_names.join(","),
            i.status
        ));
    }
    out.sort();
    out
}

fn from(source: &scaling_core::providers::TrafficFrom, name: &impl Fn(&str) -> String) -> String {
    match source {
        scaling_core::providers::TrafficFrom::Anywhere => "anywhere".into(),
        scaling_core::providers::TrafficFrom::Cidr(cidr) => cidr.clone(),
        scaling_core::providers::TrafficFrom::Group(id) => name(id),
        scaling_core::providers::TrafficFrom::LoadBalancer => "the load balancer".into(),
    }
}
