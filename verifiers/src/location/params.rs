//! The `location` params, as written in a task definition, and their checks
//! at load time.

use std::{num::NonZeroUsize, path::PathBuf};

use alloy_primitives::{Address, B256};
use geo::Point;
use serde::Deserialize;
use serde_json::Value;
use taskproof_core::{BuildContext, ConfigError};

use super::{attestation::EasDomain, fence::Fence, geometry, plausibility::Travel};

/// The params of a `location` task definition.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationParams {
    /// The EAS schema UID attestations must use (Astral's location schema is
    /// `0xba4171c92572b1e4f241d044c32cdf083be9fd946b8766977558ca6378c824e2`:
    /// no resolver, revocable).
    #[serde(deserialize_with = "taskproof_core::deserialize_bytes32")]
    pub schema_uid: B256,
    /// The EAS deployment attestations must be signed for.
    pub eas: EasParams,
    /// Who may sign. When absent, the signer must be the task's performer.
    #[serde(default)]
    pub allowed_signers: Option<Vec<Address>>,
    /// Attestations older than this (by their `time`) are refused. When
    /// absent, age is not limited (expiry still is).
    #[serde(default)]
    pub max_age_secs: Option<u64>,
    /// How far in the future an attestation `time` or `eventTimestamp` may be.
    #[serde(default = "default_skew")]
    pub max_clock_skew_secs: u64,
    /// The claim must lie inside one of these (at least one).
    pub fences: Vec<FenceParams>,
    /// When set, a signer cannot be in two places too far apart too quickly.
    #[serde(default)]
    pub plausibility: Option<PlausibilityParams>,
    /// The most vertices a claimed line or polygon may have.
    #[serde(default = "default_max_vertices")]
    pub max_vertices: usize,
    /// The largest proof of task accepted, in bytes.
    #[serde(default = "default_max_proof_bytes")]
    pub max_proof_bytes: usize,
}

fn default_skew() -> u64 {
    60
}
fn default_max_vertices() -> usize {
    DEFAULT_MAX_VERTICES
}
fn default_max_proof_bytes() -> usize {
    1024 * 1024
}

/// The EAS deployment: the EIP-712 domain is `{name: "EAS Attestation",
/// version, chainId, verifyingContract}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EasParams {
    /// The EAS contract's EIP-712 version (`"0.26"` on Sepolia, `"1.0.1"`…).
    pub version: String,
    /// The chain id.
    pub chain_id: u64,
    /// The EAS contract address.
    pub verifying_contract: Address,
}

/// A geofence.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum FenceParams {
    /// A disc around `center`.
    Circle {
        /// `[longitude, latitude]`.
        center: [f64; 2],
        /// Radius in metres.
        radius_m: f64,
    },
    /// A polygon with holes: GeoJSON Polygon `coordinates` inline, or a
    /// GeoJSON file holding a Polygon geometry or a Feature of one.
    Polygon {
        /// GeoJSON Polygon coordinates: rings of `[lon, lat]`, exterior first.
        #[serde(default)]
        coordinates: Option<Value>,
        /// A GeoJSON file, relative to the config file.
        #[serde(default)]
        geojson_file: Option<PathBuf>,
    },
}

/// Travel plausibility.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlausibilityParams {
    /// The fastest believable travel, in metres per second (e.g. 250 for an
    /// airliner, 40 for a car).
    pub max_speed_mps: f64,
    /// Distance always allowed regardless of time (GPS noise), in metres.
    #[serde(default = "default_slack")]
    pub slack_m: f64,
    /// How many signers' recent sightings are remembered (LRU).
    #[serde(default = "default_signers")]
    pub signers: usize,
}

fn default_slack() -> f64 {
    50.0
}
fn default_signers() -> usize {
    10_000
}

/// The default of `max_vertices`: with it, the worst claim against a
/// 1,000-vertex fence is judged in a few milliseconds (README, location cost).
pub const DEFAULT_MAX_VERTICES: usize = 2_000;

/// The most vertices a configured fence may have.
const MAX_FENCE_VERTICES: usize = 1_000_000;

/// The params after every load-time check.
pub(crate) struct Checked {
    pub(crate) schema_uid: B256,
    pub(crate) domain: EasDomain,
    pub(crate) allowed_signers: Option<Vec<Address>>,
    pub(crate) max_age_secs: Option<u64>,
    pub(crate) max_clock_skew_secs: u64,
    pub(crate) fences: Vec<Fence>,
    pub(crate) travel: Option<Travel>,
    pub(crate) max_vertices: usize,
    pub(crate) max_proof_bytes: usize,
}

impl LocationParams {
    pub(crate) fn check(self, ctx: &BuildContext<'_>) -> Result<Checked, ConfigError> {
        if self.fences.is_empty() {
            return Err(ctx.error("fences", "at least one geofence is required"));
        }
        let mut fences = Vec::with_capacity(self.fences.len());
        for (i, fence) in self.fences.iter().enumerate() {
            let key = format!("fences[{i}]");
            fences.push(match fence {
                FenceParams::Circle { center, radius_m } => {
                    let [lon, lat] = *center;
                    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
                        return Err(ctx.error(&format!("{key}.center"), "must be [longitude, latitude] within range"));
                    }
                    if !radius_m.is_finite() || *radius_m <= 0.0 {
                        return Err(ctx.error(&format!("{key}.radius_m"), "must be a finite number > 0"));
                    }
                    Fence::Circle { center: Point::new(lon, lat), radius_m: *radius_m }
                }
                FenceParams::Polygon { coordinates, geojson_file } => {
                    let coordinates = match (coordinates, geojson_file) {
                        (Some(c), None) => c.clone(),
                        (None, Some(path)) => {
                            let bytes = ctx.read_file(&format!("{key}.geojson_file"), path)?;
                            polygon_coordinates_from_geojson(&bytes)
                                .map_err(|m| ctx.error(&format!("{key}.geojson_file"), m))?
                        }
                        _ => {
                            return Err(ctx.error(&key, "a polygon fence needs exactly one of `coordinates` or `geojson_file`"));
                        }
                    };
                    let polygon = geometry::polygon(&coordinates, MAX_FENCE_VERTICES)
                        .map_err(|e| ctx.error(&key, e.to_string()))?;
                    Fence::polygon(&polygon).map_err(|e| ctx.error(&key, e))?
                }
            });
        }
        let travel = match &self.plausibility {
            None => None,
            Some(p) => {
                if !p.max_speed_mps.is_finite() || p.max_speed_mps <= 0.0 {
                    return Err(
                        ctx.error("plausibility.max_speed_mps", "must be a finite number > 0")
                    );
                }
                if !p.slack_m.is_finite() || p.slack_m < 0.0 {
                    return Err(ctx.error("plausibility.slack_m", "must be a finite number >= 0"));
                }
                let signers = NonZeroUsize::new(p.signers)
                    .ok_or_else(|| ctx.error("plausibility.signers", "must be at least 1"))?;
                Some(Travel::new(p.max_speed_mps, p.slack_m, signers))
            }
        };
        if matches!(&self.allowed_signers, Some(list) if list.is_empty()) {
            return Err(ctx.error(
                "allowed_signers",
                "an empty list would refuse everyone; omit it to require the performer",
            ));
        }
        Ok(Checked {
            schema_uid: self.schema_uid,
            domain: EasDomain {
                version: self.eas.version,
                chain_id: self.eas.chain_id,
                verifying_contract: self.eas.verifying_contract,
            },
            allowed_signers: self.allowed_signers,
            max_age_secs: self.max_age_secs,
            max_clock_skew_secs: self.max_clock_skew_secs,
            fences,
            travel,
            max_vertices: self.max_vertices,
            max_proof_bytes: self.max_proof_bytes,
        })
    }
}

fn polygon_coordinates_from_geojson(bytes: &[u8]) -> Result<Value, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let geometry = match value.get("type").and_then(Value::as_str) {
        Some("Feature") => value.get("geometry").cloned().unwrap_or(Value::Null),
        _ => value,
    };
    match geometry.get("type").and_then(Value::as_str) {
        Some("Polygon") => geometry
            .get("coordinates")
            .cloned()
            .ok_or_else(|| "the Polygon has no coordinates".into()),
        _ => Err("expected a GeoJSON Polygon geometry or a Feature holding one".into()),
    }
}
