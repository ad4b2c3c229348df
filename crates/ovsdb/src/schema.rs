//! Database schemas (RFC 7047 §3.2): parsing of `.ovsschema` JSON, the typed
//! column model, and serialisation back to JSON.
//!
//! Idea: a schema is parsed once into plain structs (`DatabaseSchema` →
//! `TableSchema` → `ColumnSchema` → `ColumnType` → `BaseType`) which every
//! other module consults. Invariants established by the parser: names are RFC
//! 7047 `<id>`s, `min <= max`, `min ∈ {0,1}`, `max >= 1`, every `refTable`
//! names a table of the same schema, enum values satisfy their own base type.
//! `to_json` reproduces what ovsdb-server's `get_schema` returns (defaults are
//! left out, exactly like Open vSwitch's `ovsdb_schema_to_json`).
//! Performance: lookups are `BTreeMap` by name; schemas are small and static.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use crate::datum::{Atom, Datum};
use crate::Error;

/// A whole database schema (RFC 7047 §3.2 `<database-schema>`).
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseSchema {
    /// Database name, e.g. `Open_vSwitch`.
    pub name: String,
    /// Schema version `x.y.z`.
    pub version: String,
    /// Optional checksum string as written by `ovsdb-tool`.
    pub cksum: Option<String>,
    /// Tables by name.
    pub tables: BTreeMap<String, TableSchema>,
}

/// One table (RFC 7047 §3.2 `<table-schema>`).
#[derive(Debug, Clone, PartialEq)]
pub struct TableSchema {
    /// Table name.
    pub name: String,
    /// User columns by name (the implicit `_uuid`/`_version` are not in here;
    /// use [`TableSchema::column`] to look up either kind).
    pub columns: BTreeMap<String, ColumnSchema>,
    /// `maxRows`; `None` = unlimited.
    pub max_rows: Option<u64>,
    /// Effective root-ness: rows of non-root tables are garbage collected when
    /// no strong reference to them remains. When no table of a schema says
    /// `isRoot`, all tables are root (RFC 7047 §3.2 compatibility rule).
    pub is_root: bool,
    /// `indexes`: each a list of column names whose combined value is unique.
    pub indexes: Vec<Vec<String>>,
}

/// One column (RFC 7047 §3.2 `<column-schema>`).
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSchema {
    /// Column name.
    pub name: String,
    /// Type of the column's value.
    pub type_: ColumnType,
    /// `ephemeral`: not written to the journal.
    pub ephemeral: bool,
    /// `mutable` (default true): false forbids `update`/`mutate` after insert.
    pub mutable: bool,
}

/// A column type (RFC 7047 §3.2 `<type>`): a set of `min..=max` keys, or a map
/// when `value` is present.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnType {
    /// Key (or element) type.
    pub key: BaseType,
    /// Value type for maps.
    pub value: Option<BaseType>,
    /// Minimum number of elements (0 or 1).
    pub min: u64,
    /// Maximum number of elements; `None` = `"unlimited"`.
    pub max: Option<u64>,
}

/// Strength of a UUID reference (RFC 7047 §3.2 `refType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefType {
    /// Referenced row must exist; it keeps a non-root row alive.
    Strong,
    /// Reference silently removed when the target is deleted.
    Weak,
}

/// The atomic types of RFC 7047 §3.1 `<atomic-type>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AtomicType {
    /// 64-bit signed integer.
    Integer,
    /// IEEE 754 double.
    Real,
    /// true/false.
    Boolean,
    /// UTF-8 string.
    String,
    /// UUID (a row reference when `refTable` is set).
    Uuid,
}

impl AtomicType {
    /// The RFC 7047 spelling (`"integer"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            AtomicType::Integer => "integer",
            AtomicType::Real => "real",
            AtomicType::Boolean => "boolean",
            AtomicType::String => "string",
            AtomicType::Uuid => "uuid",
        }
    }

    /// Parse the RFC 7047 spelling.
    pub fn from_name(s: &str) -> Option<AtomicType> {
        Some(match s {
            "integer" => AtomicType::Integer,
            "real" => AtomicType::Real,
            "boolean" => AtomicType::Boolean,
            "string" => AtomicType::String,
            "uuid" => AtomicType::Uuid,
            _ => return None,
        })
    }

    /// The default atom of this type (0, 0.0, false, "", all-zero UUID).
    pub fn default_atom(self) -> Atom {
        match self {
            AtomicType::Integer => Atom::Integer(0),
            AtomicType::Real => Atom::Real(0.0),
            AtomicType::Boolean => Atom::Boolean(false),
            AtomicType::String => Atom::String(String::new()),
            AtomicType::Uuid => Atom::Uuid(uuid::Uuid::nil()),
        }
    }
}

/// A base type with its constraints (RFC 7047 §3.2 `<base-type>`).
#[derive(Debug, Clone, PartialEq)]
pub struct BaseType {
    /// The atomic type.
    pub atomic: AtomicType,
    /// Allowed values (`enum`), sorted; `None` = unconstrained.
    pub enum_: Option<Vec<Atom>>,
    /// `minInteger` (integers only).
    pub min_integer: Option<i64>,
    /// `maxInteger` (integers only).
    pub max_integer: Option<i64>,
    /// `minReal` (reals only).
    pub min_real: Option<f64>,
    /// `maxReal` (reals only).
    pub max_real: Option<f64>,
    /// `minLength` in Unicode characters (strings only).
    pub min_length: Option<u64>,
    /// `maxLength` in Unicode characters (strings only).
    pub max_length: Option<u64>,
    /// `refTable` (UUIDs only).
    pub ref_table: Option<String>,
    /// `refType` (meaningful only with `ref_table`).
    pub ref_type: RefType,
}

impl BaseType {
    /// An unconstrained base type.
    pub fn new(atomic: AtomicType) -> BaseType {
        BaseType {
            atomic,
            enum_: None,
            min_integer: None,
            max_integer: None,
            min_real: None,
            max_real: None,
            min_length: None,
            max_length: None,
            ref_table: None,
            ref_type: RefType::Strong,
        }
    }

    /// True when this is a strong reference to another row.
    pub fn is_strong_ref(&self) -> bool {
        self.ref_table.is_some() && self.ref_type == RefType::Strong
    }

    /// True when this is a weak reference to another row.
    pub fn is_weak_ref(&self) -> bool {
        self.ref_table.is_some() && self.ref_type == RefType::Weak
    }

    fn has_constraints(&self) -> bool {
        self.enum_.is_some()
            || self.min_integer.is_some()
            || self.max_integer.is_some()
            || self.min_real.is_some()
            || self.max_real.is_some()
            || self.min_length.is_some()
            || self.max_length.is_some()
            || self.ref_table.is_some()
    }

    /// Parse `<base-type>` (a bare type name or an object with constraints).
    pub fn from_json(j: &Value) -> Result<BaseType, Error> {
        match j {
            Value::String(s) => AtomicType::from_name(s)
                .map(BaseType::new)
                .ok_or_else(|| Error::Syntax(format!("unknown atomic type \"{s}\""))),
            Value::Object(o) => {
                let t = o
                    .get("type")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Error::Syntax("base type lacks \"type\" string".into()))?;
                let atomic = AtomicType::from_name(t)
                    .ok_or_else(|| Error::Syntax(format!("unknown atomic type \"{t}\"")))?;
                let mut b = BaseType::new(atomic);
                for k in o.keys() {
                    let ok = match k.as_str() {
                        "type" | "enum" => true,
                        "minInteger" | "maxInteger" => atomic == AtomicType::Integer,
                        "minReal" | "maxReal" => atomic == AtomicType::Real,
                        "minLength" | "maxLength" => atomic == AtomicType::String,
                        "refTable" | "refType" => atomic == AtomicType::Uuid,
                        _ => false,
                    };
                    if !ok {
                        return Err(Error::Syntax(format!(
                            "member \"{k}\" not allowed in base type of type {t}"
                        )));
                    }
                }
                let int = |name: &str| -> Result<Option<i64>, Error> {
                    match o.get(name) {
                        None => Ok(None),
                        Some(v) => v
                            .as_i64()
                            .map(Some)
                            .ok_or_else(|| Error::Syntax(format!("\"{name}\" must be an integer"))),
                    }
                };
                b.min_integer = int("minInteger")?;
                b.max_integer = int("maxInteger")?;
                let real = |name: &str| -> Result<Option<f64>, Error> {
                    match o.get(name) {
                        None => Ok(None),
                        Some(v) => v
                            .as_f64()
                            .map(Some)
                            .ok_or_else(|| Error::Syntax(format!("\"{name}\" must be a number"))),
                    }
                };
                b.min_real = real("minReal")?;
                b.max_real = real("maxReal")?;
                let len = |name: &str| -> Result<Option<u64>, Error> {
                    match o.get(name) {
                        None => Ok(None),
                        Some(v) => v.as_u64().map(Some).ok_or_else(|| {
                            Error::Syntax(format!("\"{name}\" must be a non-negative integer"))
                        }),
                    }
                };
                b.min_length = len("minLength")?;
                b.max_length = len("maxLength")?;
                if let (Some(a), Some(z)) = (b.min_integer, b.max_integer) {
                    if a > z {
                        return Err(Error::Syntax("minInteger exceeds maxInteger".into()));
                    }
                }
                if let (Some(a), Some(z)) = (b.min_real, b.max_real) {
                    if a > z {
                        return Err(Error::Syntax("minReal exceeds maxReal".into()));
                    }
                }
                if let (Some(a), Some(z)) = (b.min_length, b.max_length) {
                    if a > z {
                        return Err(Error::Syntax("minLength exceeds maxLength".into()));
                    }
                }
                if let Some(rt) = o.get("refTable") {
                    let rt = rt
                        .as_str()
                        .ok_or_else(|| Error::Syntax("\"refTable\" must be a string".into()))?;
                    b.ref_table = Some(rt.to_string());
                    b.ref_type = match o.get("refType").map(|v| v.as_str()) {
                        None | Some(Some("strong")) => RefType::Strong,
                        Some(Some("weak")) => RefType::Weak,
                        _ => {
                            return Err(Error::Syntax(
                                "refType must be \"strong\" or \"weak\"".into(),
                            ))
                        }
                    };
                }
                if let Some(e) = o.get("enum") {
                    // The enum is a <value> of a set type with this base type.
                    let ty = ColumnType {
                        key: BaseType::new(atomic),
                        value: None,
                        min: 0,
                        max: None,
                    };
                    let d = Datum::from_json(e, &ty, &|_| None)?;
                    let unconstrained = BaseType {
                        enum_: None,
                        ..b.clone()
                    };
                    for a in &d.keys {
                        unconstrained.check_atom(a)?;
                    }
                    b.enum_ = Some(d.keys);
                }
                Ok(b)
            }
            _ => Err(Error::Syntax(
                "base type must be a string or an object".into(),
            )),
        }
    }

    /// Serialise as `get_schema` does (bare type name when unconstrained).
    pub fn to_json(&self) -> Value {
        if !self.has_constraints() {
            return Value::String(self.atomic.as_str().into());
        }
        let mut o = Map::new();
        o.insert("type".into(), self.atomic.as_str().into());
        if let Some(e) = &self.enum_ {
            let d = Datum {
                keys: e.clone(),
                values: None,
            };
            o.insert("enum".into(), d.to_json());
        }
        if let Some(v) = self.min_integer {
            o.insert("minInteger".into(), v.into());
        }
        if let Some(v) = self.max_integer {
            o.insert("maxInteger".into(), v.into());
        }
        if let Some(v) = self.min_real {
            o.insert("minReal".into(), json!(v));
        }
        if let Some(v) = self.max_real {
            o.insert("maxReal".into(), json!(v));
        }
        if let Some(v) = self.min_length {
            o.insert("minLength".into(), v.into());
        }
        if let Some(v) = self.max_length {
            o.insert("maxLength".into(), v.into());
        }
        if let Some(t) = &self.ref_table {
            o.insert("refTable".into(), t.clone().into());
            if self.ref_type == RefType::Weak {
                o.insert("refType".into(), "weak".into());
            }
        }
        Value::Object(o)
    }

    /// Check one atom against this base type's type and constraints.
    /// Errors: `Error::Constraint` with an ovsdb-server-like message.
    pub fn check_atom(&self, a: &Atom) -> Result<(), Error> {
        if a.atomic_type() != self.atomic {
            return Err(Error::Syntax(format!(
                "expected {}, got {}",
                self.atomic.as_str(),
                a.atomic_type().as_str()
            )));
        }
        if let Some(e) = &self.enum_ {
            if e.binary_search(a).is_err() {
                return Err(Error::Constraint(format!(
                    "{} is not one of the allowed values ({})",
                    a.to_json(),
                    Datum {
                        keys: e.clone(),
                        values: None
                    }
                    .to_json()
                )));
            }
        }
        match a {
            Atom::Integer(i)
                if self.min_integer.is_some_and(|m| *i < m)
                    || self.max_integer.is_some_and(|m| *i > m) =>
            {
                return Err(Error::Constraint(format!(
                    "{i} is not in the valid range {}..{}",
                    self.min_integer.map_or("".into(), |v| v.to_string()),
                    self.max_integer.map_or("".into(), |v| v.to_string())
                )));
            }
            Atom::Real(r)
                if self.min_real.is_some_and(|m| *r < m)
                    || self.max_real.is_some_and(|m| *r > m) =>
            {
                return Err(Error::Constraint(format!("{r} is not in the valid range")));
            }
            Atom::String(s) if self.min_length.is_some() || self.max_length.is_some() => {
                let n = s.chars().count() as u64;
                if self.min_length.is_some_and(|m| n < m) {
                    return Err(Error::Constraint(format!(
                        "\"{s}\" length {n} is less than minimum allowed length {}",
                        self.min_length.unwrap_or(0)
                    )));
                }
                if self.max_length.is_some_and(|m| n > m) {
                    return Err(Error::Constraint(format!(
                        "\"{s}\" length {n} is greater than maximum allowed length {}",
                        self.max_length.unwrap_or(0)
                    )));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl ColumnType {
    /// A scalar (exactly one) of `atomic`.
    pub fn scalar(atomic: AtomicType) -> ColumnType {
        ColumnType {
            key: BaseType::new(atomic),
            value: None,
            min: 1,
            max: Some(1),
        }
    }

    /// True for maps (`value` present).
    pub fn is_map(&self) -> bool {
        self.value.is_some()
    }

    /// True for sets that may hold more than one element or none
    /// (i.e. not a map and not exactly-one scalar).
    pub fn is_set(&self) -> bool {
        self.value.is_none() && !(self.min == 1 && self.max == Some(1))
    }

    /// True for `min:0, max:1` non-map columns ("optional" values).
    pub fn is_optional_scalar(&self) -> bool {
        self.value.is_none() && self.min == 0 && self.max == Some(1)
    }

    /// True for exactly-one non-map columns.
    pub fn is_scalar(&self) -> bool {
        self.value.is_none() && self.min == 1 && self.max == Some(1)
    }

    /// True when at most one value can be stored (scalars, optionals, maps
    /// with max 1); update2 `modify` then carries the new value, not a diff.
    pub fn max_is_one(&self) -> bool {
        self.max == Some(1)
    }

    /// Parse `<type>`.
    pub fn from_json(j: &Value) -> Result<ColumnType, Error> {
        match j {
            Value::String(_) => Ok(ColumnType {
                key: BaseType::from_json(j)?,
                value: None,
                min: 1,
                max: Some(1),
            }),
            Value::Object(o) if o.contains_key("type") && !o.contains_key("key") => {
                Ok(ColumnType {
                    key: BaseType::from_json(j)?,
                    value: None,
                    min: 1,
                    max: Some(1),
                })
            }
            Value::Object(o) => {
                for k in o.keys() {
                    if !matches!(k.as_str(), "key" | "value" | "min" | "max") {
                        return Err(Error::Syntax(format!("unknown member \"{k}\" in type")));
                    }
                }
                let key = BaseType::from_json(
                    o.get("key")
                        .ok_or_else(|| Error::Syntax("type lacks \"key\"".into()))?,
                )?;
                let value = o.get("value").map(BaseType::from_json).transpose()?;
                let min = match o.get("min") {
                    None => 1,
                    Some(v) => v
                        .as_u64()
                        .ok_or_else(|| Error::Syntax("\"min\" must be 0 or 1".into()))?,
                };
                let max = match o.get("max") {
                    None => Some(1),
                    Some(Value::String(s)) if s == "unlimited" => None,
                    Some(v) => Some(v.as_u64().ok_or_else(|| {
                        Error::Syntax("\"max\" must be a positive integer or \"unlimited\"".into())
                    })?),
                };
                if min > 1 {
                    return Err(Error::Syntax("\"min\" must be 0 or 1".into()));
                }
                if max == Some(0) || max.is_some_and(|m| m < min) {
                    return Err(Error::Syntax("\"max\" must be at least max(1, min)".into()));
                }
                Ok(ColumnType {
                    key,
                    value,
                    min,
                    max,
                })
            }
            _ => Err(Error::Syntax("type must be a string or an object".into())),
        }
    }

    /// Serialise as `get_schema` does.
    pub fn to_json(&self) -> Value {
        if self.value.is_none()
            && self.min == 1
            && self.max == Some(1)
            && !self.key.has_constraints()
        {
            return self.key.to_json();
        }
        let mut o = Map::new();
        o.insert("key".into(), self.key.to_json());
        if let Some(v) = &self.value {
            o.insert("value".into(), v.to_json());
        }
        if self.min != 1 {
            o.insert("min".into(), self.min.into());
        }
        match self.max {
            None => {
                o.insert("max".into(), "unlimited".into());
            }
            Some(1) => {}
            Some(m) => {
                o.insert("max".into(), m.into());
            }
        }
        Value::Object(o)
    }

    /// Same type with `min` relaxed to 0 (used for `includes`/`excludes`
    /// condition values and mutation arguments, RFC 7047 §5.1).
    pub fn relaxed(&self) -> ColumnType {
        ColumnType {
            min: 0,
            ..self.clone()
        }
    }
}

impl ColumnSchema {
    /// Parse `<column-schema>` for the column `name`.
    pub fn from_json(name: &str, j: &Value) -> Result<ColumnSchema, Error> {
        let o = j
            .as_object()
            .ok_or_else(|| Error::Syntax(format!("column {name} must be an object")))?;
        for k in o.keys() {
            if !matches!(k.as_str(), "type" | "ephemeral" | "mutable") {
                return Err(Error::Syntax(format!(
                    "unknown member \"{k}\" in column {name}"
                )));
            }
        }
        let type_ = ColumnType::from_json(
            o.get("type")
                .ok_or_else(|| Error::Syntax(format!("column {name} lacks \"type\"")))?,
        )?;
        let flag = |k: &str, d: bool| -> Result<bool, Error> {
            match o.get(k) {
                None => Ok(d),
                Some(v) => v
                    .as_bool()
                    .ok_or_else(|| Error::Syntax(format!("\"{k}\" must be a boolean"))),
            }
        };
        Ok(ColumnSchema {
            name: name.to_string(),
            type_,
            ephemeral: flag("ephemeral", false)?,
            mutable: flag("mutable", true)?,
        })
    }

    /// Serialise as `get_schema` does.
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("type".into(), self.type_.to_json());
        if self.ephemeral {
            o.insert("ephemeral".into(), true.into());
        }
        if !self.mutable {
            o.insert("mutable".into(), false.into());
        }
        Value::Object(o)
    }
}

/// The implicit `_uuid` column (RFC 7047 §3.2: type uuid, immutable).
pub fn uuid_column() -> &'static ColumnSchema {
    static C: OnceLock<ColumnSchema> = OnceLock::new();
    C.get_or_init(|| ColumnSchema {
        name: "_uuid".into(),
        type_: ColumnType::scalar(AtomicType::Uuid),
        ephemeral: false,
        mutable: false,
    })
}

/// The implicit `_version` column (RFC 7047 §3.2: type uuid, changes with every
/// modification of the row).
pub fn version_column() -> &'static ColumnSchema {
    static C: OnceLock<ColumnSchema> = OnceLock::new();
    C.get_or_init(|| ColumnSchema {
        name: "_version".into(),
        type_: ColumnType::scalar(AtomicType::Uuid),
        ephemeral: true,
        mutable: false,
    })
}

fn is_id(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

impl TableSchema {
    /// Look up a column by name, including the implicit `_uuid`/`_version`.
    pub fn column(&self, name: &str) -> Option<&ColumnSchema> {
        match name {
            "_uuid" => Some(uuid_column()),
            "_version" => Some(version_column()),
            _ => self.columns.get(name),
        }
    }

    fn from_json(name: &str, j: &Value) -> Result<(TableSchema, Option<bool>), Error> {
        let o = j
            .as_object()
            .ok_or_else(|| Error::Syntax(format!("table {name} must be an object")))?;
        for k in o.keys() {
            if !matches!(k.as_str(), "columns" | "maxRows" | "isRoot" | "indexes") {
                return Err(Error::Syntax(format!(
                    "unknown member \"{k}\" in table {name}"
                )));
            }
        }
        let cols = o
            .get("columns")
            .and_then(Value::as_object)
            .ok_or_else(|| Error::Syntax(format!("table {name} lacks \"columns\" object")))?;
        let mut columns = BTreeMap::new();
        for (cn, cj) in cols {
            if cn.starts_with('_') || !is_id(cn) {
                return Err(Error::Syntax(format!(
                    "invalid column name \"{cn}\" in table {name}"
                )));
            }
            columns.insert(cn.clone(), ColumnSchema::from_json(cn, cj)?);
        }
        let max_rows =
            match o.get("maxRows") {
                None => None,
                Some(v) => Some(v.as_u64().filter(|&m| m >= 1).ok_or_else(|| {
                    Error::Syntax("\"maxRows\" must be a positive integer".into())
                })?),
            };
        let is_root = match o.get("isRoot") {
            None => None,
            Some(v) => Some(
                v.as_bool()
                    .ok_or_else(|| Error::Syntax("\"isRoot\" must be a boolean".into()))?,
            ),
        };
        let mut indexes = Vec::new();
        if let Some(ix) = o.get("indexes") {
            let arr = ix
                .as_array()
                .ok_or_else(|| Error::Syntax("\"indexes\" must be an array".into()))?;
            for one in arr {
                let cols = one.as_array().ok_or_else(|| {
                    Error::Syntax("index must be an array of column names".into())
                })?;
                let mut names = Vec::new();
                for c in cols {
                    let c = c
                        .as_str()
                        .ok_or_else(|| Error::Syntax("index column must be a string".into()))?;
                    let col = match c {
                        "_uuid" | "_version" => None,
                        _ => columns.get(c),
                    };
                    let col = col.ok_or_else(|| {
                        Error::Syntax(format!("table {name} index refers to unknown column {c}"))
                    })?;
                    if col.ephemeral {
                        return Err(Error::Syntax(format!(
                            "ephemeral column {c} may not be indexed"
                        )));
                    }
                    names.push(c.to_string());
                }
                if names.is_empty() {
                    return Err(Error::Syntax("index must have at least one column".into()));
                }
                indexes.push(names);
            }
        }
        Ok((
            TableSchema {
                name: name.to_string(),
                columns,
                max_rows,
                is_root: false,
                indexes,
            },
            is_root,
        ))
    }

    fn to_json(&self, emit_root: bool) -> Value {
        let mut o = Map::new();
        let cols: Map<String, Value> = self
            .columns
            .iter()
            .map(|(k, c)| (k.clone(), c.to_json()))
            .collect();
        o.insert("columns".into(), Value::Object(cols));
        if let Some(m) = self.max_rows {
            o.insert("maxRows".into(), m.into());
        }
        if emit_root && self.is_root {
            o.insert("isRoot".into(), true.into());
        }
        if !self.indexes.is_empty() {
            o.insert("indexes".into(), json!(self.indexes));
        }
        Value::Object(o)
    }
}

impl DatabaseSchema {
    /// Parse a `<database-schema>` (the contents of an `.ovsschema` file).
    /// Errors: `Error::Syntax` naming the offending member.
    pub fn from_json(j: &Value) -> Result<DatabaseSchema, Error> {
        let o = j
            .as_object()
            .ok_or_else(|| Error::Syntax("schema must be a JSON object".into()))?;
        for k in o.keys() {
            if !matches!(k.as_str(), "name" | "version" | "cksum" | "tables") {
                return Err(Error::Syntax(format!("unknown member \"{k}\" in schema")));
            }
        }
        let name = o
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| is_id(n))
            .ok_or_else(|| Error::Syntax("schema lacks a valid \"name\"".into()))?
            .to_string();
        let version = match o.get("version") {
            None => "0.0.0".to_string(),
            Some(v) => {
                let s = v
                    .as_str()
                    .ok_or_else(|| Error::Syntax("\"version\" must be a string".into()))?;
                let parts: Vec<&str> = s.split('.').collect();
                if parts.len() != 3 || parts.iter().any(|p| p.parse::<u32>().is_err()) {
                    return Err(Error::Syntax(format!(
                        "schema version \"{s}\" is not x.y.z"
                    )));
                }
                s.to_string()
            }
        };
        let cksum = match o.get("cksum") {
            None => None,
            Some(v) => Some(
                v.as_str()
                    .ok_or_else(|| Error::Syntax("\"cksum\" must be a string".into()))?
                    .to_string(),
            ),
        };
        let tj = o
            .get("tables")
            .and_then(Value::as_object)
            .ok_or_else(|| Error::Syntax("schema lacks \"tables\" object".into()))?;
        let mut tables = BTreeMap::new();
        let mut roots = Vec::new();
        for (tn, t) in tj {
            if tn.starts_with('_') || !is_id(tn) {
                return Err(Error::Syntax(format!("invalid table name \"{tn}\"")));
            }
            let (ts, root) = TableSchema::from_json(tn, t)?;
            roots.push((tn.clone(), root));
            tables.insert(tn.clone(), ts);
        }
        let any_root = roots.iter().any(|(_, r)| *r == Some(true));
        for (tn, r) in roots {
            if let Some(t) = tables.get_mut(&tn) {
                t.is_root = if any_root { r == Some(true) } else { true };
            }
        }
        for t in tables.values() {
            for c in t.columns.values() {
                for b in std::iter::once(&c.type_.key).chain(c.type_.value.iter()) {
                    if let Some(rt) = &b.ref_table {
                        if !tables.contains_key(rt) {
                            return Err(Error::Syntax(format!(
                                "column {} in table {} refers to undefined table {}",
                                c.name, t.name, rt
                            )));
                        }
                    }
                }
            }
        }
        Ok(DatabaseSchema {
            name,
            version,
            cksum,
            tables,
        })
    }

    /// Read and parse an `.ovsschema` file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<DatabaseSchema, Error> {
        let text = std::fs::read_to_string(path)?;
        let v: Value = serde_json::from_str(&text)?;
        DatabaseSchema::from_json(&v)
    }

    /// Serialise as ovsdb-server's `get_schema` reply does.
    pub fn to_json(&self) -> Value {
        let emit_root = !self.tables.values().all(|t| t.is_root);
        let mut o = Map::new();
        o.insert("name".into(), self.name.clone().into());
        o.insert("version".into(), self.version.clone().into());
        if let Some(c) = &self.cksum {
            o.insert("cksum".into(), c.clone().into());
        }
        let tables: Map<String, Value> = self
            .tables
            .iter()
            .map(|(k, t)| (k.clone(), t.to_json(emit_root)))
            .collect();
        o.insert("tables".into(), Value::Object(tables));
        Value::Object(o)
    }

    /// Look up a table.
    pub fn table(&self, name: &str) -> Option<&TableSchema> {
        self.tables.get(name)
    }

    /// The `_Server` database schema of ovsdb-server (version 1.2.0; table
    /// `Database` with `name`, `model`, `connected`, `leader`, `schema`,
    /// `sid`, `cid`, `index`), as in Open vSwitch's `ovsdb/_server.ovsschema`.
    pub fn server_schema() -> DatabaseSchema {
        let j = json!({
            "name": "_Server",
            "version": "1.2.0",
            "tables": {
                "Database": {
                    "columns": {
                        "name": {"type": "string"},
                        "model": {"type": {"key": {"type": "string",
                                  "enum": ["set", ["standalone", "clustered", "relay"]]}}},
                        "connected": {"type": "boolean"},
                        "leader": {"type": "boolean"},
                        "schema": {"type": {"key": {"type": "string"}, "min": 0, "max": 1}},
                        "sid": {"type": {"key": {"type": "uuid"}, "min": 0, "max": 1}},
                        "cid": {"type": {"key": {"type": "uuid"}, "min": 0, "max": 1}},
                        "index": {"type": {"key": {"type": "integer"}, "min": 0, "max": 1}}
                    },
                    "isRoot": true
                }
            }
        });
        // The literal above is a valid schema; a failure here is a programming error
        // caught by the unit tests, so fall back to an empty schema rather than panic.
        DatabaseSchema::from_json(&j).unwrap_or(DatabaseSchema {
            name: "_Server".into(),
            version: "1.2.0".into(),
            cksum: None,
            tables: BTreeMap::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"{"name":"T","version":"1.0.0","tables":{
      "A":{"columns":{"n":{"type":"integer"},
                      "s":{"type":{"key":{"type":"string","enum":["set",["x","y"]]},"min":0,"max":1}},
                      "r":{"type":{"key":{"type":"uuid","refTable":"B"},"min":0,"max":"unlimited"}},
                      "m":{"type":{"key":"string","value":"string","min":0,"max":"unlimited"}},
                      "k":{"type":"string","mutable":false}},
           "isRoot":true,"maxRows":2,"indexes":[["n"]]},
      "B":{"columns":{"w":{"type":{"key":{"type":"uuid","refTable":"A","refType":"weak"},"min":0,"max":1}}}}}}"#;

    #[test]
    fn parse_and_roundtrip() {
        let v: Value = serde_json::from_str(SMALL).unwrap();
        let s = DatabaseSchema::from_json(&v).unwrap();
        assert!(s.tables["A"].is_root);
        assert!(!s.tables["B"].is_root);
        assert_eq!(s.tables["A"].max_rows, Some(2));
        assert!(s.tables["A"].columns["m"].type_.is_map());
        assert!(s.tables["A"].columns["r"].type_.is_set());
        assert!(s.tables["A"].columns["s"].type_.is_optional_scalar());
        assert!(!s.tables["A"].columns["k"].mutable);
        assert_eq!(s.tables["B"].columns["w"].type_.key.ref_type, RefType::Weak);
        let again = DatabaseSchema::from_json(&s.to_json()).unwrap();
        assert_eq!(again, s);
        assert_eq!(
            s.table("A")
                .unwrap()
                .column("_uuid")
                .unwrap()
                .type_
                .key
                .atomic,
            AtomicType::Uuid
        );
    }

    #[test]
    fn all_root_when_none_says_so() {
        let v = json!({"name":"X","version":"1.0.0","tables":{"A":{"columns":{}}}});
        let s = DatabaseSchema::from_json(&v).unwrap();
        assert!(s.tables["A"].is_root);
        assert!(s.to_json()["tables"]["A"].get("isRoot").is_none());
    }

    #[test]
    fn errors() {
        for bad in [
            json!({"name":"X","version":"1.0.0"}),
            json!({"name":"X","version":"1.0","tables":{}}),
            json!({"name":"X","tables":{"A":{"columns":{"c":{"type":"int"}}}}}),
            json!({"name":"X","tables":{"A":{"columns":{"c":{"type":{"key":"integer","min":2}}}}}}),
            json!({"name":"X","tables":{"A":{"columns":{"c":{"type":{"key":{"type":"uuid","refTable":"Z"}}}}}}}),
            json!({"name":"X","tables":{"A":{"columns":{"_c":{"type":"integer"}}}}}),
            json!({"name":"X","tables":{"A":{"columns":{},"indexes":[["nope"]]}}}),
            json!({"name":"X","tables":{"A":{"columns":{"c":{"type":{"key":{"type":"integer","minInteger":5,"maxInteger":1}}}}}}}),
        ] {
            assert!(DatabaseSchema::from_json(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn real_vswitch_schema_roundtrips() {
        let p = "/usr/share/openvswitch/vswitch.ovsschema";
        if !Path::new(p).exists() {
            eprintln!("skipping: {p} missing");
            return;
        }
        let s = DatabaseSchema::from_file(p).unwrap();
        assert_eq!(s.name, "Open_vSwitch");
        let orig: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        let again = DatabaseSchema::from_json(&s.to_json()).unwrap();
        assert_eq!(again, s);
        // Same table set and root flags as the file says.
        for (tn, t) in orig["tables"].as_object().unwrap() {
            assert_eq!(
                s.tables[tn].is_root,
                t.get("isRoot") == Some(&Value::Bool(true)),
                "{tn}"
            );
        }
        assert!(!DatabaseSchema::server_schema().tables.is_empty());
    }
}
