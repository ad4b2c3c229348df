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

/// RFC 7047 §5.2.6 `wait` with a timeout blocks the transaction until the
/// condition holds (after another client's commit), or the timeout passes
/// ("timed out"); §4.1.4 `cancel` ends a blocked one with "canceled". Other
/// requests on the same connection are served meanwhile.
#[tokio::test]
async fn wait_blocks_until_commit_timeout_or_cancel() {
    let server = Server::new(Database::new(schema()), None);
    let (addr, _h) = server.listen_tcp("127.0.0.1:0").await.unwrap();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    // Waits for the (root) Open_vSwitch row to have next_cfg == `cfg`.
    let wait = |cfg: u64, timeout: Option<u64>| {
        let mut op = json!({"op":"wait","table":"Open_vSwitch","where":[],
            "columns":["next_cfg"],"until":"==","rows":[{"next_cfg":cfg}]});
        if let Some(t) = timeout {
            op["timeout"] = json!(t);
        }
        op
    };
    let reqs = [
        json!({"id":"w1","method":"transact","params":["Open_vSwitch", wait(5, None),
            {"op":"update","table":"Open_vSwitch","where":[],"row":{"cur_cfg":5}}]}),
        json!({"id":"w2","method":"transact","params":["Open_vSwitch", wait(99, Some(300))]}),
        json!({"id":"w3","method":"transact","params":["Open_vSwitch", wait(77, None)]}),
        json!({"id":"w4","method":"transact","params":["Open_vSwitch", wait(66, Some(0))]}),
        json!({"id":"e","method":"echo","params":["still served"]}),
    ];
    for r in &reqs {
        s.write_all(r.to_string().as_bytes()).await.unwrap();
    }
    let mut framer = ovsdb::jsonrpc::Framer::new();
    let mut buf = vec![0u8; 65536];
    let mut got: Vec<Value> = Vec::new();
    async fn read_until(
        s: &mut tokio::net::TcpStream,
        framer: &mut ovsdb::jsonrpc::Framer,
        buf: &mut [u8],
        got: &mut Vec<Value>,
        id: &str,
    ) -> Value {
        loop {
            if let Some(v) = got.iter().find(|v| v["id"] == id) {
                return v.clone();
            }
            let n = tokio::time::timeout(std::time::Duration::from_secs(5), s.read(buf))
                .await
                .unwrap_or_else(|_| panic!("no reply {id} in time; got {got:?}"))
                .unwrap();
            assert!(n > 0, "connection closed");
            got.extend(framer.feed(&buf[..n]).unwrap());
        }
    }
    // timeout 0 fails at once; the echo behind the blocked ones is answered.
    let w4 = read_until(&mut s, &mut framer, &mut buf, &mut got, "w4").await;
    assert_eq!(w4["result"][0]["error"], "timed out");
    let e = read_until(&mut s, &mut framer, &mut buf, &mut got, "e").await;
    assert_eq!(e["result"], json!(["still served"]));
    assert!(got.iter().all(|v| v["id"] != "w1"), "w1 must still wait");
    // Another client's commit satisfies w1, which then commits its insert.
    let c = server.connect_local();
    let r = c
        .request(
            "transact",
            json!(["Open_vSwitch",
            {"op":"insert","table":"Open_vSwitch","row":{"next_cfg":5}}]),
        )
        .await
        .unwrap();
    assert!(r[0]["uuid"].is_array());
    let w1 = read_until(&mut s, &mut framer, &mut buf, &mut got, "w1").await;
    assert_eq!(w1["result"], json!([{}, {"count":1}]), "{w1}");
    let row = c
        .request(
            "transact",
            json!(["Open_vSwitch",
            {"op":"select","table":"Open_vSwitch","where":[],"columns":["cur_cfg"]}]),
        )
        .await
        .unwrap();
    assert_eq!(
        row[0]["rows"],
        json!([{"cur_cfg":5}]),
        "w1's update committed"
    );
    // w2 gives up after its 300 ms.
    let w2 = read_until(&mut s, &mut framer, &mut buf, &mut got, "w2").await;
    assert_eq!(w2["result"][0]["error"], "timed out", "{w2}");
    // w3 would wait forever: cancel it.
    s.write_all(
        json!({"id":null,"method":"cancel","params":["w3"]})
            .to_string()
            .as_bytes(),
    )
    .await
    .unwrap();
    let w3 = read_until(&mut s, &mut framer, &mut buf, &mut got, "w3").await;
    assert_eq!(w3["error"], json!({"error":"canceled"}), "{w3}");
}

/// A client that monitors and stops reading while another commits is
/// disconnected once its backlog passes the limit; the committing client
/// is served throughout.
#[tokio::test]
async fn stalled_monitor_client_is_disconnected_not_buffered() {
    let server = Server::new(Database::new(schema()), None);
    server.set_max_backlog(100);
    let (addr, _h) = server.listen_tcp("127.0.0.1:0").await.unwrap();
    let mut stalled = tokio::net::TcpStream::connect(addr).await.unwrap();
    let monitor = json!({"id":1,"method":"monitor","params":["Open_vSwitch", null,
        {"Bridge":{"columns":["name","external_ids"]}}]});
    stalled
        .write_all(monitor.to_string().as_bytes())
        .await
        .unwrap();
    let c = server.connect_local();
    let r = c
        .request(
            "transact",
            json!(["Open_vSwitch",
            {"op":"insert","table":"Open_vSwitch","row":{"bridges":["named-uuid","b"]}},
            {"op":"insert","table":"Bridge","uuid-name":"b","row":{"name":"b0"}}]),
        )
        .await
        .unwrap();
    assert!(r[1]["uuid"].is_array(), "{r}");
    let big = "x".repeat(16 * 1024);
    for i in 0..1500 {
        let r = c
            .request(
                "transact",
                json!(["Open_vSwitch",
                {"op":"update","table":"Bridge","where":[["name","==","b0"]],
                 "row":{"external_ids":["map",[["n", format!("{i}{big}")]]]}}]),
            )
            .await
            .unwrap();
        assert_eq!(r[0]["count"], 1, "{r}");
    }
    // The stalled session was closed: reading what the kernel buffered
    // ends in EOF instead of blocking forever.
    let mut sink = vec![0u8; 1 << 20];
    let mut total = 0usize;
    loop {
        let n = tokio::time::timeout(std::time::Duration::from_secs(3), stalled.read(&mut sink))
            .await
            .expect("stalled session must have been closed")
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        total += n;
    }
    assert!(
        total < 1500 * big.len(),
        "not every update was buffered: {total}"
    );
    assert_eq!(c.request("echo", json!([1])).await.unwrap(), json!([1]));
}

/// Another client's commit that reaches an IDL before the reply to the
/// IDL's own transaction is applied by `transact` and handed back by
/// `take_unseen` (the reconciler once lost such changes and never acted on
/// them).
#[tokio::test]
async fn changes_seen_during_transact_are_handed_back() {
    let server = Server::new(Database::new(schema()), None);
    let other = server.connect_local();
    let r = other
        .request(
            "transact",
            json!(["Open_vSwitch",
            {"op":"insert","table":"Open_vSwitch","row":{"next_cfg":1}}]),
        )
        .await
        .unwrap();
    assert!(r[0]["uuid"].is_array());
    let mut idl = Idl::connect(server.connect_local(), "Open_vSwitch", None)
        .await
        .unwrap();
    // The other client changes next_cfg; the IDL does not look yet.
    other
        .request(
            "transact",
            json!(["Open_vSwitch",
            {"op":"update","table":"Open_vSwitch","where":[],"row":{"next_cfg":2}}]),
        )
        .await
        .unwrap();
    // Our own transaction: its reply comes after the other's update.
    let r = idl
        .transact(vec![
            json!({"op":"update","table":"Open_vSwitch","where":[],"row":{"cur_cfg":1}}),
        ])
        .await
        .unwrap();
    assert_eq!(r[0]["count"], 1);
    let unseen = idl.take_unseen();
    let rows = &unseen.tables["Open_vSwitch"];
    let change = rows.values().next().unwrap();
    let next = |row: &Option<std::sync::Arc<ovsdb::Row>>| {
        row.as_ref()
            .and_then(|r| r.get("next_cfg"))
            .and_then(|d| d.as_integer())
    };
    assert_eq!(next(&change.old), Some(1), "{unseen:?}");
    assert_eq!(next(&change.new), Some(2), "{unseen:?}");
    assert!(idl.take_unseen().is_empty(), "handed back once");
}
