//! Who performs an administrative action, and how far their reach goes. One rule for every
//! entry point (CLI, console, JSON API): a global administrator (or the CLI, run by whoever
//! holds the server's files) reaches everything; an establishment administrator reaches only
//! the establishments they administer and the people who are members of one of them.

use serde::Serialize;

/// Who acts: written in the audit rows of what they do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Principal {
    /// The command line, on the server's own files.
    Cli,
    /// A person signed in to the console, or with their own access token.
    User(String),
    /// A client with the `admin` scope (client credentials).
    Client(String),
}

/// What an actor may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    All,
    /// The ids of the establishments they administer (never empty: with none, a person is not
    /// an administrator at all).
    Establishments(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub principal: Principal,
    pub reach: Reach,
}

impl Actor {
    pub fn cli() -> Actor {
        Actor {
            principal: Principal::Cli,
            reach: Reach::All,
        }
    }

    pub fn is_global(&self) -> bool {
        self.reach == Reach::All
    }

    /// Whether the actor administers the establishment `id`.
    pub fn covers(&self, establishment_id: &str) -> bool {
        match &self.reach {
            Reach::All => true,
            Reach::Establishments(ids) => ids.iter().any(|i| i == establishment_id),
        }
    }

    /// The establishments reached, `None` for all of them.
    pub fn establishments(&self) -> Option<&[String]> {
        match &self.reach {
            Reach::All => None,
            Reach::Establishments(ids) => Some(ids),
        }
    }

    /// How audit rows name the actor: `cli`, `user:<id>`, `client:<id>`.
    pub fn label(&self) -> String {
        match &self.principal {
            Principal::Cli => "cli".to_owned(),
            Principal::User(id) => format!("user:{id}"),
            Principal::Client(id) => format!("client:{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_establishment_administrator_covers_only_their_establishments() {
        let a = Actor {
            principal: Principal::User("u1".into()),
            reach: Reach::Establishments(vec!["est-a".into()]),
        };
        assert!(a.covers("est-a"));
        assert!(!a.covers("est-b"));
        assert!(!a.is_global());
        assert_eq!(a.label(), "user:u1");
        assert!(Actor::cli().covers("est-b"));
        assert!(Actor::cli().is_global());
    }
}
