//! OpenFlow port numbers in text (OVS `ofputil_port_from_string` and
//! `ofputil_format_port`): numbers, the reserved names, and optional name
//! maps supplied by the caller (`--names`).

use crate::port::{reserved_port_name, OFPP_CONTROLLER, OFPP_MAX, OFPP_NONE};

/// Port name → number lookup (ovs-ofctl fetches it from the switch).
pub type PortNumbers<'a> = dyn Fn(&str) -> Option<u16> + 'a;
/// Port number → name lookup, for `--names` output.
pub type PortNames<'a> = dyn Fn(u16) -> Option<String> + 'a;

const RESERVED: [(&str, u16); 9] = [
    ("IN_PORT", 0xfff8),
    ("TABLE", 0xfff9),
    ("NORMAL", 0xfffa),
    ("FLOOD", 0xfffb),
    ("ALL", 0xfffc),
    ("CONTROLLER", OFPP_CONTROLLER),
    ("LOCAL", 0xfffe),
    ("ANY", OFPP_NONE),
    ("NONE", OFPP_NONE),
];

/// Parses a port: decimal 0–65535 (OF1.1+ reserved 0xffffff00… map to the
/// 16-bit ones), a reserved name (any case), or a name from `names`
/// (optionally JSON-quoted). `None` when invalid.
pub fn parse_port(s: &str, names: Option<&PortNumbers>) -> Option<u16> {
    if s.starts_with('-') {
        return None;
    }
    if let Some(v) = super::lex::str_to_uint(s) {
        if v <= 0xffff {
            return Some(v as u16);
        }
        if v >= 0xffff_ff00 {
            return Some((v - 0xffff_0000) as u16);
        }
        return None;
    }
    if let Some(&(_, p)) = RESERVED.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
        return Some(p);
    }
    let names = names?;
    let name = if s.len() > 1 && s.starts_with('"') && s.ends_with('"') {
        &s[1..s.len() - 1]
    } else {
        s
    };
    names(name).filter(|&p| p != OFPP_NONE)
}

/// Whether a port or table name must be quoted (OVS: unless it is
/// alphanumeric and starts with a letter).
pub fn name_needs_quotes(name: &str) -> bool {
    let mut b = name.bytes();
    match b.next() {
        Some(c) if c.is_ascii_alphabetic() => b.any(|c| !c.is_ascii_alphanumeric()),
        _ => true,
    }
}

/// Prints a port: reserved name, mapped name (quoted when needed), or the
/// decimal number.
pub fn format_port(port: u16, names: Option<&PortNames>) -> String {
    if port >= OFPP_MAX {
        if let Some(n) = reserved_port_name(port) {
            return n.to_string();
        }
    }
    if let Some(name) = names.and_then(|f| f(port)) {
        return if name_needs_quotes(&name) {
            json_quote(&name)
        } else {
            name
        };
    }
    port.to_string()
}

fn json_quote(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_parse_and_print() {
        assert_eq!(parse_port("local", None), Some(0xfffe));
        assert_eq!(parse_port("65534", None), Some(0xfffe));
        assert_eq!(parse_port("0xfffe", None), None);
        assert_eq!(parse_port("70000", None), None);
        assert_eq!(parse_port("4294967294", None), Some(0xfffe));
        let map = |n: &str| (n == "long-port-name").then_some(10u16);
        assert_eq!(parse_port("\"long-port-name\"", Some(&map)), Some(10));
        let names = |p: u16| (p == 10).then(|| "long-port-name".to_string());
        assert_eq!(format_port(10, Some(&names)), "\"long-port-name\"");
        assert_eq!(format_port(0xfffa, Some(&names)), "NORMAL");
        assert_eq!(format_port(3, Some(&names)), "3");
    }
}
