//! Typed OVSDB values (RFC 7047 §5.1): atoms and datums, their JSON notation,
//! constraint checks and the update2 "diff" form.
//!
//! Idea: every column value is a `Datum` — a set of atoms, or a map when
//! `values` is `Some` — even scalars (a one-element set). Invariant: `keys` is
//! sorted by the total order of `Atom` and free of duplicates; for maps
//! `values[i]` belongs to `keys[i]`. Sorted vectors make equality, subset
//! tests (`includes`) and diffs linear merges. Performance assumption: column
//! values are small (at most a few thousand elements), so binary search and
//! vector inserts beat tree structures.

use std::cmp::Ordering;

use serde_json::{json, Value};
use uuid::Uuid;

use crate::schema::{AtomicType, BaseType, ColumnType};
use crate::Error;

/// One atomic value (RFC 7047 §3.1 `<atom>`).
#[derive(Debug, Clone)]
pub enum Atom {
    /// `integer`.
    Integer(i64),
    /// `real`; compared with `f64::total_cmp`.
    Real(f64),
    /// `boolean`.
    Boolean(bool),
    /// `string`.
    String(String),
    /// `uuid`.
    Uuid(Uuid),
}

impl Atom {
    fn rank(&self) -> u8 {
        match self {
            Atom::Integer(_) => 0,
            Atom::Real(_) => 1,
            Atom::Boolean(_) => 2,
            Atom::String(_) => 3,
            Atom::Uuid(_) => 4,
        }
    }

    /// The atom's type.
    pub fn atomic_type(&self) -> AtomicType {
        match self {
            Atom::Integer(_) => AtomicType::Integer,
            Atom::Real(_) => AtomicType::Real,
            Atom::Boolean(_) => AtomicType::Boolean,
            Atom::String(_) => AtomicType::String,
            Atom::Uuid(_) => AtomicType::Uuid,
        }
    }

    /// Integer value, if this is an integer.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Atom::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// Real value (integers are widened).
    pub fn as_real(&self) -> Option<f64> {
        match self {
            Atom::Real(r) => Some(*r),
            Atom::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// Boolean value.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Atom::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    /// String value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Atom::String(s) => Some(s),
            _ => None,
        }
    }

    /// UUID value.
    pub fn as_uuid(&self) -> Option<Uuid> {
        match self {
            Atom::Uuid(u) => Some(*u),
            _ => None,
        }
    }

    /// JSON notation: numbers, booleans, strings, `["uuid","..."]`.
    pub fn to_json(&self) -> Value {
        match self {
            Atom::Integer(i) => json!(i),
            Atom::Real(r) => json!(r),
            Atom::Boolean(b) => json!(b),
            Atom::String(s) => json!(s),
            Atom::Uuid(u) => json!(["uuid", u.to_string()]),
        }
    }

    /// Parse an atom of base type `base` (without checking constraints).
    /// `["named-uuid", name]` is resolved through `named`.
    /// Errors: `Error::Syntax` on a type mismatch or unknown named-uuid.
    pub fn from_json(
        j: &Value,
        base: &BaseType,
        named: &dyn Fn(&str) -> Option<Uuid>,
    ) -> Result<Atom, Error> {
        let bad = || Error::Syntax(format!("expected {}, got {}", base.atomic.as_str(), j));
        match base.atomic {
            AtomicType::Integer => match j {
                Value::Number(n) => n.as_i64().map(Atom::Integer).ok_or_else(bad),
                _ => Err(bad()),
            },
            AtomicType::Real => match j {
                Value::Number(n) => n.as_f64().map(Atom::Real).ok_or_else(bad),
                _ => Err(bad()),
            },
            AtomicType::Boolean => j.as_bool().map(Atom::Boolean).ok_or_else(bad),
            AtomicType::String => j
                .as_str()
                .map(|s| Atom::String(s.to_string()))
                .ok_or_else(bad),
            AtomicType::Uuid => {
                let a = j.as_array().filter(|a| a.len() == 2).ok_or_else(bad)?;
                let s = a[1].as_str().ok_or_else(bad)?;
                match a[0].as_str() {
                    Some("uuid") => Uuid::parse_str(s)
                        .map(Atom::Uuid)
                        .map_err(|_| Error::Syntax(format!("\"{s}\" is not a valid UUID"))),
                    Some("named-uuid") => named(s)
                        .map(Atom::Uuid)
                        .ok_or_else(|| Error::Syntax(format!("unknown named-uuid \"{s}\""))),
                    _ => Err(bad()),
                }
            }
        }
    }
}

impl PartialEq for Atom {
    fn eq(&self, other: &Atom) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Atom {}
impl PartialOrd for Atom {
    fn partial_cmp(&self, other: &Atom) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Atom {
    fn cmp(&self, other: &Atom) -> Ordering {
        match (self, other) {
            (Atom::Integer(a), Atom::Integer(b)) => a.cmp(b),
            (Atom::Real(a), Atom::Real(b)) => a.total_cmp(b),
            (Atom::Boolean(a), Atom::Boolean(b)) => a.cmp(b),
            (Atom::String(a), Atom::String(b)) => a.cmp(b),
            (Atom::Uuid(a), Atom::Uuid(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}
impl std::hash::Hash for Atom {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.rank().hash(h);
        match self {
            Atom::Integer(i) => i.hash(h),
            Atom::Real(r) => r.to_bits().hash(h),
            Atom::Boolean(b) => b.hash(h),
            Atom::String(s) => s.hash(h),
            Atom::Uuid(u) => u.hash(h),
        }
    }
}

impl From<i64> for Atom {
    fn from(v: i64) -> Atom {
        Atom::Integer(v)
    }
}
impl From<&str> for Atom {
    fn from(v: &str) -> Atom {
        Atom::String(v.to_string())
    }
}
impl From<String> for Atom {
    fn from(v: String) -> Atom {
        Atom::String(v)
    }
}
impl From<bool> for Atom {
    fn from(v: bool) -> Atom {
        Atom::Boolean(v)
    }
}
impl From<Uuid> for Atom {
    fn from(v: Uuid) -> Atom {
        Atom::Uuid(v)
    }
}

impl std::fmt::Display for Atom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Atom::Integer(i) => write!(f, "{i}"),
            Atom::Real(r) => write!(f, "{r}"),
            Atom::Boolean(b) => write!(f, "{b}"),
            Atom::String(s) => write!(f, "{s:?}"),
            Atom::Uuid(u) => write!(f, "{u}"),
        }
    }
}

/// A column value (RFC 7047 §5.1 `<value>`): a set of atoms, or a map when
/// `values` is `Some`. Invariant: `keys` sorted and unique; `values`, when
/// present, has the same length.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Datum {
    /// Set elements or map keys, sorted, unique.
    pub keys: Vec<Atom>,
    /// Map values parallel to `keys`; `None` for sets and scalars.
    pub values: Option<Vec<Atom>>,
}

impl Datum {
    /// An empty set.
    pub fn empty_set() -> Datum {
        Datum {
            keys: Vec::new(),
            values: None,
        }
    }

    /// An empty map.
    pub fn empty_map() -> Datum {
        Datum {
            keys: Vec::new(),
            values: Some(Vec::new()),
        }
    }

    /// A one-element set (a scalar).
    pub fn scalar(a: impl Into<Atom>) -> Datum {
        Datum {
            keys: vec![a.into()],
            values: None,
        }
    }

    /// A set from atoms in any order; duplicates are merged.
    pub fn set(atoms: impl IntoIterator<Item = Atom>) -> Datum {
        let mut keys: Vec<Atom> = atoms.into_iter().collect();
        keys.sort();
        keys.dedup();
        Datum { keys, values: None }
    }

    /// A map from pairs in any order; for duplicate keys the last pair wins.
    pub fn map(pairs: impl IntoIterator<Item = (Atom, Atom)>) -> Datum {
        let mut v: Vec<(Atom, Atom)> = pairs.into_iter().collect();
        // Stable sort keeps input order among equal keys; keep the last one.
        v.sort_by(|a, b| a.0.cmp(&b.0));
        let mut keys: Vec<Atom> = Vec::with_capacity(v.len());
        let mut values: Vec<Atom> = Vec::with_capacity(v.len());
        for (k, val) in v {
            if keys.last() == Some(&k) {
                if let Some(last) = values.last_mut() {
                    *last = val;
                }
            } else {
                keys.push(k);
                values.push(val);
            }
        }
        Datum {
            keys,
            values: Some(values),
        }
    }

    /// The default value of a column type (RFC 7047 §5.1: empty when `min` is
    /// 0, else the type's default atom — 0, 0.0, false, "" or the all-zero
    /// UUID — with the value type's default for maps).
    pub fn default_for(t: &ColumnType) -> Datum {
        if t.min == 0 {
            Datum {
                keys: Vec::new(),
                values: t.value.as_ref().map(|_| Vec::new()),
            }
        } else {
            Datum {
                keys: vec![t.key.atomic.default_atom()],
                values: t.value.as_ref().map(|v| vec![v.atomic.default_atom()]),
            }
        }
    }

    /// True when this equals the type's default value.
    pub fn is_default(&self, t: &ColumnType) -> bool {
        *self == Datum::default_for(t)
    }

    /// Number of elements (pairs for maps).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// True for maps.
    pub fn is_map(&self) -> bool {
        self.values.is_some()
    }

    /// The single atom of a one-element datum.
    pub fn as_scalar(&self) -> Option<&Atom> {
        if self.keys.len() == 1 {
            self.keys.first()
        } else {
            None
        }
    }

    /// The integer of a one-element integer datum.
    pub fn as_integer(&self) -> Option<i64> {
        self.as_scalar().and_then(Atom::as_integer)
    }

    /// The real of a one-element real (or integer) datum.
    pub fn as_real(&self) -> Option<f64> {
        self.as_scalar().and_then(Atom::as_real)
    }

    /// The boolean of a one-element boolean datum.
    pub fn as_bool(&self) -> Option<bool> {
        self.as_scalar().and_then(Atom::as_bool)
    }

    /// The string of a one-element string datum.
    pub fn as_str(&self) -> Option<&str> {
        self.as_scalar().and_then(Atom::as_str)
    }

    /// The UUID of a one-element UUID datum.
    pub fn as_uuid(&self) -> Option<Uuid> {
        self.as_scalar().and_then(Atom::as_uuid)
    }

    /// Iterate over the UUIDs of a UUID set (or the keys of a UUID-keyed map).
    pub fn uuids(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.keys.iter().filter_map(Atom::as_uuid)
    }

    /// Iterate over the string elements of a string set.
    pub fn strs(&self) -> impl Iterator<Item = &str> + '_ {
        self.keys.iter().filter_map(Atom::as_str)
    }

    /// Map lookup.
    pub fn map_get(&self, key: &Atom) -> Option<&Atom> {
        let vals = self.values.as_ref()?;
        self.keys.binary_search(key).ok().and_then(|i| vals.get(i))
    }

    /// Map lookup of a string key returning a string value (e.g.
    /// `external_ids`, `options`).
    pub fn map_get_str(&self, key: &str) -> Option<&str> {
        self.map_get(&Atom::String(key.to_string()))
            .and_then(Atom::as_str)
    }

    /// Iterate over map pairs (empty for sets).
    pub fn pairs(&self) -> impl Iterator<Item = (&Atom, &Atom)> + '_ {
        self.keys.iter().zip(self.values.iter().flatten())
    }

    /// Set membership / map key membership.
    pub fn contains(&self, a: &Atom) -> bool {
        self.keys.binary_search(a).is_ok()
    }

    /// RFC 7047 §5.1 JSON notation as ovsdb-server sends it: maps as
    /// `["map",[[k,v],...]]`, a set with exactly one element as the bare
    /// atom, other sets as `["set",[...]]` (so `["set",[]]` when empty).
    pub fn to_json(&self) -> Value {
        match &self.values {
            Some(vals) => Value::Array(vec![
                "map".into(),
                Value::Array(
                    self.keys
                        .iter()
                        .zip(vals)
                        .map(|(k, v)| Value::Array(vec![k.to_json(), v.to_json()]))
                        .collect(),
                ),
            ]),
            None if self.keys.len() == 1 => self.keys[0].to_json(),
            None => Value::Array(vec![
                "set".into(),
                Value::Array(self.keys.iter().map(Atom::to_json).collect()),
            ]),
        }
    }

    /// Parse a `<value>` of column type `t` (RFC 7047 §5.1), resolving
    /// `named-uuid`s through `named`, and check it against the type's
    /// constraints. Errors: `Error::Syntax` for malformed JSON, wrong atom
    /// types, wrong element count or an unknown named-uuid;
    /// `Error::Constraint` for enum/range/length violations or duplicates.
    pub fn from_json(
        j: &Value,
        t: &ColumnType,
        named: &dyn Fn(&str) -> Option<Uuid>,
    ) -> Result<Datum, Error> {
        let d = if let Some(vt) = &t.value {
            let arr = j
                .as_array()
                .filter(|a| a.len() == 2 && a[0] == "map")
                .and_then(|a| a[1].as_array())
                .ok_or_else(|| Error::Syntax(format!("expected [\"map\",[...]], got {j}")))?;
            let mut pairs = Vec::with_capacity(arr.len());
            for p in arr {
                let p = p
                    .as_array()
                    .filter(|p| p.len() == 2)
                    .ok_or_else(|| Error::Syntax(format!("map pair must be [key, value]: {p}")))?;
                let k = Atom::from_json(&p[0], &t.key, named)?;
                let v = Atom::from_json(&p[1], vt, named)?;
                t.key.check_atom(&k)?;
                vt.check_atom(&v)?;
                pairs.push((k, v));
            }
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            if pairs.windows(2).any(|w| w[0].0 == w[1].0) {
                return Err(Error::Constraint("map contains duplicate key".into()));
            }
            let (keys, values) = pairs.into_iter().unzip();
            Datum {
                keys,
                values: Some(values),
            }
        } else {
            let is_set = j
                .as_array()
                .is_some_and(|a| a.len() == 2 && a[0] == "set" && a[1].is_array());
            let mut keys = Vec::new();
            if is_set {
                for e in j[1].as_array().into_iter().flatten() {
                    let a = Atom::from_json(e, &t.key, named)?;
                    t.key.check_atom(&a)?;
                    keys.push(a);
                }
            } else {
                let a = Atom::from_json(j, &t.key, named)?;
                t.key.check_atom(&a)?;
                keys.push(a);
            }
            keys.sort();
            if keys.windows(2).any(|w| w[0] == w[1]) {
                return Err(Error::Constraint("set contains duplicate value".into()));
            }
            Datum { keys, values: None }
        };
        let n = d.keys.len() as u64;
        if n < t.min || t.max.is_some_and(|m| n > m) {
            return Err(Error::Syntax(format!(
                "{} must have {} to {} members but {} are present",
                if t.is_map() { "map" } else { "set" },
                t.min,
                t.max.map_or("unlimited".to_string(), |m| m.to_string()),
                n
            )));
        }
        Ok(d)
    }

    /// Check this datum against a column type: atom types and constraints,
    /// and the element count. Errors: `Error::Constraint`.
    pub fn check(&self, t: &ColumnType) -> Result<(), Error> {
        if self.values.is_some() != t.value.is_some() {
            return Err(Error::Constraint("map/set mismatch".into()));
        }
        for k in &self.keys {
            t.key.check_atom(k)?;
        }
        if let (Some(vals), Some(vt)) = (&self.values, &t.value) {
            for v in vals {
                vt.check_atom(v)?;
            }
        }
        let n = self.keys.len() as u64;
        if n < t.min || t.max.is_some_and(|m| n > m) {
            return Err(Error::Constraint(format!(
                "{} must have {} to {} members but {} are present",
                if t.is_map() { "map" } else { "set" },
                t.min,
                t.max.map_or("unlimited".to_string(), |m| m.to_string()),
                n
            )));
        }
        Ok(())
    }

    /// Insert one element (sets) or pair (maps, value ignored for sets).
    /// For maps an existing key keeps its old value (RFC 7047 §5.1 `insert`
    /// mutator semantics). Returns true if something was added.
    pub fn insert(&mut self, k: Atom, v: Option<Atom>) -> bool {
        match self.keys.binary_search(&k) {
            Ok(_) => false,
            Err(i) => {
                self.keys.insert(i, k);
                if let Some(vals) = &mut self.values {
                    vals.insert(i, v.unwrap_or(Atom::Integer(0)));
                }
                true
            }
        }
    }

    /// Insert or replace a map pair (or add a set element).
    pub fn set_pair(&mut self, k: Atom, v: Atom) {
        match self.keys.binary_search(&k) {
            Ok(i) => {
                if let Some(vals) = &mut self.values {
                    vals[i] = v;
                }
            }
            Err(i) => {
                self.keys.insert(i, k);
                if let Some(vals) = &mut self.values {
                    vals.insert(i, v);
                }
            }
        }
    }

    /// Remove the element / map key `k`. Returns true if it was present.
    pub fn remove_key(&mut self, k: &Atom) -> bool {
        match self.keys.binary_search(k) {
            Ok(i) => {
                self.keys.remove(i);
                if let Some(vals) = &mut self.values {
                    vals.remove(i);
                }
                true
            }
            Err(_) => false,
        }
    }

    /// Remove the map pair `(k, v)` only if the value matches.
    pub fn remove_pair(&mut self, k: &Atom, v: &Atom) -> bool {
        if self.map_get(k) == Some(v) {
            self.remove_key(k)
        } else {
            false
        }
    }

    /// Keep only the elements (keys) for which `f` is true.
    pub fn retain(&mut self, mut f: impl FnMut(&Atom, Option<&Atom>) -> bool) {
        let mut keys = Vec::with_capacity(self.keys.len());
        let mut vals = self
            .values
            .as_ref()
            .map(|_| Vec::with_capacity(self.keys.len()));
        let old_vals = self.values.take();
        for (i, k) in std::mem::take(&mut self.keys).into_iter().enumerate() {
            let v = old_vals.as_ref().and_then(|vs| vs.get(i));
            if f(&k, v) {
                if let (Some(out), Some(v)) = (&mut vals, v) {
                    out.push(v.clone());
                }
                keys.push(k);
            }
        }
        self.keys = keys;
        self.values = vals;
    }

    /// True when every element of `other` is in `self` (for maps: every pair),
    /// i.e. RFC 7047 `includes`.
    pub fn includes(&self, other: &Datum) -> bool {
        match &other.values {
            Some(_) => other.pairs().all(|(k, v)| self.map_get(k) == Some(v)),
            None => other.keys.iter().all(|k| self.contains(k)),
        }
    }

    /// True when no element of `other` is in `self` (for maps: no pair),
    /// i.e. RFC 7047 `excludes`.
    pub fn excludes(&self, other: &Datum) -> bool {
        match &other.values {
            Some(_) => other.pairs().all(|(k, v)| self.map_get(k) != Some(v)),
            None => other.keys.iter().all(|k| !self.contains(k)),
        }
    }

    /// The update2 diff from `old` to `new` (Open vSwitch `ovsdb_datum_diff`):
    /// for sets the symmetric difference; for maps the pairs of `new` whose key
    /// is new or whose value changed, plus the pairs of `old` whose key is gone.
    pub fn diff(old: &Datum, new: &Datum) -> Datum {
        match (&old.values, &new.values) {
            (Some(_), Some(_)) => {
                let mut pairs = Vec::new();
                for (k, v) in new.pairs() {
                    if old.map_get(k) != Some(v) {
                        pairs.push((k.clone(), v.clone()));
                    }
                }
                for (k, v) in old.pairs() {
                    if !new.contains(k) {
                        pairs.push((k.clone(), v.clone()));
                    }
                }
                Datum::map(pairs)
            }
            _ => {
                let mut out = Vec::new();
                let (mut i, mut j) = (0, 0);
                while i < old.keys.len() || j < new.keys.len() {
                    match (old.keys.get(i), new.keys.get(j)) {
                        (Some(a), Some(b)) => match a.cmp(b) {
                            Ordering::Less => {
                                out.push(a.clone());
                                i += 1;
                            }
                            Ordering::Greater => {
                                out.push(b.clone());
                                j += 1;
                            }
                            Ordering::Equal => {
                                i += 1;
                                j += 1;
                            }
                        },
                        (Some(a), None) => {
                            out.push(a.clone());
                            i += 1;
                        }
                        (None, Some(b)) => {
                            out.push(b.clone());
                            j += 1;
                        }
                        (None, None) => break,
                    }
                }
                Datum {
                    keys: out,
                    values: None,
                }
            }
        }
    }

    /// Apply an update2 diff produced by [`Datum::diff`] (Open vSwitch
    /// `ovsdb_datum_apply_diff`): sets toggle membership; for maps a pair equal
    /// to the current one removes it, a different value replaces it, a new key
    /// is added.
    pub fn apply_diff(&self, diff: &Datum) -> Datum {
        let mut out = self.clone();
        match &diff.values {
            Some(_) => {
                for (k, v) in diff.pairs() {
                    if out.map_get(k) == Some(v) {
                        out.remove_key(k);
                    } else {
                        out.set_pair(k.clone(), v.clone());
                    }
                }
            }
            None => {
                for k in &diff.keys {
                    if !out.remove_key(k) {
                        out.insert(k.clone(), None);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::AtomicType;

    fn set_of(at: AtomicType) -> ColumnType {
        ColumnType {
            key: BaseType::new(at),
            value: None,
            min: 0,
            max: None,
        }
    }
    fn map_ss() -> ColumnType {
        ColumnType {
            key: BaseType::new(AtomicType::String),
            value: Some(BaseType::new(AtomicType::String)),
            min: 0,
            max: None,
        }
    }
    fn none(_: &str) -> Option<Uuid> {
        None
    }

    #[test]
    fn json_notation() {
        let t = set_of(AtomicType::Integer);
        let d = Datum::from_json(&json!(["set", [3, 1, 2]]), &t, &none).unwrap();
        assert_eq!(
            d.keys,
            vec![Atom::Integer(1), Atom::Integer(2), Atom::Integer(3)]
        );
        assert_eq!(d.to_json(), json!(["set", [1, 2, 3]]));
        let one = Datum::from_json(&json!(7), &t, &none).unwrap();
        assert_eq!(one.to_json(), json!(7));
        assert_eq!(Datum::empty_set().to_json(), json!(["set", []]));
        let m =
            Datum::from_json(&json!(["map", [["b", "2"], ["a", "1"]]]), &map_ss(), &none).unwrap();
        assert_eq!(m.to_json(), json!(["map", [["a", "1"], ["b", "2"]]]));
        assert_eq!(m.map_get_str("b"), Some("2"));
        assert_eq!(Datum::empty_map().to_json(), json!(["map", []]));
        let u = Uuid::new_v4();
        let ut = ColumnType::scalar(AtomicType::Uuid);
        let named = move |n: &str| if n == "x" { Some(u) } else { None };
        let d = Datum::from_json(&json!(["named-uuid", "x"]), &ut, &named).unwrap();
        assert_eq!(d.as_uuid(), Some(u));
        assert_eq!(d.to_json(), json!(["uuid", u.to_string()]));
        assert!(Datum::from_json(&json!(["named-uuid", "y"]), &ut, &named).is_err());
        let r = Datum::from_json(&json!(1), &ColumnType::scalar(AtomicType::Real), &none).unwrap();
        assert_eq!(r.as_real(), Some(1.0));
    }

    #[test]
    fn errors() {
        let t = set_of(AtomicType::Integer);
        assert!(matches!(
            Datum::from_json(&json!(["set", [1, 1]]), &t, &none),
            Err(Error::Constraint(_))
        ));
        assert!(matches!(
            Datum::from_json(&json!("x"), &t, &none),
            Err(Error::Syntax(_))
        ));
        assert!(Datum::from_json(&json!(1.5), &t, &none).is_err());
        let s = ColumnType::scalar(AtomicType::Integer);
        assert!(matches!(
            Datum::from_json(&json!(["set", []]), &s, &none),
            Err(Error::Syntax(_))
        ));
        let mut b = BaseType::new(AtomicType::Integer);
        b.min_integer = Some(1);
        b.max_integer = Some(4095);
        let r = ColumnType {
            key: b,
            value: None,
            min: 0,
            max: Some(1),
        };
        assert!(Datum::from_json(&json!(4095), &r, &none).is_ok());
        assert!(matches!(
            Datum::from_json(&json!(4096), &r, &none),
            Err(Error::Constraint(_))
        ));
        let mut e = BaseType::new(AtomicType::String);
        e.enum_ = Some(vec!["secure".into(), "standalone".into()]);
        let et = ColumnType {
            key: e,
            value: None,
            min: 0,
            max: Some(1),
        };
        assert!(Datum::from_json(&json!("secure"), &et, &none).is_ok());
        assert!(matches!(
            Datum::from_json(&json!("x"), &et, &none),
            Err(Error::Constraint(_))
        ));
        assert!(Datum::from_json(&json!(["map", [["a", 1]]]), &map_ss(), &none).is_err());
        assert!(Datum::from_json(&json!(["map", [["a"]]]), &map_ss(), &none).is_err());
    }

    #[test]
    fn defaults() {
        assert_eq!(
            Datum::default_for(&ColumnType::scalar(AtomicType::Integer)),
            Datum::scalar(0)
        );
        assert_eq!(Datum::default_for(&map_ss()), Datum::empty_map());
        assert!(Datum::empty_set().is_default(&set_of(AtomicType::Uuid)));
    }

    #[test]
    fn diff_roundtrip() {
        let a = Datum::set([1.into(), 2.into(), 3.into()]);
        let b = Datum::set([2.into(), 4.into()]);
        let d = Datum::diff(&a, &b);
        assert_eq!(d, Datum::set([1.into(), 3.into(), 4.into()]));
        assert_eq!(a.apply_diff(&d), b);
        let m1 = Datum::map([("a".into(), "1".into()), ("b".into(), "2".into())]);
        let m2 = Datum::map([("b".into(), "3".into()), ("c".into(), "4".into())]);
        let d = Datum::diff(&m1, &m2);
        assert_eq!(m1.apply_diff(&d), m2);
        assert!(m2.includes(&Datum::map([("c".into(), "4".into())])));
        assert!(m2.excludes(&Datum::map([("c".into(), "5".into())])));
    }

    #[test]
    fn real_order_total() {
        let mut v = vec![Atom::Real(2.0), Atom::Real(-1.0), Atom::Real(0.5)];
        v.sort();
        assert_eq!(v, vec![Atom::Real(-1.0), Atom::Real(0.5), Atom::Real(2.0)]);
    }
}
