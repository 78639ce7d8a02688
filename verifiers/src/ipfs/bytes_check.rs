//! Plain bytes checked against a CID, by rebuilding the DAG.
//!
//! A raw-codec CID is the hash of the bytes themselves; a dag-pb CID is the
//! root of a UnixFS tree whose shape the CID does not record, so the bytes are
//! re-imported with each configured profile and the first whose root matches
//! is reported. Bytes that match no profile are not proven wrong: they may
//! have been imported with settings the attester did not configure.

use std::io::Read;

use cid::Cid;
use multihash::Multihash;
use multihash_codetable::Sha2_256;
use multihash_derive::Hasher;

use super::{
    car::same_block,
    import::{DAG_PB, Importer, RAW, SHA2_256},
    profile::ImportProfile,
};

/// How bytes matched a CID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentMatch {
    /// The CID is a raw block (or identity) of exactly these bytes.
    RawBlock,
    /// The bytes imported with this profile give the CID's root.
    Profile(ImportProfile),
}

impl std::fmt::Display for ContentMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::RawBlock => f.write_str("raw block"),
            Self::Profile(p) => write!(f, "profile {p}"),
        }
    }
}

/// Why bytes could not be matched to a CID.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BytesCheckError {
    /// The CID's codec is neither raw nor dag-pb.
    #[error("CID {cid} has codec 0x{codec:x}, not a file's (raw or dag-pb)")]
    UnsupportedCodec {
        /// The CID.
        cid: Cid,
        /// Its codec.
        codec: u64,
    },
    /// A dag-pb CID whose hash is not sha2-256 cannot come from the profiles.
    #[error("CID {0} does not use sha2-256; rebuilding it needs its CAR")]
    UnsupportedHash(Cid),
    /// No profile gives the CID (or the raw hash differs).
    #[error("the bytes do not give CID {cid} ({tried})")]
    Mismatch {
        /// The CID.
        cid: Cid,
        /// What was tried, and what it gave.
        tried: String,
    },
}

enum Mode {
    Raw(Box<Sha2_256>),
    Identity(Vec<u8>),
    Dag(Importer),
}

/// A streaming check of plain bytes against a CID.
pub struct BytesCheck {
    target: Cid,
    mode: Mode,
    size: u64,
}

impl BytesCheck {
    /// Starts a check of bytes against `target`, trying `profiles` for a
    /// dag-pb CID, hashing on `threads` worker threads.
    pub fn new(
        target: Cid,
        profiles: &[ImportProfile],
        threads: usize,
    ) -> Result<Self, BytesCheckError> {
        let code = target.hash().code();
        let mode = match target.codec() {
            RAW if code == 0 => Mode::Identity(Vec::new()),
            RAW if code == SHA2_256 => Mode::Raw(Box::default()),
            DAG_PB if code == SHA2_256 => Mode::Dag(Importer::new(profiles, threads)),
            RAW | DAG_PB => return Err(BytesCheckError::UnsupportedHash(target)),
            codec => return Err(BytesCheckError::UnsupportedCodec { cid: target, codec }),
        };
        Ok(Self {
            target,
            mode,
            size: 0,
        })
    }

    /// Takes the next bytes.
    pub fn write(&mut self, data: &[u8]) {
        self.size += data.len() as u64;
        match &mut self.mode {
            Mode::Raw(h) => h.update(data),
            Mode::Identity(all) => {
                // An identity CID holds at most 64 bytes: keep only what can match.
                let room = 65usize.saturating_sub(all.len());
                all.extend_from_slice(data.get(..room.min(data.len())).unwrap_or_default());
            }
            Mode::Dag(i) => i.write(data),
        }
    }

    /// Reads `reader` to its end.
    pub fn read_from(
        &mut self,
        reader: &mut impl Read,
        mut progress: impl FnMut(u64),
    ) -> std::io::Result<()> {
        if let Mode::Dag(importer) = &mut self.mode {
            let before = importer.bytes_read();
            let result = importer.read_from(reader, &mut progress);
            self.size += importer.bytes_read() - before;
            return result;
        }
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.write(buf.get(..n).unwrap_or_default());
            progress(self.size);
        }
    }

    /// The bytes taken so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Ends the input and says how it matched the CID.
    pub fn finish(self) -> Result<ContentMatch, BytesCheckError> {
        let target = self.target;
        match self.mode {
            Mode::Raw(mut h) => {
                let got = Multihash::<64>::wrap(SHA2_256, h.finalize()).unwrap_or_default();
                if &got == target.hash() {
                    Ok(ContentMatch::RawBlock)
                } else {
                    Err(BytesCheckError::Mismatch {
                        cid: target,
                        tried: format!("raw block gives {}", Cid::new_v1(RAW, got)),
                    })
                }
            }
            Mode::Identity(all) => {
                if all == target.hash().digest() {
                    Ok(ContentMatch::RawBlock)
                } else {
                    Err(BytesCheckError::Mismatch {
                        cid: target,
                        tried: "identity CID holds other bytes".into(),
                    })
                }
            }
            Mode::Dag(importer) => {
                let roots = importer.finish();
                if let Some(hit) = roots.iter().find(|r| same_block(&r.cid, &target)) {
                    return Ok(ContentMatch::Profile(hit.profile));
                }
                let tried = roots
                    .iter()
                    .map(|r| format!("{} gives {}", r.profile, r.cid))
                    .collect::<Vec<_>>()
                    .join(", ");
                Err(BytesCheckError::Mismatch { cid: target, tried })
            }
        }
    }
}

/// Checks `data` against `cid` on the caller's thread.
pub fn check_bytes(
    data: &[u8],
    cid: &Cid,
    profiles: &[ImportProfile],
) -> Result<ContentMatch, BytesCheckError> {
    let mut check = BytesCheck::new(*cid, profiles, 0)?;
    check.write(data);
    check.finish()
}
