//! The UnixFS `Data` message carried in a dag-pb node's `Data` field.
//!
//! Hand-written on top of quick-protobuf's reader and writer: the message has
//! eight fields, of which a file needs four, and no maintained crate exposes
//! it without also pulling in a whole IPFS implementation.

use quick_protobuf::{BytesReader, Writer, sizeofs::sizeof_varint};

/// UnixFS `DataType` values that may appear in a file's DAG.
const TYPE_RAW: i32 = 0;
const TYPE_FILE: i32 = 2;

/// The part of a UnixFS `Data` message that describes (part of) a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileData<'a> {
    /// Bytes of the file held by this node itself.
    pub(crate) data: &'a [u8],
    /// The size of the file below this node (`filesize`), when present.
    pub(crate) filesize: Option<u64>,
    /// The file size below each link, in link order.
    pub(crate) blocksizes: Vec<u64>,
}

/// Why a UnixFS message is not part of a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnixfsError {
    /// The protobuf is malformed.
    #[error("malformed UnixFS data: {0}")]
    Malformed(String),
    /// The required `Type` field is missing.
    #[error("UnixFS data has no Type")]
    MissingType,
    /// A directory, symlink, HAMT shard or metadata node where a file was expected.
    #[error("UnixFS node of type {0} is not part of a file")]
    NotAFile(i32),
}

impl<'a> FileData<'a> {
    /// Decodes the message, accepting only `File` and `Raw` nodes.
    pub(crate) fn decode(bytes: &'a [u8]) -> Result<Self, UnixfsError> {
        let malformed = |e: quick_protobuf::Error| UnixfsError::Malformed(e.to_string());
        let mut reader = BytesReader::from_bytes(bytes);
        let mut kind = None;
        let mut data: &[u8] = &[];
        let mut filesize = None;
        let mut blocksizes = Vec::new();
        while !reader.is_eof() {
            let tag = reader.next_tag(bytes).map_err(malformed)?;
            match tag {
                8 => kind = Some(reader.read_int32(bytes).map_err(malformed)?),
                18 => data = reader.read_bytes(bytes).map_err(malformed)?,
                24 => filesize = Some(reader.read_uint64(bytes).map_err(malformed)?),
                32 => blocksizes.push(reader.read_uint64(bytes).map_err(malformed)?),
                34 => {
                    // Packed encoding of the repeated field, legal in protobuf.
                    let packed = reader
                        .read_packed(bytes, |r, b| r.read_uint64(b))
                        .map_err(malformed)?;
                    blocksizes.extend(packed);
                }
                other => reader.read_unknown(bytes, other).map_err(malformed)?,
            }
        }
        match kind {
            None => Err(UnixfsError::MissingType),
            Some(TYPE_FILE | TYPE_RAW) => Ok(Self {
                data,
                filesize,
                blocksizes,
            }),
            Some(other) => Err(UnixfsError::NotAFile(other)),
        }
    }

    /// The file size this node claims: `filesize` when present, else its own
    /// data plus its children's sizes.
    pub(crate) fn claimed_size(&self) -> Option<u64> {
        let sum = self
            .blocksizes
            .iter()
            .try_fold(self.data.len() as u64, |acc, b| acc.checked_add(*b))?;
        match self.filesize {
            Some(f) if f != sum => None,
            _ => Some(sum),
        }
    }
}

fn write_field_varint(out: &mut Vec<u8>, tag: u32, value: u64) {
    let mut w = Writer::new(out);
    // Writing to a Vec cannot fail.
    let _ = w.write_tag(tag);
    let _ = w.write_varint(value);
}

/// The UnixFS `Data` of an inner file node: `Type=File`, `filesize`, `blocksizes`.
pub(crate) fn encode_file_node(blocksizes: &[u64]) -> Vec<u8> {
    let filesize: u64 = blocksizes.iter().sum();
    let mut out = Vec::with_capacity(4 + 11 * (blocksizes.len() + 1));
    write_field_varint(&mut out, 8, TYPE_FILE as u64);
    write_field_varint(&mut out, 24, filesize);
    for b in blocksizes {
        write_field_varint(&mut out, 32, *b);
    }
    out
}

/// The bytes of a dag-pb leaf holding `len` bytes of a file, split around the
/// data so the chunk itself is hashed in place: `prefix ‖ chunk ‖ suffix` is
/// the block `PBNode { Data: UnixFS { Type: File, Data: chunk, filesize: len } }`.
pub(crate) fn dag_pb_leaf_frame(len: usize) -> (Vec<u8>, Vec<u8>) {
    let n = len as u64;
    let mut unixfs_head = Vec::with_capacity(16);
    write_field_varint(&mut unixfs_head, 8, TYPE_FILE as u64);
    if len > 0 {
        // `Data` is omitted when empty, as every importer does.
        let _ = Writer::new(&mut unixfs_head).write_tag(18);
        let _ = Writer::new(&mut unixfs_head).write_varint(n);
    }
    let mut suffix = Vec::with_capacity(11);
    write_field_varint(&mut suffix, 24, n);
    let unixfs_len = unixfs_head.len() as u64 + n + suffix.len() as u64;
    let mut prefix = Vec::with_capacity(8 + unixfs_head.len());
    let _ = Writer::new(&mut prefix).write_tag(10);
    let _ = Writer::new(&mut prefix).write_varint(unixfs_len);
    debug_assert_eq!(prefix.len(), 1 + sizeof_varint(unixfs_len));
    prefix.extend_from_slice(&unixfs_head);
    (prefix, suffix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_leaf_frame_matches_the_well_known_empty_file() {
        let (prefix, suffix) = dag_pb_leaf_frame(0);
        let mut block = prefix;
        block.extend_from_slice(&suffix);
        assert_eq!(block, [0x0a, 0x04, 0x08, 0x02, 0x18, 0x00]);
    }

    #[test]
    fn file_node_round_trips() {
        let bytes = encode_file_node(&[262144, 5]);
        let decoded = FileData::decode(&bytes).unwrap();
        assert_eq!(decoded.blocksizes, vec![262144, 5]);
        assert_eq!(decoded.filesize, Some(262149));
        assert_eq!(decoded.claimed_size(), Some(262149));
    }

    #[test]
    fn rejects_a_filesize_that_contradicts_the_blocksizes() {
        let mut bytes = Vec::new();
        write_field_varint(&mut bytes, 8, 2);
        write_field_varint(&mut bytes, 24, 10);
        write_field_varint(&mut bytes, 32, 4);
        assert_eq!(FileData::decode(&bytes).unwrap().claimed_size(), None);
    }

    #[test]
    fn rejects_a_directory_where_a_file_was_expected() {
        let mut bytes = Vec::new();
        write_field_varint(&mut bytes, 8, 1);
        assert_eq!(FileData::decode(&bytes), Err(UnixfsError::NotAFile(1)));
        assert_eq!(FileData::decode(&[]), Err(UnixfsError::MissingType));
        assert!(FileData::decode(&[0x12, 0x05, 1]).is_err());
    }
}
