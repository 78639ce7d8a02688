//! Read buffers handed back once every hash job using them is done.
//!
//! Streaming a gigabyte through fresh 1 MiB buffers costs a zero-fill and
//! page faults per buffer; reusing the ones the workers have released keeps
//! reading at memory speed and memory flat.

use std::collections::VecDeque;

use bytes::Bytes;

/// At most this many buffers are tracked for reuse.
const TRACKED: usize = 64;

/// Buffers shared with hash jobs, reused once their jobs have dropped them.
#[derive(Default)]
pub(crate) struct Recycler {
    shared: VecDeque<Bytes>,
}

impl Recycler {
    /// A buffer of at least `len` initialised bytes: a released one when the
    /// oldest shared buffer is free and large enough, else a new one of `fresh`.
    pub(crate) fn take(&mut self, len: usize, fresh: usize) -> Vec<u8> {
        if let Some(oldest) = self.shared.pop_front() {
            match oldest.try_into_mut() {
                Ok(free) if free.len() >= len => return Vec::from(free),
                Ok(_) => {}
                Err(busy) => self.shared.push_front(busy),
            }
        }
        vec![0; len.max(fresh)]
    }

    /// Remembers a buffer now shared with jobs, to reuse it when they are done.
    pub(crate) fn share(&mut self, buffer: &Bytes) {
        if self.shared.len() >= TRACKED {
            self.shared.pop_front();
        }
        self.shared.push_back(buffer.clone());
    }
}
