//! In-process server ↔ client/IDL tests (through `tokio::io::duplex`), TCP
//! framing and error handling.

use ovsdb::client::Client;
use ovsdb::{Database, DatabaseSchema, Idl, Server};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn schema() -> DatabaseSchema {
    DatabaseSchema::from_json(&json!({"name":"Open_vSwitch","version":"1.0.0","tables":{
        "Open_vSwitch":{"columns":{
            "bridges":{"type":{"key":{"type":"uuid","refTable":"Bridge"},"min":0,"max":"unlimited"}},
            "next_cfg":{"type":"integer"},"cur_cfg":{"type":"integer"}},"isRoot":true,"maxRows":1},
        "Bridge":{"columns":{
            "name":{"type":"string"},
            "ports":{"type":{"key":{"type":"string"},"min":0,"max":"unlimited"}},
            "external_ids":{"type":{"key":"string","value":"string","min":0,"max":"unlimited"}}},
            "indexes":[["name"]]}}}))
    .unwrap()
}

#[tokio::test]
async fn idl_follows_changes_including_own() {
    let server = Server::new(Database::new(schema()), None);
    let mut idl = Idl::connect(server.connect_local(), "Open_vSwitch", None)
        .await
        .unwrap();
    assert!(idl.replica().tables["Bridge"].is_empty());
    let r = idl
        .transact(vec![
            json!({"op":"insert","table":"Open_vSwitch","row":{"bridges":["named-uuid","b"]}}),
            json!({"op":"insert","table":"Bridge","uuid-name":"b","row":{"name":"br0","ports":["set",["a","b"]],"external_ids":["map",[["k","v"]]]}}),
        ])
        .await
        .unwrap();
    assert!(r[0]["uuid"].is_array(), "{r:?}");
    // Own notification arrived before the reply, so the replica is current.
    let br = idl.replica().tables["Bridge"]
        .iter()
        .next()
        .unwrap()
        .clone();
    assert_eq!(br.columns["name"].as_str(), Some("br0"));
    assert_eq!(br.columns["ports"].len(), 2);

    // A second client changes things; the first sees diffs applied correctly.
    let mut other = Idl::connect(
        server.connect_local(),
        "Open_vSwitch",
        Some(vec![("Bridge".into(), vec![])]),
    )
    .await
    .unwrap();
    assert_eq!(other.replica().tables["Bridge"].len(), 1);
    assert!(other.replica().tables["Bridge"]
        .iter()
        .next()
        .unwrap()
        .columns["ports"]
        .is_empty());
    other
        .transact(vec![
            json!({"op":"mutate","table":"Bridge","where":[],"mutations":[["ports","delete","a"],["ports","insert",["set",["c"]]],["external_ids","insert",["map",[["x","y"]]]]]}),
        ])
        .await
        .unwrap();
    let ch = idl.wait_for_change().await.unwrap();
    assert!(ch.tables.contains_key("Bridge"));
    let br = idl.replica().tables["Bridge"]
        .iter()
        .next()
        .unwrap()
        .clone();
    let ports: Vec<&str> = br.columns["ports"].strs().collect();
    assert_eq!(ports, vec!["b", "c"]);
    assert_eq!(br.columns["external_ids"].map_get_str("x"), Some("y"));
    assert_eq!(br.columns["external_ids"].map_get_str("k"), Some("v"));
    assert_eq!(idl.replica().tables["Open_vSwitch"].len(), 1);
}

#[tokio::test]
async fn rpc_methods_and_errors() {
    let server = Server::new(Database::new(schema()), None);
    let c = server.connect_local();
    assert_eq!(
        c.request("list_dbs", json!([])).await.unwrap(),
        json!(["Open_vSwitch", "_Server"])
    );
    assert_eq!(
        c.request("echo", json!(["x", 1])).await.unwrap(),
        json!(["x", 1])
    );
    assert!(c
        .request("get_server_id", json!([]))
        .await
        .unwrap()
        .is_string());
    assert_eq!(
        c.request("set_db_change_aware", json!([true]))
            .await
            .unwrap(),
        json!({})
    );
    match c.request("frobnicate", json!([])).await {
        Err(ovsdb::Error::Rpc(e)) => assert_eq!(e, json!("unknown method")),
        other => panic!("{other:?}"),
    }
    match c.request("get_schema", json!(["Nope"])).await {
        Err(ovsdb::Error::Rpc(e)) => {
            assert_eq!(e["error"], "unknown database");
            assert_eq!(
                e["details"],
                "get_schema request specifies unknown database Nope"
            );
        }
        other => panic!("{other:?}"),
    }
    // _Server monitor as ovs-vsctl does it.
    let r = c
        .request("monitor_cond", json!(["_Server", ["monid", "_Server"], {"Database":[{"columns":["name","model","connected","leader","schema","cid","index"]}]}]))
        .await
        .unwrap();
    let rows: Vec<&Value> = r["Database"].as_object().unwrap().values().collect();
    let ovs = rows
        .iter()
        .find(|v| v["initial"]["name"] == "Open_vSwitch")
        .unwrap();
    assert_eq!(ovs["initial"]["model"], "standalone");
    let s: Value = serde_json::from_str(ovs["initial"]["schema"].as_str().unwrap()).unwrap();
    assert_eq!(s["name"], "Open_vSwitch");
    // monitor_cond_since.
    let r = c
        .request("monitor_cond_since", json!(["Open_vSwitch", ["monid", "Open_vSwitch"], {"Open_vSwitch":[{"columns":[]}]}, "00000000-0000-0000-0000-000000000000"]))
        .await
        .unwrap();
    assert_eq!(
        r,
        json!([false, "00000000-0000-0000-0000-000000000000", {}])
    );
    let mut notes = c.take_notifications().unwrap();
    let t = c
        .request(
            "transact",
            json!(["Open_vSwitch", {"op":"insert","table":"Open_vSwitch","row":{"next_cfg":1}}]),
        )
        .await
        .unwrap();
    let n = notes.try_recv().expect("notification before the reply");
    assert_eq!(n.method, "update3");
    let u = t[0]["uuid"][1].as_str().unwrap();
    assert_eq!(n.params[2]["Open_vSwitch"][u], json!({"insert":{}}));
    // Duplicate monitor id, cancel.
    assert!(c
        .request(
            "monitor",
            json!(["Open_vSwitch", ["monid", "Open_vSwitch"], {}])
        )
        .await
        .is_err());
    assert_eq!(
        c.request("monitor_cancel", json!([["monid", "Open_vSwitch"]]))
            .await
            .unwrap(),
        json!({})
    );
    assert!(c
        .request("monitor_cancel", json!([["monid", "Open_vSwitch"]]))
        .await
        .is_err());
    // Locks between two sessions.
    let c2 = server.connect_local();
    let mut n2 = c2.take_notifications().unwrap();
    assert_eq!(
        c.request("lock", json!(["L"])).await.unwrap(),
        json!({"locked": true})
    );
    assert_eq!(
        c2.request("lock", json!(["L"])).await.unwrap(),
        json!({"locked": false})
    );
    let t = c2
        .request(
            "transact",
            json!(["Open_vSwitch", {"op":"assert","lock":"L"}]),
        )
        .await
        .unwrap();
    assert_eq!(t[0]["error"], "not owner");
    assert_eq!(c.request("unlock", json!(["L"])).await.unwrap(), json!({}));
    let n = n2.recv().await.unwrap();
    assert_eq!(
        (n.method.as_str(), n.params.clone()),
        ("locked", json!(["L"]))
    );
    let t = c2
        .request(
            "transact",
            json!(["Open_vSwitch", {"op":"assert","lock":"L"}]),
        )
        .await
        .unwrap();
    assert_eq!(t, json!([{}]));
    assert_eq!(
        c.request("steal", json!(["L"])).await.unwrap(),
        json!({"locked": true})
    );
    let n = n2.recv().await.unwrap();
    assert_eq!(n.method, "stolen");
}

#[tokio::test]
async fn tcp_fragmented_requests_and_garbage() {
    let server = Server::new(Database::new(schema()), None);
    let (addr, _h) = server.listen_tcp("127.0.0.1:0").await.unwrap();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let msg = br#"{"id":1,"method":"echo","params":[1]}{"id":2,"method":"list_dbs","params":[]}"#;
    for b in msg.chunks(7) {
        s.write_all(b).await.unwrap();
        s.flush().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    let mut framer = ovsdb::jsonrpc::Framer::new();
    while got.len() < 2 {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0);
        got.extend(framer.feed(&buf[..n]).unwrap());
    }
    assert_eq!(got[0], json!({"id":1,"result":[1],"error":null}));
    assert_eq!(got[1]["result"], json!(["Open_vSwitch", "_Server"]));
    // Garbage: error reply, connection closed; other clients unaffected.
    s.write_all(b"}}not json").await.unwrap();
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut rest)).await;
    let v: Value = serde_json::from_slice(&rest).unwrap();
    assert_eq!(v["error"]["error"], "syntax error");
    let c = Client::connect(&format!("tcp:{addr}")).await.unwrap();
    assert_eq!(c.request("echo", json!([])).await.unwrap(), json!([]));
    // Connection refused text.
    match Client::connect("tcp:127.0.0.1:1").await {
        Err(e) => assert_eq!(
            e.to_string(),
            "database connection failed (Connection refused)"
        ),
        Ok(_) => panic!("connected to port 1"),
    }
}
