//! Word hashing for the classifier's hash tables.
//!
//! Every table key in the classifier is either a masked flow (a run of `u64`
//! words) or an already-computed 64-bit hash of one. [`mix`] folds one word
//! into a running hash (a multiply-rotate step, one multiplication per word)
//! and [`finish`] avalanches the result (MurmurHash3's 64-bit finalizer), so
//! that hashbrown's use of the top 7 bits as tags and the low bits as bucket
//! index both see well-spread bits. Tables keyed by such a hash use
//! [`IdHasher`], which passes the key through untouched.

use std::hash::{BuildHasherDefault, Hasher};

const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// Folds `word` into the running hash `h`.
#[inline(always)]
pub(crate) fn mix(h: u64, word: u64) -> u64 {
    (h.rotate_left(26) ^ word).wrapping_mul(K)
}

/// Final avalanche of a running hash (MurmurHash3 `fmix64`).
#[inline(always)]
pub(crate) fn finish(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Hasher for keys that already are well-mixed 64-bit hashes.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    #[inline(always)]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline(always)]
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are used; fold anything else for completeness.
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.0 = finish(mix(self.0, u64::from_ne_bytes(buf)));
        }
    }
}

/// Build-hasher for tables keyed by precomputed hashes.
pub(crate) type IdBuild = BuildHasherDefault<IdHasher>;

/// Fast hasher for word-array keys (the subtable-by-mask map).
#[derive(Default, Clone, Copy)]
pub(crate) struct WordHasher(u64);

impl Hasher for WordHasher {
    #[inline]
    fn finish(&self) -> u64 {
        finish(self.0)
    }
    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = mix(self.0, n);
    }
    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.0 = mix(self.0, n as u64);
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut buf = [0u8; 8];
            buf.copy_from_slice(c);
            self.0 = mix(self.0, u64::from_ne_bytes(buf));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.0 = mix(
                self.0,
                u64::from_ne_bytes(buf) ^ ((rest.len() as u64) << 56),
            );
        }
    }
}

/// Build-hasher for word-array keys.
pub(crate) type WordBuild = BuildHasherDefault<WordHasher>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_spreads_single_bit_changes() {
        // Flipping any one input bit must change about half the output bits.
        for bit in 0..64 {
            let a = finish(mix(0, 0));
            let b = finish(mix(0, 1u64 << bit));
            let d = (a ^ b).count_ones();
            assert!((12..=52).contains(&d), "bit {bit}: {d} bits differ");
        }
    }

    #[test]
    fn word_hasher_distinguishes_arrays() {
        use std::hash::BuildHasher;
        let b = WordBuild::default();
        let h = |x: &[u64; 3]| b.hash_one(x);
        assert_ne!(h(&[1, 0, 0]), h(&[0, 1, 0]));
        assert_ne!(h(&[0, 0, 0]), h(&[0, 0, 1]));
    }
}
