//! Reading the files a config names (keys, fences, SRS points, the config
//! itself) without trusting them to be small.
//!
//! A path can name `/dev/zero`, a FIFO that never ends or a file that grows
//! while it is read; `stat` says nothing reliable about any of them. Every
//! such read stops after a stated number of bytes.

use std::{
    io::{self, Read},
    path::Path,
};

/// A file held more than the bytes allowed for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("larger than the {limit}-byte limit for this file")]
pub struct FileTooLarge {
    /// The limit, in bytes.
    pub limit: u64,
}

/// Reads at most `limit` bytes of `path`; a longer file (or an endless one)
/// is an [`io::Error`] wrapping [`FileTooLarge`], after reading `limit + 1`
/// bytes and no more.
pub fn read_capped(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let hint = file
        .metadata()
        .map_or(0, |m| m.len())
        .min(limit.saturating_add(1));
    let mut bytes = Vec::with_capacity(usize::try_from(hint).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            FileTooLarge { limit },
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn an_endless_file_is_refused_after_the_limit() {
        let e = read_capped(Path::new("/dev/zero"), 4096).unwrap_err();
        assert_eq!(
            e.to_string(),
            "larger than the 4096-byte limit for this file"
        );
    }

    #[test]
    fn a_file_within_the_limit_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(read_capped(&path, 10).unwrap(), b"0123456789");
        assert!(read_capped(&path, 9).is_err());
    }
}
