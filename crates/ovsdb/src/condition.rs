//! Conditions (RFC 7047 §5.1 `<condition>`): `[column, function, value]`
//! clauses and the boolean literals `true`/`false`, used by transaction
//! `where` clauses (all clauses must hold) and by `monitor_cond` (any clause
//! may hold; an empty list matches every row).

use serde_json::Value;
use uuid::Uuid;

use crate::datum::Datum;
use crate::db::Row;
use crate::schema::{AtomicType, TableSchema};
use crate::Error;

/// A condition function (RFC 7047 §5.1 `<function>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>=`
    Ge,
    /// `>`
    Gt,
    /// `includes`
    Includes,
    /// `excludes`
    Excludes,
}

impl Function {
    /// Parse the RFC spelling.
    pub fn from_name(s: &str) -> Option<Function> {
        Some(match s {
            "<" => Function::Lt,
            "<=" => Function::Le,
            "==" => Function::Eq,
            "!=" => Function::Ne,
            ">=" => Function::Ge,
            ">" => Function::Gt,
            "includes" => Function::Includes,
            "excludes" => Function::Excludes,
            _ => return None,
        })
    }
}

/// One clause of a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Clause {
    /// The literal `true` or `false`.
    Const(bool),
    /// `[column, function, value]`.
    Compare {
        /// Column name (may be `_uuid` or `_version`).
        column: String,
        /// The function.
        function: Function,
        /// The parsed argument.
        arg: Datum,
    },
}

/// A list of clauses.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Condition {
    /// The clauses, in request order.
    pub clauses: Vec<Clause>,
}

impl Condition {
    /// Parse a `<condition>` array for table `ts`. Errors: `Error::Syntax`
    /// (malformed clause, bad function or type mismatch),
    /// `Error::UnknownColumn`, `Error::Constraint` (argument out of range).
    pub fn from_json(
        j: &Value,
        ts: &TableSchema,
        named: &dyn Fn(&str) -> Option<Uuid>,
    ) -> Result<Condition, Error> {
        let arr = j
            .as_array()
            .ok_or_else(|| Error::Syntax(format!("condition must be an array: {j}")))?;
        let mut clauses = Vec::with_capacity(arr.len());
        for c in arr {
            if let Some(b) = c.as_bool() {
                clauses.push(Clause::Const(b));
                continue;
            }
            let c3 = c
                .as_array()
                .filter(|a| a.len() == 3)
                .ok_or_else(|| Error::Syntax(format!("Parse error in condition {c}")))?;
            let column = c3[0]
                .as_str()
                .ok_or_else(|| Error::Syntax(format!("Parse error in condition {c}")))?;
            let col = ts.column(column).ok_or_else(|| {
                Error::UnknownColumn(format!("No column {column} in table {}.", ts.name))
            })?;
            let fname = c3[1]
                .as_str()
                .ok_or_else(|| Error::Syntax(format!("Parse error in condition {c}")))?;
            let function = Function::from_name(fname)
                .ok_or_else(|| Error::UnknownFunction(format!("No function named {fname}.")))?;
            let mut ty = col.type_.clone();
            match function {
                Function::Lt | Function::Le | Function::Ge | Function::Gt => {
                    if !(ty.is_scalar()
                        && matches!(ty.key.atomic, AtomicType::Integer | AtomicType::Real))
                    {
                        return Err(Error::Syntax(format!(
                            "Type mismatch: \"{fname}\" operator may not be applied to column {column} of type {}.",
                            ty.to_json()
                        )));
                    }
                }
                Function::Eq | Function::Ne => {}
                Function::Includes | Function::Excludes => {
                    if !ty.is_scalar() {
                        ty.min = 0;
                        ty.max = None;
                    }
                }
            }
            let arg = Datum::from_json(&c3[2], &ty, named)?;
            clauses.push(Clause::Compare {
                column: column.to_string(),
                function,
                arg,
            });
        }
        Ok(Condition { clauses })
    }

    /// True when every clause holds (transaction `where`).
    pub fn matches_all(&self, row: &Row) -> bool {
        self.clauses.iter().all(|c| c.eval(row))
    }

    /// True when the condition is empty or any clause holds (`monitor_cond`).
    pub fn matches_any(&self, row: &Row) -> bool {
        self.clauses.is_empty() || self.clauses.iter().any(|c| c.eval(row))
    }

    /// If the condition pins `_uuid == U` (the common case), return U so the
    /// caller can look the row up directly instead of scanning.
    pub fn uuid_eq(&self) -> Option<Uuid> {
        self.clauses.iter().find_map(|c| match c {
            Clause::Compare {
                column,
                function: Function::Eq,
                arg,
            } if column == "_uuid" => arg.as_uuid(),
            _ => None,
        })
    }
}

impl Clause {
    /// Evaluate on one row.
    pub fn eval(&self, row: &Row) -> bool {
        match self {
            Clause::Const(b) => *b,
            Clause::Compare {
                column,
                function,
                arg,
            } => {
                let owned;
                let v: &Datum = match column.as_str() {
                    "_uuid" | "_version" => {
                        owned = row
                            .value(column)
                            .map_or_else(Datum::empty_set, |d| d.into_owned());
                        &owned
                    }
                    c => match row.columns.get(c) {
                        Some(d) => d,
                        None => return false,
                    },
                };
                match function {
                    Function::Eq => v == arg,
                    Function::Ne => v != arg,
                    Function::Includes => v.includes(arg),
                    Function::Excludes => v.excludes(arg),
                    Function::Lt | Function::Le | Function::Ge | Function::Gt => {
                        let (Some(a), Some(b)) = (v.as_scalar(), arg.as_scalar()) else {
                            return false;
                        };
                        let o = a.cmp(b);
                        match function {
                            Function::Lt => o.is_lt(),
                            Function::Le => o.is_le(),
                            Function::Ge => o.is_ge(),
                            _ => o.is_gt(),
                        }
                    }
                }
            }
        }
    }
}
