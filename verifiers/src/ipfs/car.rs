//! Block-by-block verification of a CAR file holding one UnixFS file.
//!
//! Trusts nothing in the CAR: every block's bytes are hashed and compared with
//! its CID, the blocks must be exactly the DAG below the expected root in
//! depth-first order (what a trustless gateway sends for `order=dfs`, and what
//! `@ipld/car` writes when fed a DFS walk), no block may be missing and no
//! extra block is accepted. The file is reassembled while streaming and
//! handed to a sink only once the blocks that carry it are verified. Chunk size
//! and tree shape do not matter: the DAG's own links and `blocksizes` drive
//! the walk, and every size claim is checked against its children.
//!
//! CARv1 and CARv2 (whose data payload is a CARv1) are read; the CARv1 header
//! is a two-key DAG-CBOR map, decoded by hand below because a full DAG-CBOR
//! stack is not worth its weight for `{roots, version}`.

use std::io::{self, Read};

use bytes::Bytes;
use cid::Cid;
use ipld_dagpb::PbNode;
use multihash_codetable::{Code, MultihashDigest};

use super::{
    import::{DAG_PB, RAW},
    ordered::OrderedWorkers,
    recycle::Recycler,
    unixfs::{FileData, UnixfsError},
};

/// The multihash code of the identity "hash" (the data is inside the CID).
const IDENTITY: u64 = 0x00;

/// Bounds on what a CAR may make the verifier do.
#[derive(Clone, Copy, Debug)]
pub struct CarLimits {
    /// The largest file the CAR may hold.
    pub max_file_size: u64,
    /// The largest block (IPFS itself refuses blocks over 2 MiB).
    pub max_block_size: usize,
    /// The deepest DAG accepted.
    pub max_depth: usize,
    /// The most links waiting to be visited at once.
    pub max_pending_links: usize,
    /// Worker threads hashing blocks (0: on the caller's thread).
    pub threads: usize,
}

impl Default for CarLimits {
    fn default() -> Self {
        Self {
            max_file_size: u64::MAX,
            max_block_size: 2 * 1024 * 1024 + 1024,
            max_depth: 64,
            max_pending_links: 1 << 20,
            threads: 0,
        }
    }
}

/// Why a CAR does not hold the file its root names.
#[derive(Debug, thiserror::Error)]
pub enum CarError {
    /// Reading the CAR failed (a network or disk error, not a property of the CAR).
    #[error("reading the CAR failed: {0}")]
    Read(io::Error),
    /// Writing the reassembled file failed.
    #[error("writing the file failed: {0}")]
    Sink(io::Error),
    /// The header is not a valid CAR header.
    #[error("malformed CAR header: {0}")]
    MalformedHeader(String),
    /// A CAR version other than 1 or 2.
    #[error("unsupported CAR version {0}")]
    UnsupportedVersion(u64),
    /// The header names no root and none was given.
    #[error("the CAR names no root")]
    NoRoot,
    /// The expected root is not among the header's roots.
    #[error("the CAR's roots {found:?} do not include {expected}")]
    RootNotInHeader {
        /// The root asked for.
        expected: Box<Cid>,
        /// The roots the header names.
        found: Vec<String>,
    },
    /// A block section is malformed.
    #[error("malformed block section: {0}")]
    MalformedBlock(String),
    /// A block exceeds the size limit.
    #[error("block of {0} bytes exceeds the limit")]
    BlockTooLarge(u64),
    /// A block's bytes do not hash to its CID: tampered content.
    #[error("block {0} does not match its hash")]
    HashMismatch(Box<Cid>),
    /// A hash function not supported here.
    #[error("block {cid} uses unsupported multihash 0x{code:x}")]
    UnsupportedHash {
        /// The block.
        cid: Box<Cid>,
        /// The multihash code.
        code: u64,
    },
    /// A block arrived where another was expected in the DAG walk.
    #[error(
        "expected block {expected}, found {found} (blocks must be the root's DAG in depth-first order)"
    )]
    UnexpectedBlock {
        /// The block the DAG needs next.
        expected: Box<Cid>,
        /// The block found.
        found: Box<Cid>,
    },
    /// The CAR ended before the DAG was complete.
    #[error("the CAR ends before block {0}: truncated or incomplete")]
    MissingBlock(Box<Cid>),
    /// A block after the DAG was complete.
    #[error("block {0} is not part of the root's DAG")]
    ExtraBlock(Box<Cid>),
    /// A codec other than raw and dag-pb.
    #[error("block {cid} has codec 0x{codec:x}, not a UnixFS file's (raw or dag-pb)")]
    UnsupportedCodec {
        /// The block.
        cid: Box<Cid>,
        /// Its codec.
        codec: u64,
    },
    /// A dag-pb block does not decode.
    #[error("block {cid} is not valid dag-pb: {reason}")]
    MalformedDagPb {
        /// The block.
        cid: Box<Cid>,
        /// Why.
        reason: String,
    },
    /// A dag-pb block is not part of a UnixFS file.
    #[error("block {cid}: {error}")]
    NotAFile {
        /// The block.
        cid: Box<Cid>,
        /// Why.
        error: UnixfsError,
    },
    /// A node's size claims contradict themselves or its parent.
    #[error("block {cid} {}", size_claims(.expected, .actual))]
    SizeMismatch {
        /// The block.
        cid: Box<Cid>,
        /// The size the parent recorded.
        expected: u64,
        /// The size the node claims (None: its own claims disagree).
        actual: Option<u64>,
    },
    /// The DAG is deeper or wider than the limits.
    #[error("the DAG exceeds the depth or width limits")]
    TooComplex,
    /// The file exceeds the size limit.
    #[error("the file exceeds the {0}-byte limit")]
    TooLarge(u64),
}

fn size_claims(expected: &u64, actual: &Option<u64>) -> String {
    match actual {
        Some(actual) => format!("holds {actual} file bytes where its parent says {expected}"),
        None => "claims a filesize that is not its data plus its blocksizes".into(),
    }
}

impl CarError {
    /// True when the error says nothing about the content, only about the
    /// channel it came through (a read or write failure).
    pub fn is_io(&self) -> bool {
        matches!(self, Self::Read(_) | Self::Sink(_))
    }
}

/// What a verified CAR held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCar {
    /// The root whose DAG the CAR holds.
    pub root: Cid,
    /// The file's size in bytes.
    pub file_size: u64,
    /// The number of blocks checked.
    pub blocks: u64,
    /// The CAR version (1 or 2).
    pub version: u64,
}

/// Two CIDs name the same block (CIDv0 and CIDv1 dag-pb of the same hash do).
pub(crate) fn same_block(a: &Cid, b: &Cid) -> bool {
    a.codec() == b.codec() && a.hash() == b.hash()
}

fn read_varint(r: &mut impl Read) -> Result<Option<u64>, CarError> {
    let mut value: u64 = 0;
    for i in 0..10 {
        let mut byte = [0u8; 1];
        match r.read_exact(&mut byte) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && i == 0 => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(CarError::MalformedBlock("truncated length".into()));
            }
            Err(e) => return Err(CarError::Read(e)),
        }
        value |= u64::from(byte[0] & 0x7f) << (7 * i);
        if byte[0] & 0x80 == 0 {
            return Ok(Some(value));
        }
    }
    Err(CarError::MalformedBlock("length varint too long".into()))
}

fn read_exact_or(r: &mut impl Read, buf: &mut [u8], what: &str) -> Result<(), CarError> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            CarError::MalformedBlock(format!("truncated {what}"))
        } else {
            CarError::Read(e)
        }
    })
}

/// A minimal DAG-CBOR reader for the CAR header `{roots: [CID], version: int}`.
struct Cbor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cbor<'a> {
    fn byte(&mut self) -> Result<u8, CarError> {
        let (first, rest) = self
            .bytes
            .split_first()
            .ok_or_else(|| CarError::MalformedHeader("truncated".into()))?;
        self.bytes = rest;
        Ok(*first)
    }

    /// Reads a head: (major type, argument).
    fn head(&mut self) -> Result<(u8, u64), CarError> {
        let first = self.byte()?;
        let major = first >> 5;
        let arg = match first & 0x1f {
            n @ 0..=23 => u64::from(n),
            n @ 24..=27 => {
                let len = 1usize << (n - 24);
                let mut v = 0u64;
                for _ in 0..len {
                    v = (v << 8) | u64::from(self.byte()?);
                }
                v
            }
            _ => {
                return Err(CarError::MalformedHeader(
                    "indefinite or reserved length".into(),
                ));
            }
        };
        Ok((major, arg))
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], CarError> {
        let len = usize::try_from(len).map_err(|_| CarError::MalformedHeader("length".into()))?;
        if len > self.bytes.len() {
            return Err(CarError::MalformedHeader("truncated".into()));
        }
        let (taken, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(taken)
    }
}

struct Header {
    version: u64,
    roots: Vec<Cid>,
}

fn parse_header(bytes: &[u8]) -> Result<Header, CarError> {
    let bad = |m: &str| CarError::MalformedHeader(m.to_owned());
    let mut cbor = Cbor { bytes };
    let (major, entries) = cbor.head()?;
    if major != 5 {
        return Err(bad("not a map"));
    }
    let mut version = None;
    let mut roots = None;
    for _ in 0..entries {
        let (major, len) = cbor.head()?;
        if major != 3 {
            return Err(bad("map key is not a string"));
        }
        match cbor.take(len)? {
            b"version" => {
                let (major, v) = cbor.head()?;
                if major != 0 {
                    return Err(bad("version is not an integer"));
                }
                version = Some(v);
            }
            b"roots" => {
                let (major, count) = cbor.head()?;
                if major != 4 {
                    return Err(bad("roots is not an array"));
                }
                let mut list = Vec::new();
                for _ in 0..count.min(1024) {
                    if cbor.head()? != (6, 42) {
                        return Err(bad("root is not a CID"));
                    }
                    let (major, len) = cbor.head()?;
                    if major != 2 {
                        return Err(bad("root is not a CID"));
                    }
                    let raw = cbor.take(len)?;
                    let cid_bytes = raw
                        .strip_prefix(&[0u8])
                        .ok_or_else(|| bad("CID without its 0x00 prefix"))?;
                    list.push(Cid::try_from(cid_bytes).map_err(|e| bad(&e.to_string()))?);
                }
                if count > 1024 {
                    return Err(bad("too many roots"));
                }
                roots = Some(list);
            }
            _ => return Err(bad("unknown key")),
        }
    }
    if !cbor.bytes.is_empty() {
        return Err(bad("trailing bytes"));
    }
    Ok(Header {
        version: version.ok_or_else(|| bad("no version"))?,
        roots: roots.unwrap_or_default(),
    })
}

/// A streaming reader of CAR block sections.
pub struct CarReader<R: Read> {
    inner: io::Take<R>,
    recycler: Recycler,
    roots: Vec<Cid>,
    version: u64,
    max_block_size: usize,
}

impl<R: Read> CarReader<R> {
    /// Reads the header (CARv1, or CARv2 with its inner CARv1 header).
    pub fn new(mut reader: R, max_block_size: usize) -> Result<Self, CarError> {
        let header = Self::read_header(&mut reader)?;
        match header.version {
            1 => Ok(Self {
                inner: reader.take(u64::MAX),
                recycler: Recycler::default(),
                roots: header.roots,
                version: 1,
                max_block_size,
            }),
            2 => {
                // 16 bytes of characteristics, then data offset, data size and
                // index offset, little-endian; the pragma and this are 51 bytes.
                let mut fixed = [0u8; 40];
                read_exact_or(&mut reader, &mut fixed, "CARv2 header")?;
                let word = |i: usize| {
                    let mut w = [0u8; 8];
                    w.copy_from_slice(fixed.get(i..i + 8).unwrap_or(&[0; 8]));
                    u64::from_le_bytes(w)
                };
                let (offset, size) = (word(16), word(24));
                let skip = offset.checked_sub(51).ok_or_else(|| {
                    CarError::MalformedHeader("CARv2 data offset inside the header".into())
                })?;
                io::copy(&mut (&mut reader).take(skip), &mut io::sink()).map_err(CarError::Read)?;
                let mut inner = reader.take(size);
                let header = Self::read_header(&mut inner)?;
                if header.version != 1 {
                    return Err(CarError::UnsupportedVersion(header.version));
                }
                Ok(Self {
                    inner,
                    recycler: Recycler::default(),
                    roots: header.roots,
                    version: 2,
                    max_block_size,
                })
            }
            v => Err(CarError::UnsupportedVersion(v)),
        }
    }

    fn read_header(reader: &mut impl Read) -> Result<Header, CarError> {
        let len =
            read_varint(reader)?.ok_or_else(|| CarError::MalformedHeader("empty input".into()))?;
        if len == 0 || len > 64 * 1024 {
            return Err(CarError::MalformedHeader(format!("header length {len}")));
        }
        let mut bytes = vec![0u8; len as usize];
        reader.read_exact(&mut bytes).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                CarError::MalformedHeader("truncated".into())
            } else {
                CarError::Read(e)
            }
        })?;
        parse_header(&bytes)
    }

    /// The roots named by the header.
    pub fn roots(&self) -> &[Cid] {
        &self.roots
    }

    /// The next block, or `None` at the end.
    pub fn next_block(&mut self) -> Result<Option<(Cid, Bytes)>, CarError> {
        let Some(len) = read_varint(&mut self.inner)? else {
            return Ok(None);
        };
        if len > self.max_block_size as u64 + 128 {
            return Err(CarError::BlockTooLarge(len));
        }
        let len = len as usize;
        let mut section = self.recycler.take(len, 256 * 1024);
        let read = section.get_mut(..len).unwrap_or_default();
        read_exact_or(&mut self.inner, read, "block")?;
        let mut cursor = io::Cursor::new(section.get(..len).unwrap_or_default());
        let cid = Cid::read_bytes(&mut cursor)
            .map_err(|e| CarError::MalformedBlock(format!("bad CID: {e}")))?;
        let start = cursor.position() as usize;
        let shared = Bytes::from(section);
        self.recycler.share(&shared);
        Ok(Some((cid, shared.slice(start..len))))
    }
}

/// Checks a block's bytes against its CID's multihash.
fn check_hash(cid: &Cid, data: &[u8]) -> Result<(), CarError> {
    let code = cid.hash().code();
    if code == IDENTITY {
        return if cid.hash().digest() == data {
            Ok(())
        } else {
            Err(CarError::HashMismatch(Box::new(*cid)))
        };
    }
    let hasher = Code::try_from(code).map_err(|_| CarError::UnsupportedHash {
        cid: Box::new(*cid),
        code,
    })?;
    if hasher.digest(data) == *cid.hash() {
        Ok(())
    } else {
        Err(CarError::HashMismatch(Box::new(*cid)))
    }
}

/// A link still to visit, with what its parent says of it.
struct Pending {
    cid: Cid,
    expected_size: Option<u64>,
    depth: usize,
}

struct HashJob {
    cid: Cid,
    block: Bytes,
    emit: Bytes,
}

/// Verifies a CAR holding the UnixFS file (or raw block) `root`, or the
/// header's single root when `root` is `None`, writing the file to `sink`.
pub fn verify_car(
    reader: impl Read,
    root: Option<&Cid>,
    limits: &CarLimits,
    sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> Result<VerifiedCar, CarError> {
    let mut car = CarReader::new(reader, limits.max_block_size)?;
    let root = match root {
        Some(expected) => {
            if !car.roots().iter().any(|r| same_block(r, expected)) {
                return Err(CarError::RootNotInHeader {
                    expected: Box::new(*expected),
                    found: car.roots().iter().map(Cid::to_string).collect(),
                });
            }
            *expected
        }
        None => *car.roots().first().ok_or(CarError::NoRoot)?,
    };
    let version = car.version;
    let (file_size, blocks) = verify_dag(&mut || car.next_block(), root, limits, sink)?;
    Ok(VerifiedCar {
        root,
        file_size,
        blocks,
        version,
    })
}

/// Walks the DAG of `root` depth-first over the blocks `next_block` yields,
/// checking every hash, link and size, and writes the file to `sink`.
/// Returns the file size and the number of blocks. Identity CIDs need no
/// block: their data is inside them.
pub fn verify_dag(
    next_block: &mut dyn FnMut() -> Result<Option<(Cid, Bytes)>, CarError>,
    root: Cid,
    limits: &CarLimits,
    sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> Result<(u64, u64), CarError> {
    let mut workers =
        OrderedWorkers::new(limits.threads, 4 * limits.threads + 4, |job: HashJob| {
            check_hash(&job.cid, &job.block).map(|()| job.emit)
        });
    let mut stack = vec![Pending {
        cid: root,
        expected_size: None,
        depth: 0,
    }];
    let mut written: u64 = 0;
    let mut blocks: u64 = 0;
    let mut deliver = |ready: Vec<Result<Bytes, CarError>>, written: &mut u64| {
        for r in ready {
            let data = r?;
            *written += data.len() as u64;
            sink(&data).map_err(CarError::Sink)?;
        }
        Ok::<(), CarError>(())
    };
    // The block being examined, until its hash job is submitted: a
    // structural error in a block whose hash is wrong is reported as tampering.
    let mut current: Option<(Cid, Bytes)> = None;
    let outcome = (|| {
        while let Some(next) = stack.pop() {
            let (cid, block) = if next.cid.hash().code() == IDENTITY {
                (next.cid, Bytes::copy_from_slice(next.cid.hash().digest()))
            } else {
                match next_block()? {
                    None => return Err(CarError::MissingBlock(Box::new(next.cid))),
                    Some((cid, _)) if !same_block(&cid, &next.cid) => {
                        return Err(CarError::UnexpectedBlock {
                            expected: Box::new(next.cid),
                            found: Box::new(cid),
                        });
                    }
                    Some(found) => found,
                }
            };
            blocks += 1;
            current = Some((cid, block.clone()));
            let (claimed, emit) = match cid.codec() {
                RAW => (Some(block.len() as u64), block.clone()),
                DAG_PB => {
                    let node = PbNode::from_bytes(block.clone()).map_err(|e| {
                        CarError::MalformedDagPb {
                            cid: Box::new(cid),
                            reason: e.to_string(),
                        }
                    })?;
                    let data = node.data.clone().unwrap_or_default();
                    let file = FileData::decode(&data).map_err(|error| CarError::NotAFile {
                        cid: Box::new(cid),
                        error,
                    })?;
                    if !node.links.is_empty() && node.links.len() != file.blocksizes.len() {
                        return Err(CarError::SizeMismatch {
                            cid: Box::new(cid),
                            expected: node.links.len() as u64,
                            actual: Some(file.blocksizes.len() as u64),
                        });
                    }
                    if node.links.is_empty() && !file.blocksizes.is_empty() {
                        return Err(CarError::SizeMismatch {
                            cid: Box::new(cid),
                            expected: 0,
                            actual: Some(file.blocksizes.len() as u64),
                        });
                    }
                    if next.depth >= limits.max_depth
                        || stack.len() + node.links.len() > limits.max_pending_links
                    {
                        return Err(CarError::TooComplex);
                    }
                    for (link, size) in node.links.iter().zip(&file.blocksizes).rev() {
                        stack.push(Pending {
                            cid: link.cid,
                            expected_size: Some(*size),
                            depth: next.depth + 1,
                        });
                    }
                    let emit = data.slice_ref(file.data);
                    (file.claimed_size(), emit)
                }
                codec => {
                    return Err(CarError::UnsupportedCodec {
                        cid: Box::new(cid),
                        codec,
                    });
                }
            };
            match (claimed, next.expected_size) {
                (None, expected) => {
                    return Err(CarError::SizeMismatch {
                        cid: Box::new(cid),
                        expected: expected.unwrap_or(0),
                        actual: None,
                    });
                }
                (Some(actual), Some(expected)) if actual != expected => {
                    return Err(CarError::SizeMismatch {
                        cid: Box::new(cid),
                        expected,
                        actual: Some(actual),
                    });
                }
                (Some(actual), None) if actual > limits.max_file_size => {
                    return Err(CarError::TooLarge(limits.max_file_size));
                }
                _ => {}
            }
            current = None;
            let ready = workers.submit(HashJob { cid, block, emit });
            deliver(ready, &mut written)?;
        }
        if let Some((cid, _)) = next_block()? {
            return Err(CarError::ExtraBlock(Box::new(cid)));
        }
        Ok(())
    })();
    // A hash mismatch in a block already read explains a later structural
    // error better than the error itself: report it first.
    let outcome = match (outcome, current) {
        (Err(e), Some((cid, block))) if !e.is_io() => check_hash(&cid, &block).and(Err(e)),
        (outcome, _) => outcome,
    };
    let hashed = workers.finish();
    let hashed = deliver(hashed, &mut written);
    match (outcome, hashed) {
        (Err(e), _) if e.is_io() => Err(e),
        (_, Err(e)) => Err(e),
        (Err(e), Ok(())) => Err(e),
        (Ok(()), Ok(())) => Ok((written, blocks)),
    }
}
