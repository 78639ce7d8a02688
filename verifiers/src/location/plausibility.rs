//! Travel plausibility: two attestations by the same signer must not imply
//! travel faster than a configured speed.
//!
//! The history is in memory and bounded: the most recent signers (LRU), a few
//! sightings each. It is local to this attester and lost on restart; it only
//! ever turns a verdict to `Invalid` on evidence signed by the signer itself,
//! two locations that cannot both be true.

use std::{collections::VecDeque, num::NonZeroUsize, sync::Mutex};

use alloy_primitives::{Address, B256};
use geo::{Distance, Haversine, Point};
use lru::LruCache;

/// Sightings kept per signer.
const PER_SIGNER: usize = 16;

#[derive(Debug, Clone, Copy)]
struct Sighting {
    uid: B256,
    time: u64,
    at: Point,
}

/// The speed limit and the bounded history.
pub(crate) struct Travel {
    max_speed_mps: f64,
    slack_m: f64,
    history: Mutex<LruCache<Address, VecDeque<Sighting>>>,
}

impl Travel {
    pub(crate) fn new(max_speed_mps: f64, slack_m: f64, signers: NonZeroUsize) -> Self {
        Self {
            max_speed_mps,
            slack_m,
            history: Mutex::new(LruCache::new(signers)),
        }
    }

    /// Checks a new sighting against the signer's history and, when
    /// plausible, records it. `Err` is the reason for an `Invalid` verdict.
    pub(crate) fn check_and_record(
        &self,
        signer: Address,
        uid: B256,
        time: u64,
        at: Point,
    ) -> Result<(), String> {
        // A poisoned lock only means another caller panicked mid-update; the
        // cache is still consistent.
        let mut history = self.history.lock().unwrap_or_else(|p| p.into_inner());
        let sightings = history.get_or_insert_mut(signer, VecDeque::new);
        if sightings.iter().any(|s| s.uid == uid) {
            return Ok(());
        }
        for s in sightings.iter() {
            let metres = Haversine.distance(s.at, at);
            let seconds = time.abs_diff(s.time) as f64;
            if metres > self.max_speed_mps * seconds + self.slack_m {
                return Err(format!(
                    "implausible travel: {:.0} m in {seconds:.0} s ({:.0} m/s, limit {} m/s) since attestation {} by the same signer",
                    metres,
                    if seconds > 0.0 {
                        metres / seconds
                    } else {
                        f64::INFINITY
                    },
                    self.max_speed_mps,
                    s.uid
                ));
            }
        }
        if sightings.len() >= PER_SIGNER {
            sightings.pop_front();
        }
        sightings.push_back(Sighting { uid, time, at });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nz(n: usize) -> NonZeroUsize {
        NonZeroUsize::new(n).unwrap()
    }

    #[test]
    fn rejects_teleport_between_cities() {
        let t = Travel::new(300.0, 50.0, nz(10));
        let alice = Address::repeat_byte(1);
        let berlin = Point::new(13.36, 52.505);
        let paris = Point::new(2.2945, 48.8584);
        assert!(
            t.check_and_record(alice, B256::repeat_byte(1), 1000, berlin)
                .is_ok()
        );
        let e = t
            .check_and_record(alice, B256::repeat_byte(2), 1600, paris)
            .unwrap_err();
        assert!(e.contains("implausible"), "{e}");
        // A day later the trip is possible; another signer is unaffected.
        assert!(
            t.check_and_record(alice, B256::repeat_byte(3), 1000 + 86_400, paris)
                .is_ok()
        );
        assert!(
            t.check_and_record(Address::repeat_byte(2), B256::repeat_byte(4), 1600, paris)
                .is_ok()
        );
        // The same attestation again is not a second sighting.
        assert!(
            t.check_and_record(alice, B256::repeat_byte(1), 1000, berlin)
                .is_ok()
        );
    }

    #[test]
    fn history_is_bounded_by_signers() {
        let t = Travel::new(1.0, 0.0, nz(2));
        for i in 0..100u8 {
            t.check_and_record(
                Address::repeat_byte(i),
                B256::repeat_byte(i),
                0,
                Point::new(0.0, 0.0),
            )
            .unwrap();
        }
        assert_eq!(t.history.lock().unwrap().len(), 2);
    }
}
