//! A provider's own table of `scaling.toml`, `[provider.<name>]`. The provider's crate defines its
//! type and its checks ([`ProviderSettings`]); the core only hands the table over, reporting unknown
//! keys and bad values on their line like the rest of the file, and never interprets it.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::problems::{Problem, SpecErrors};
use super::{unknown_keys, Spec};

/// Which provider runs the deployment, and each provider's own table, uninterpreted.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProviderSpec {
    /// The provider used when the command line names none (the command line's default when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// `[provider.<name>]` tables by provider name, read by that provider's [`ProviderSettings`].
    #[serde(flatten)]
    #[cfg_attr(feature = "schema", schemars(skip))]
    pub sections: BTreeMap<String, toml::Table>,
}

/// A provider's settings: the table `[provider.<NAME>]` and the checks the provider makes of a whole
/// spec before any call (its sizes, its name and tag limits, its ids). Implemented by each provider
/// crate, the way each `object_store` backend owns its config keys.
pub trait ProviderSettings: DeserializeOwned + Serialize + Default {
    /// The table's name, e.g. `aws` for `[provider.aws]`.
    const NAME: &'static str;

    /// Every problem of these settings, and of `spec` as this provider would run it, each naming its
    /// field (`provider.<NAME>.…`, or the spec field the provider cannot serve) and the fix.
    fn problems(&self, spec: &Spec) -> Vec<Problem>;
}

impl Spec {
    /// The settings of provider `S`: its table parsed (defaults when absent). Unknown keys and bad
    /// values are reported with their line when the spec came from a file.
    pub fn settings<S: ProviderSettings>(&self) -> Result<S, SpecErrors> {
        match &self.source.0 {
            Some(text) => unknown_keys::parse::<FileSection<S>>(text).map(|file| file.0.unwrap_or_default()),
            None => match self.provider.sections.get(S::NAME) {
                None => Ok(S::default()),
                Some(table) => toml::Value::Table(table.clone()).try_into().map_err(|e: toml::de::Error| {
                    SpecErrors::single(Problem::new(
                        format!("provider.{}", S::NAME),
                        e.message().trim_end().to_string(),
                        "fix or remove the setting",
                    ))
                }),
            },
        }
    }

    /// Replaces provider `S`'s table with `settings` (for specs built in code).
    pub fn set_settings<S: ProviderSettings>(&mut self, settings: &S) {
        let table = toml::Table::try_from(settings).unwrap_or_default();
        self.provider.sections.insert(S::NAME.to_string(), table);
        // The file no longer says what the spec holds; report from the tables from now on.
        self.source = super::SourceText(None);
    }

    /// Every problem of this spec for provider `S`, all at once: the core's rules, the image's files,
    /// `S`'s table, and `S`'s own checks. Returns the settings when there are none.
    pub fn check_for<S: ProviderSettings>(&self) -> Result<S, SpecErrors> {
        let mut problems = self.problems();
        problems.extend(self.image.missing_files());
        let settings = match self.settings::<S>() {
            Ok(settings) => {
                problems.extend(settings.problems(self));
                Some(settings)
            }
            Err(errors) => {
                problems.extend(errors.problems);
                // The table is unreadable, but the provider's checks of the rest of the spec still hold.
                problems.extend(S::default().problems(self));
                None
            }
        };
        match settings {
            Some(settings) if problems.is_empty() => Ok(settings),
            _ => Err(SpecErrors::new(problems)),
        }
    }
}

/// The whole file read for one thing only: `[provider.<S::NAME>]`. Everything else is skipped (the
/// core's own parse already checked it), so paths and line numbers are the file's own.
struct FileSection<S>(Option<S>);

impl<'de, S: ProviderSettings> Deserialize<'de> for FileSection<S> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(PickVisitor::<S> { key: "provider", nested: true, _settings: PhantomData })
    }
}

/// Visits a table, keeps the value under `key` (the provider table, or inside it the provider's own
/// section) and skips the rest.
struct PickVisitor<S> {
    key: &'static str,
    nested: bool,
    _settings: PhantomData<S>,
}

struct Section<S>(Option<S>);

impl<'de, S: ProviderSettings> Deserialize<'de> for Section<S> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_map(PickVisitor::<S> { key: S::NAME, nested: false, _settings: PhantomData })
            .map(|FileSection(s)| Section(s))
    }
}

impl<'de, S: ProviderSettings> Visitor<'de> for PickVisitor<S> {
    type Value = FileSection<S>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a table")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if key != self.key {
                map.next_value::<IgnoredAny>()?;
            } else if self.nested {
                found = map.next_value::<Section<S>>()?.0;
            } else {
                found = Some(map.next_value::<S>()?);
            }
        }
        Ok(FileSection(found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::ImageSpec;

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Demo {
        zone: Option<String>,
        replicas_per_node: u32,
    }

    impl ProviderSettings for Demo {
        const NAME: &'static str = "demo";
        fn problems(&self, spec: &Spec) -> Vec<Problem> {
            let mut out = Vec::new();
            if self.zone.as_deref() == Some("mars") {
                out.push(Problem::new("provider.demo.zone", "`mars` is not a zone", "use `earth`"));
            }
            if spec.app.desired_count > 3 {
                out.push(Problem::new("app.desired_count", "demo runs at most 3", "lower it"));
            }
            out
        }
    }

    const FILE: &str = "[app]\nname = \"dashmath\"\nport = 8050\n\n[image]\nreference = \"registry.example/dashmath:1\"\n\n[provider.other]\nanything = 1\n\n[provider.demo]\nzone = \"earth\"\n";

    #[test]
    fn a_provider_reads_only_its_own_table() {
        let spec = Spec::from_toml_str(FILE).unwrap();
        assert_eq!(spec.settings::<Demo>().unwrap(), Demo { zone: Some("earth".into()), replicas_per_node: 0 });
        assert!(spec.provider.sections.contains_key("other"), "other providers' tables are kept, unread");
    }

    #[test]
    fn unknown_keys_in_a_provider_table_are_placed_on_their_line() {
        let text = FILE.replace("zone = \"earth\"", "zone = \"earth\"\nzoen = \"x\"");
        let spec = Spec::from_toml_str(&text).unwrap();
        let problems = spec.settings::<Demo>().unwrap_err().problems;
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].field, "provider.demo.zoen");
        assert!(problems[0].message.contains("at line 13, column 1"), "{}", problems[0].message);
        assert!(problems[0].message.contains("expected `zone` or `replicas_per_node`"), "{}", problems[0].message);
    }

    #[test]
    fn the_core_and_the_provider_report_together() {
        let text = FILE.replace("port = 8050", "port = 0\ndesired_count = 9").replace("earth", "mars");
        let spec: Spec = unknown_keys::parse(&text).unwrap();
        let fields: Vec<String> = spec.check_for::<Demo>().unwrap_err().problems.into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["app.port", "provider.demo.zone", "app.desired_count"]);
    }

    #[test]
    fn settings_set_in_code_are_read_back() {
        let mut spec = Spec::new("dashmath", 8050, ImageSpec::prebuilt("registry.example/dashmath:1"));
        assert_eq!(spec.settings::<Demo>().unwrap(), Demo::default());
        spec.set_settings(&Demo { zone: Some("earth".into()), replicas_per_node: 2 });
        assert_eq!(spec.settings::<Demo>().unwrap().replicas_per_node, 2);
    }
}
