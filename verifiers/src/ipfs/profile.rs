//! The named import profiles of IPIP-499: how a file was chunked and laid out.
//!
//! A CID names the root of a DAG, not a file: the same bytes imported with
//! another chunk size or leaf type give another CID. To check plain bytes
//! against a CID the attester rebuilds the DAG with the profiles it trusts the
//! performer to have used, and reports which one matched.

use std::{fmt, str::FromStr};

/// A UnixFS import profile: CID version, chunk size, links per node and leaf
/// type, with a balanced layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImportProfile {
    /// `unixfs-v0-2015`, alias `kubo-legacy`: kubo's historic `ipfs add`
    /// defaults — CIDv0, 256 KiB chunks, 174 links per node, dag-pb leaves.
    UnixfsV0_2015,
    /// `unixfs-v1-2025`: CIDv1, raw leaves, 1 MiB chunks, 1024 links per node.
    UnixfsV1_2025,
    /// `helia-default`: the JS importer's defaults — CIDv1, raw leaves,
    /// 256 KiB chunks, 174 links per node.
    HeliaDefault,
}

/// An unknown profile name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown import profile `{0}` (known: unixfs-v0-2015, kubo-legacy, unixfs-v1-2025, helia-default)"
)]
pub struct UnknownProfile(pub String);

impl ImportProfile {
    /// Every profile, in the order they are tried by default.
    pub const ALL: [ImportProfile; 3] = [
        ImportProfile::UnixfsV0_2015,
        ImportProfile::UnixfsV1_2025,
        ImportProfile::HeliaDefault,
    ];

    /// The profile's canonical name.
    pub fn name(self) -> &'static str {
        match self {
            Self::UnixfsV0_2015 => "unixfs-v0-2015",
            Self::UnixfsV1_2025 => "unixfs-v1-2025",
            Self::HeliaDefault => "helia-default",
        }
    }

    /// The CID version of every node it makes (raw leaves are always CIDv1).
    pub fn cid_version(self) -> u64 {
        match self {
            Self::UnixfsV0_2015 => 0,
            Self::UnixfsV1_2025 | Self::HeliaDefault => 1,
        }
    }

    /// The fixed chunk size in bytes.
    pub fn chunk_size(self) -> usize {
        match self {
            Self::UnixfsV0_2015 | Self::HeliaDefault => 256 * 1024,
            Self::UnixfsV1_2025 => 1024 * 1024,
        }
    }

    /// The most links a node of the balanced tree holds.
    pub fn max_links(self) -> usize {
        match self {
            Self::UnixfsV0_2015 | Self::HeliaDefault => 174,
            Self::UnixfsV1_2025 => 1024,
        }
    }

    /// True when leaves are raw blocks (codec `raw`), false when they are
    /// dag-pb nodes wrapping a UnixFS `File`.
    pub fn raw_leaves(self) -> bool {
        !matches!(self, Self::UnixfsV0_2015)
    }
}

impl fmt::Display for ImportProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ImportProfile {
    type Err = UnknownProfile;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "unixfs-v0-2015" | "kubo-legacy" => Ok(Self::UnixfsV0_2015),
            "unixfs-v1-2025" => Ok(Self::UnixfsV1_2025),
            "helia-default" => Ok(Self::HeliaDefault),
            other => Err(UnknownProfile(other.to_owned())),
        }
    }
}

impl<'de> serde::Deserialize<'de> for ImportProfile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubo_legacy_is_an_alias() {
        assert_eq!(
            "kubo-legacy".parse::<ImportProfile>(),
            Ok(ImportProfile::UnixfsV0_2015)
        );
        assert!("unixfs-v2".parse::<ImportProfile>().is_err());
        for p in ImportProfile::ALL {
            assert_eq!(p.name().parse::<ImportProfile>(), Ok(p));
        }
    }
}
