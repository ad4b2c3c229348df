//! Open vSwitch's human text syntax for OVSDB data, as used on the
//! `ovs-vsctl`/`ovn-nbctl` command line and in their `list`/`get` output
//! (Open vSwitch `lib/ovsdb-data.c`: `ovsdb_atom_from_string`,
//! `ovsdb_datum_from_string`, `ovsdb_datum_to_string`, `ovsdb_datum_to_bare`;
//! syntax described in ovs-vsctl(8) "Database Values").
//!
//! Idea: input is split into *tokens* — maximal runs of characters that are
//! not one of the delimiters `:=, []{}!<>` (a double-quoted part may contain
//! them; a backslash outside quotes escapes the next character). Each token
//! is converted to an atom of the column's base type: integers (with
//! `A-B` ranges in set/map keys), reals, booleans (`true/yes/on/1`,
//! `false/no/off/0`), strings (bare, or a JSON string when it starts with `"`),
//! UUIDs and `@name` symbols that stand for rows created in the same command
//! line. A set is a comma/space separated list optionally in `[...]`, a map a
//! list of `key=value` optionally in `{...}`; the empty value needs the
//! brackets. Printing is the inverse: strings are quoted unless they look like
//! an identifier (`[A-Za-z_][A-Za-z0-9_.-]*`, and not `true`/`false`), sets
//! of more than one allowed element and empty values are bracketed.
//!
//! Invariants: every datum returned is sorted and duplicate free (a
//! [`Datum`] invariant) and satisfies the column type's constraints; every
//! error string is the exact text ovs-vsctl 3.1 prints after `ovs-vsctl: `.
//! Performance: command-line sized inputs; plain `String` building.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use uuid::Uuid;

use crate::datum::{Atom, Datum};
use crate::schema::{AtomicType, BaseType, ColumnType, RefType};

/// Largest number of integers one `A-B` range may expand to
/// (Open vSwitch `MAX_OVSDB_ATOM_RANGE_SIZE`).
pub const MAX_ATOM_RANGE_SIZE: u64 = 4096;

/// One `@name` symbol of a command line: the UUID it stands for and how it is
/// used (Open vSwitch `struct ovsdb_symbol`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// The (random) UUID that stands for the row until the server assigns one.
    pub uuid: Uuid,
    /// True once a `--id=@name create` defined the row.
    pub created: bool,
    /// True when some strong reference column refers to it.
    pub strong_ref: bool,
    /// True when some weak reference column refers to it.
    pub weak_ref: bool,
}

/// The `@name` symbol table of one command line (Open vSwitch
/// `struct ovsdb_symbol_table`). Names include the leading `@`.
#[derive(Debug, Clone, Default)]
pub struct Symtab {
    symbols: BTreeMap<String, Symbol>,
}

impl Symtab {
    /// An empty table.
    pub fn new() -> Symtab {
        Symtab::default()
    }

    /// The symbol `name`, creating it with a fresh random UUID if needed.
    pub fn insert(&mut self, name: &str) -> &mut Symbol {
        self.symbols
            .entry(name.to_string())
            .or_insert_with(|| Symbol {
                uuid: Uuid::new_v4(),
                created: false,
                strong_ref: false,
                weak_ref: false,
            })
    }

    /// The symbol `name`, if known.
    pub fn get(&self, name: &str) -> Option<&Symbol> {
        self.symbols.get(name)
    }

    /// The symbol whose UUID is `uuid`, if any (name and symbol).
    pub fn by_uuid(&self, uuid: &Uuid) -> Option<(&str, &Symbol)> {
        self.symbols
            .iter()
            .find(|(_, s)| s.uuid == *uuid)
            .map(|(n, s)| (n.as_str(), s))
    }

    /// All symbols in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Symbol)> {
        self.symbols.iter().map(|(n, s)| (n.as_str(), s))
    }
}

/// True for the characters that end an unquoted token: `:=, []{}!<>`
/// (Open vSwitch `ovsdb_token_is_delim`; the end of input also ends a token).
pub fn is_token_delim(c: char) -> bool {
    ":=, []{}!<>".contains(c)
}

/// Split one token off the front of `s` (Open vSwitch `ovsdb_token_parse`):
/// returns the token (quotes kept, backslash escapes outside quotes resolved)
/// and the rest of the input, which starts at the delimiter that ended it.
/// Errors: `S: backslash at end of argument`,
/// `S: quoted string extends past end of argument`.
pub fn token_parse(s: &str) -> Result<(String, &str), String> {
    let mut out = String::new();
    let mut in_quotes = false;
    let mut iter = s.char_indices();
    let mut end = s.len();
    while let Some((i, c)) = iter.next() {
        if c == '\\' {
            if in_quotes {
                out.push('\\');
            }
            match iter.next() {
                Some((_, n)) => out.push(n),
                None => return Err(format!("{s}: backslash at end of argument")),
            }
        } else if !in_quotes && is_token_delim(c) {
            end = i;
            break;
        } else {
            out.push(c);
            if c == '"' {
                in_quotes = !in_quotes;
            }
        }
    }
    if in_quotes {
        return Err(format!("{s}: quoted string extends past end of argument"));
    }
    Ok((out, &s[end..]))
}

/// Format a real as C's `printf("%.15g")` does (how OVS prints reals).
pub fn format_real(r: f64) -> String {
    const DIGITS: i32 = 15;
    if r.is_nan() {
        return if r.is_sign_negative() {
            "-nan".into()
        } else {
            "nan".into()
        };
    }
    if r.is_infinite() {
        return if r < 0.0 { "-inf".into() } else { "inf".into() };
    }
    if r == 0.0 {
        return if r.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Scientific form with DIGITS significant digits gives the exponent
    // after rounding, which decides between %e and %f style.
    let sci = format!("{:.*e}", (DIGITS - 1) as usize, r);
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m.to_string(), e.parse::<i32>().unwrap_or(0)),
        None => (sci.clone(), 0),
    };
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if !(-4..DIGITS).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", trim(&mantissa), sign, exp.abs())
    } else {
        let decimals = (DIGITS - 1 - exp).max(0) as usize;
        trim(&format!("{:.*}", decimals, r))
    }
}

/// Write `s` as a JSON string literal the way Open vSwitch's JSON writer does
/// (escapes `"`, `\`, `\b\f\n\r\t`, other control characters as `\u00XX`;
/// non-ASCII passes through).
pub fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// True when a string must be printed quoted: anything but
/// `[A-Za-z_][A-Za-z0-9_.-]*`, and the words `true`/`false`
/// (Open vSwitch `string_needs_quotes`).
pub fn string_needs_quotes(s: &str) -> bool {
    let mut bytes = s.bytes();
    match bytes.next() {
        Some(c) if c.is_ascii_alphabetic() || c == b'_' => {}
        _ => return true,
    }
    if !bytes.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.') {
        return true;
    }
    s == "true" || s == "false"
}

/// An atom in text syntax, re-parseable by [`atom_from_string`]
/// (Open vSwitch `ovsdb_atom_to_string`).
pub fn atom_to_string(a: &Atom) -> String {
    let mut s = String::new();
    append_atom(&mut s, a);
    s
}

fn append_atom(out: &mut String, a: &Atom) {
    match a {
        Atom::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        Atom::Real(r) => out.push_str(&format_real(*r)),
        Atom::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Atom::String(s) => {
            if string_needs_quotes(s) {
                write_json_string(out, s);
            } else {
                out.push_str(s);
            }
        }
        Atom::Uuid(u) => {
            let _ = write!(out, "{u}");
        }
    }
}

/// An atom in "bare" form: strings never quoted (Open vSwitch
/// `ovsdb_atom_to_bare`, used by `--bare`/`--data=bare`).
pub fn atom_to_bare(a: &Atom) -> String {
    match a {
        Atom::String(s) => s.clone(),
        other => atom_to_string(other),
    }
}

/// A datum in text syntax (Open vSwitch `ovsdb_datum_to_string`): `[a, b]` for
/// sets, `{k=v, k2=v2}` for maps; brackets are left out only for a non-empty
/// value of a column that holds at most one element (`5`, `netdev`).
pub fn datum_to_string(d: &Datum, t: &ColumnType) -> String {
    let is_map = t.is_map() || d.values.is_some();
    let brackets = t.max != Some(1) || d.keys.is_empty();
    let mut out = String::new();
    if brackets {
        out.push(if is_map { '{' } else { '[' });
    }
    for (i, k) in d.keys.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        append_atom(&mut out, k);
        if is_map {
            out.push('=');
            if let Some(v) = d.values.as_ref().and_then(|vs| vs.get(i)) {
                append_atom(&mut out, v);
            }
        }
    }
    if brackets {
        out.push(if is_map { '}' } else { ']' });
    }
    out
}

/// A datum in bare form: elements separated by single spaces, map pairs as
/// `k=v`, strings unquoted, nothing for an empty value (Open vSwitch
/// `ovsdb_datum_to_bare`).
pub fn datum_to_bare(d: &Datum, t: &ColumnType) -> String {
    let is_map = t.is_map() || d.values.is_some();
    let mut out = String::new();
    for (i, k) in d.keys.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&atom_to_bare(k));
        if is_map {
            out.push('=');
            if let Some(v) = d.values.as_ref().and_then(|vs| vs.get(i)) {
                out.push_str(&atom_to_bare(v));
            }
        }
    }
    out
}

/// English description of a type as in ovs-vsctl error messages, e.g.
/// `map of (string, string) pairs`, `set of up to 4096 integers`
/// (Open vSwitch `ovsdb_type_to_english`).
pub fn type_to_english(t: &ColumnType) -> String {
    let key = t.key.atomic.as_str();
    if t.is_scalar() {
        return key.to_string();
    }
    let mut s = String::from(if t.is_map() { "map" } else { "set" });
    match t.max {
        None => {
            if t.min > 0 {
                let _ = write!(s, " of {} or more", t.min);
            } else {
                s.push_str(" of");
            }
        }
        Some(max) => {
            if t.min > 0 {
                let _ = write!(s, " of {} to {}", t.min, max);
            } else {
                let _ = write!(s, " of up to {max}");
            }
        }
    }
    match &t.value {
        None => {
            let _ = write!(s, " {key}s");
        }
        Some(v) => {
            let _ = write!(s, " ({key}, {}) pairs", v.atomic.as_str());
        }
    }
    s
}

/// Check `a` against the constraints of `base` (enum, integer/real range,
/// string length; UUID references are checked by the server), returning the
/// error text ovs-vsctl prints, e.g. `constraint violation: 5000 is not in the
/// valid range 0 to 4095 (inclusive)` (Open vSwitch
/// `ovsdb_atom_check_constraints`).
pub fn check_atom_constraints(a: &Atom, base: &BaseType) -> Result<(), String> {
    if let Some(e) = &base.enum_ {
        if !e.contains(a) {
            let valid = Datum::set(e.iter().cloned());
            let enum_type = ColumnType {
                key: BaseType::new(base.atomic),
                value: None,
                min: 1,
                max: None,
            };
            return Err(format!(
                "constraint violation: {} is not one of the allowed values ({})",
                atom_to_string(a),
                datum_to_string(&valid, &enum_type)
            ));
        }
    }
    match a {
        Atom::Integer(i) => {
            let min = base.min_integer.unwrap_or(i64::MIN);
            let max = base.max_integer.unwrap_or(i64::MAX);
            if *i >= min && *i <= max {
                Ok(())
            } else if min != i64::MIN {
                if max != i64::MAX {
                    Err(format!(
                        "constraint violation: {i} is not in the valid range {min} to {max} (inclusive)"
                    ))
                } else {
                    Err(format!(
                        "constraint violation: {i} is less than minimum allowed value {min}"
                    ))
                }
            } else {
                Err(format!(
                    "constraint violation: {i} is greater than maximum allowed value {max}"
                ))
            }
        }
        Atom::Real(r) => {
            let min = base.min_real.unwrap_or(f64::MIN);
            let max = base.max_real.unwrap_or(f64::MAX);
            if *r >= min && *r <= max {
                Ok(())
            } else if min != f64::MIN {
                if max != f64::MAX {
                    Err(format!(
                        "constraint violation: {} is not in the valid range {} to {} (inclusive)",
                        format_real(*r),
                        format_real(min),
                        format_real(max)
                    ))
                } else {
                    Err(format!(
                        "constraint violation: {} is less than minimum allowed value {}",
                        format_real(*r),
                        format_real(min)
                    ))
                }
            } else {
                Err(format!(
                    "constraint violation: {} is greater than maximum allowed value {}",
                    format_real(*r),
                    format_real(max)
                ))
            }
        }
        Atom::String(s) => {
            let n = s.chars().count() as u64;
            if let Some(min) = base.min_length.filter(|m| n < *m) {
                Err(format!(
                    "constraint violation: \"{s}\" length {n} is less than minimum allowed length {min}"
                ))
            } else if let Some(max) = base.max_length.filter(|m| n > *m) {
                Err(format!(
                    "constraint violation: \"{s}\" length {n} is greater than maximum allowed length {max}"
                ))
            } else {
                Ok(())
            }
        }
        Atom::Boolean(_) | Atom::Uuid(_) => Ok(()),
    }
}

/// Parse a C `strtoll`-style decimal integer that must use the whole input
/// (optional leading blanks and sign).
fn parse_i64(s: &str) -> Option<i64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    if t.is_empty() || t.starts_with("+-") || t.starts_with("-+") {
        return None;
    }
    t.parse::<i64>().ok()
}

/// Split `A-B` (each an optionally signed decimal) into its two integers.
fn parse_i64_range(s: &str) -> Option<(i64, i64)> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && (b[i] as char).is_ascii_whitespace() {
        i += 1;
    }
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == digits_start || i >= b.len() || b[i] != b'-' {
        return None;
    }
    let begin = s[..i].trim_start().parse::<i64>().ok()?;
    let end = parse_i64(&s[i + 1..])?;
    Some((begin, end))
}

/// Unescape the inside of a JSON string literal (Open vSwitch
/// `json_string_unescape`). Errors: `bad escape \X`, `quoted string may not
/// include unescaped "`, `malformed \u escape`, surrogate-pair problems.
pub fn json_unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '"' {
            return Err("quoted string may not include unescaped \"".into());
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = it.next() else {
            // OVS reads the terminating NUL here and reports it as a bad escape.
            return Err("bad escape \\".into());
        };
        match e {
            '"' | '\\' | '/' => out.push(e),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'u' => {
                let hex4 = |it: &mut std::iter::Peekable<std::str::Chars<'_>>| -> Option<u32> {
                    let mut v = 0u32;
                    for _ in 0..4 {
                        v = v * 16 + it.next()?.to_digit(16)?;
                    }
                    Some(v)
                };
                let c1 = hex4(&mut it).ok_or_else(|| "malformed \\u escape".to_string())?;
                if c1 == 0 {
                    return Err("null bytes not supported in quoted strings".into());
                }
                let cp = if (0xd800..0xdc00).contains(&c1) {
                    if it.next() != Some('\\') || it.next() != Some('u') {
                        return Err("malformed escaped surrogate pair".into());
                    }
                    let c2 = hex4(&mut it).ok_or_else(|| "malformed \\u escape".to_string())?;
                    if !(0xdc00..0xe000).contains(&c2) {
                        return Err(
                            "second half of escaped surrogate pair is not trailing surrogate"
                                .into(),
                        );
                    }
                    0x10000 + ((c1 - 0xd800) << 10) + (c2 - 0xdc00)
                } else if (0xdc00..0xe000).contains(&c1) {
                    return Err("invalid UTF-16 surrogate".into());
                } else {
                    c1
                };
                out.push(char::from_u32(cp).ok_or_else(|| "invalid UTF-16 surrogate".to_string())?);
            }
            other => return Err(format!("bad escape \\{other}")),
        }
    }
    Ok(out)
}

/// Parse one atom of base type `base` from the whole token `s`, then check
/// the type's constraints (Open vSwitch `ovsdb_atom_from_string` without a
/// range). `@name` tokens for UUID columns are looked up in / added to
/// `symtab` (when given) and marked as strong or weak references.
/// Errors: the ovs-vsctl texts, e.g. `"abc" is not a valid integer or range`.
pub fn atom_from_string(
    s: &str,
    base: &BaseType,
    symtab: Option<&mut Symtab>,
) -> Result<Atom, String> {
    let (a, _) = atom_from_string__(s, base, symtab, false)?;
    check_atom_constraints(&a, base)?;
    Ok(a)
}

/// As [`atom_from_string`], but for integer types also accepts an inclusive
/// range `A-B`, returned as `(A, Some(B))`; both ends (and for enums, every
/// value) are checked, and a range may hold at most
/// [`MAX_ATOM_RANGE_SIZE`] integers.
pub fn atom_range_from_string(
    s: &str,
    base: &BaseType,
    symtab: Option<&mut Symtab>,
) -> Result<(Atom, Option<Atom>), String> {
    let (a, end) = atom_from_string__(s, base, symtab, true)?;
    check_atom_constraints(&a, base)?;
    if let (Atom::Integer(start), Some(Atom::Integer(stop))) = (&a, &end) {
        if base.enum_.is_some() {
            for i in start.saturating_add(1)..=*stop {
                check_atom_constraints(&Atom::Integer(i), base)?;
            }
        } else if let Some(e) = &end {
            check_atom_constraints(e, base)?;
        }
        if (*stop as u64).wrapping_sub(*start as u64) >= MAX_ATOM_RANGE_SIZE {
            return Err(format!(
                "constraint violation: Range \"{start}-{stop}\" is too big. Maximum allowed size is {MAX_ATOM_RANGE_SIZE}."
            ));
        }
    }
    Ok((a, end))
}

fn atom_from_string__(
    s: &str,
    base: &BaseType,
    symtab: Option<&mut Symtab>,
    allow_range: bool,
) -> Result<(Atom, Option<Atom>), String> {
    match base.atomic {
        AtomicType::Integer => {
            if allow_range {
                if let Some((begin, end)) = parse_i64_range(s) {
                    if end < begin {
                        return Err(format!(
                            "\"{s}\" is not a valid range. Range end cannot be before start."
                        ));
                    }
                    return Ok((Atom::Integer(begin), Some(Atom::Integer(end))));
                }
            }
            parse_i64(s)
                .map(|i| (Atom::Integer(i), None))
                .ok_or_else(|| format!("\"{s}\" is not a valid integer or range"))
        }
        AtomicType::Real => {
            let t = s.trim_start();
            let ok = !t.is_empty()
                && !t.starts_with("+-")
                && !t.starts_with("-+")
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
            match t.parse::<f64>() {
                Ok(r) if ok && r.is_finite() => {
                    // Negative zero is read as zero, as OVS's JSON reader does.
                    Ok((Atom::Real(if r == 0.0 { 0.0 } else { r }), None))
                }
                _ => Err(format!("\"{s}\" is not a valid real number")),
            }
        }
        AtomicType::Boolean => match s {
            "true" | "yes" | "on" | "1" => Ok((Atom::Boolean(true), None)),
            "false" | "no" | "off" | "0" => Ok((Atom::Boolean(false), None)),
            _ => Err(format!(
                "\"{s}\" is not a valid boolean (use \"true\" or \"false\")"
            )),
        },
        AtomicType::String => {
            if s.is_empty() {
                Err(
                    "An empty string is not valid as input; use \"\" to represent the empty string"
                        .into(),
                )
            } else if let Some(rest) = s.strip_prefix('"') {
                match rest.strip_suffix('"') {
                    None => Err(format!("{s}: missing quote at end of quoted string")),
                    Some(inner) => json_unescape(inner)
                        .map(|u| (Atom::String(u), None))
                        .map_err(|e| format!("{s}: {e}")),
                }
            } else {
                Ok((Atom::String(s.to_string()), None))
            }
        }
        AtomicType::Uuid => {
            if let (Some(symtab), true) = (symtab, s.starts_with('@')) {
                let sym = symtab.insert(s);
                if base.ref_table.is_some() {
                    match base.ref_type {
                        RefType::Strong => sym.strong_ref = true,
                        RefType::Weak => sym.weak_ref = true,
                    }
                }
                Ok((Atom::Uuid(sym.uuid), None))
            } else {
                parse_uuid(s)
                    .map(|u| (Atom::Uuid(u), None))
                    .ok_or_else(|| format!("\"{s}\" is not a valid UUID"))
            }
        }
    }
}

/// Parse an RFC 4122 UUID in the 8-4-4-4-12 hex form only (what Open vSwitch
/// `uuid_from_string` accepts).
pub fn parse_uuid(s: &str) -> Option<Uuid> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    for (i, c) in b.iter().enumerate() {
        let dash = matches!(i, 8 | 13 | 18 | 23);
        if dash != (*c == b'-') || (!dash && !c.is_ascii_hexdigit()) {
            return None;
        }
    }
    Uuid::parse_str(s).ok()
}

fn skip_spaces(s: &str) -> &str {
    s.trim_start_matches(|c: char| c.is_ascii_whitespace())
}

/// Parse a whole value of column type `t` from `s` (Open vSwitch
/// `ovsdb_datum_from_string`): atoms separated by commas and/or spaces,
/// `key=value` pairs for maps, optionally in `[...]` / `{...}` (required for
/// the empty value); integer keys may be `A-B` ranges. The result is sorted,
/// checked against the element count and constraints of `t`, and free of
/// duplicates. Errors are the exact ovs-vsctl texts, e.g.
/// `1,2: 2 value(s) specified but the maximum number is 1`.
pub fn datum_from_string(
    s: &str,
    t: &ColumnType,
    mut symtab: Option<&mut Symtab>,
) -> Result<Datum, String> {
    let is_map = t.is_map();
    let mut keys: Vec<Atom> = Vec::new();
    let mut values: Vec<Atom> = Vec::new();

    let mut p = skip_spaces(s);
    let end_delim = if p.starts_with(if is_map { '{' } else { '[' }) {
        p = skip_spaces(&p[1..]);
        Some(if is_map { '}' } else { ']' })
    } else if p.is_empty() {
        return Err(if is_map {
            "use \"{}\" to specify the empty map".into()
        } else {
            "use \"[]\" to specify the empty set".into()
        });
    } else {
        None
    };

    while let Some(c) = p.chars().next() {
        if Some(c) == end_delim {
            break;
        }
        if is_token_delim(c) {
            return Err(format!(
                "{s}: unexpected \"{c}\" parsing {}",
                type_to_english(t)
            ));
        }
        // Key (possibly a range), then "=value" for maps.
        let start = p;
        let (tok, rest) = token_parse(p)?;
        let (key, range_end) = atom_range_from_string(&tok, &t.key, symtab.as_deref_mut())?;
        p = rest;
        let mut value = None;
        if let Some(vt) = &t.value {
            p = skip_spaces(p);
            if let Some(r) = p.strip_prefix('=') {
                p = skip_spaces(r);
                let (vtok, rest) = token_parse(p)?;
                value = Some(atom_from_string(&vtok, vt, symtab.as_deref_mut())?);
                p = rest;
            } else {
                // OVS prints the offending character with %c; at the end of
                // the string that is a NUL, which cuts the message short.
                return Err(match p.chars().next() {
                    Some(c) => format!("{start}: syntax error at \"{c}\" expecting \"=\""),
                    None => format!("{start}: syntax error at \""),
                });
            }
        }
        match (key, range_end) {
            (Atom::Integer(a), Some(Atom::Integer(b))) => {
                for i in a..=b {
                    keys.push(Atom::Integer(i));
                    if let Some(v) = &value {
                        values.push(v.clone());
                    }
                }
            }
            (k, _) => {
                keys.push(k);
                if let Some(v) = value {
                    values.push(v);
                }
            }
        }
        p = skip_spaces(p);
        if let Some(r) = p.strip_prefix(',') {
            p = skip_spaces(r);
        }
    }

    match end_delim {
        Some(d) => {
            if !p.starts_with(d) {
                return Err(format!("{s}: missing \"{d}\" at end of data"));
            }
            if !skip_spaces(&p[1..]).is_empty() {
                return Err(format!("{s}: trailing garbage after \"{d}\""));
            }
        }
        None => {
            if !p.is_empty() {
                // Unreachable in practice: the loop only stops at the end.
                return Err(format!("{s}: missing \"\" at end of data"));
            }
        }
    }

    let n = keys.len() as u64;
    let what = if is_map { "pair(s)" } else { "value(s)" };
    if n < t.min {
        return Err(format!(
            "{s}: {n} {what} specified but the minimum number is {}",
            t.min
        ));
    }
    if let Some(max) = t.max.filter(|m| n > *m) {
        return Err(format!(
            "{s}: {n} {what} specified but the maximum number is {max}"
        ));
    }

    // Sort (stable, by key) and reject duplicates.
    let mut idx: Vec<usize> = (0..keys.len()).collect();
    idx.sort_by(|a, b| keys[*a].cmp(&keys[*b]));
    if idx.windows(2).any(|w| keys[w[0]] == keys[w[1]]) {
        return Err(if is_map {
            format!("{s}: map contains duplicate key")
        } else {
            format!("{s}: set contains duplicate value")
        });
    }
    let sorted_keys: Vec<Atom> = idx.iter().map(|i| keys[*i].clone()).collect();
    let sorted_values = if is_map {
        Some(idx.iter().map(|i| values[*i].clone()).collect())
    } else {
        None
    };
    Ok(Datum {
        keys: sorted_keys,
        values: sorted_values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ty(key: BaseType, value: Option<BaseType>, min: u64, max: Option<u64>) -> ColumnType {
        ColumnType {
            key,
            value,
            min,
            max,
        }
    }
    fn int_range(min: i64, max: i64) -> BaseType {
        BaseType {
            min_integer: Some(min),
            max_integer: Some(max),
            ..BaseType::new(AtomicType::Integer)
        }
    }
    fn s() -> BaseType {
        BaseType::new(AtomicType::String)
    }
    fn smap() -> ColumnType {
        ty(s(), Some(s()), 0, None)
    }
    fn tag() -> ColumnType {
        ty(int_range(0, 4095), None, 0, Some(1))
    }
    fn trunks() -> ColumnType {
        ty(int_range(0, 4095), None, 0, Some(4096))
    }

    #[test]
    fn quoting_rules() {
        for (v, want) in [
            ("netdev", "netdev"),
            ("br0", "br0"),
            ("a.b-c_d", "a.b-c_d"),
            ("_x", "_x"),
            ("0000aa015d1d2c44", "\"0000aa015d1d2c44\""),
            ("ptcp:6653:127.0.0.1", "\"ptcp:6653:127.0.0.1\""),
            ("", "\"\""),
            ("true", "\"true\""),
            ("-a", "\"-a\""),
            ("a b", "\"a b\""),
            ("q\"x", "\"q\\\"x\""),
            ("tab\there", "\"tab\\there\""),
            ("x\u{1}", "\"x\\u0001\""),
            ("é", "\"é\""),
        ] {
            assert_eq!(atom_to_string(&Atom::String(v.into())), want, "{v:?}");
        }
    }

    #[test]
    fn reals_print_like_percent_g() {
        assert_eq!(format_real(1.5), "1.5");
        assert_eq!(format_real(100000.0), "100000");
        assert_eq!(format_real(1e15), "1e+15");
        assert_eq!(format_real(0.0001), "0.0001");
        assert_eq!(format_real(0.00001), "1e-05");
        assert_eq!(format_real(0.1), "0.1");
        assert_eq!(format_real(-2.25), "-2.25");
        assert_eq!(format_real(123456789012345.0), "123456789012345");
    }

    #[test]
    fn maps_parse_and_print() {
        let d = datum_from_string("{a=b, c=\"d e\"}", &smap(), None).unwrap();
        assert_eq!(datum_to_string(&d, &smap()), "{a=b, c=\"d e\"}");
        let d2 = datum_from_string("c=\"d e\",a=b", &smap(), None).unwrap();
        assert_eq!(d, d2);
        assert_eq!(
            datum_to_string(&datum_from_string("{}", &smap(), None).unwrap(), &smap()),
            "{}"
        );
        assert_eq!(datum_to_bare(&d, &smap()), "a=b c=d e");
    }

    #[test]
    fn sets_and_scalars() {
        let d = datum_from_string("3,1 2", &trunks(), None).unwrap();
        assert_eq!(datum_to_string(&d, &trunks()), "[1, 2, 3]");
        let d = datum_from_string("[]", &trunks(), None).unwrap();
        assert_eq!(datum_to_string(&d, &trunks()), "[]");
        let d = datum_from_string("5", &tag(), None).unwrap();
        assert_eq!(datum_to_string(&d, &tag()), "5");
        assert_eq!(datum_to_string(&Datum::empty_set(), &tag()), "[]");
        let d = datum_from_string("10-12,1", &trunks(), None).unwrap();
        assert_eq!(datum_to_string(&d, &trunks()), "[1, 10, 11, 12]");
    }

    #[test]
    fn ovs_vsctl_error_texts() {
        let e = |s: &str, t: &ColumnType| datum_from_string(s, t, None).unwrap_err();
        assert_eq!(
            e("5000", &tag()),
            "constraint violation: 5000 is not in the valid range 0 to 4095 (inclusive)"
        );
        assert_eq!(e("abc", &tag()), "\"abc\" is not a valid integer or range");
        assert_eq!(e("1.5", &tag()), "\"1.5\" is not a valid integer or range");
        assert_eq!(
            e("1,2", &tag()),
            "1,2: 2 value(s) specified but the maximum number is 1"
        );
        assert_eq!(
            e("101-110", &tag()),
            "101-110: 10 value(s) specified but the maximum number is 1"
        );
        assert_eq!(e("1,1", &trunks()), "1,1: set contains duplicate value");
        assert_eq!(e("a", &smap()), "a: syntax error at \"");
        assert_eq!(e("{a=b", &smap()), "{a=b: missing \"}\" at end of data");
        assert_eq!(e("[1,2", &trunks()), "[1,2: missing \"]\" at end of data");
        assert_eq!(
            e("[1,2]x", &trunks()),
            "[1,2]x: trailing garbage after \"]\""
        );
        assert_eq!(e("", &smap()), "use \"{}\" to specify the empty map");
        assert_eq!(e("", &trunks()), "use \"[]\" to specify the empty set");
        assert_eq!(e("a=b,a=c", &smap()), "a=b,a=c: map contains duplicate key");
        assert_eq!(
            e("j=a:b", &smap()),
            "j=a:b: unexpected \":\" parsing map of (string, string) pairs"
        );
        let st = ty(s(), None, 1, Some(1));
        assert_eq!(
            e("\"abc", &st),
            "\"abc: quoted string extends past end of argument"
        );
        assert_eq!(e("\"a\\qb\"", &st), "\"a\\qb\": bad escape \\q");
        let one = ty(s(), None, 1, None);
        assert_eq!(
            e("[]", &one),
            "[]: 0 value(s) specified but the minimum number is 1"
        );
        let b = ty(BaseType::new(AtomicType::Boolean), None, 1, Some(1));
        assert_eq!(
            e("maybe", &b),
            "\"maybe\" is not a valid boolean (use \"true\" or \"false\")"
        );
        let mtu = ty(
            BaseType {
                min_integer: Some(1),
                ..BaseType::new(AtomicType::Integer)
            },
            None,
            0,
            Some(1),
        );
        assert_eq!(
            e("0", &mtu),
            "constraint violation: 0 is less than minimum allowed value 1"
        );
        let en = BaseType {
            enum_: Some(vec!["access".into(), "trunk".into()]),
            ..BaseType::new(AtomicType::String)
        };
        assert_eq!(
            e("foo", &ty(en, None, 0, Some(1))),
            "constraint violation: foo is not one of the allowed values ([access, trunk])"
        );
        assert_eq!(
            e(
                "abc",
                &ty(BaseType::new(AtomicType::Uuid), None, 1, Some(1))
            ),
            "\"abc\" is not a valid UUID"
        );
    }

    #[test]
    fn symbols() {
        let mut st = Symtab::new();
        let rt = BaseType {
            ref_table: Some("QoS".into()),
            ..BaseType::new(AtomicType::Uuid)
        };
        let t = ty(rt, None, 0, Some(1));
        let d = datum_from_string("@q", &t, Some(&mut st)).unwrap();
        let sym = st.get("@q").unwrap();
        assert_eq!(d.keys, vec![Atom::Uuid(sym.uuid)]);
        assert!(sym.strong_ref && !sym.created);
        let d2 = datum_from_string("@q", &t, Some(&mut st)).unwrap();
        assert_eq!(d, d2);
    }

    #[test]
    fn tokens_and_escapes() {
        assert_eq!(token_parse("a\\:b=c").unwrap(), ("a:b".to_string(), "=c"));
        assert_eq!(
            token_parse("\"a:b\"=c").unwrap(),
            ("\"a:b\"".to_string(), "=c")
        );
        assert!(token_parse("ab\\").is_err());
        let d = datum_from_string("{\"k 1\"=\"v\\\"2\"}", &smap(), None).unwrap();
        assert_eq!(d.map_get_str("k 1"), Some("v\"2"));
        let d = datum_from_string("\"\\u00e9\"", &ty(s(), None, 1, Some(1)), None).unwrap();
        assert_eq!(d.as_str(), Some("é"));
    }

    fn arb_string() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z_][a-zA-Z0-9_.-]{0,6}",
            "[ -~]{0,8}",
            "\\PC{0,5}",
            Just(String::new()),
            Just("true".to_string()),
        ]
    }

    proptest! {
        /// Printing then parsing gives back the same map, for any strings.
        #[test]
        fn map_round_trip(pairs in proptest::collection::btree_map(arb_string(), arb_string(), 0..6)) {
            let d = Datum::map(pairs.into_iter().map(|(k, v)| (Atom::String(k), Atom::String(v))));
            let text = datum_to_string(&d, &smap());
            let back = datum_from_string(&text, &smap(), None).unwrap();
            prop_assert_eq!(back, d);
        }

        /// Same for integer sets and reals.
        #[test]
        fn set_round_trip(v in proptest::collection::btree_set(0i64..4096, 0..10),
                          r in proptest::collection::btree_set(-1_000_000i64..1_000_000, 0..5)) {
            let d = Datum::set(v.into_iter().map(Atom::Integer));
            let text = datum_to_string(&d, &trunks());
            prop_assert_eq!(datum_from_string(&text, &trunks(), None).unwrap(), d);
            let rt = ty(BaseType::new(AtomicType::Real), None, 0, None);
            let d = Datum::set(r.into_iter().map(|i| Atom::Real(i as f64 / 64.0)));
            let text = datum_to_string(&d, &rt);
            prop_assert_eq!(datum_from_string(&text, &rt, None).unwrap(), d);
        }
    }
}
