//! Whether the public DNS delegates the domain to its Route 53 zone: an NS lookup through a recursive
//! resolver (the system's, or the one set with `AwsProviderBuilder::dns_resolver` or
//! `SCALING_DNS_RESOLVER`), compared with the zone's name servers.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::Resolver;
use scaling_core::providers::{canonical_name, Delegation, ZoneInfo};

fn normalized<'a>(names: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    names.into_iter().map(canonical_name).collect()
}

/// Asks the public DNS which name servers serve `zone`'s domain.
pub async fn check(resolver: Option<SocketAddr>, zone: &ZoneInfo) -> Delegation {
    let builder = match resolver {
        Some(addr) => {
            let mut config = ResolverConfig::new();
            config.add_name_server(NameServerConfig::new(addr, Protocol::Udp));
            Resolver::builder_with_config(config, TokioConnectionProvider::default())
        }
        None => match Resolver::builder_tokio() {
            Ok(builder) => builder,
            Err(e) => return Delegation::Unknown(format!("no DNS resolver is configured on this machine: {e}")),
        },
    };
    let mut options = ResolverOpts::default();
    options.timeout = Duration::from_secs(3);
    options.attempts = 1;
    options.cache_size = 0;
    let resolver = builder.with_options(options).build();
    let expected = normalized(zone.name_servers.iter().map(String::as_str));
    match resolver.ns_lookup(format!("{}.", zone.name)).await {
        Ok(lookup) => {
            let found: BTreeSet<String> = lookup.iter().map(|ns| canonical_name(&ns.0.to_utf8())).collect();
            if found == expected {
                Delegation::Delegated
            } else {
                Delegation::NotDelegated {
                    expected: expected.into_iter().collect(),
                    found: found.into_iter().collect(),
                }
            }
        }
        Err(e) if e.is_nx_domain() || e.is_no_records_found() => {
            Delegation::NotDelegated { expected: expected.into_iter().collect(), found: Vec::new() }
        }
        Err(e) => Delegation::Unknown(format!("the public DNS could not be asked: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::{Message, MessageType, ResponseCode};
    use hickory_proto::rr::rdata::NS;
    use hickory_proto::rr::{Name, RData, Record};

    use super::*;

    /// A DNS server on loopback answering NS queries with `answer` (NXDOMAIN for `None`).
    async fn fake_dns(answer: Option<Vec<&'static str>>) -> SocketAddr {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buffer = [0u8; 1500];
            while let Ok((len, peer)) = socket.recv_from(&mut buffer).await {
                let query = Message::from_vec(&buffer[..len]).unwrap();
                let mut reply = Message::new();
                reply.set_id(query.id()).set_message_type(MessageType::Response).set_recursion_available(true);
                reply.add_queries(query.queries().to_vec());
                match &answer {
                    None => {
                        reply.set_response_code(ResponseCode::NXDomain);
                    }
                    Some(servers) => {
                        let name = query.queries()[0].name().clone();
                        for server in servers {
                            reply.add_answer(Record::from_rdata(
                                name.clone(),
                                300,
                                RData::NS(NS(Name::from_ascii(server).unwrap())),
                            ));
                        }
                    }
                }
                let _ = socket.send_to(&reply.to_vec().unwrap(), peer).await;
            }
        });
        addr
    }

    fn zone() -> ZoneInfo {
        ZoneInfo {
            id: "Z1".into(),
            name: "dashmath.example.com".into(),
            name_servers: vec!["ns-1.awsdns-01.org".into(), "ns-2.awsdns-02.com".into()],
            owner: Some("dashmath".into()),
        }
    }

    #[tokio::test]
    async fn matching_name_servers_are_a_delegation() {
        let dns = fake_dns(Some(vec!["NS-2.awsdns-02.com.", "ns-1.awsdns-01.org."])).await;
        assert_eq!(check(Some(dns), &zone()).await, Delegation::Delegated);
    }

    #[tokio::test]
    async fn other_name_servers_are_reported_with_the_ones_to_set() {
        let dns = fake_dns(Some(vec!["ns1.registrar.example."])).await;
        let Delegation::NotDelegated { expected, found } = check(Some(dns), &zone()).await else {
            panic!("not delegated")
        };
        assert_eq!(expected, ["ns-1.awsdns-01.org", "ns-2.awsdns-02.com"]);
        assert_eq!(found, ["ns1.registrar.example"]);
    }

    #[tokio::test]
    async fn an_unknown_domain_is_not_delegated() {
        let dns = fake_dns(None).await;
        assert!(matches!(check(Some(dns), &zone()).await, Delegation::NotDelegated { found, .. } if found.is_empty()));
    }

    #[tokio::test]
    async fn an_unreachable_resolver_is_unknown_not_an_error() {
        let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        assert!(matches!(check(Some(closed), &zone()).await, Delegation::Unknown(_)));
    }
}
