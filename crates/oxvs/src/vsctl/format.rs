//! Table output of `list`/`find` in ovs-vsctl's formats (Open vSwitch
//! `lib/table.c`): `list` (`column : value` blocks, names padded to 20
//! characters, a blank line between records), `table` (aligned columns under
//! a dashed rule), `csv`, `json` (`{"data":[...],"headings":[...]}`), with
//! cells as text (`--data=string`), bare text (`--bare`) or JSON.

use ovsdb::text::{datum_to_bare, datum_to_string};
use ovsdb::{ColumnType, Datum};
use serde_json::{json, Value};

/// Output format (`-f`/`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `column : value` blocks (default).
    List,
    /// Aligned text table.
    Table,
    /// Comma separated values.
    Csv,
    /// One JSON object.
    Json,
}

/// Cell format (`--data`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellFormat {
    /// ovs-vsctl's text syntax.
    String,
    /// Bare text (strings unquoted, elements space separated).
    Bare,
    /// RFC 7047 JSON notation.
    Json,
}

/// How tables are printed.
#[derive(Debug, Clone)]
pub struct TableStyle {
    /// Output format.
    pub format: Format,
    /// Cell format; `None` = the format's default (JSON for `json`).
    pub cell: Option<CellFormat>,
    /// Print column headings.
    pub headings: bool,
    /// Pretty-print JSON.
    pub pretty: bool,
}

impl Default for TableStyle {
    fn default() -> TableStyle {
        TableStyle {
            format: Format::List,
            cell: None,
            headings: true,
            pretty: false,
        }
    }
}

/// One cell: a value with its type (the `_uuid` column is a UUID scalar).
#[derive(Debug, Clone)]
pub struct Cell {
    /// The value.
    pub datum: Datum,
    /// Its column type.
    pub type_: ColumnType,
}

/// A table of results: headings and rows of cells.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Column names.
    pub headings: Vec<String>,
    /// Rows, each with one cell per heading.
    pub rows: Vec<Vec<Cell>>,
}

impl TableStyle {
    /// Apply `--format=NAME`. Errors: ovs-vsctl's text for unknown names.
    pub fn set_format(&mut self, s: &str) -> Result<(), String> {
        self.format = match s {
            "list" => Format::List,
            "table" => Format::Table,
            "csv" => Format::Csv,
            "json" => Format::Json,
            _ => return Err(format!("unknown output format \"{s}\"")),
        };
        Ok(())
    }

    /// Apply `--data=NAME`.
    pub fn set_data(&mut self, s: &str) -> Result<(), String> {
        self.cell = Some(match s {
            "string" => CellFormat::String,
            "bare" => CellFormat::Bare,
            "json" => CellFormat::Json,
            _ => return Err(format!("unknown data format \"{s}\"")),
        });
        Ok(())
    }

    fn cell_text(&self, c: &Cell) -> String {
        match self.cell.unwrap_or(CellFormat::String) {
            CellFormat::String => datum_to_string(&c.datum, &c.type_),
            CellFormat::Bare => datum_to_bare(&c.datum, &c.type_),
            CellFormat::Json => cell_json(c).to_string(),
        }
    }

    /// Render `t` in this style (including the trailing newline).
    pub fn render(&self, t: &Table) -> String {
        let mut out = String::new();
        match self.format {
            Format::List => {
                for (y, row) in t.rows.iter().enumerate() {
                    if y > 0 {
                        out.push('\n');
                    }
                    for (x, c) in row.iter().enumerate() {
                        if self.headings {
                            out.push_str(&format!("{:<20}: ", t.headings[x]));
                        }
                        out.push_str(&self.cell_text(c));
                        out.push('\n');
                    }
                }
            }
            Format::Table => {
                let texts: Vec<Vec<String>> = t
                    .rows
                    .iter()
                    .map(|r| r.iter().map(|c| self.cell_text(c)).collect())
                    .collect();
                let mut widths: Vec<usize> = t
                    .headings
                    .iter()
                    .map(|h| if self.headings { h.chars().count() } else { 0 })
                    .collect();
                for r in &texts {
                    for (x, s) in r.iter().enumerate() {
                        widths[x] = widths[x].max(s.chars().count());
                    }
                }
                let line = |cells: &[String]| -> String {
                    let mut l = String::new();
                    for (x, s) in cells.iter().enumerate() {
                        if x > 0 {
                            l.push(' ');
                        }
                        if x + 1 < cells.len() {
                            l.push_str(&format!("{:<w$}", s, w = widths[x]));
                        } else {
                            l.push_str(s);
                        }
                    }
                    l.push('\n');
                    l
                };
                if self.headings {
                    out.push_str(&line(&t.headings));
                    let dashes: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
                    out.push_str(&line(&dashes));
                }
                for r in &texts {
                    out.push_str(&line(r));
                }
            }
            Format::Csv => {
                let csv = |s: &str| -> String {
                    if s.contains(['\n', '"', ',']) {
                        format!("\"{}\"", s.replace('"', "\"\""))
                    } else {
                        s.to_string()
                    }
                };
                if self.headings {
                    let h: Vec<String> = t.headings.iter().map(|h| csv(h)).collect();
                    out.push_str(&h.join(","));
                    out.push('\n');
                }
                for r in &t.rows {
                    let cells: Vec<String> = r.iter().map(|c| csv(&self.cell_text(c))).collect();
                    out.push_str(&cells.join(","));
                    out.push('\n');
                }
            }
            Format::Json => {
                let data: Vec<Value> = t
                    .rows
                    .iter()
                    .map(|r| {
                        Value::Array(
                            r.iter()
                                .map(|c| match self.cell {
                                    None | Some(CellFormat::Json) => cell_json(c),
                                    Some(_) => Value::String(self.cell_text(c)),
                                })
                                .collect(),
                        )
                    })
                    .collect();
                let mut obj = serde_json::Map::new();
                obj.insert("data".into(), Value::Array(data));
                if self.headings {
                    obj.insert("headings".into(), json!(t.headings));
                }
                let v = Value::Object(obj);
                out.push_str(&if self.pretty {
                    serde_json::to_string_pretty(&v).unwrap_or_default()
                } else {
                    v.to_string()
                });
                out.push('\n');
            }
        }
        out
    }
}

/// A cell in RFC 7047 notation (`["set",[]]`, `["map",[...]]`, scalars bare).
fn cell_json(c: &Cell) -> Value {
    let d = &c.datum;
    if let Some(values) = &d.values {
        let pairs: Vec<Value> = d
            .keys
            .iter()
            .zip(values)
            .map(|(k, v)| json!([k.to_json(), v.to_json()]))
            .collect();
        json!(["map", pairs])
    } else if d.keys.len() == 1 {
        d.keys[0].to_json()
    } else {
        json!([
            "set",
            d.keys.iter().map(|a| a.to_json()).collect::<Vec<_>>()
        ])
    }
}
