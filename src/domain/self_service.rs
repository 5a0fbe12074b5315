//! Who may do what: the self-service flows, and the per-category policy that withholds some of
//! them (a staff account is reset at the IT desk, not by e-mail).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// A flow a person runs on their own account without the help desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelfService {
    /// First sign-in with the temporary password an administrator gave (`/activate`).
    Activate,
    /// A new password through a link sent to the recovery address (`/reset`).
    Reset,
    /// A new password through personal data and the security question (`/recover`).
    Recover,
    /// A new password from the account page, knowing the current one.
    ChangePassword,
}

impl SelfService {
    pub const ALL: [SelfService; 4] = [
        SelfService::Activate,
        SelfService::Reset,
        SelfService::Recover,
        SelfService::ChangePassword,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SelfService::Activate => "activate",
            SelfService::Reset => "reset",
            SelfService::Recover => "recover",
            SelfService::ChangePassword => "change_password",
        }
    }

    pub fn parse(s: &str) -> Option<SelfService> {
        SelfService::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// The category that stands for every user, with or without a category of their own.
const EVERYONE: &str = "*";

/// Which flows each user category may not use; everything is allowed by default, so an empty
/// policy changes nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelfServicePolicy {
    /// category (`*`: everyone) → the flows it may not use.
    denied: BTreeMap<String, BTreeSet<SelfService>>,
}

impl SelfServicePolicy {
    /// From `category:flow,flow;category:flow` (e.g. `staff:reset,recover;external:activate`).
    /// Categories are compared exactly, as `user add --category` stored them; `*` names every
    /// user. Spaces around names and empty entries are ignored; an unknown flow, a missing
    /// category or a category without flows is an error that names the culprit.
    pub fn parse(s: &str) -> Result<SelfServicePolicy, String> {
        let mut denied: BTreeMap<String, BTreeSet<SelfService>> = BTreeMap::new();
        for entry in s.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let Some((category, flows)) = entry.split_once(':') else {
                return Err(format!(
                    "{entry:?} is not category:flow,flow (e.g. staff:reset,recover)"
                ));
            };
            let category = category.trim();
            if category.is_empty() {
                return Err(format!("{entry:?} names no category"));
            }
            let mut any = false;
            for flow in flows.split(',').map(str::trim).filter(|f| !f.is_empty()) {
                let flow = SelfService::parse(flow).ok_or_else(|| {
                    format!(
                        "unknown flow {flow:?} for {category:?} (known: activate, reset, \
                         recover, change_password)"
                    )
                })?;
                denied.entry(category.to_owned()).or_default().insert(flow);
                any = true;
            }
            if !any {
                return Err(format!("{category:?} lists no flow"));
            }
        }
        Ok(SelfServicePolicy { denied })
    }

    /// Whether a user of `category` (`None`: a user without one, or one not known yet) may use
    /// `flow`. The caller that does not know the user yet asks with `None`, which only the `*`
    /// entry restricts.
    pub fn allows(&self, category: Option<&str>, flow: SelfService) -> bool {
        let denied_for = |c: &str| self.denied.get(c).is_some_and(|set| set.contains(&flow));
        !(denied_for(EVERYONE) || category.is_some_and(denied_for))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flows_round_trip_through_their_names_and_serde() {
        for flow in SelfService::ALL {
            assert_eq!(SelfService::parse(flow.as_str()), Some(flow));
            assert_eq!(
                serde_json::to_value(flow).ok(),
                Some(serde_json::Value::String(flow.as_str().into()))
            );
        }
        assert_eq!(SelfService::parse("Reset"), None);
        assert_eq!(SelfService::parse("change-password"), None);
    }

    #[test]
    fn an_empty_policy_allows_everything() {
        for s in ["", "  ", ";", " ; ;"] {
            let p = SelfServicePolicy::parse(s).unwrap_or_else(|e| unreachable!("{s:?}: {e}"));
            assert_eq!(p, SelfServicePolicy::default());
            for flow in SelfService::ALL {
                assert!(p.allows(None, flow));
                assert!(p.allows(Some("staff"), flow));
            }
        }
    }

    #[test]
    fn denied_flows_are_refused_to_their_category_only() {
        let p = SelfServicePolicy::parse(" staff : reset, recover ; external:activate;")
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(!p.allows(Some("staff"), SelfService::Reset));
        assert!(!p.allows(Some("staff"), SelfService::Recover));
        assert!(p.allows(Some("staff"), SelfService::Activate));
        assert!(p.allows(Some("staff"), SelfService::ChangePassword));
        assert!(!p.allows(Some("external"), SelfService::Activate));
        assert!(p.allows(Some("external"), SelfService::Reset));
        assert!(p.allows(Some("student"), SelfService::Reset));
        assert!(p.allows(Some("Staff"), SelfService::Reset), "exact match");
        assert!(p.allows(None, SelfService::Reset));
    }

    #[test]
    fn repeated_categories_add_up_and_the_star_denies_everyone() {
        let p = SelfServicePolicy::parse("staff:reset;staff:recover;*:change_password")
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(!p.allows(Some("staff"), SelfService::Reset));
        assert!(!p.allows(Some("staff"), SelfService::Recover));
        for category in [None, Some("staff"), Some("student")] {
            assert!(!p.allows(category, SelfService::ChangePassword));
            assert!(p.allows(category, SelfService::Activate));
        }
    }

    #[test]
    fn malformed_policies_name_the_problem() {
        for (bad, needle) in [
            ("staff", "category:flow"),
            ("staff:", "lists no flow"),
            ("staff: , ", "lists no flow"),
            (":reset", "no category"),
            ("staff:reset,forget", "\"forget\""),
            ("staff:reset;external:Activate", "\"Activate\""),
        ] {
            let e = SelfServicePolicy::parse(bad).err();
            assert!(
                e.as_deref().is_some_and(|e| e.contains(needle)),
                "{bad}: {e:?}"
            );
        }
    }
}
