//! Ownership markers, as on Route 53 (and external-dns): a TXT set at `_scaling.<name>` whose strings
//! read `app=<app> type=<TYPE>`, one per record type the app owns at `<name>`.

use std::collections::BTreeMap;

use scaling_core::providers::{DnsRecord, RecordKind, RecordValue};

/// The marker name's prefix.
pub(crate) const PREFIX: &str = "_scaling.";

/// Who owns what: (name, type) → app.
pub(crate) type Owners = BTreeMap<(String, RecordKind), String>;

/// The owners that the marker sets among `records` name.
pub(crate) fn owners(records: &[DnsRecord]) -> Owners {
    let mut out = Owners::new();
    for record in records.iter().filter(|r| r.kind == RecordKind::Txt) {
        let Some(name) = record.name.strip_prefix(PREFIX) else { continue };
        let RecordValue::Values { values, .. } = &record.value else { continue };
        for value in values {
            let text = value.trim_matches('"');
            let fields: BTreeMap<&str, &str> = text.split_whitespace().filter_map(|f| f.split_once('=')).collect();
            if let (Some(app), Some(kind)) = (fields.get("app"), fields.get("type").and_then(|t| kind_named(t))) {
                out.insert((name.to_string(), kind), app.to_string());
            }
        }
    }
    out
}

fn kind_named(name: &str) -> Option<RecordKind> {
    [RecordKind::A, RecordKind::Aaaa, RecordKind::Cname, RecordKind::Txt].into_iter().find(|k| k.to_string() == name)
}

/// The marker set at `_scaling.<name>` for what `owners` says is owned there; `None` when nothing is.
pub(crate) fn marker_at(name: &str, owners: &Owners) -> Option<DnsRecord> {
    let values: Vec<String> = owners
        .iter()
        .filter(|((n, _), _)| n == name)
        .map(|((_, kind), app)| format!("\"app={app} type={kind}\""))
        .collect();
    (!values.is_empty()).then(|| DnsRecord {
        name: format!("{PREFIX}{name}"),
        kind: RecordKind::Txt,
        value: RecordValue::Values { values, ttl: 300 },
        owner: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_every_owned_type_at_a_name() {
        let mut owned = Owners::new();
        owned.insert(("www.example.com".into(), RecordKind::A), "dashmath".into());
        owned.insert(("www.example.com".into(), RecordKind::Aaaa), "dashmath".into());
        owned.insert(("example.com".into(), RecordKind::A), "other".into());
        let marker = marker_at("www.example.com", &owned).into_iter().collect::<Vec<_>>();
        assert_eq!(marker[0].name, "_scaling.www.example.com");
        let read = owners(&marker);
        assert_eq!(read.len(), 2);
        assert!(read.values().all(|app| app == "dashmath"));
        assert!(marker_at("nothing.example.com", &owned).is_none());
    }
}
