//! The little DER this crate needs: reading SubjectPublicKeyInfo and PKCS#1/PKCS#8 RSA keys to
//! get at their components, and nothing else. Every length is checked; nothing panics on input.

use crate::error::{Error, Result};

fn bad() -> Error {
    Error::InvalidKey("malformed DER".into())
}

pub const TAG_INTEGER: u8 = 0x02;
pub const TAG_BIT_STRING: u8 = 0x03;
pub const TAG_OCTET_STRING: u8 = 0x04;
pub const TAG_NULL: u8 = 0x05;
pub const TAG_OID: u8 = 0x06;
pub const TAG_SEQUENCE: u8 = 0x30;

/// A cursor over DER bytes.
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn peek_tag(&self) -> Option<u8> {
        self.data.first().copied()
    }

    /// Reads one TLV with the expected tag and returns its contents.
    pub fn read(&mut self, tag: u8) -> Result<&'a [u8]> {
        let (&t, rest) = self.data.split_first().ok_or_else(bad)?;
        if t != tag {
            return Err(bad());
        }
        let (&first, mut rest) = rest.split_first().ok_or_else(bad)?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return Err(bad());
            }
            let mut len = 0usize;
            for &b in &rest[..n] {
                len = (len << 8) | usize::from(b);
            }
            rest = &rest[n..];
            // DER: the shortest length form.
            if len < 0x80 || (n > 1 && rest.is_empty()) {
                return Err(bad());
            }
            len
        };
        if rest.len() < len {
            return Err(bad());
        }
        let (value, after) = rest.split_at(len);
        self.data = after;
        Ok(value)
    }

    /// Reads a non-negative INTEGER and returns it without leading zero bytes.
    pub fn read_uint(&mut self) -> Result<&'a [u8]> {
        let v = self.read(TAG_INTEGER)?;
        if v.is_empty() || v[0] & 0x80 != 0 {
            return Err(bad());
        }
        let start = v.iter().position(|&b| b != 0).unwrap_or(v.len());
        Ok(&v[start..])
    }
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Writes one TLV.
pub fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    out.push(tag);
    push_len(&mut out, value.len());
    out.extend_from_slice(value);
    out
}

/// Writes a non-negative INTEGER from big-endian bytes.
pub fn uint(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let b = &bytes[start..];
    let mut v = Vec::with_capacity(b.len() + 1);
    if b.is_empty() || b[0] & 0x80 != 0 {
        v.push(0);
    }
    v.extend_from_slice(b);
    tlv(TAG_INTEGER, &v)
}

// Object identifiers, DER-encoded contents.
pub const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
pub const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
pub const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
pub const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
pub const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
pub const OID_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];

/// A parsed SubjectPublicKeyInfo: algorithm OID, optional parameter OID, key bits.
pub struct Spki<'a> {
    pub algorithm: &'a [u8],
    pub parameter: Option<&'a [u8]>,
    pub key: &'a [u8],
}

pub fn parse_spki(der: &[u8]) -> Result<Spki<'_>> {
    let mut outer = Reader::new(der);
    let mut seq = Reader::new(outer.read(TAG_SEQUENCE)?);
    if !outer.is_empty() {
        return Err(bad());
    }
    let mut alg = Reader::new(seq.read(TAG_SEQUENCE)?);
    let algorithm = alg.read(TAG_OID)?;
    let parameter = match alg.peek_tag() {
        Some(TAG_OID) => Some(alg.read(TAG_OID)?),
        Some(TAG_NULL) => {
            alg.read(TAG_NULL)?;
            None
        }
        None => None,
        _ => return Err(bad()),
    };
    let bits = seq.read(TAG_BIT_STRING)?;
    let (&unused, key) = bits.split_first().ok_or_else(bad)?;
    if unused != 0 || !seq.is_empty() {
        return Err(bad());
    }
    Ok(Spki {
        algorithm,
        parameter,
        key,
    })
}

/// `RSAPublicKey ::= SEQUENCE { n INTEGER, e INTEGER }` → (n, e).
pub fn parse_rsa_public(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    let mut outer = Reader::new(der);
    let mut seq = Reader::new(outer.read(TAG_SEQUENCE)?);
    let n = seq.read_uint()?.to_vec();
    let e = seq.read_uint()?.to_vec();
    if !seq.is_empty() || !outer.is_empty() {
        return Err(bad());
    }
    Ok((n, e))
}

/// The eight RSA private components (n, e, d, p, q, dp, dq, qi) from PKCS#8 DER.
pub fn parse_rsa_pkcs8(der: &[u8]) -> Result<[Vec<u8>; 8]> {
    let mut outer = Reader::new(der);
    let mut seq = Reader::new(outer.read(TAG_SEQUENCE)?);
    seq.read_uint()?; // version
    let mut alg = Reader::new(seq.read(TAG_SEQUENCE)?);
    if alg.read(TAG_OID)? != OID_RSA {
        return Err(bad());
    }
    let inner = seq.read(TAG_OCTET_STRING)?;
    let mut rsa_outer = Reader::new(inner);
    let mut rsa = Reader::new(rsa_outer.read(TAG_SEQUENCE)?);
    rsa.read_uint()?; // version
    let mut parts: [Vec<u8>; 8] = Default::default();
    for part in parts.iter_mut() {
        *part = rsa.read_uint()?.to_vec();
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_rejects() {
        let seq = tlv(TAG_SEQUENCE, &[uint(&[0x80]), uint(&[0, 0, 5])].concat());
        let mut r = Reader::new(&seq);
        let mut inner = Reader::new(r.read(TAG_SEQUENCE).unwrap());
        assert_eq!(inner.read_uint().unwrap(), &[0x80]);
        assert_eq!(inner.read_uint().unwrap(), &[5]);
        assert!(Reader::new(&[0x30, 0x85, 0, 0, 0, 0, 1])
            .read(TAG_SEQUENCE)
            .is_err());
        assert!(Reader::new(&[0x30, 0x81, 0x05, 0])
            .read(TAG_SEQUENCE)
            .is_err());
        assert!(Reader::new(&[0x02, 0x01, 0x80]).read_uint().is_err());
        assert!(Reader::new(&[]).read(TAG_SEQUENCE).is_err());
        let long = tlv(TAG_OCTET_STRING, &[7u8; 300]);
        assert_eq!(
            Reader::new(&long).read(TAG_OCTET_STRING).unwrap().len(),
            300
        );
    }
}
