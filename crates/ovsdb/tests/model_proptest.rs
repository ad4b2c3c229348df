//! Property test: random transactions against the engine and against a naive
//! model (a BTreeMap of rows); same results, same state; journal replay
//! reproduces the engine's database.

use std::collections::{BTreeMap, BTreeSet};

use ovsdb::{Database, DatabaseSchema, Journal};
use proptest::prelude::*;
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq)]
struct MRow {
    n: i64,
    s: String,
    tags: BTreeSet<i64>,
}

#[derive(Debug, Clone)]
enum Op {
    Insert(i64, String, Vec<i64>),
    UpdateWhereN(i64, String),
    AddWhereLt(i64, i64),
    TagInsert(i64),
    TagDelete(i64),
    DeleteWhereN(i64),
    DeleteWhereTag(i64),
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        (
            0i64..5,
            "[a-c]{0,2}",
            proptest::collection::vec(0i64..6, 0..4)
        )
            .prop_map(|(n, s, t)| Op::Insert(n, s, t)),
        (0i64..5, "[a-c]{0,2}").prop_map(|(n, s)| Op::UpdateWhereN(n, s)),
        (0i64..6, -3i64..4).prop_map(|(k, d)| Op::AddWhereLt(k, d)),
        (0i64..6).prop_map(Op::TagInsert),
        (0i64..6).prop_map(Op::TagDelete),
        (0i64..5).prop_map(Op::DeleteWhereN),
        (0i64..6).prop_map(Op::DeleteWhereTag),
    ]
}

fn schema() -> DatabaseSchema {
    DatabaseSchema::from_json(
        &json!({"name":"M","version":"1.0.0","tables":{"T":{"columns":{
        "n":{"type":"integer"},
        "s":{"type":"string"},
        "tags":{"type":{"key":"integer","min":0,"max":"unlimited"}}}}}}),
    )
    .unwrap()
}

fn to_json_op(op: &Op) -> Value {
    match op {
        Op::Insert(n, s, t) => {
            json!({"op":"insert","table":"T","row":{"n":n,"s":s,"tags":["set",t.iter().collect::<BTreeSet<_>>()]}})
        }
        Op::UpdateWhereN(n, s) => {
            json!({"op":"update","table":"T","where":[["n","==",n]],"row":{"s":s}})
        }
        Op::AddWhereLt(k, d) => {
            json!({"op":"mutate","table":"T","where":[["n","<",k]],"mutations":[["n","+=",d]]})
        }
        Op::TagInsert(x) => {
            json!({"op":"mutate","table":"T","where":[],"mutations":[["tags","insert",["set",[x]]]]})
        }
        Op::TagDelete(x) => {
            json!({"op":"mutate","table":"T","where":[],"mutations":[["tags","delete",x]]})
        }
        Op::DeleteWhereN(n) => json!({"op":"delete","table":"T","where":[["n","==",n]]}),
        Op::DeleteWhereTag(x) => json!({"op":"delete","table":"T","where":[["tags","includes",x]]}),
    }
}

/// Apply to the model; returns the expected result object (insert uuids are
/// taken from the engine's reply).
fn apply_model(m: &mut BTreeMap<String, MRow>, op: &Op, engine_result: &Value) -> Value {
    match op {
        Op::Insert(n, s, t) => {
            let u = engine_result["uuid"][1].as_str().unwrap_or("?").to_string();
            m.insert(
                u.clone(),
                MRow {
                    n: *n,
                    s: s.clone(),
                    tags: t.iter().copied().collect(),
                },
            );
            json!({"uuid":["uuid",u]})
        }
        Op::UpdateWhereN(n, s) => {
            let mut c = 0;
            for r in m.values_mut().filter(|r| r.n == *n) {
                r.s = s.clone();
                c += 1;
            }
            json!({"count":c})
        }
        Op::AddWhereLt(k, d) => {
            let mut c = 0;
            for r in m.values_mut().filter(|r| r.n < *k) {
                r.n += d;
                c += 1;
            }
            json!({"count":c})
        }
        Op::TagInsert(x) => {
            for r in m.values_mut() {
                r.tags.insert(*x);
            }
            json!({"count":m.len()})
        }
        Op::TagDelete(x) => {
            for r in m.values_mut() {
                r.tags.remove(x);
            }
            json!({"count":m.len()})
        }
        Op::DeleteWhereN(n) => {
            let before = m.len();
            m.retain(|_, r| r.n != *n);
            json!({"count":before - m.len()})
        }
        Op::DeleteWhereTag(x) => {
            let before = m.len();
            m.retain(|_, r| !r.tags.contains(x));
            json!({"count":before - m.len()})
        }
    }
}

fn engine_state(db: &Database) -> BTreeMap<String, MRow> {
    db.tables["T"]
        .iter()
        .map(|r| {
            (
                r.uuid.to_string(),
                MRow {
                    n: r.columns["n"].as_integer().unwrap(),
                    s: r.columns["s"].as_str().unwrap().to_string(),
                    tags: r.columns["tags"]
                        .keys
                        .iter()
                        .map(|a| a.as_integer().unwrap())
                        .collect(),
                },
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn engine_matches_model(txns in proptest::collection::vec(proptest::collection::vec(op_strategy(), 1..3), 1..25)) {
        let dir = std::env::temp_dir().join(format!("oxvs-ovsdb-prop-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join(format!("m-{}.db", uuid::Uuid::new_v4()));
        let mut db = Database::new(schema());
        let mut j = Journal::create(&file, &db.schema).unwrap();
        let mut model: BTreeMap<String, MRow> = BTreeMap::new();
        for ops in &txns {
            let jops: Vec<Value> = ops.iter().map(to_json_op).collect();
            let r = db.transact(&jops);
            prop_assert!(r.is_ok(), "{}", r.results);
            let results = r.results.as_array().unwrap();
            prop_assert_eq!(results.len(), ops.len());
            for (op, res) in ops.iter().zip(results) {
                let want = apply_model(&mut model, op, res);
                prop_assert_eq!(res, &want, "op {:?}", op);
            }
            j.append(&db.schema, r.changes.as_ref().unwrap(), &r.comments).unwrap();
            prop_assert_eq!(engine_state(&db), model.clone());
        }
        drop(j);
        let (_, replayed) = Journal::open(&file).unwrap();
        prop_assert!(replayed.same_contents(&db));
        let _ = std::fs::remove_file(&file);
    }

    /// A failing operation anywhere leaves the database unchanged.
    #[test]
    fn failures_are_atomic(ops in proptest::collection::vec(op_strategy(), 0..4), pos in 0usize..4) {
        let mut db = Database::new(schema());
        db.transact(&[json!({"op":"insert","table":"T","row":{"n":1,"tags":["set",[1,2]]}})]);
        let before = engine_state(&db);
        let mut jops: Vec<Value> = ops.iter().map(to_json_op).collect();
        let at = pos.min(jops.len());
        let bad = if pos % 2 == 0 { json!({"op":"abort"}) } else { json!({"op":"select","table":"Nope","where":[]}) };
        jops.insert(at, bad);
        let r = db.transact(&jops);
        prop_assert!(!r.is_ok());
        let a = r.results.as_array().unwrap();
        prop_assert_eq!(a.len(), jops.len());
        prop_assert!(a[at]["error"].is_string());
        prop_assert!(a[..at].iter().all(|x| x.get("error").is_none()));
        prop_assert!(a[at + 1..].iter().all(Value::is_null));
        prop_assert_eq!(engine_state(&db), before);
    }
}
