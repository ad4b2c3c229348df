//! `oxvs db`: offline database management with `ovsdb-tool`'s commands,
//! arguments, output and errors, over [`ovsdb::tool`].
//!
//! ```text
//! oxvs db [-m|--more]... COMMAND [ARG...]
//!   create [DB [SCHEMA]]      compact [DB [DST]]     show-log [DB]
//!   query [DB] TRNS           transact [DB] TRNS
//!   db-name|db-version|db-cksum [DB]
//!   schema-name|schema-version|schema-cksum [SCHEMA]
//! ```
//! DB defaults to `<OVS_DBDIR>/conf.db`; SCHEMA to the built-in
//! Open_vSwitch schema. Do not `compact` or `transact` a file that a
//! running daemon has open (use `oxvs appctl ovsdb-server/compact` and a
//! client instead).

use std::path::{Path, PathBuf};

use ovsdb::tool;
use ovsdb::DatabaseSchema;
use vswitchd::paths::Paths;

const USAGE: &str = "\
oxvs db: Open vSwitch-compatible database management utility
usage: oxvs db [OPTIONS] COMMAND [ARG...]
  create [DB [SCHEMA]]    create DB with the given SCHEMA
  compact [DB [DST]]      compact DB in-place (or to DST)
  db-name [DB]            report name of schema used by DB
  db-version [DB]         report version of schema used by DB
  db-cksum [DB]           report checksum of schema used by DB
  schema-name [SCHEMA]    report SCHEMA's name
  schema-version [SCHEMA] report SCHEMA's schema version
  schema-cksum [SCHEMA]   report SCHEMA's checksum
  query [DB] TRNS         execute read-only transaction on DB
  transact [DB] TRNS      execute read/write transaction on DB
  [-m]... show-log [DB]   print DB's log entries
The default DB is <OVS_DBDIR>/conf.db (OVS_DBDIR defaults to /var/lib/oxvs).
The default SCHEMA is the built-in Open_vSwitch schema.
";

/// Entry point; returns the exit status (0, or 1 with a message on stderr).
pub fn main(argv: &[String]) -> i32 {
    let mut more = 0u8;
    let mut args: Vec<&str> = Vec::new();
    for a in argv {
        match a.as_str() {
            "-m" | "--more" => more = more.saturating_add(1),
            "-h" | "--help" => {
                print!("{USAGE}");
                return 0;
            }
            s if s.starts_with("-m") && s[1..].chars().all(|c| c == 'm') => {
                more = more.saturating_add(u8::try_from(s.len() - 1).unwrap_or(u8::MAX));
            }
            s if s.starts_with('-') && s.len() > 1 => {
                eprintln!("oxvs db: unrecognized option '{s}' (use --help for help)");
                return 1;
            }
            s => args.push(s),
        }
    }
    match run(&args, more) {
        Ok(out) => {
            print!("{out}");
            0
        }
        Err(e) => {
            eprintln!("oxvs db: {e}");
            1
        }
    }
}

fn default_db() -> PathBuf {
    Paths::from_env().db_file()
}

fn schema_from(arg: Option<&str>) -> Result<DatabaseSchema, String> {
    let text = match arg {
        Some(p) => std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"))?,
        None => vswitchd::daemon::VSWITCH_SCHEMA.to_string(),
    };
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("syntax error: {e}"))?;
    DatabaseSchema::from_json(&json).map_err(|e| e.to_string())
}

fn nargs(cmd: &str, args: &[&str], min: usize, max: usize) -> Result<(), String> {
    let n = args.len();
    if n < min {
        Err(format!("'{cmd}' command requires at least {min} arguments"))
    } else if n > max {
        Err(format!("'{cmd}' command takes at most {max} arguments"))
    } else {
        Ok(())
    }
}

fn run(args: &[&str], more: u8) -> Result<String, String> {
    let Some((&cmd, rest)) = args.split_first() else {
        return Err("missing command name; use --help for help".into());
    };
    let db = |i: usize| rest.get(i).map_or_else(default_db, PathBuf::from);
    let e = |e: ovsdb::Error| e.to_string();
    match cmd {
        "create" => {
            nargs(cmd, rest, 0, 2)?;
            let schema = schema_from(rest.get(1).copied())?;
            tool::create(&db(0), &schema).map_err(e)?;
            Ok(String::new())
        }
        "compact" => {
            nargs(cmd, rest, 0, 2)?;
            tool::compact(&db(0), rest.get(1).map(Path::new)).map_err(e)?;
            Ok(String::new())
        }
        "db-name" | "db-version" | "db-cksum" => {
            nargs(cmd, rest, 0, 1)?;
            let s = tool::db_schema(&db(0)).map_err(e)?;
            Ok(format!("{}\n", schema_fact(cmd, &s)))
        }
        "schema-name" | "schema-version" | "schema-cksum" => {
            nargs(cmd, rest, 0, 1)?;
            let s = schema_from(rest.first().copied())?;
            Ok(format!("{}\n", schema_fact(cmd, &s)))
        }
        "query" | "transact" => {
            nargs(cmd, rest, 1, 2)?;
            let (path, txn) = match rest {
                [txn] => (default_db(), *txn),
                [path, txn] => (PathBuf::from(path), *txn),
                _ => unreachable!("checked by nargs"),
            };
            let request: serde_json::Value =
                serde_json::from_str(txn).map_err(|err| format!("syntax error: {err}"))?;
            let r = tool::transact(&path, &request, cmd == "transact").map_err(e)?;
            Ok(format!("{r}\n"))
        }
        "show-log" => {
            nargs(cmd, rest, 0, 1)?;
            tool::show_log(&db(0), more).map_err(e)
        }
        "help" => Ok(USAGE.to_string()),
        other => Err(format!("unknown command '{other}'; use --help for help")),
    }
}

fn schema_fact(cmd: &str, s: &DatabaseSchema) -> String {
    if cmd.ends_with("name") {
        s.name.clone()
    } else if cmd.ends_with("version") {
        s.version.clone()
    } else {
        s.cksum.clone().unwrap_or_default()
    }
}
