//! EigenDA's payload encoding (`PAYLOAD_ENCODING_VERSION_0`) and its reverse.
//!
//! A payload becomes a blob of 32-byte symbols, each a BN254 scalar:
//! a header symbol `[0x00, version, payload length as big-endian u32, 0…]`,
//! then the payload in 31-byte pieces each behind a zero byte (so every symbol
//! is below the scalar field's modulus `r`), zero-padded to a power-of-two
//! number of symbols. Decoding trusts nothing: every symbol, the header, the
//! length and the padding are checked.

use ark_bn254::Fr;
use ark_ff::{BigInt, PrimeField};

/// Bytes per symbol (field element).
pub const BYTES_PER_SYMBOL: usize = 32;
/// Payload bytes per symbol: one byte is the zero guard.
pub const PAYLOAD_BYTES_PER_SYMBOL: usize = 31;
/// The only payload encoding version defined.
pub const PAYLOAD_ENCODING_VERSION_0: u8 = 0;

/// Why bytes are not a well-formed EigenDA blob.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodingError {
    /// The payload is longer than a u32 can say.
    #[error("a payload of {0} bytes is too long to encode")]
    PayloadTooLong(usize),
    /// The blob is not a whole, power-of-two number of symbols.
    #[error("a blob of {0} bytes is not a power-of-two number of 32-byte symbols")]
    BadLength(usize),
    /// A symbol is not below the scalar field's modulus.
    #[error("symbol {0} is not a BN254 scalar (>= r)")]
    NotAScalar(usize),
    /// The header's first byte or the guard byte of a symbol is not zero.
    #[error("symbol {0} does not start with the zero guard byte")]
    BadGuardByte(usize),
    /// An unknown encoding version.
    #[error("unknown payload encoding version {0}")]
    UnknownVersion(u8),
    /// The header claims more payload than the blob holds.
    #[error("the header claims {claimed} payload bytes; the blob holds at most {capacity}")]
    LengthBeyondBlob {
        /// The claimed length.
        claimed: u32,
        /// What the blob can hold.
        capacity: usize,
    },
    /// Non-zero bytes after the payload (in the header or the padding).
    #[error("non-zero padding after the payload")]
    NonZeroPadding,
}

/// Encodes a payload into a blob (version 0).
pub fn encode_payload(payload: &[u8]) -> Result<Vec<u8>, EncodingError> {
    let len =
        u32::try_from(payload.len()).map_err(|_| EncodingError::PayloadTooLong(payload.len()))?;
    let symbols = 1 + payload.len().div_ceil(PAYLOAD_BYTES_PER_SYMBOL);
    let mut blob = vec![0u8; symbols.next_power_of_two() * BYTES_PER_SYMBOL];
    if let Some(header) = blob.get_mut(..6) {
        header[1] = PAYLOAD_ENCODING_VERSION_0;
        header[2..6].copy_from_slice(&len.to_be_bytes());
    }
    for (i, piece) in payload.chunks(PAYLOAD_BYTES_PER_SYMBOL).enumerate() {
        let start = (i + 1) * BYTES_PER_SYMBOL + 1;
        if let Some(dst) = blob.get_mut(start..start + piece.len()) {
            dst.copy_from_slice(piece);
        }
    }
    Ok(blob)
}

/// Splits a blob into its symbols as scalars, rejecting any symbol >= r.
pub fn blob_to_scalars(blob: &[u8]) -> Result<Vec<Fr>, EncodingError> {
    if blob.is_empty() || !blob.len().is_multiple_of(BYTES_PER_SYMBOL) {
        return Err(EncodingError::BadLength(blob.len()));
    }
    blob.chunks_exact(BYTES_PER_SYMBOL)
        .enumerate()
        .map(|(i, symbol)| scalar_from_be(symbol).ok_or(EncodingError::NotAScalar(i)))
        .collect()
}

/// A big-endian 32-byte integer as a scalar, or `None` when it is >= r.
pub(crate) fn scalar_from_be(bytes: &[u8]) -> Option<Fr> {
    Fr::from_bigint(bigint_from_be(bytes)?)
}

/// A big-endian 32-byte integer as four little-endian limbs.
pub(crate) fn bigint_from_be(bytes: &[u8]) -> Option<BigInt<4>> {
    if bytes.len() != 32 {
        return None;
    }
    let mut limbs = [0u64; 4];
    for (i, limb) in limbs.iter_mut().enumerate() {
        let start = 24 - 8 * i;
        let mut word = [0u8; 8];
        word.copy_from_slice(bytes.get(start..start + 8)?);
        *limb = u64::from_be_bytes(word);
    }
    Some(BigInt::new(limbs))
}

/// Decodes a blob back into its payload, checking every rule of the encoding.
pub fn decode_blob(blob: &[u8]) -> Result<Vec<u8>, EncodingError> {
    let count = blob.len() / BYTES_PER_SYMBOL;
    if !blob.len().is_multiple_of(BYTES_PER_SYMBOL) || !count.is_power_of_two() {
        return Err(EncodingError::BadLength(blob.len()));
    }
    let mut symbols = blob.chunks_exact(BYTES_PER_SYMBOL);
    let header = symbols.next().ok_or(EncodingError::BadLength(blob.len()))?;
    let byte = |i: usize| header.get(i).copied().unwrap_or(0);
    if byte(0) != 0 {
        return Err(EncodingError::BadGuardByte(0));
    }
    if byte(1) != PAYLOAD_ENCODING_VERSION_0 {
        return Err(EncodingError::UnknownVersion(byte(1)));
    }
    let claimed = u32::from_be_bytes([byte(2), byte(3), byte(4), byte(5)]);
    if header.iter().skip(6).any(|b| *b != 0) {
        return Err(EncodingError::NonZeroPadding);
    }
    let capacity = (count - 1) * PAYLOAD_BYTES_PER_SYMBOL;
    if claimed as usize > capacity {
        return Err(EncodingError::LengthBeyondBlob { claimed, capacity });
    }
    let mut payload = Vec::with_capacity(claimed as usize);
    for (i, symbol) in symbols.enumerate() {
        let (guard, data) = symbol
            .split_first()
            .ok_or(EncodingError::BadLength(blob.len()))?;
        if *guard != 0 {
            return Err(EncodingError::BadGuardByte(i + 1));
        }
        let wanted = (claimed as usize - payload.len()).min(PAYLOAD_BYTES_PER_SYMBOL);
        let (kept, rest) = data.split_at(wanted);
        payload.extend_from_slice(kept);
        if rest.iter().any(|b| *b != 0) {
            return Err(EncodingError::NonZeroPadding);
        }
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_pads_to_a_power_of_two() {
        for len in [0usize, 1, 30, 31, 32, 62, 63, 100, 1000, 4000] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 13 + 7) as u8).collect();
            let blob = encode_payload(&payload).unwrap();
            let symbols = blob.len() / 32;
            assert!(symbols.is_power_of_two());
            assert_eq!(symbols, (1 + len.div_ceil(31)).next_power_of_two());
            assert_eq!(decode_blob(&blob).unwrap(), payload);
            assert_eq!(blob_to_scalars(&blob).unwrap().len(), symbols);
        }
    }

    #[test]
    fn header_says_version_and_length() {
        let blob = encode_payload(b"hello").unwrap();
        assert_eq!(&blob[..6], &[0, 0, 0, 0, 0, 5]);
        assert_eq!(&blob[32..38], &[0, b'h', b'e', b'l', b'l', b'o']);
        assert_eq!(blob.len(), 64);
    }

    #[test]
    fn rejects_a_symbol_aliased_by_r() {
        // r itself: equal to the modulus, not a scalar (it would alias 0).
        let r = hex::decode("30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001")
            .unwrap();
        let mut blob = encode_payload(b"x").unwrap();
        blob[32..64].copy_from_slice(&r);
        assert_eq!(blob_to_scalars(&blob), Err(EncodingError::NotAScalar(1)));
        assert_eq!(decode_blob(&blob), Err(EncodingError::BadGuardByte(1)));
    }

    #[test]
    fn rejects_malformed_blobs() {
        let blob = encode_payload(&[7u8; 40]).unwrap();
        assert!(matches!(
            decode_blob(&blob[..96]),
            Err(EncodingError::BadLength(96))
        ));
        let mut bad = blob.clone();
        bad[1] = 1;
        assert_eq!(decode_blob(&bad), Err(EncodingError::UnknownVersion(1)));
        let mut bad = blob.clone();
        bad[5] = 200;
        assert!(matches!(
            decode_blob(&bad),
            Err(EncodingError::LengthBeyondBlob { .. })
        ));
        let mut bad = blob.clone();
        bad[127] = 1;
        assert_eq!(decode_blob(&bad), Err(EncodingError::NonZeroPadding));
    }
}
