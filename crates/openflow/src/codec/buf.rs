//! Bounds-checked big-endian reader and writer helpers for the codec.
//! Every read checks the remaining length and fails with the error the
//! caller chose for "too short" (e.g. OFPBRC_BAD_LEN, OFPBMC_BAD_LEN).

use crate::error::OfpError;

/// A cursor over untrusted bytes; reads past the end fail with `err`.
#[derive(Clone, Copy)]
pub(crate) struct Rd<'a> {
    buf: &'a [u8],
    pub(crate) err: OfpError,
}

impl<'a> Rd<'a> {
    pub(crate) fn new(buf: &'a [u8], err: OfpError) -> Rd<'a> {
        Rd { buf, err }
    }
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], OfpError> {
        if n > self.buf.len() {
            return Err(self.err);
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Ok(a)
    }
    pub(crate) fn arr<const N: usize>(&mut self) -> Result<[u8; N], OfpError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    pub(crate) fn u8(&mut self) -> Result<u8, OfpError> {
        Ok(self.take(1)?[0])
    }
    pub(crate) fn u16(&mut self) -> Result<u16, OfpError> {
        Ok(u16::from_be_bytes(self.arr()?))
    }
    pub(crate) fn u32(&mut self) -> Result<u32, OfpError> {
        Ok(u32::from_be_bytes(self.arr()?))
    }
    pub(crate) fn u64(&mut self) -> Result<u64, OfpError> {
        Ok(u64::from_be_bytes(self.arr()?))
    }
    pub(crate) fn skip(&mut self, n: usize) -> Result<(), OfpError> {
        self.take(n).map(|_| ())
    }
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.buf)
    }
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    /// Peeks a big-endian u16 at offset `ofs` without consuming.
    /// One TLV property (OpenFlow 1.4+ §7.2.x `ofp_*_prop_header`: type,
    /// length including the 4-byte header, body padded to 8 bytes): the
    /// type and a reader over the unpadded body. Errors:
    /// OFPBPC_BAD_LEN for a length under 4 or past the end.
    pub(crate) fn property(&mut self) -> Result<(u16, Rd<'a>), OfpError> {
        let t = self.u16()?;
        let l = usize::from(self.u16()?);
        if l < 4 {
            return Err(OfpError::BAD_PROPERTY_BAD_LEN);
        }
        let all = self
            .take(round8(l) - 4)
            .map_err(|_| OfpError::BAD_PROPERTY_BAD_LEN)?;
        Ok((t, Rd::new(&all[..l - 4], OfpError::BAD_PROPERTY_BAD_LEN)))
    }

    pub(crate) fn peek_u16(&self, ofs: usize) -> Result<u16, OfpError> {
        match self.buf.get(ofs..ofs + 2) {
            Some(b) => Ok(u16::from_be_bytes([b[0], b[1]])),
            None => Err(self.err),
        }
    }
    /// A sub-reader over the next `n` bytes (consumed), failing with `err`.
    pub(crate) fn sub(&mut self, n: usize, err: OfpError) -> Result<Rd<'a>, OfpError> {
        Ok(Rd::new(self.take(n)?, err))
    }
}

/// Big-endian writes onto a `Vec<u8>`.
pub(crate) trait Wr {
    fn u8(&mut self, v: u8);
    fn u16(&mut self, v: u16);
    fn u32(&mut self, v: u32);
    fn u64(&mut self, v: u64);
    fn zeros(&mut self, n: usize);
    fn pad8_from(&mut self, start: usize);
    fn set_u16(&mut self, at: usize, v: u16);
    fn fixed_str(&mut self, s: &str, n: usize);
}

impl Wr for Vec<u8> {
    fn u8(&mut self, v: u8) {
        self.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn zeros(&mut self, n: usize) {
        self.resize(self.len() + n, 0);
    }
    /// Zero-pads so that `len - start` is a multiple of 8.
    fn pad8_from(&mut self, start: usize) {
        let n = (self.len() - start) % 8;
        if n != 0 {
            self.zeros(8 - n);
        }
    }
    fn set_u16(&mut self, at: usize, v: u16) {
        self[at..at + 2].copy_from_slice(&v.to_be_bytes());
    }
    /// A NUL-padded fixed-size string field (truncated to `n - 1` bytes).
    fn fixed_str(&mut self, s: &str, n: usize) {
        let b = s.as_bytes();
        let k = b.len().min(n.saturating_sub(1));
        self.extend_from_slice(&b[..k]);
        self.zeros(n - k);
    }
}

/// A fixed-size NUL-padded string field as a `String` (lossy UTF-8, up to the first NUL).
pub(crate) fn parse_str(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Rounds up to a multiple of 8.
pub(crate) fn round8(n: usize) -> usize {
    n.div_ceil(8) * 8
}
