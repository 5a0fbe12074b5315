//! JWS signing algorithms (RFC 7518 §3, RFC 8037): what clients may choose for their tokens.

use serde::{Deserialize, Serialize};

/// A JWS signing algorithm guichet can sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Alg {
    RS256,
    ES256,
    EdDSA,
}

impl Alg {
    /// Every algorithm, in discovery order.
    pub const ALL: [Alg; 3] = [Alg::RS256, Alg::ES256, Alg::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::ES256 => "ES256",
            Alg::EdDSA => "EdDSA",
        }
    }

    /// Parses the exact JOSE name (`RS256`, `ES256`, `EdDSA`).
    pub fn parse(s: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// A dense index (RS256, ES256, EdDSA), for per-algorithm arrays.
    pub fn index(self) -> usize {
        match self {
            Alg::RS256 => 0,
            Alg::ES256 => 1,
            Alg::EdDSA => 2,
        }
    }
}

/// The algorithms a server can sign with now (those with a key in its keys folder).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlgSet([bool; 3]);

impl AlgSet {
    pub fn contains(self, alg: Alg) -> bool {
        self.0[alg.index()]
    }
}

impl FromIterator<Alg> for AlgSet {
    fn from_iter<I: IntoIterator<Item = Alg>>(iter: I) -> AlgSet {
        let mut set = AlgSet::default();
        for a in iter {
            set.0[a.index()] = true;
        }
        set
    }
}

impl std::fmt::Display for Alg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
