//! The `location` verifier: the proof of task is an Astral location
//! attestation (Astral Location Proof Protocol) signed off-chain as an EAS
//! attestation (EIP-712, off-chain version 2), and the claim is Valid only if
//! the location lies inside the task definition's geofences.
//!
//! What it trusts: the task definition (schema UID, EAS deployment, allowed
//! signers, fences) and the attester's clock. Nothing in the proof is taken on
//! its word. Astral's SDK only checks a signature's shape; here the EIP-712
//! signer is recovered and compared with the allowlist (or the task's
//! performer), the `uid` is recomputed, the domain (name, version, chain id,
//! contract) and the schema are compared with the configuration, the time and
//! expiry are checked against a freshness window, the GeoJSON is decoded with
//! range checks and a vertex cap, and the claim is tested against circles
//! (haversine) and polygons with holes (an exact test whose cost is bounded
//! by the claim's and the fence's vertex counts, see [`fence`]). Fences are
//! closed: the boundary is inside. Optionally, a signer who would have
//! travelled faster than a configured speed between two attestations is
//! refused (bounded in-memory history).
//!
//! A passed deadline stops the decoding and the fence test (`Undecided`), and
//! so does a claimed polygon whose boundary meets a fence hole in a way the
//! exact test does not settle.
//!
//! Off-chain attestations cannot be revoked on chain; revocation is not
//! checked.

pub mod attestation;
pub mod fence;
pub mod geometry;
mod params;
pub mod payload;
mod plausibility;

use std::{
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use geo::{Centroid, Point};
use taskproof_core::{
    BuildContext, ConfigError, Deadline, Task, Verdict, Verifier, async_trait, cpu, quote,
};

pub use params::{
    DEFAULT_MAX_VERTICES, EasParams, FenceParams, LocationParams, PlausibilityParams,
};

use fence::Undecidable;
use geometry::Geometry;

/// Proofs larger than this (polygons with many vertices) are checked on the CPU
/// pool rather than inline.
const INLINE_LIMIT: usize = 16 * 1024;

/// A built `location` verifier.
#[derive(Clone)]
pub struct LocationVerifier {
    params: Arc<params::Checked>,
}

impl std::fmt::Debug for LocationVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocationVerifier")
            .field("schema_uid", &self.params.schema_uid)
            .field("domain", &self.params.domain)
            .field("fences", &self.params.fences.len())
            .finish_non_exhaustive()
    }
}

impl LocationVerifier {
    /// Builds from a task definition's params.
    pub fn from_context(ctx: &BuildContext<'_>) -> Result<Self, ConfigError> {
        Self::new(ctx.params()?, ctx)
    }

    /// Builds from params already read (`ctx` locates errors and resolves
    /// fence files).
    pub fn new(params: LocationParams, ctx: &BuildContext<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            params: Arc::new(params.check(ctx)?),
        })
    }

    /// Judges a task as of `now` (unix seconds). [`Verifier::verify`] calls it
    /// with the system clock; tests and benches pin the clock.
    ///
    /// Runs under the current [`taskproof_core::Deadline`]: once it passes,
    /// the geometry decoding and the fence test stop and the verdict is
    /// `Undecided`.
    pub fn check_at(&self, task: &Task, now: u64) -> Verdict {
        match self.check(task, now) {
            Ok(()) => Verdict::Valid,
            Err(verdict) => verdict,
        }
    }

    fn check(&self, task: &Task, now: u64) -> Result<(), Verdict> {
        let p = &self.params;
        if task.proof_of_task.len() > p.max_proof_bytes {
            return Err(invalid(format!(
                "proofOfTask is larger than {} bytes",
                p.max_proof_bytes
            )));
        }
        let att = attestation::verify(&task.proof_of_task, &p.domain).map_err(invalid)?;
        if att.schema != p.schema_uid {
            return Err(invalid(format!(
                "wrong schema: {} (expected {})",
                att.schema, p.schema_uid
            )));
        }
        match &p.allowed_signers {
            Some(allowed) if !allowed.contains(&att.signer) => {
                return Err(invalid(format!(
                    "signer {} is not an allowed signer",
                    att.signer
                )));
            }
            None if att.signer != task.performer => {
                return Err(invalid(format!(
                    "signer {} is not the performer {}",
                    att.signer, task.performer
                )));
            }
            _ => {}
        }
        let skew = p.max_clock_skew_secs;
        if att.time > now.saturating_add(skew) {
            return Err(invalid(format!(
                "attested in the future: time {} is after now {now}",
                att.time
            )));
        }
        if let Some(max_age) = p.max_age_secs
            && now.saturating_sub(att.time) > max_age
        {
            return Err(invalid(format!(
                "attestation too old: time {} is {} s before now, more than {max_age} s",
                att.time,
                now.saturating_sub(att.time)
            )));
        }
        if att.expiration_time != 0 && att.expiration_time <= now {
            return Err(invalid(format!(
                "attestation expired at {} (now {now})",
                att.expiration_time
            )));
        }
        let payload = payload::decode(&att.data).map_err(invalid)?;
        if payload.event_timestamp > att.time.saturating_add(skew) {
            return Err(invalid(format!(
                "eventTimestamp {} is after the attestation time {}",
                payload.event_timestamp, att.time
            )));
        }
        let expected = payload.expected_geometry().map_err(invalid)?;
        let claim =
            geometry::decode(&payload.location, expected, p.max_vertices).map_err(|e| match e {
                geometry::GeometryError::Expired(e) => Verdict::from(e),
                other => invalid(other),
            })?;
        let mut unsettled = None;
        let mut inside = false;
        for fence in &p.fences {
            match fence.admits(&claim) {
                Ok(true) => {
                    inside = true;
                    break;
                }
                Ok(false) => {}
                Err(Undecidable::Expired(e)) => return Err(Verdict::from(e)),
                Err(e @ Undecidable::Degenerate(_)) => unsettled = Some(e),
            }
        }
        if !inside {
            if let Some(e) = unsettled {
                return Err(Verdict::undecided(e.to_string()));
            }
            return Err(invalid(format!(
                "location {} is outside every geofence",
                quote(&payload.location)
            )));
        }
        if let Some(travel) = &p.travel {
            let at = representative_point(&claim)
                .ok_or_else(|| invalid("the location has no centroid"))?;
            travel
                .check_and_record(att.signer, att.uid, payload.event_timestamp, at)
                .map_err(invalid)?;
        }
        Ok(())
    }
}

fn invalid(reason: impl std::fmt::Display) -> Verdict {
    Verdict::invalid(reason.to_string())
}

/// Where a geometry "is" for the speed check.
fn representative_point(claim: &Geometry) -> Option<Point> {
    match claim {
        Geometry::Point(p) => Some(*p),
        Geometry::LineString(l) => l.centroid(),
        Geometry::Polygon(p) => p.centroid(),
    }
}

fn unix_now() -> u64 {
    // A clock before 1970 would make everything look "in the future": refuse
    // nothing on that account and let expiry checks fail closed at 0.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[async_trait]
impl Verifier for LocationVerifier {
    async fn verify(&self, task: &Task) -> Verdict {
        let now = unix_now();
        if task.proof_of_task.len() <= INLINE_LIMIT {
            return Deadline::current().enter(|| self.check_at(task, now));
        }
        let (this, task) = (self.clone(), task.clone());
        cpu::run(move || this.check_at(&task, now))
            .await
            .unwrap_or_else(|e| Verdict::undecided(e.to_string()))
    }
}
