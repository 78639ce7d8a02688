//! The Astral location payload: the attestation's `data`, ABI-encoded with
//! Astral's schema `uint256 eventTimestamp, string srs, string locationType,
//! string location, string[] recipeType, bytes[] recipePayload,
//! string[] mediaType, string[] mediaData, string memo` (as EAS's
//! `SchemaEncoder.encodeData` writes it: the fields as one parameter list).

use alloy_sol_types::SolType;
use taskproof_core::quote;

use super::geometry::Expected;

/// Astral's location schema, as registered with EAS.
pub const ASTRAL_SCHEMA: &str = "uint256 eventTimestamp,string srs,string locationType,string location,string[] recipeType,bytes[] recipePayload,string[] mediaType,string[] mediaData,string memo";

#[allow(missing_docs, unreachable_pub)]
mod abi {
    alloy_sol_types::sol! {
        /// Astral's location schema.
        struct AstralLocation {
            uint256 eventTimestamp;
            string srs;
            string locationType;
            string location;
            string[] recipeType;
            bytes[] recipePayload;
            string[] mediaType;
            string[] mediaData;
            string memo;
        }
    }
}

/// The parts of the payload the verifier uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationPayload {
    /// When the location was observed (unix seconds).
    pub event_timestamp: u64,
    /// The spatial reference system, e.g. `EPSG:4326`.
    pub srs: String,
    /// How `location` is written, e.g. `geojson-point`.
    pub location_type: String,
    /// The location itself.
    pub location: String,
    /// A free-text memo.
    pub memo: String,
}

/// Why a payload is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// `data` is not Astral's schema.
    #[error("data does not decode as Astral's location schema: {0}")]
    NotAstral(String),
    /// An event timestamp beyond 64 bits.
    #[error("eventTimestamp {0} is out of range")]
    TimestampOutOfRange(String),
    /// A spatial reference system other than EPSG:4326.
    #[error("unsupported srs {} (only EPSG:4326)", quote(.0))]
    UnsupportedSrs(String),
    /// A location type this verifier cannot read.
    #[error(
        "unsupported locationType {} (expected geojson, geojson-point, geojson-line or geojson-polygon)",
        quote(.0)
    )]
    UnsupportedLocationType(String),
}

/// Decodes `data` strictly (no trailing garbage, canonical encoding).
pub fn decode(data: &[u8]) -> Result<LocationPayload, PayloadError> {
    let decoded = <abi::AstralLocation as SolType>::abi_decode_params_validate(data)
        .map_err(|e| PayloadError::NotAstral(e.to_string()))?;
    let event_timestamp = u64::try_from(decoded.eventTimestamp)
        .map_err(|_| PayloadError::TimestampOutOfRange(decoded.eventTimestamp.to_string()))?;
    Ok(LocationPayload {
        event_timestamp,
        srs: decoded.srs,
        location_type: decoded.locationType,
        location: decoded.location,
        memo: decoded.memo,
    })
}

impl LocationPayload {
    /// Which geometry `locationType` announces; also checks the srs.
    pub(crate) fn expected_geometry(&self) -> Result<Expected, PayloadError> {
        if !self.srs.eq_ignore_ascii_case("EPSG:4326") {
            return Err(PayloadError::UnsupportedSrs(self.srs.clone()));
        }
        match self.location_type.to_ascii_lowercase().as_str() {
            "geojson-point" => Ok(Expected::Point),
            "geojson-line" | "geojson-linestring" => Ok(Expected::LineString),
            "geojson-polygon" => Ok(Expected::Polygon),
            "geojson" => Ok(Expected::Any),
            _ => Err(PayloadError::UnsupportedLocationType(
                self.location_type.clone(),
            )),
        }
    }
}
