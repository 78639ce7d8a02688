//! Streaming rebuild of a file's UnixFS DAG under one or more import profiles.
//!
//! The [`Importer`] takes the file's bytes in order and, for each profile,
//! computes the root CID exactly as `ipfs-unixfs-importer` (balanced layout)
//! and kubo's `ipfs add --only-hash` would. Leaves are hashed on worker threads
//! while reading; only one row of pending links per tree level is kept, so
//! memory stays constant (a few MiB) whatever the file size. Nothing here is
//! trusted input: it only hashes bytes. A file's length as `stat` reports it
//! is not trusted either (procfs says 0, sysfs 4096, a file may change while
//! it is read): [`cid_of_file`] hashes what reading returns, and refuses a
//! file whose length or modification time changed meanwhile.
//!
//! The reading loops test the verification's deadline
//! ([`taskproof_core::deadline::check`]); past it, they stop with an
//! [`std::io::ErrorKind::TimedOut`] error wrapping
//! [`taskproof_core::deadline::Expired`].

use std::io::{self, Read};

use bytes::Bytes;
use cid::Cid;
use ipld_dagpb::{PbLink, PbNode};
use multihash::Multihash;
use multihash_codetable::Sha2_256;
use multihash_derive::Hasher;
use taskproof_core::deadline::{self, Expired};

use super::{
    ordered::OrderedWorkers,
    profile::ImportProfile,
    recycle::Recycler,
    unixfs::{dag_pb_leaf_frame, encode_file_node},
};

/// The multicodec code of dag-pb.
pub(crate) const DAG_PB: u64 = 0x70;
/// The multicodec code of raw bytes.
pub(crate) const RAW: u64 = 0x55;
/// The multihash code of sha2-256.
pub(crate) const SHA2_256: u64 = 0x12;

/// Bytes read at once; a multiple of every profile's chunk size, so chunks
/// never straddle two reads.
const READ_SIZE: usize = 1024 * 1024;

/// The sha2-256 multihash of the concatenation of `parts`.
pub(crate) fn sha256(parts: &[&[u8]]) -> Multihash<64> {
    let mut hasher = Sha2_256::default();
    for part in parts {
        hasher.update(part);
    }
    // A 32-byte digest always fits a 64-byte multihash.
    Multihash::wrap(SHA2_256, hasher.finalize()).unwrap_or_default()
}

fn dag_pb_cid(version: u64, hash: Multihash<64>) -> Cid {
    if version == 0 {
        // sha2-256 of 32 bytes is always a valid CIDv0 multihash.
        Cid::new_v0(hash).unwrap_or_else(|_| Cid::new_v1(DAG_PB, hash))
    } else {
        Cid::new_v1(DAG_PB, hash)
    }
}

/// A link to a subtree, with what the parent must record about it.
#[derive(Clone, Debug)]
struct Link {
    cid: Cid,
    /// `Tsize`: the subtree's total block bytes.
    tsize: u64,
    /// The subtree's file bytes (the parent's `blocksizes` entry).
    filesize: u64,
}

fn hash_leaf(profile: ImportProfile, chunk: &[u8]) -> Link {
    let len = chunk.len() as u64;
    if profile.raw_leaves() {
        Link {
            cid: Cid::new_v1(RAW, sha256(&[chunk])),
            tsize: len,
            filesize: len,
        }
    } else {
        let (prefix, suffix) = dag_pb_leaf_frame(chunk.len());
        Link {
            cid: dag_pb_cid(profile.cid_version(), sha256(&[&prefix, chunk, &suffix])),
            tsize: (prefix.len() + chunk.len() + suffix.len()) as u64,
            filesize: len,
        }
    }
}

/// The balanced tree of one profile, one row of pending links per level.
struct Tree {
    profile: ImportProfile,
    rows: Vec<Vec<Link>>,
    /// How many links were ever pushed to each level.
    counts: Vec<u64>,
}

impl Tree {
    fn new(profile: ImportProfile) -> Self {
        Self {
            profile,
            rows: Vec::new(),
            counts: Vec::new(),
        }
    }

    fn push(&mut self, level: usize, link: Link) {
        while self.rows.len() <= level {
            self.rows.push(Vec::new());
            self.counts.push(0);
        }
        let full = {
            let (Some(row), Some(count)) = (self.rows.get_mut(level), self.counts.get_mut(level))
            else {
                return;
            };
            row.push(link);
            *count += 1;
            row.len() >= self.profile.max_links()
        };
        if full {
            let batch = self
                .rows
                .get_mut(level)
                .map(std::mem::take)
                .unwrap_or_default();
            let node = self.reduce(&batch);
            self.push(level + 1, node);
        }
    }

    fn reduce(&self, links: &[Link]) -> Link {
        let blocksizes: Vec<u64> = links.iter().map(|l| l.filesize).collect();
        let node = PbNode {
            links: links
                .iter()
                .map(|l| PbLink {
                    cid: l.cid,
                    name: Some(String::new()),
                    size: Some(l.tsize),
                })
                .collect(),
            data: Some(Bytes::from(encode_file_node(&blocksizes))),
        };
        let block = node.into_bytes();
        Link {
            cid: dag_pb_cid(self.profile.cid_version(), sha256(&[&block])),
            tsize: block.len() as u64 + links.iter().map(|l| l.tsize).sum::<u64>(),
            filesize: blocksizes.iter().sum(),
        }
    }

    /// Closes every level, as the importer's balanced layout does: a level
    /// holding a single link is the root, otherwise its last partial row
    /// becomes a node of the next level.
    fn finish(mut self) -> Option<Cid> {
        let mut level = 0;
        while level < self.rows.len() {
            if self.counts.get(level) == Some(&1) {
                return self.rows.get(level).and_then(|r| r.first()).map(|l| l.cid);
            }
            let pending = self
                .rows
                .get_mut(level)
                .map(std::mem::take)
                .unwrap_or_default();
            if !pending.is_empty() {
                let node = self.reduce(&pending);
                self.push(level + 1, node);
            }
            level += 1;
        }
        None
    }
}

struct LeafJob {
    tree: usize,
    profile: ImportProfile,
    chunk: Bytes,
}

/// What an import produced for one profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedRoot {
    /// The profile.
    pub profile: ImportProfile,
    /// The root CID the profile gives for the file.
    pub cid: Cid,
}

/// Rebuilds a file's DAG under several profiles in one pass.
pub struct Importer {
    trees: Vec<Tree>,
    /// Always `READ_SIZE` long; `filled` bytes of it hold input.
    buffer: Vec<u8>,
    filled: usize,
    recycler: Recycler,
    threads: usize,
    workers: Option<OrderedWorkers<LeafJob, (usize, Link)>>,
    total: u64,
}

impl Importer {
    /// An importer for `profiles` hashing leaves on `threads` worker threads
    /// (0: on the caller's thread). Workers start only once the input exceeds
    /// one read (1 MiB).
    pub fn new(profiles: &[ImportProfile], threads: usize) -> Self {
        Self {
            trees: profiles.iter().map(|p| Tree::new(*p)).collect(),
            buffer: Vec::new(),
            filled: 0,
            recycler: Recycler::default(),
            threads,
            workers: None,
            total: 0,
        }
    }

    /// The number of bytes taken so far.
    pub fn bytes_read(&self) -> u64 {
        self.total
    }

    /// Takes the next bytes of the file.
    pub fn write(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            self.ensure_buffer();
            let room = READ_SIZE - self.filled;
            let (now, later) = data.split_at(room.min(data.len()));
            if let Some(dst) = self.buffer.get_mut(self.filled..self.filled + now.len()) {
                dst.copy_from_slice(now);
            }
            self.filled += now.len();
            self.total += now.len() as u64;
            data = later;
            if self.filled == READ_SIZE {
                self.flush();
            }
        }
    }

    /// Reads `reader` to its end, straight into the importer's buffer;
    /// `progress` is called with the byte count after each read. Stops when
    /// the verification's deadline has passed.
    pub fn read_from(
        &mut self,
        reader: &mut impl Read,
        mut progress: impl FnMut(u64),
    ) -> std::io::Result<()> {
        loop {
            deadline::check().map_err(timed_out)?;
            self.ensure_buffer();
            let n = match reader.read(
                self.buffer
                    .get_mut(self.filled..READ_SIZE)
                    .unwrap_or_default(),
            ) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.filled += n;
            self.total += n as u64;
            if self.filled == READ_SIZE {
                self.flush();
            }
            progress(self.total);
            if n == 0 {
                return Ok(());
            }
        }
    }

    fn ensure_buffer(&mut self) {
        if self.buffer.len() < READ_SIZE {
            self.buffer = self.recycler.take(READ_SIZE, READ_SIZE);
            self.buffer.truncate(READ_SIZE);
        }
    }

    fn flush(&mut self) {
        let mut buffer = std::mem::take(&mut self.buffer);
        buffer.truncate(self.filled);
        self.filled = 0;
        if self.workers.is_none() {
            self.workers = Some(OrderedWorkers::new(
                self.threads,
                4 * self.threads + 4,
                |job: LeafJob| (job.tree, hash_leaf(job.profile, &job.chunk)),
            ));
        }
        let shared = Bytes::from(buffer);
        self.recycler.share(&shared);
        self.submit_chunks(shared);
    }

    fn submit_chunks(&mut self, data: Bytes) {
        let jobs: Vec<LeafJob> = self
            .trees
            .iter()
            .enumerate()
            .flat_map(|(tree, t)| {
                let size = t.profile.chunk_size();
                let count = data.len().div_ceil(size).max(1);
                let data = data.clone();
                (0..count).map(move |i| LeafJob {
                    tree,
                    profile: t.profile,
                    chunk: data.slice((i * size).min(data.len())..((i + 1) * size).min(data.len())),
                })
            })
            .collect();
        for job in jobs {
            let ready = match &mut self.workers {
                Some(w) => w.submit(job),
                None => vec![(job.tree, hash_leaf(job.profile, &job.chunk))],
            };
            self.deliver(ready);
        }
    }

    fn deliver(&mut self, ready: Vec<(usize, Link)>) {
        for (tree, link) in ready {
            if let Some(t) = self.trees.get_mut(tree) {
                t.push(0, link);
            }
        }
    }

    /// Ends the file and returns each profile's root CID.
    pub fn finish(mut self) -> Vec<ImportedRoot> {
        let mut rest = std::mem::take(&mut self.buffer);
        rest.truncate(self.filled);
        if !rest.is_empty() || self.total == 0 {
            // The last partial read, or the single empty chunk of an empty file.
            self.submit_chunks(Bytes::from(rest));
        }
        if let Some(mut workers) = self.workers.take() {
            let ready = workers.finish();
            self.deliver(ready);
        }
        self.trees
            .into_iter()
            .filter_map(|t| {
                let profile = t.profile;
                t.finish().map(|cid| ImportedRoot { profile, cid })
            })
            .collect()
    }
}

/// The error the reading loops stop with once the deadline has passed.
fn timed_out(e: Expired) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, e)
}

fn changed() -> io::Error {
    io::Error::other("the file changed while it was read")
}

/// The root CID and size of the file `reader` yields under `profile`, as
/// `ipfs add --only-hash -Q` prints it; `progress` gets the bytes read so far.
pub fn cid_of_reader(
    reader: &mut impl Read,
    profile: ImportProfile,
    threads: usize,
    progress: impl FnMut(u64),
) -> std::io::Result<(Cid, u64)> {
    let mut importer = Importer::new(&[profile], threads);
    importer.read_from(reader, progress)?;
    let size = importer.bytes_read();
    let root = importer.finish().into_iter().next().map(|r| r.cid);
    root.map(|cid| (cid, size))
        .ok_or_else(|| std::io::Error::other("the importer produced no root"))
}

/// How many leaf chunks a worker of [`cid_of_file`] may run ahead of the
/// next one the tree is waiting for; bounds memory whatever the file size.
#[cfg(unix)]
const MAX_AHEAD: u64 = 64;

/// What `stat` says of a file, compared before and after it is read.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    regular: bool,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl Snapshot {
    fn of(file: &std::fs::File) -> io::Result<Self> {
        let meta = file.metadata()?;
        Ok(Self {
            regular: meta.is_file(),
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

/// The root CID and size of the file `file` under `profile`, as
/// [`cid_of_reader`] gives it for its bytes from the start, computed faster
/// where the file allows it: each of `threads` hashing threads (the caller's
/// and `threads - 1` more) claims the next leaf chunk, reads exactly that
/// chunk with a positional read into its own reused buffer (still hot in
/// cache when it is hashed) and hashes it; the caller's thread also orders
/// the leaf links and builds the tree. `progress` gets the bytes hashed so
/// far (it starts again from 0 if the file has to be streamed after all).
///
/// `stat`'s length only splits the work; the bytes decide. A regular file
/// is read by chunks at the length `stat` gives, and then must end exactly
/// there; one that `stat` says is empty (procfs), or that holds fewer or more
/// bytes than `stat` says (sysfs) while `stat` does not change, is streamed
/// from its start instead. A regular file whose length or modification time
/// changed while it was read is an error, never a CID: a file rewritten in
/// place within one tick of the file system's clock, without changing its
/// length, is the one change this cannot see. Anything but a regular file (a
/// pipe, a terminal, a device) is streamed from its current position; the
/// caller decides whether to read devices at all (`/dev/zero` never ends).
pub fn cid_of_file(
    file: &std::fs::File,
    profile: ImportProfile,
    threads: usize,
    mut progress: impl FnMut(u64),
) -> io::Result<(Cid, u64)> {
    let before = Snapshot::of(file)?;
    if !before.regular {
        return cid_of_reader(&mut &*file, profile, threads, progress);
    }
    #[cfg(unix)]
    {
        if before.len > 0 {
            match positional::cid_of_regular_file(file, before.len, profile, threads, &mut progress)
            {
                Ok(hashed) => {
                    if Snapshot::of(file)? != before {
                        return Err(changed());
                    }
                    if positional::ends_at(file, before.len)? {
                        return Ok(hashed);
                    }
                    // More bytes than stat says, and stat unchanged: stream.
                }
                // Fewer bytes than stat says: stream, and let the snapshot
                // tell a file that shrank from one whose stat is fiction.
                Err(e) if positional::ended_early(&e) => {}
                Err(e) => return Err(e),
            }
        }
        let hashed = cid_of_reader(
            &mut positional::ReadAt::from_start(file),
            profile,
            threads,
            progress,
        )?;
        if Snapshot::of(file)? != before {
            return Err(changed());
        }
        Ok(hashed)
    }
    #[cfg(not(unix))]
    {
        let hashed = cid_of_reader(&mut &*file, profile, threads, progress)?;
        if Snapshot::of(file)? != before {
            return Err(changed());
        }
        Ok(hashed)
    }
}

#[cfg(unix)]
mod positional {
    //! The leaf hashing of [`super::cid_of_file`].

    use std::{
        collections::BTreeMap,
        fs::File,
        io::{self, Read},
        os::unix::fs::FileExt,
        sync::{
            Condvar, Mutex,
            atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst},
            mpsc::{Receiver, Sender, channel},
        },
    };

    use cid::Cid;
    use taskproof_core::deadline::{self, Deadline};

    use super::{ImportProfile, Link, MAX_AHEAD, Tree, hash_leaf, timed_out};

    /// The file held fewer bytes than the length being read.
    #[derive(Debug)]
    struct EndedEarly;

    impl std::fmt::Display for EndedEarly {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("the file ended before the length stat gave")
        }
    }

    impl std::error::Error for EndedEarly {}

    /// Whether `e` says the file held fewer bytes than its length.
    pub(super) fn ended_early(e: &io::Error) -> bool {
        e.get_ref().is_some_and(|inner| inner.is::<EndedEarly>())
    }

    /// Whether the file has no byte at offset `len`.
    pub(super) fn ends_at(file: &File, len: u64) -> io::Result<bool> {
        let mut probe = [0u8; 1];
        loop {
            match file.read_at(&mut probe, len) {
                Ok(n) => return Ok(n == 0),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// A file read from its start with positional reads, whatever its
    /// current position.
    pub(super) struct ReadAt<'a> {
        file: &'a File,
        offset: u64,
    }

    impl<'a> ReadAt<'a> {
        pub(super) fn from_start(file: &'a File) -> Self {
            Self { file, offset: 0 }
        }
    }

    impl Read for ReadAt<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.file.read_at(buf, self.offset)?;
            self.offset += n as u64;
            Ok(n)
        }
    }

    /// What the hashing threads share.
    struct Shared<'a> {
        file: &'a File,
        profile: ImportProfile,
        len: u64,
        chunks: u64,
        /// The next chunk index to claim.
        next_claim: AtomicU64,
        /// The next chunk index the tree waits for.
        next_wanted: AtomicU64,
        /// Set when the import stops early; workers then return.
        stop: AtomicBool,
        /// Workers waiting for `next_wanted` to advance.
        waiting: AtomicUsize,
        lock: Mutex<()>,
        advanced: Condvar,
    }

    impl Shared<'_> {
        /// Wakes waiting workers after `next_wanted` or `stop` changed.
        fn wake(&self) {
            // A worker counts itself as waiting before its last check, under
            // the lock it holds until it sleeps: either it saw the change or
            // it is asleep by the time the lock is ours.
            if self.waiting.load(SeqCst) > 0 {
                drop(self.lock.lock());
                self.advanced.notify_all();
            }
        }

        /// Waits until chunk `index` is less than `MAX_AHEAD` ahead of the
        /// tree; false when the import stopped.
        fn wait_turn(&self, index: u64) -> bool {
            let ready =
                |s: &Self| s.stop.load(SeqCst) || index < s.next_wanted.load(SeqCst) + MAX_AHEAD;
            if !ready(self) {
                let Ok(mut guard) = self.lock.lock() else {
                    return false;
                };
                self.waiting.fetch_add(1, SeqCst);
                while !ready(self) {
                    guard = match self.advanced.wait(guard) {
                        Ok(g) => g,
                        Err(_) => break,
                    };
                }
                self.waiting.fetch_sub(1, SeqCst);
            }
            !self.stop.load(SeqCst)
        }

        /// The loop of a spawned worker: claim, read, hash, send.
        fn work(&self, results: Sender<(u64, io::Result<Link>)>) {
            let mut buffer = vec![0u8; self.profile.chunk_size()];
            loop {
                let index = self.next_claim.fetch_add(1, SeqCst);
                if index >= self.chunks || !self.wait_turn(index) {
                    return;
                }
                let link = deadline::check()
                    .map_err(timed_out)
                    .and_then(|()| self.read_chunk(index, &mut buffer))
                    .map(|chunk| hash_leaf(self.profile, chunk));
                let failed = link.is_err();
                if results.send((index, link)).is_err() || failed {
                    return;
                }
            }
        }

        /// Reads chunk `index` whole into `buffer`.
        fn read_chunk<'b>(&self, index: u64, buffer: &'b mut [u8]) -> io::Result<&'b [u8]> {
            let size = buffer.len() as u64;
            let start = index * size;
            let want = usize::try_from(self.len.saturating_sub(start).min(size))
                .map_err(io::Error::other)?;
            let chunk = buffer.get_mut(..want).unwrap_or_default();
            let mut filled = 0;
            while let Some(rest) = chunk.get_mut(filled..).filter(|r| !r.is_empty()) {
                match self.file.read_at(rest, start + filled as u64) {
                    Ok(0) => return Err(io::Error::other(EndedEarly)),
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(chunk)
        }
    }

    pub(super) fn cid_of_regular_file(
        file: &File,
        len: u64,
        profile: ImportProfile,
        threads: usize,
        progress: impl FnMut(u64),
    ) -> io::Result<(Cid, u64)> {
        let size = profile.chunk_size() as u64;
        let shared = Shared {
            file,
            profile,
            len,
            // The empty file is one empty chunk, as in the importer.
            chunks: len.div_ceil(size).max(1),
            next_claim: AtomicU64::new(0),
            next_wanted: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            waiting: AtomicUsize::new(0),
            lock: Mutex::new(()),
            advanced: Condvar::new(),
        };
        let mut order = Order {
            shared: &shared,
            tree: Tree::new(profile),
            parked: BTreeMap::new(),
            next: 0,
            done: 0,
            progress,
        };
        // Spawned threads do not inherit the caller's deadline.
        let limit = Deadline::current();
        std::thread::scope(|scope| {
            let (tx, rx) = channel();
            // The calling thread is one of the `threads`; if a worker cannot
            // be started, the others (at least the caller) do its share.
            for _ in 1..threads.max(1) {
                let tx = tx.clone();
                let shared = &shared;
                let limit = limit.clone();
                let _ = std::thread::Builder::new()
                    .name("taskproof-hash".into())
                    .spawn_scoped(scope, move || limit.enter(|| shared.work(tx)));
            }
            drop(tx);
            let result = order.run(&rx);
            if result.is_err() {
                shared.stop.store(true, SeqCst);
                shared.wake();
            }
            result
        })?;
        let cid = order
            .tree
            .finish()
            .ok_or_else(|| io::Error::other("the importer produced no root"))?;
        Ok((cid, len))
    }

    /// The calling thread: hashes chunks too, and pushes every leaf link
    /// into the tree in order.
    struct Order<'a, P> {
        shared: &'a Shared<'a>,
        tree: Tree,
        /// Links that arrived before the ones in front of them.
        parked: BTreeMap<u64, Link>,
        /// The next chunk index the tree needs.
        next: u64,
        /// File bytes pushed into the tree.
        done: u64,
        progress: P,
    }

    impl<P: FnMut(u64)> Order<'_, P> {
        fn run(&mut self, rx: &Receiver<(u64, io::Result<Link>)>) -> io::Result<()> {
            let shared = self.shared;
            let mut buffer = vec![0u8; shared.profile.chunk_size()];
            loop {
                deadline::check().map_err(timed_out)?;
                let index = shared.next_claim.fetch_add(1, SeqCst);
                if index >= shared.chunks {
                    break;
                }
                // Never wait on itself: take the workers' links until this
                // chunk is within the bound.
                while index >= self.next + MAX_AHEAD {
                    self.receive(rx)?;
                    self.advance();
                }
                let link = shared
                    .read_chunk(index, &mut buffer)
                    .map(|chunk| hash_leaf(shared.profile, chunk))?;
                self.parked.insert(index, link);
                while let Ok((index, link)) = rx.try_recv() {
                    self.parked.insert(index, link?);
                }
                self.advance();
            }
            while self.next < shared.chunks {
                self.receive(rx)?;
                self.advance();
            }
            Ok(())
        }

        fn receive(&mut self, rx: &Receiver<(u64, io::Result<Link>)>) -> io::Result<()> {
            let (index, link) = rx
                .recv()
                .map_err(|_| io::Error::other("a hashing thread stopped"))?;
            self.parked.insert(index, link?);
            Ok(())
        }

        /// Pushes the links now in order into the tree.
        fn advance(&mut self) {
            let before = self.next;
            while let Some(link) = self.parked.remove(&self.next) {
                self.done += link.filesize;
                self.tree.push(0, link);
                self.next += 1;
            }
            if self.next != before {
                self.shared.next_wanted.store(self.next, SeqCst);
                self.shared.wake();
                (self.progress)(self.done);
            }
        }
    }
}

/// The root CID of `data` under `profile`, on the caller's thread.
pub fn cid_of(data: &[u8], profile: ImportProfile) -> Option<Cid> {
    let mut importer = Importer::new(&[profile], 0);
    importer.write(data);
    importer.finish().into_iter().next().map(|r| r.cid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_the_well_known_cids() {
        assert_eq!(
            cid_of(b"", ImportProfile::UnixfsV0_2015)
                .unwrap()
                .to_string(),
            "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
        );
        assert_eq!(
            cid_of(b"", ImportProfile::UnixfsV1_2025)
                .unwrap()
                .to_string(),
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
        );
    }

    #[test]
    fn threads_do_not_change_the_result() {
        let data: Vec<u8> = (0..3 * READ_SIZE + 12345)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let one = {
            let mut i = Importer::new(&ImportProfile::ALL, 0);
            i.write(&data);
            i.finish()
        };
        let many = {
            let mut i = Importer::new(&ImportProfile::ALL, 3);
            i.read_from(&mut &data[..], |_| {}).unwrap();
            i.finish()
        };
        assert_eq!(one, many);
        assert_eq!(one.len(), 3);
    }

    /// A file in the temporary directory, removed when dropped.
    struct TempFile(std::path::PathBuf);

    impl TempFile {
        fn with(data: &[u8]) -> Self {
            static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!(
                "taskproof-cid-of-file-{}-{n}.bin",
                std::process::id()
            ));
            std::fs::write(&path, data).unwrap();
            Self(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn cid_of_file_matches_the_importer_at_chunk_boundaries() {
        for profile in ImportProfile::ALL {
            let chunk = profile.chunk_size();
            for len in [0, 1, chunk - 1, chunk, chunk + 1, 5 * chunk + 777] {
                let data: Vec<u8> = (0..len).map(|i| (i * 31 % 253) as u8).collect();
                let expected = cid_of(&data, profile).unwrap();
                let temp = TempFile::with(&data);
                let file = std::fs::File::open(&temp.0).unwrap();
                for threads in [1, 2, 3] {
                    let mut last = 0;
                    let got = cid_of_file(&file, profile, threads, |n| {
                        assert!(n >= last);
                        last = n;
                    })
                    .unwrap();
                    assert_eq!(
                        got,
                        (expected, len as u64),
                        "{profile} {len} bytes {threads} threads"
                    );
                    assert_eq!(last, len as u64);
                }
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn cid_of_file_streams_what_is_not_a_regular_file() {
        // A character device: no length to split by, read to its end instead.
        let file = std::fs::File::open("/dev/null").unwrap();
        let (cid, len) = cid_of_file(&file, ImportProfile::UnixfsV0_2015, 2, |_| {}).unwrap();
        assert_eq!(
            cid.to_string(),
            "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
        );
        assert_eq!(len, 0);
    }

    /// Hashes the file at `path` and runs `change` on it at the first
    /// progress report, when part of it has been read.
    fn hash_while(
        path: &std::path::Path,
        threads: usize,
        change: impl FnOnce(&std::fs::File),
    ) -> io::Result<(Cid, u64)> {
        let file = std::fs::File::open(path).unwrap();
        let writer = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        let mut change = Some(change);
        cid_of_file(&file, ImportProfile::UnixfsV0_2015, threads, |_| {
            if let Some(change) = change.take() {
                change(&writer);
            }
        })
    }

    fn chunked(chunks: usize) -> Vec<u8> {
        let size = ImportProfile::UnixfsV0_2015.chunk_size();
        (0..chunks * size + 5).map(|i| (i % 251) as u8).collect()
    }

    #[cfg(unix)]
    #[test]
    fn rejects_a_file_that_shrinks_while_read() {
        for threads in [1, 2] {
            let temp = TempFile::with(&chunked(6));
            let err = hash_while(&temp.0, threads, |w| w.set_len(1000).unwrap()).unwrap_err();
            assert_eq!(err.to_string(), "the file changed while it was read");
        }
    }

    #[cfg(unix)]
    #[test]
    fn rejects_a_file_that_grows_while_read() {
        use std::os::unix::fs::FileExt;
        for threads in [1, 2] {
            let data = chunked(6);
            let temp = TempFile::with(&data);
            let err = hash_while(&temp.0, threads, |w| {
                w.write_all_at(b"appended", data.len() as u64).unwrap()
            })
            .unwrap_err();
            assert_eq!(err.to_string(), "the file changed while it was read");
        }
    }

    #[cfg(unix)]
    #[test]
    fn rejects_a_file_rewritten_in_place_while_read() {
        use std::os::unix::fs::FileExt;
        for threads in [1, 2] {
            let temp = TempFile::with(&chunked(6));
            // An old modification time, so that the rewrite's is another one
            // whatever the file system clock's resolution.
            std::fs::File::options()
                .write(true)
                .open(&temp.0)
                .unwrap()
                .set_modified(std::time::SystemTime::UNIX_EPOCH)
                .unwrap();
            let err = hash_while(&temp.0, threads, |w| {
                w.write_all_at(b"rewritten", 0).unwrap()
            })
            .unwrap_err();
            assert_eq!(err.to_string(), "the file changed while it was read");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_procfs_file_gets_the_cid_of_what_it_holds() {
        // stat says 0 bytes; reading gives the process's command line.
        for path in ["/proc/self/cmdline", "/proc/version"] {
            let file = std::fs::File::open(path).unwrap();
            assert_eq!(file.metadata().unwrap().len(), 0, "{path}");
            let held = std::fs::read(path).unwrap();
            assert!(!held.is_empty(), "{path}");
            for threads in [1, 2] {
                let (cid, len) =
                    cid_of_file(&file, ImportProfile::UnixfsV0_2015, threads, |_| {}).unwrap();
                assert_eq!(len, held.len() as u64, "{path}");
                assert_eq!(cid, cid_of(&held, ImportProfile::UnixfsV0_2015).unwrap());
            }
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_sysfs_file_whose_stat_overstates_it_gets_the_cid_of_what_it_holds() {
        // sysfs gives every attribute a length of 4096, whatever it holds.
        let path = "/sys/devices/system/cpu/online";
        let Ok(file) = std::fs::File::open(path) else {
            eprintln!("{path} is not mounted here");
            return;
        };
        let held = std::fs::read(path).unwrap();
        assert!(file.metadata().unwrap().len() > held.len() as u64);
        let (cid, len) = cid_of_file(&file, ImportProfile::UnixfsV1_2025, 2, |_| {}).unwrap();
        assert_eq!(len, held.len() as u64);
        assert_eq!(cid, cid_of(&held, ImportProfile::UnixfsV1_2025).unwrap());
    }

    #[test]
    fn hashing_stops_once_the_deadline_has_passed() {
        use taskproof_core::deadline::Deadline;
        let data = chunked(4);
        let temp = TempFile::with(&data);
        let file = std::fs::File::open(&temp.0).unwrap();
        let abandoned = Deadline::none();
        abandoned.cancel();
        for threads in [1, 2] {
            let err = abandoned
                .enter(|| cid_of_file(&file, ImportProfile::UnixfsV0_2015, threads, |_| {}))
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
            let err = abandoned
                .enter(|| {
                    cid_of_reader(
                        &mut &data[..],
                        ImportProfile::UnixfsV0_2015,
                        threads,
                        |_| {},
                    )
                })
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
        }
        assert!(cid_of_file(&file, ImportProfile::UnixfsV0_2015, 2, |_| {}).is_ok());
    }

    #[test]
    fn cid_of_file_matches_the_importer_above_one_tree_level() {
        // 175 leaves of 256 KiB: the legacy profile needs a second level,
        // and workers hit the bound on chunks in flight.
        let profile = ImportProfile::UnixfsV0_2015;
        let len = 175 * profile.chunk_size() + 3;
        let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let temp = TempFile::with(&data);
        let file = std::fs::File::open(&temp.0).unwrap();
        let expected = cid_of(&data, profile).unwrap();
        for threads in [1, 3] {
            assert_eq!(
                cid_of_file(&file, profile, threads, |_| {}).unwrap().0,
                expected
            );
        }
    }
}
