//! The OpenFlow flow: what OpenFlow rules match on.
//!
//! Idea: a [`Flow`] is the datapath's [`FlowKey`] plus the pipeline-only
//! fields OpenFlow adds (`metadata`, `reg0`–`reg15`), as Open vSwitch's
//! `struct flow` is a superset of its datapath key. Like `FlowKey` it is
//! plain old data viewed as [`FLOW_U64S`] `u64` words so the classifier can
//! mask, hash and compare it with no per-field branching. A mask is a `Flow`
//! too (bit 1 = significant).
//!
//! Invariants: `key.in_port` holds the **OpenFlow** port number (16-bit OVS
//! `ofp_port` value, `OFPP_LOCAL` = 0xfffe), not the datapath port; the
//! struct has no padding bytes other than `FlowKey`'s own pad fields, which
//! are always 0.

use bytemuck::{Pod, Zeroable};
use packet::flow::{FlowKey, FLOW_WORDS};

/// Number of `u64` words in a [`Flow`]: the key's words, `metadata`, 8 words of registers.
pub const FLOW_U64S: usize = FLOW_WORDS + 1 + 8;

/// Number of 32-bit registers (`reg0`…`reg15`, NXM_NX_REG0…15).
pub const FLOW_N_REGS: usize = 16;

/// The fields an OpenFlow rule can match (OVS `struct flow`, the subset oxvs supports).
///
/// Layout: words 0–13 = [`FlowKey`], word 14 = `metadata`, words 15–22 = `regs`.
#[repr(C, align(8))]
#[derive(Clone, Copy, Pod, Zeroable, PartialEq, Eq, Hash, Default, Debug)]
pub struct Flow {
    /// Packet header fields; `key.in_port` is the OpenFlow port (u16 value), not the datapath port.
    pub key: FlowKey,
    /// OpenFlow metadata register (OXM_OF_METADATA), host order.
    pub metadata: u64,
    /// Nicira registers reg0–reg15 (NXM_NX_REG0…15), host order.
    pub regs: [u32; FLOW_N_REGS],
}

const _: () = assert!(core::mem::size_of::<Flow>() == FLOW_U64S * 8);

impl Flow {
    /// A flow for a packet with datapath key `key` that arrived on OpenFlow port `ofport`
    /// (metadata and registers 0, as at the start of the pipeline).
    pub fn from_key(key: &FlowKey, ofport: u16) -> Flow {
        let mut key = *key;
        key.in_port = u32::from(ofport);
        Flow {
            key,
            metadata: 0,
            regs: [0; FLOW_N_REGS],
        }
    }

    /// The flow as `u64` words (native endian), for masking and hashing.
    #[inline]
    pub fn words(&self) -> &[u64; FLOW_U64S] {
        bytemuck::cast_ref(self)
    }

    /// Mutable word view.
    #[inline]
    pub fn words_mut(&mut self) -> &mut [u64; FLOW_U64S] {
        bytemuck::cast_mut(self)
    }

    /// The OpenFlow ingress port (16-bit OVS `ofp_port`).
    #[inline]
    pub fn in_port(&self) -> u16 {
        self.key.in_port as u16
    }

    /// This flow with every bit that is 0 in `mask` cleared.
    #[inline]
    pub fn masked(&self, mask: &Flow) -> Flow {
        let mut out = Flow::zeroed();
        let (a, m, o) = (self.words(), mask.words(), out.words_mut());
        for i in 0..FLOW_U64S {
            o[i] = a[i] & m[i];
        }
        out
    }

    /// Whether `self` and `other` agree on every bit set in `mask`.
    #[inline]
    pub fn equal_under(&self, other: &Flow, mask: &Flow) -> bool {
        let (a, b, m) = (self.words(), other.words(), mask.words());
        let mut diff = 0u64;
        for i in 0..FLOW_U64S {
            diff |= (a[i] ^ b[i]) & m[i];
        }
        diff == 0
    }

    /// A fast non-cryptographic 64-bit hash of all words (hash a masked flow for lookups).
    #[inline]
    pub fn hash64(&self) -> u64 {
        let mut h: u64 = 0x9e37_79b9_7f4a_7c15;
        for &w in self.words() {
            h = (h.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
        h ^ (h >> 29)
    }

    /// Whether every word is 0 (for a mask: matches everything).
    pub fn is_zero(&self) -> bool {
        self.words().iter().all(|&w| w == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_key_sets_ofport_and_keeps_fields() {
        let k = FlowKey {
            in_port: 7,
            dl_type: 0x0800,
            tp_dst: 80,
            ..Default::default()
        };
        let f = Flow::from_key(&k, 0xfffe);
        assert_eq!(f.in_port(), 0xfffe);
        assert_eq!(f.key.tp_dst, 80);
        assert_eq!(f.key.dl_type, 0x0800);
        assert_eq!(f.metadata, 0);
    }

    #[test]
    fn masked_and_equal_under_agree() {
        let mut a = Flow::default();
        a.regs[3] = 0xdead_beef;
        a.metadata = 5;
        let mut m = Flow::default();
        m.regs[3] = 0xffff_0000;
        let b = a.masked(&m);
        assert_eq!(b.regs[3], 0xdead_0000);
        assert_eq!(b.metadata, 0);
        assert!(a.equal_under(&b, &m));
        m.metadata = 1;
        assert!(!a.equal_under(&b, &m));
    }
}
