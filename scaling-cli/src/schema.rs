//! The JSON Schema of `scaling.toml`, derived from the spec types: the core's, with each known
//! provider's `[provider.<name>]` table filled in from that provider's own settings type. Editors read
//! it through the `#:schema` line `scaling init` writes (Taplo, Even Better TOML).

use schemars::JsonSchema;
use serde_json::{Map, Value};

/// Where the published schema lives (the file `docs/scaling.schema.json` of this repository).
pub const SCHEMA_URL: &str = "https://raw.githubusercontent.com/scaling-rs/scaling/main/docs/scaling.schema.json";

/// The schema, as JSON.
pub fn config_schema() -> Value {
    let mut root = serde_json::to_value(schemars::schema_for!(scaling_core::Spec)).unwrap_or_default();
    root["$id"] = Value::String(SCHEMA_URL.into());
    root["title"] = Value::String("scaling.toml".into());
    let mut sections = Map::new();
    section::<scaling_local::LocalSettings>(&mut root, &mut sections, "local");
    #[cfg(feature = "aws")]
    section::<scaling_aws::AwsSettings>(&mut root, &mut sections, "aws");
    let provider = match root.pointer("/$defs/ProviderSpec") {
        Some(_) => root.pointer_mut("/$defs/ProviderSpec"),
        None => root.pointer_mut("/properties/provider"),
    };
    if let Some(provider) = provider {
        let default = &mut provider["properties"]["default"];
        default["enum"] =
            Value::Array(crate::provider::KNOWN.iter().map(|(n, _)| Value::String(n.to_string())).collect());
        if let Some(properties) = provider["properties"].as_object_mut() {
            properties.extend(sections);
        }
        // A table for a provider this `scaling` does not know is a typo.
        provider["additionalProperties"] = Value::Bool(false);
    }
    // `[environments.<name>]`: any part of the spec again, for a separate copy of the app.
    if let Some(properties) = root["properties"].as_object_mut() {
        properties.insert(
            "environments".into(),
            serde_json::json!({
                "description": "Separate copies of the app (`--env NAME`): each table overrides any part of this file; `app.name` becomes `<app>-<NAME>` unless set.",
                "type": "object",
                "additionalProperties": { "type": "object" }
            }),
        );
    }
    root
}

/// Adds `S`'s schema as the `[provider.<name>]` table, its definitions merged into the root's.
fn section<S: JsonSchema>(root: &mut Value, sections: &mut Map<String, Value>, name: &str) {
    let mut schema = serde_json::to_value(schemars::schema_for!(S)).unwrap_or_default();
    if let Some(object) = schema.as_object_mut() {
        object.remove("$schema");
        if let Some(Value::Object(defs)) = object.remove("$defs") {
            if let Some(root_defs) = root["$defs"].as_object_mut() {
                root_defs.extend(defs);
            }
        }
    }
    sections.insert(name.to_string(), schema);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_knows_every_table_and_each_providers_own() {
        let schema = config_schema();
        for table in
            ["app", "image", "health_check", "env", "domain", "load_balancer", "tags", "provider", "environments"]
        {
            assert!(schema["properties"].get(table).is_some(), "no `{table}` in the schema");
        }
        let provider = schema.pointer("/$defs/ProviderSpec").or(schema.pointer("/properties/provider")).unwrap();
        assert_eq!(provider["additionalProperties"], false);
        assert!(provider.pointer("/properties/local/properties/https_port").is_some(), "{provider}");
        #[cfg(feature = "aws")]
        assert!(provider.pointer("/properties/aws/properties/vpc_id").is_some(), "{provider}");
        let text = schema.to_string();
        assert!(
            text.contains("\"1.3\"") && text.contains("least_outstanding_requests"),
            "enums are spelled as in the file"
        );
    }
}
