//! Prefix tries over one flow field (OVS's classifier "tries").
//!
//! Idea: for a field such as `nw_dst`, keep one binary trie holding the
//! prefix of every rule whose mask on that field is a CIDR-style prefix
//! (`/plen`, `plen > 0`), counted per prefix. A lookup walks the trie along
//! the packet's field value once and learns two things: the set of prefix
//! lengths at which some rule's prefix equals the packet's (`plens`), and how
//! many leading bits of the field it had to read to know that (`maskbits`).
//! Any packet agreeing on those `maskbits` bits takes the same path and gets
//! the same `plens`, so a subtable whose prefix length is not in `plens` can
//! be skipped while un-wildcarding only `maskbits` bits instead of the whole
//! `/plen`.
//!
//! Invariants: the trie is path-compressed: every node except the root has
//! rules or two children; each child's bit segment starts with the bit that
//! selects it (`edges[bit]`); segments are stored left-aligned in a `u64` and
//! the depth never exceeds 64 bits. Nodes live in an arena (`Vec`) with a free
//! list, so insert/remove allocate only when the arena grows.
//!
//! Performance: lookup is one walk of at most 65 nodes, usually a handful;
//! about two nodes (48 bytes) per distinct prefix.

const NIL: u32 = u32::MAX;

/// Byte order of a prefix field within its flow word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldOrder {
    /// The field is the integer `(word >> shift) & ((1 << len) - 1)`: its
    /// prefix runs from that integer's most significant bit. Use for fields
    /// stored as host-order integers (e.g. `tp_src: u16`).
    Host,
    /// The field is stored as bytes in network order (e.g. `nw_dst: [u8; 4]`)
    /// inside the word's in-memory bytes: the word is first read as a
    /// big-endian integer of its memory bytes (`u64::from_be_bytes(
    /// word.to_ne_bytes())`), then `shift`/`len` apply to that integer, so
    /// the prefix runs from the first byte's most significant bit.
    Network,
}

/// A flow field on which the classifier keeps a prefix trie (OVS
/// `Flow_Table:prefixes`, e.g. `nw_src`, `nw_dst`, `tp_src`, `tp_dst`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TrieField {
    /// Index of the flow word (`0..N`) holding the field.
    pub word: usize,
    /// Bit offset of the field's least significant bit, in the (possibly
    /// byte-reordered, see [`FieldOrder`]) word; `shift + len <= 64`.
    pub shift: u32,
    /// Field length in bits, `1..=64`.
    pub len: u32,
    /// How the field's bits are laid out in the word.
    pub order: FieldOrder,
}

impl TrieField {
    /// A host-order integer field of `len` bits at bit `shift` of `word`.
    pub const fn host(word: usize, shift: u32, len: u32) -> Self {
        TrieField {
            word,
            shift,
            len,
            order: FieldOrder::Host,
        }
    }

    /// A network-order byte field of `n_bytes` bytes starting at byte
    /// `byte_offset` (in memory order) of `word`, e.g. `nw_dst` at bytes 4..8
    /// of a flow word is `network(word, 4, 4)`. An out-of-range field is
    /// returned with `len == 0`, which the classifier rejects.
    pub const fn network(word: usize, byte_offset: u32, n_bytes: u32) -> Self {
        if n_bytes == 0 || byte_offset >= 8 || n_bytes > 8 - byte_offset {
            return TrieField {
                word,
                shift: 0,
                len: 0,
                order: FieldOrder::Network,
            };
        }
        TrieField {
            word,
            shift: 64 - 8 * (byte_offset + n_bytes),
            len: 8 * n_bytes,
            order: FieldOrder::Network,
        }
    }

    /// Whether the field fits in a word of an `n_words`-word flow.
    pub(crate) fn is_valid(&self, n_words: usize) -> bool {
        self.word < n_words && self.len >= 1 && self.len <= 64 && self.shift <= 64 - self.len
    }

    /// Maps a word between memory layout and field layout (an involution).
    #[inline(always)]
    fn reorder(&self, w: u64) -> u64 {
        match self.order {
            FieldOrder::Host => w,
            FieldOrder::Network => u64::from_be_bytes(w.to_ne_bytes()),
        }
    }

    /// The field's bits of flow word `w`, left-aligned (first prefix bit at
    /// bit 63).
    #[inline(always)]
    pub(crate) fn left_aligned(&self, w: u64) -> u64 {
        (self.reorder(w) >> self.shift) << (64 - self.len)
    }

    /// The flow-word mask selecting the first `plen` bits of the field
    /// (`plen` clamped to `len`; 0 gives 0), e.g. a `/24` on `nw_dst`.
    #[inline]
    pub fn prefix_mask(&self, plen: u32) -> u64 {
        let plen = plen.min(self.len);
        if plen == 0 {
            return 0;
        }
        let left = u64::MAX << (64 - plen);
        self.reorder((left >> (64 - self.len)) << self.shift)
    }

    /// The prefix length of `mask_word` on this field, or 0 when the field is
    /// wildcarded or its mask is not a prefix (then the trie cannot help).
    pub(crate) fn plen_of_mask(&self, mask_word: u64) -> u32 {
        let m = self.left_aligned(mask_word);
        let ones = m.leading_ones();
        if ones == 0 || m != u64::MAX.checked_shl(64 - ones).unwrap_or(0) {
            0
        } else {
            ones
        }
    }
}

#[derive(Clone, Debug)]
struct Node {
    /// Segment bits, left-aligned; bits past `n_bits` are zero.
    bits: u64,
    n_bits: u32,
    /// Rules whose prefix ends exactly at the end of this segment.
    n_rules: u32,
    edges: [u32; 2],
}

/// Where a node pointer lives: the root or a child edge of a node.
#[derive(Clone, Copy)]
enum Link {
    Root,
    Edge(u32, usize),
}

/// `v`'s bits from `ofs` on, left-aligned.
#[inline(always)]
fn shl(v: u64, ofs: u32) -> u64 {
    v.checked_shl(ofs).unwrap_or(0)
}

/// `n` bits of `v` from `ofs`, left-aligned, rest zero.
#[inline(always)]
fn segment(v: u64, ofs: u32, n: u32) -> u64 {
    shl(v, ofs) & !u64::MAX.checked_shr(n).unwrap_or(0)
}

/// Number of leading bits of a node segment equal to `v` from `ofs`.
#[inline(always)]
fn equal_bits(bits: u64, n_bits: u32, v: u64, ofs: u32) -> u32 {
    (bits ^ shl(v, ofs)).leading_zeros().min(n_bits)
}

#[inline(always)]
fn bit_at(v: u64, ofs: u32) -> usize {
    (shl(v, ofs) >> 63) as usize
}

/// One prefix trie (see the module comment).
#[derive(Clone, Debug)]
pub(crate) struct Trie {
    nodes: Vec<Node>,
    free: Vec<u32>,
    root: u32,
}

impl Default for Trie {
    fn default() -> Self {
        Trie {
            nodes: Vec::new(),
            free: Vec::new(),
            root: NIL,
        }
    }
}

impl Trie {
    fn get(&self, link: Link) -> u32 {
        match link {
            Link::Root => self.root,
            Link::Edge(n, b) => self.nodes[n as usize].edges[b],
        }
    }

    fn set(&mut self, link: Link, to: u32) {
        match link {
            Link::Root => self.root = to,
            Link::Edge(n, b) => self.nodes[n as usize].edges[b] = to,
        }
    }

    fn alloc(&mut self, node: Node) -> u32 {
        if let Some(i) = self.free.pop() {
            self.nodes[i as usize] = node;
            i
        } else {
            self.nodes.push(node);
            (self.nodes.len() - 1) as u32
        }
    }

    fn leaf(&mut self, v: u64, ofs: u32, plen: u32) -> u32 {
        self.alloc(Node {
            bits: segment(v, ofs, plen - ofs),
            n_bits: plen - ofs,
            n_rules: 1,
            edges: [NIL; 2],
        })
    }

    /// Heap bytes held by the arena.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>() + self.free.capacity() * 4
    }

    /// Counts one rule with prefix `plen` (`1..=64`) of left-aligned `v`.
    pub(crate) fn insert(&mut self, v: u64, plen: u32) {
        let mut ofs = 0;
        let mut link = Link::Root;
        loop {
            let cur = self.get(link);
            if cur == NIL {
                let leaf = self.leaf(v, ofs, plen);
                self.set(link, leaf);
                return;
            }
            let (bits, n_bits) = {
                let n = &self.nodes[cur as usize];
                (n.bits, n.n_bits)
            };
            let eq = equal_bits(bits, n_bits, v, ofs).min(plen - ofs);
            if eq < n_bits {
                // Split `cur` after `eq` bits: a new parent takes the common part.
                let tail_bit = bit_at(bits, eq);
                let mut parent = Node {
                    bits: segment(bits, 0, eq),
                    n_bits: eq,
                    n_rules: 0,
                    edges: [NIL; 2],
                };
                parent.edges[tail_bit] = cur;
                {
                    let n = &mut self.nodes[cur as usize];
                    n.bits = shl(bits, eq);
                    n.n_bits -= eq;
                }
                ofs += eq;
                if ofs == plen {
                    parent.n_rules = 1;
                    let p = self.alloc(parent);
                    self.set(link, p);
                } else {
                    let p = self.alloc(parent);
                    self.set(link, p);
                    let leaf = self.leaf(v, ofs, plen);
                    self.nodes[p as usize].edges[1 - tail_bit] = leaf;
                }
                return;
            }
            ofs += n_bits;
            if ofs == plen {
                self.nodes[cur as usize].n_rules += 1;
                return;
            }
            link = Link::Edge(cur, bit_at(v, ofs));
        }
    }

    /// Uncounts one rule with prefix `plen` of `v`; false if none was counted.
    pub(crate) fn remove(&mut self, v: u64, plen: u32) -> bool {
        let mut path: Vec<Link> = Vec::new();
        let mut ofs = 0;
        let mut link = Link::Root;
        loop {
            let cur = self.get(link);
            if cur == NIL {
                return false;
            }
            let n = &self.nodes[cur as usize];
            if ofs + n.n_bits > plen || equal_bits(n.bits, n.n_bits, v, ofs) < n.n_bits {
                return false;
            }
            ofs += n.n_bits;
            path.push(link);
            if ofs == plen {
                break;
            }
            link = Link::Edge(cur, bit_at(v, ofs));
        }
        let Some(&target_link) = path.last() else {
            return false;
        };
        let target = self.get(target_link) as usize;
        if self.nodes[target].n_rules == 0 {
            return false;
        }
        self.nodes[target].n_rules -= 1;
        // Restore compression bottom-up: drop empty leaves, merge pass-through nodes.
        while let Some(link) = path.pop() {
            let cur = self.get(link);
            let n = self.nodes[cur as usize].clone();
            if n.n_rules > 0 {
                break;
            }
            match n.edges {
                [NIL, NIL] => {
                    self.set(link, NIL);
                    self.free.push(cur);
                }
                [c, NIL] | [NIL, c] => {
                    let child = self.nodes[c as usize].clone();
                    let m = &mut self.nodes[cur as usize];
                    m.bits = n.bits | child.bits.checked_shr(n.n_bits).unwrap_or(0);
                    m.n_bits = n.n_bits + child.n_bits;
                    m.n_rules = child.n_rules;
                    m.edges = child.edges;
                    self.free.push(c);
                    break;
                }
                _ => break,
            }
        }
        true
    }

    /// Walks the trie along left-aligned `v` of a `len`-bit field. Returns the
    /// set of matching prefix lengths (bit `p` set when some rule's `/p`
    /// prefix equals `v`'s) and the number of leading bits of `v` that
    /// determine that set.
    #[inline]
    pub(crate) fn lookup(&self, v: u64, len: u32) -> (u128, u32) {
        let mut plens = 0u128;
        let mut ofs = 0;
        let mut node = self.root;
        let mut prev = NIL;
        while node != NIL {
            let n = &self.nodes[node as usize];
            let eq = equal_bits(n.bits, n.n_bits, v, ofs);
            ofs += eq;
            if eq < n.n_bits {
                // The bit at `ofs` differs: nothing longer can match.
                return (plens, ofs + 1);
            }
            if n.n_rules > 0 {
                plens |= 1u128 << ofs;
            }
            if ofs >= len {
                return (plens, ofs);
            }
            prev = node;
            node = n.edges[bit_at(v, ofs)];
        }
        // Fell off a missing edge: the bit choosing it matters only if the
        // other edge exists.
        let leaf = prev == NIL || self.nodes[prev as usize].edges == [NIL; 2];
        (plens, if leaf { ofs } else { ofs + 1 })
    }

    #[cfg(test)]
    fn live_nodes(&self) -> usize {
        self.nodes.len() - self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn prefix(v: u64, p: u32) -> u64 {
        segment(v, 0, p)
    }

    /// Reference: plens by brute force; maskbits checked by flipping bits.
    fn naive_plens(set: &[(u64, u32)], v: u64) -> u128 {
        set.iter()
            .filter(|&&(r, p)| prefix(r, p) == prefix(v, p))
            .fold(0, |a, &(_, p)| a | 1u128 << p)
    }

    proptest! {
        #[test]
        fn trie_matches_reference(
            ops in prop::collection::vec((any::<bool>(), 0u64..16, 1u32..=8), 1..60),
            probes in prop::collection::vec(0u64..256, 1..20),
        ) {
            // 8-bit field, left-aligned in the u64.
            let mut t = Trie::default();
            let mut set: Vec<(u64, u32)> = Vec::new();
            for (ins, x, p) in ops {
                let v = (x * 37 % 256) << 56;
                let v = prefix(v, p);
                if ins || set.is_empty() {
                    t.insert(v, p);
                    set.push((v, p));
                } else {
                    let (rv, rp) = set.remove((x as usize) % set.len());
                    prop_assert!(t.remove(rv, rp));
                }
                for &pr in &probes {
                    let v = pr << 56;
                    let (plens, maskbits) = t.lookup(v, 8);
                    prop_assert_eq!(plens, naive_plens(&set, v));
                    prop_assert!(maskbits <= 8);
                    // Every value agreeing on the first maskbits bits has the same plens.
                    for other in 0u64..256 {
                        let o = other << 56;
                        if prefix(o, maskbits) == prefix(v, maskbits) {
                            prop_assert_eq!(naive_plens(&set, o), plens);
                        }
                    }
                }
            }
            // Removing everything leaves an empty trie.
            for (v, p) in set.drain(..) {
                prop_assert!(t.remove(v, p));
            }
            prop_assert_eq!(t.live_nodes(), 0);
            prop_assert_eq!(t.lookup(0, 8), (0, 0));
        }
    }

    #[test]
    fn remove_absent_is_false() {
        let mut t = Trie::default();
        t.insert(0xC0A8_0000_0000_0000, 16);
        assert!(!t.remove(0xC0A8_0000_0000_0000, 24));
        assert!(!t.remove(0xC0A9_0000_0000_0000, 16));
        assert!(!t.remove(0xC000_0000_0000_0000, 8));
        assert!(t.remove(0xC0A8_0000_0000_0000, 16));
        assert!(!t.remove(0xC0A8_0000_0000_0000, 16));
    }

    #[test]
    fn full_64_bit_prefixes() {
        let mut t = Trie::default();
        t.insert(u64::MAX, 64);
        t.insert(u64::MAX - 1, 64);
        assert_eq!(t.lookup(u64::MAX, 64).0, 1u128 << 64);
        assert_eq!(t.lookup(u64::MAX - 2, 64).0, 0);
        assert!(t.remove(u64::MAX, 64));
        assert!(t.remove(u64::MAX - 1, 64));
        assert_eq!(t.live_nodes(), 0);
    }

    #[test]
    fn field_layouts() {
        // nw_dst as bytes 4..8 of a word, network order.
        let f = TrieField::network(3, 4, 4);
        assert!(f.is_valid(4));
        let mut bytes = [0u8; 8];
        bytes[4..8].copy_from_slice(&[10, 1, 2, 3]);
        let w = u64::from_ne_bytes(bytes);
        assert_eq!(f.left_aligned(w) >> 32, 0x0A01_0203);
        let mut m = [0u8; 8];
        m[4..7].copy_from_slice(&[255, 255, 255]);
        assert_eq!(f.prefix_mask(24), u64::from_ne_bytes(m));
        assert_eq!(f.plen_of_mask(u64::from_ne_bytes(m)), 24);
        assert!(!TrieField::network(0, 6, 4).is_valid(4));
        // tp_dst as a host-order u16 at bits 16..32.
        let g = TrieField::host(0, 16, 16);
        assert_eq!(g.prefix_mask(4), 0xF000_0000);
        assert_eq!(g.plen_of_mask(0xFF00_0000), 8);
        assert_eq!(g.plen_of_mask(0x00FF_0000), 0, "not a prefix");
        assert_eq!(g.plen_of_mask(0xFFFF), 0, "outside the field");
    }
}
