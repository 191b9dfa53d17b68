//! Values as a plan row shows them: in words a user reads (`/drift`, `none`, `30s`, `forward to …`),
//! never a Rust `Debug` dump. Every value a diff compares implements [`InWords`].

use std::time::Duration;

use crate::providers::{ListenerAction, Protocol, ScalingTarget};
use crate::spec::{Algorithm, Platform, Vcpu};

/// A value shown in a plan row.
pub(crate) trait InWords {
    /// The value in words.
    fn in_words(&self) -> String;
}

macro_rules! displayed {
    ($($t:ty),*) => {$(
        impl InWords for $t {
            fn in_words(&self) -> String {
                self.to_string()
            }
        }
    )*};
}

displayed!(u16, u32, u64, String, str, Platform, Vcpu, Protocol, ScalingTarget);

impl InWords for bool {
    fn in_words(&self) -> String {
        if *self { "on" } else { "off" }.to_string()
    }
}

impl InWords for Duration {
    fn in_words(&self) -> String {
        humantime::format_duration(*self).to_string()
    }
}

impl InWords for Algorithm {
    fn in_words(&self) -> String {
        self.as_str().replace('_', " ")
    }
}

impl InWords for ListenerAction {
    fn in_words(&self) -> String {
        match self {
            ListenerAction::Forward { backend_id } => format!("forward to {backend_id}"),
            ListenerAction::RedirectToHttps { port } => format!("redirect to HTTPS on port {port}"),
        }
    }
}

impl<T: InWords + ?Sized> InWords for &T {
    fn in_words(&self) -> String {
        (**self).in_words()
    }
}

impl<T: InWords> InWords for Option<T> {
    fn in_words(&self) -> String {
        self.as_ref().map_or_else(|| "none".to_string(), InWords::in_words)
    }
}

impl<T: InWords> InWords for Vec<T> {
    fn in_words(&self) -> String {
        if self.is_empty() {
            return "none".to_string();
        }
        self.iter().map(InWords::in_words).collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_words() {
        assert_eq!(Some("arn:a".to_string()).in_words(), "arn:a");
        assert_eq!(None::<String>.in_words(), "none");
        assert_eq!(vec!["sg-1".to_string(), "sg-2".to_string()].in_words(), "sg-1, sg-2");
        assert_eq!(Some(Duration::from_secs(90)).in_words(), "1m 30s");
        assert_eq!(true.in_words(), "on");
        assert_eq!(ListenerAction::RedirectToHttps { port: 443 }.in_words(), "redirect to HTTPS on port 443");
    }
}
