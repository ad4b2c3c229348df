//! Lexical helpers of the `ovs-ofctl` syntax: key/value splitting and the
//! number, Ethernet, IPv4 and IPv6 spellings (OVS lib/ofp-parse.c,
//! lib/packets.c, lib/util.c semantics; error texts are OVS's).

use std::net::Ipv6Addr;

/// Splits `s` into `key[=:]value` / `key(value)` / bare `key` items as OVS's
/// `ofputil_parse_key_value` does: items are separated by commas or white
/// space; a value after `=` or `:` runs to the next comma or white space
/// (parenthesised groups are kept whole); a value after `(` runs to the
/// matching `)`, and `(x)->y` keeps the `->y` tail.
pub struct KeyValues<'a> {
    rest: &'a str,
}

impl<'a> KeyValues<'a> {
    /// An iterator over the items of `s`.
    pub fn new(s: &'a str) -> Self {
        KeyValues { rest: s }
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// Length of the value starting at `s`, stopping at a byte of `delims` (or
/// the end), skipping balanced parentheses.
fn value_len(s: &[u8], delims: &[u8]) -> usize {
    let mut n = 0;
    while n < s.len() && !delims.contains(&s[n]) {
        if s[n] == b'(' {
            let mut level = 0i32;
            loop {
                if n >= s.len() {
                    return n;
                }
                match s[n] {
                    b'(' => level += 1,
                    b')' => level -= 1,
                    _ => {}
                }
                n += 1;
                if level <= 0 {
                    break;
                }
            }
        } else {
            n += 1;
        }
    }
    n
}

impl<'a> Iterator for KeyValues<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<(&'a str, &'a str)> {
        let b = self.rest.as_bytes();
        let mut i = 0;
        while i < b.len() && (b[i] == b',' || is_space(b[i])) {
            i += 1;
        }
        if i >= b.len() {
            self.rest = "";
            return None;
        }
        let s = &self.rest[i..];
        let sb = s.as_bytes();
        let key_len = sb
            .iter()
            .position(|&c| matches!(c, b':' | b'=' | b'(' | b',') || is_space(c))
            .unwrap_or(sb.len());
        let key = &s[..key_len];
        let delim = sb.get(key_len).copied();
        let after = if delim.is_some() {
            key_len + 1
        } else {
            key_len
        };
        let vdelims: &[u8] = match delim {
            Some(b':') | Some(b'=') => b", \t\r\n",
            Some(b'(') => b")",
            _ => {
                self.rest = &s[after..];
                return Some((key, ""));
            }
        };
        let v = &s[after..];
        let vb = v.as_bytes();
        let mut vlen = value_len(vb, vdelims);
        if delim == Some(b'(')
            && vb.get(vlen) == Some(&b')')
            && vb.get(vlen + 1) == Some(&b'-')
            && vb.get(vlen + 2) == Some(&b'>')
        {
            vlen += value_len(&vb[vlen..], b", \t\r\n");
        }
        let value = &v[..vlen];
        let consumed = if vlen < vb.len() { vlen + 1 } else { vlen };
        self.rest = &v[consumed..];
        Some((key, value))
    }
}

/// Errors of [`parse_int`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntError {
    /// No digits, or a bad digit.
    Syntax,
    /// The value does not fit the field width.
    Range,
}

/// Parses a leading integer of `s` as OVS's `parse_int_string`: `0x` hex of
/// any length (leading zeros ignored), otherwise C `strtoull` with base 0
/// (decimal, or octal after a leading `0`). Returns the value and the
/// unparsed tail. `width` is the field width in bytes (≤ 16).
pub fn parse_int(s: &str, width: usize) -> Result<(u128, &str), IntError> {
    let b = s.as_bytes();
    if b.len() >= 2 && b[0] == b'0' && (b[1] == b'x' || b[1] == b'X') {
        let mut v: u128 = 0;
        let mut digits = 0usize;
        let mut i = 2;
        loop {
            while i < b.len() && is_space(b[i]) {
                i += 1;
            }
            let Some(d) = b.get(i).and_then(|c| (*c as char).to_digit(16)) else {
                break;
            };
            if d != 0 || digits > 0 {
                digits += 1;
                if digits.div_ceil(2) > width {
                    return Err(IntError::Range);
                }
                v = (v << 4) | u128::from(d);
            }
            i += 1;
        }
        return Ok((v, &s[i..]));
    }
    // strtoull(base 0): optional sign, then octal or decimal.
    let mut i = 0;
    while i < b.len() && is_space(b[i]) {
        i += 1;
    }
    let neg = match b.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let radix = if b.get(i) == Some(&b'0') { 8 } else { 10 };
    let start = i;
    let mut v: u128 = 0;
    let mut overflow = false;
    while let Some(d) = b.get(i).and_then(|c| (*c as char).to_digit(radix)) {
        v = v * u128::from(radix) + u128::from(d);
        if v > u128::from(u64::MAX) {
            overflow = true;
        }
        i += 1;
    }
    if i == start {
        return Err(IntError::Syntax);
    }
    if overflow {
        return Err(IntError::Range);
    }
    if neg {
        v = u128::from((v as u64).wrapping_neg());
    }
    if width < 16 && v >> (width * 8) != 0 {
        return Err(IntError::Range);
    }
    Ok((v, &s[i..]))
}

/// Parses all of `s` as an unsigned decimal (OVS `str_to_uint` base 10):
/// optional leading space and sign as C `strtoll`; the value must fit `u32`.
pub fn str_to_uint(s: &str) -> Option<u32> {
    let t = s.trim_start_matches([' ', '\t', '\r', '\n']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let v: i64 = digits.parse().ok()?;
    let v = if neg { -v } else { v };
    u32::try_from(v).ok()
}

/// OVS `str_to_u16`: a full-string integer (C `strtol` base 0) in 0..=65535,
/// else the error `invalid NAME "VALUE"`.
pub fn str_to_u16(s: &str, name: &str) -> Result<u16, String> {
    match str_to_long(s) {
        Some(v) if (0..=0xffff).contains(&v) => Ok(v as u16),
        _ => Err(format!("invalid {name} \"{s}\"")),
    }
}

/// C `strtol(s, &tail, 0)` requiring the whole string to be consumed.
pub fn str_to_long(s: &str) -> Option<i64> {
    let t = s.trim_start_matches([' ', '\t', '\r', '\n']);
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        if h.is_empty() {
            return None;
        }
        i64::from_str_radix(h, 16).ok()?
    } else if body.len() > 1 && body.starts_with('0') {
        i64::from_str_radix(&body[1..], 8).ok()?
    } else {
        if body.is_empty() || !body.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        body.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

/// OVS `str_to_u64`/`str_to_be64`: C `strtoull` base 0 of the whole string,
/// else `invalid numeric format VALUE`.
pub fn str_to_u64(s: &str) -> Result<u64, String> {
    match parse_int(s, 8) {
        Ok((v, "")) => Ok(v as u64),
        _ => Err(format!("invalid numeric format {s}")),
    }
}

/// Parses an Ethernet address `xx:xx:xx:xx:xx:xx` (1–2 hex digits each) and
/// returns it with the unparsed tail.
pub fn parse_eth(s: &str) -> Option<([u8; 6], &str)> {
    let b = s.as_bytes();
    let mut out = [0u8; 6];
    let mut i = 0;
    for (k, o) in out.iter_mut().enumerate() {
        if k > 0 {
            if b.get(i) != Some(&b':') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut v = 0u32;
        while i < b.len() && i - start < 2 {
            match (b[i] as char).to_digit(16) {
                Some(d) => v = v * 16 + d,
                None => break,
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        *o = v as u8;
    }
    Some((out, &s[i..]))
}

/// Parses a dotted-quad IPv4 address as OVS's `IP_SCAN_FMT` (`%hhu` per
/// octet: decimal, wrapping modulo 256) and returns it with the tail.
pub fn parse_ipv4(s: &str) -> Option<([u8; 4], &str)> {
    let b = s.as_bytes();
    let mut out = [0u8; 4];
    let mut i = 0;
    for (k, o) in out.iter_mut().enumerate() {
        if k > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut v: u32 = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            v = v.wrapping_mul(10).wrapping_add(u32::from(b[i] - b'0'));
            i += 1;
        }
        if i == start {
            return None;
        }
        *o = v as u8;
    }
    Some((out, &s[i..]))
}

/// Parses `IP[/PREFIX|/MASK]` (OVS `ip_parse_masked`), returning address and
/// mask; the error texts are OVS's.
pub fn parse_ipv4_masked(s: &str) -> Result<([u8; 4], [u8; 4]), String> {
    let bad = || format!("{s}: invalid IP address");
    let (ip, tail) = parse_ipv4(s).ok_or_else(bad)?;
    if tail.is_empty() {
        return Ok((ip, [0xff; 4]));
    }
    let m = tail.strip_prefix('/').ok_or_else(bad)?;
    if let Some((mask, "")) = parse_ipv4(m) {
        return Ok((ip, mask));
    }
    if !m.is_empty() && m.bytes().all(|c| c.is_ascii_digit()) {
        let bits: u32 = m.parse().unwrap_or(u32::MAX);
        if bits > 32 {
            return Err(format!(
                "{s}: IPv4 network prefix bits not between 0 and 32, inclusive"
            ));
        }
        let mask = if bits == 0 {
            0
        } else {
            u32::MAX << (32 - bits)
        };
        return Ok((ip, mask.to_be_bytes()));
    }
    Err(bad())
}

/// Parses `IPV6[/PREFIX|/MASK]` (OVS `ipv6_parse_masked`).
pub fn parse_ipv6_masked(s: &str) -> Result<([u8; 16], [u8; 16]), String> {
    let bad = || format!("{s}: invalid IPv6 address");
    let (addr, mask) = match s.split_once('/') {
        None => (s, None),
        Some((a, m)) => (a, Some(m)),
    };
    let ip: Ipv6Addr = addr.parse().map_err(|_| bad())?;
    let Some(m) = mask else {
        return Ok((ip.octets(), [0xff; 16]));
    };
    if let Ok(mk) = m.parse::<Ipv6Addr>() {
        return Ok((ip.octets(), mk.octets()));
    }
    if !m.is_empty() && m.bytes().all(|c| c.is_ascii_digit()) {
        let bits: u32 = m.parse().unwrap_or(u32::MAX);
        if bits > 128 {
            return Err(format!(
                "{s}: IPv6 network prefix bits not between 0 and 128, inclusive"
            ));
        }
        let mask = if bits == 0 {
            0u128
        } else {
            u128::MAX << (128 - bits)
        };
        return Ok((ip.octets(), mask.to_be_bytes()));
    }
    Err(bad())
}

/// Parses OVS `note:` hex bytes: pairs of hex digits, optionally separated
/// by single dots.
pub fn parse_hex_bytes(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'.' {
            i += 1;
            continue;
        }
        let hi = (*b.get(i)? as char).to_digit(16)?;
        let lo = (*b.get(i + 1)? as char).to_digit(16)?;
        out.push((hi * 16 + lo) as u8);
        i += 2;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_split_like_ovs() {
        let kv: Vec<_> = KeyValues::new(" table=0, tcp,tp_dst=80  x:y z(a,b(c)),w(1)->r").collect();
        assert_eq!(
            kv,
            vec![
                ("table", "0"),
                ("tcp", ""),
                ("tp_dst", "80"),
                ("x", "y"),
                ("z", "a,b(c)"),
                ("w", "1)->r")
            ]
        );
        let kv: Vec<_> = KeyValues::new("in_port = 1").collect();
        assert_eq!(kv, vec![("in_port", ""), ("", ""), ("1", "")]);
    }

    #[test]
    fn ints_parse_with_ovs_rules() {
        assert_eq!(parse_int("0x50/0xfff0", 2), Ok((0x50, "/0xfff0")));
        assert_eq!(parse_int("0x0050", 2), Ok((0x50, "")));
        assert_eq!(parse_int("0x10000", 2), Err(IntError::Range));
        assert_eq!(parse_int("65536", 2), Err(IntError::Range));
        assert_eq!(parse_int("010", 2), Ok((8, "")));
        assert_eq!(parse_int("http", 2), Err(IntError::Syntax));
        assert_eq!(
            str_to_u16("70000", "priority"),
            Err("invalid priority \"70000\"".into())
        );
        assert_eq!(str_to_u16("0x10", "priority"), Ok(16));
    }

    #[test]
    fn addresses_parse() {
        assert_eq!(
            parse_ipv4_masked("10.1.2.3/8"),
            Ok(([10, 1, 2, 3], [255, 0, 0, 0]))
        );
        assert_eq!(
            parse_ipv4_masked("10.0.0.256"),
            Ok(([10, 0, 0, 0], [255; 4]))
        );
        assert!(parse_ipv4_masked("1.2.3.4/33")
            .unwrap_err()
            .contains("prefix bits"));
        assert_eq!(parse_eth("0:1:2:3:4:5x"), Some(([0, 1, 2, 3, 4, 5], "x")));
        assert_eq!(parse_hex_bytes("01.0203"), Some(vec![1, 2, 3]));
        assert_eq!(parse_hex_bytes("1"), None);
    }
}
