//! Record sets between the core's [`DnsRecord`] and the wire's resource records.

use std::collections::BTreeMap;
use std::str::FromStr;

use hickory_proto::rr::rdata::{A, AAAA, CNAME, TXT};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use scaling_core::providers::{DnsRecord, RecordKind, RecordValue};

/// A name without its trailing dot, lower case.
pub(crate) fn bare(name: &Name) -> String {
    scaling_core::providers::canonical_name(&name.to_ascii())
}

pub(crate) fn record_type(kind: RecordKind) -> RecordType {
    match kind {
        RecordKind::A => RecordType::A,
        RecordKind::Aaaa => RecordType::AAAA,
        RecordKind::Cname => RecordType::CNAME,
        RecordKind::Txt => RecordType::TXT,
    }
}

fn kind_of(record_type: RecordType) -> Option<RecordKind> {
    match record_type {
        RecordType::A => Some(RecordKind::A),
        RecordType::AAAA => Some(RecordKind::Aaaa),
        RecordType::CNAME => Some(RecordKind::Cname),
        RecordType::TXT => Some(RecordKind::Txt),
        _ => None,
    }
}

/// The value as a zone file writes it: TXT strings quoted, a CNAME without its trailing dot.
fn text_of(data: &RData) -> Option<String> {
    Some(match data {
        RData::A(a) => a.0.to_string(),
        RData::AAAA(a) => a.0.to_string(),
        RData::CNAME(c) => bare(&c.0),
        RData::TXT(t) => {
            t.txt_data().iter().map(|s| format!("\"{}\"", String::from_utf8_lossy(s))).collect::<Vec<_>>().join(" ")
        }
        _ => return None,
    })
}

/// The wire's records grouped into sets (the types the core models; SOA, NS and the rest left out).
pub(crate) fn sets(records: &[Record]) -> Vec<DnsRecord> {
    let mut grouped: BTreeMap<(String, RecordKind), (Vec<String>, u32)> = BTreeMap::new();
    for record in records {
        let (Some(kind), Some(value)) = (kind_of(record.record_type()), text_of(record.data())) else { continue };
        let entry = grouped.entry((bare(record.name()), kind)).or_insert_with(|| (Vec::new(), record.ttl()));
        if !entry.0.contains(&value) {
            entry.0.push(value);
        }
    }
    grouped
        .into_iter()
        .map(|((name, kind), (mut values, ttl))| {
            values.sort();
            DnsRecord { name, kind, value: RecordValue::Values { values, ttl }, owner: None }
        })
        .collect()
}

/// The wire records of one set, to add; an error names the value that cannot be one.
pub(crate) fn wire_records(record: &DnsRecord) -> Result<Vec<Record>, String> {
    let RecordValue::Values { values, ttl } = &record.value else {
        return Err(format!(
            "{} is an alias record, which DNS servers do not have: point it at addresses or a host name",
            record.name
        ));
    };
    let name = fqdn(&record.name)?;
    values
        .iter()
        .map(|value| {
            let bad = |e: String| format!("{} {} {value:?}: {e}", record.name, record.kind);
            let data = match record.kind {
                RecordKind::A => {
                    RData::A(A(value.parse().map_err(|e: std::net::AddrParseError| bad(e.to_string()))?))
                }
                RecordKind::Aaaa => {
                    RData::AAAA(AAAA(value.parse().map_err(|e: std::net::AddrParseError| bad(e.to_string()))?))
                }
                RecordKind::Cname => RData::CNAME(CNAME(fqdn(value).map_err(bad)?)),
                RecordKind::Txt => RData::TXT(TXT::new(quoted_strings(value))),
            };
            let mut out = Record::from_rdata(name.clone(), *ttl, data);
            out.set_dns_class(DNSClass::IN);
            Ok(out)
        })
        .collect()
}

/// `"a b" "c"` → `["a b", "c"]`; an unquoted value is one string.
fn quoted_strings(value: &str) -> Vec<String> {
    if !value.trim_start().starts_with('"') {
        return vec![value.to_string()];
    }
    value.split('"').skip(1).step_by(2).map(str::to_string).collect()
}

/// `name` as an absolute name.
pub(crate) fn fqdn(name: &str) -> Result<Name, String> {
    Name::from_str(&format!("{}.", name.trim_end_matches('.'))).map_err(|e| format!("{name:?} is not a DNS name: {e}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sets_round_trip_through_wire_records() {
        let sets_in = vec![
            DnsRecord {
                name: "www.example.com".into(),
                kind: RecordKind::A,
                value: RecordValue::Values { values: vec!["192.0.2.1".into(), "192.0.2.2".into()], ttl: 60 },
                owner: None,
            },
            DnsRecord {
                name: "_acme-challenge.example.com".into(),
                kind: RecordKind::Txt,
                value: RecordValue::Values { values: vec!["\"token value\"".into()], ttl: 60 },
                owner: None,
            },
            DnsRecord {
                name: "app.example.com".into(),
                kind: RecordKind::Cname,
                value: RecordValue::Values { values: vec!["lb.example.net".into()], ttl: 300 },
                owner: None,
            },
        ];
        let wire: Vec<Record> = sets_in.iter().flat_map(|s| wire_records(s).unwrap()).collect();
        let mut expected = sets_in.clone();
        expected.sort();
        assert_eq!(sets(&wire), expected);
    }

    #[test]
    fn a_bad_address_names_the_record() {
        let bad = DnsRecord {
            name: "example.com".into(),
            kind: RecordKind::A,
            value: RecordValue::Values { values: vec!["not-an-address".into()], ttl: 60 },
            owner: None,
        };
        assert!(wire_records(&bad).unwrap_err().starts_with("example.com A \"not-an-address\""));
    }
}
