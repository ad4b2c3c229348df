//! Remotes end to end: `pssl:` with certificates made by the real
//! `ovs-pki` (real `ovs-vsctl` over SSL, a client certificate from another
//! CA refused), active `tcp:`/`ssl:` remotes connecting to listeners opened
//! here (with reconnects), removal of a remote, and inactivity probes in
//! both directions. Tests that need `ovs-pki`/`ovs-vsctl` print a reason
//! and pass when the tool is missing.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use ovsdb::remote::Remote;
use ovsdb::{
    Client, ClientOptions, Database, DatabaseSchema, Error, RemoteOptions, Server, TlsConfig,
    TlsFiles,
};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn have(tool: &str) -> bool {
    let ok = Path::new("/usr/bin").join(tool).exists();
    if !ok {
        eprintln!("skipping: /usr/bin/{tool} is not installed");
    }
    ok
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("oxvs-remotes-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run_in(dir: &Path, cmd: &str, args: &[&str]) -> Output {
    let mut full = vec!["30", cmd];
    full.extend_from_slice(args);
    Command::new("timeout")
        .args(&full)
        .current_dir(dir)
        .output()
        .expect("spawn")
}

fn check(o: Output, what: &str) -> Output {
    assert!(
        o.status.success(),
        "{what}: {}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// CA and certificates as `ovs-pki` makes them: `server` (a switch
/// certificate, signed by switchca), `client` (a controller certificate,
/// signed by controllerca) and `rogue` (a controller certificate of an
/// unrelated PKI).
struct Pki {
    server: TlsFiles,
    client: TlsFiles,
    rogue: TlsFiles,
}

fn files(dir: &Path, name: &str, ca: &Path) -> TlsFiles {
    TlsFiles {
        private_key: dir.join(format!("{name}-privkey.pem")),
        certificate: dir.join(format!("{name}-cert.pem")),
        ca_cert: ca.to_path_buf(),
    }
}

fn make_pki(dir: &Path) -> Option<Pki> {
    if !have("ovs-pki") {
        return None;
    }
    let pki = dir.join("pki");
    let other = dir.join("other-pki");
    let p = format!("--dir={}", pki.display());
    let o = format!("--dir={}", other.display());
    check(run_in(dir, "ovs-pki", &[&p, "init"]), "ovs-pki init");
    check(
        run_in(dir, "ovs-pki", &[&o, "init"]),
        "ovs-pki init (other)",
    );
    check(
        run_in(dir, "ovs-pki", &[&p, "req+sign", "server", "switch"]),
        "sign server",
    );
    check(
        run_in(dir, "ovs-pki", &[&p, "req+sign", "client", "controller"]),
        "sign client",
    );
    check(
        run_in(dir, "ovs-pki", &[&o, "req+sign", "rogue", "controller"]),
        "sign rogue",
    );
    let switchca = pki.join("switchca/cacert.pem");
    let controllerca = pki.join("controllerca/cacert.pem");
    Some(Pki {
        // The switch's server verifies controllers; controllers verify the
        // switch.
        server: files(dir, "server", &controllerca),
        client: files(dir, "client", &switchca),
        rogue: files(dir, "rogue", &switchca),
    })
}

fn new_server() -> Server {
    let sp = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/vswitch.ovsschema");
    let schema = DatabaseSchema::from_file(&sp).unwrap();
    let server = Server::new(Database::new(schema), None);
    let r = server.transact(&[json!({"op":"insert","table":"Open_vSwitch",
        "row":{"ovs_version":"remotes-test"}})]);
    assert!(r[0].get("error").is_none(), "{r}");
    server
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn opts(probe_ms: Option<u64>) -> RemoteOptions {
    RemoteOptions {
        probe_interval: probe_ms.map(Duration::from_millis),
        max_backoff: Duration::from_secs(8),
        dscp: 0,
    }
}

/// `pssl:` with ovs-pki certificates: the real `ovs-vsctl` and our client
/// connect with the right certificates; a client certificate signed by
/// another CA, and a client without TLS, are refused, and the server keeps
/// serving good clients afterwards.
#[test]
fn pssl_with_ovs_pki_certificates() {
    let dir = tmpdir("pssl");
    let Some(pki) = make_pki(&dir) else { return };
    let rt = rt();
    let server = new_server();
    let _g = rt.enter();
    // Without an SSL configuration a pssl: remote cannot start.
    let pssl = Remote::parse("pssl:0:127.0.0.1").unwrap();
    assert!(matches!(
        server.add_remote(&pssl, opts(Some(5000))),
        Err(Error::Tls(_))
    ));
    server.set_tls(Some(TlsConfig::load(&pki.server).unwrap()));
    let h = server.add_remote(&pssl, opts(Some(5000))).unwrap();
    let port = h.local_addr().unwrap().port();
    let db = format!("--db=ssl:127.0.0.1:{port}");

    let vsctl = |f: &TlsFiles| {
        run_in(
            &dir,
            "ovs-vsctl",
            &[
                &db,
                &format!("--private-key={}", f.private_key.display()),
                &format!("--certificate={}", f.certificate.display()),
                &format!("--ca-cert={}", f.ca_cert.display()),
                "--timeout=5",
                "get",
                "Open_vSwitch",
                ".",
                "ovs_version",
            ],
        )
    };
    if have("ovs-vsctl") {
        let o = vsctl(&pki.client);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "remotes-test");
        let show = run_in(
            &dir,
            "ovs-vsctl",
            &[
                &db,
                &format!("--private-key={}", pki.client.private_key.display()),
                &format!("--certificate={}", pki.client.certificate.display()),
                &format!("--ca-cert={}", pki.client.ca_cert.display()),
                "--timeout=5",
                "show",
            ],
        );
        assert!(show.status.success());
        assert!(String::from_utf8_lossy(&show.stdout).contains("ovs_version: remotes-test"));
        let bad = vsctl(&pki.rogue);
        assert!(!bad.status.success(), "rogue certificate accepted");
    }

    rt.block_on(async {
        let remote = format!("ssl:127.0.0.1:{port}");
        let good = ClientOptions {
            tls: Some(TlsConfig::load(&pki.client).unwrap()),
            probe_interval: None,
        };
        let c = Client::connect_with(&remote, &good).await.unwrap();
        assert_eq!(
            c.request("list_dbs", json!([])).await.unwrap(),
            json!(["Open_vSwitch", "_Server"])
        );
        // Rogue certificate: the handshake (TLS 1.2) or the first request
        // (TLS 1.3, where the server checks the client's certificate after
        // the client finished) fails.
        let rogue = ClientOptions {
            tls: Some(TlsConfig::load(&pki.rogue).unwrap()),
            probe_interval: None,
        };
        match Client::connect_with(&remote, &rogue).await {
            Err(Error::ConnectionFailed(_)) => {}
            Err(e) => panic!("unexpected error {e}"),
            Ok(c) => {
                let r =
                    tokio::time::timeout(Duration::from_secs(5), c.request("list_dbs", json!([])))
                        .await
                        .expect("rogue client neither served nor refused");
                assert!(r.is_err(), "rogue client served: {r:?}");
            }
        }
        // Plain TCP to the SSL port: never served.
        let plain = Client::connect(&format!("tcp:127.0.0.1:{port}"))
            .await
            .unwrap();
        let r = tokio::time::timeout(Duration::from_secs(5), plain.request("list_dbs", json!([])))
            .await
            .expect("plain client neither served nor refused");
        assert!(r.is_err());
        // The first client still works, and so does a new one.
        assert_eq!(c.request("echo", json!([1])).await.unwrap(), json!([1]));
        let c2 = Client::connect_with(&remote, &good).await.unwrap();
        assert_eq!(c2.request("echo", json!([2])).await.unwrap(), json!([2]));
        let st = h.status();
        assert!(st.is_connected);
        assert_eq!(st.n_connections, 2);
        assert_eq!(st.bound_port, Some(port));
        // ssl: without a configuration is refused locally.
        assert!(matches!(Client::connect(&remote).await, Err(Error::Tls(_))));
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// Bad key/certificate files give errors, not panics.
#[test]
fn bad_tls_files() {
    let dir = tmpdir("badtls");
    let missing = TlsFiles {
        private_key: dir.join("nope.pem"),
        certificate: dir.join("nope.pem"),
        ca_cert: dir.join("nope.pem"),
    };
    assert!(matches!(TlsConfig::load(&missing), Err(Error::Tls(_))));
    let junk = dir.join("junk.pem");
    std::fs::write(&junk, "not a pem file\n").unwrap();
    let junk_files = TlsFiles {
        private_key: junk.clone(),
        certificate: junk.clone(),
        ca_cert: junk.clone(),
    };
    assert!(matches!(TlsConfig::load(&junk_files), Err(Error::Tls(_))));
    if let Some(pki) = make_pki(&dir) {
        // Key of another certificate.
        let mixed = TlsFiles {
            private_key: pki.rogue.private_key.clone(),
            ..pki.server.clone()
        };
        assert!(matches!(TlsConfig::load(&mixed), Err(Error::Tls(_))));
        // A CA file without certificates.
        let no_ca = TlsFiles {
            ca_cert: junk.clone(),
            ..pki.server.clone()
        };
        assert!(matches!(TlsConfig::load(&no_ca), Err(Error::Tls(_))));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

async fn accept_within(l: &tokio::net::TcpListener, secs: u64) -> tokio::net::TcpStream {
    tokio::time::timeout(Duration::from_secs(secs), l.accept())
        .await
        .expect("the active remote did not connect")
        .unwrap()
        .0
}

/// An active `tcp:` remote connects to a listener opened here, serves the
/// session (we are the client on the accepted socket), reports its state,
/// and reconnects after the connection drops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_tcp_remote_connects_and_reconnects() {
    let server = new_server();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let remote = Remote::parse(&format!("tcp:127.0.0.1:{port}")).unwrap();
    let h = server.add_remote(&remote, opts(None)).unwrap();
    let s = accept_within(&l, 5).await;
    let c = Client::from_stream(s);
    assert_eq!(
        c.request("list_dbs", json!([])).await.unwrap(),
        json!(["Open_vSwitch", "_Server"])
    );
    let st = h.status();
    assert!(st.is_connected);
    assert_eq!(st.state, Some("ACTIVE"));
    assert_eq!(st.sec_since_connect, Some(0));
    assert_eq!(st.sec_since_disconnect, None);
    // Take a lock: reported in the status as ovsdb-server does.
    c.request("lock", json!(["L1"])).await.unwrap();
    assert_eq!(h.status().locks_held, vec!["L1".to_string()]);
    drop(c);
    // Reconnects after the 1 s minimum backoff.
    let t = Instant::now();
    let s = accept_within(&l, 5).await;
    assert!(t.elapsed() >= Duration::from_millis(500), "no backoff");
    let c = Client::from_stream(s);
    assert_eq!(c.request("echo", json!([])).await.unwrap(), json!([]));
    let st = h.status();
    assert!(st.is_connected);
    assert!(st.sec_since_disconnect.is_some());
    assert!(st.locks_held.is_empty());
    // Dropping the handle closes the session (the abort takes effect
    // asynchronously).
    drop(h);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let r = tokio::time::timeout(Duration::from_secs(5), c.request("echo", json!([]))).await;
    assert!(matches!(r, Ok(Err(Error::Closed))), "{r:?}");
}

/// An active remote whose peer refuses: BACKOFF, nothing connected, and
/// (as ovsdb-server) no `last_error` for a failed attempt; after an
/// established session ends, `last_error` is "End of file".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_remote_refused_backs_off() {
    let server = new_server();
    // A port that was free a moment ago.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let remote = Remote::parse(&format!("tcp:127.0.0.1:{port}")).unwrap();
    let h = server.add_remote(&remote, opts(None)).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let st = h.status();
    assert_eq!(st.state, Some("BACKOFF"), "{st:?}");
    assert!(!st.is_connected);
    assert_eq!(st.last_error, None);
    assert_eq!(st.sec_since_connect, None);
    assert_eq!(st.to_map(), vec![("state", "BACKOFF".to_string())]);
    // Now listen there: within the backoff (1 s, then 2 s) it connects.
    let l = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let s = accept_within(&l, 5).await;
    drop(s);
    let deadline = Instant::now() + Duration::from_secs(5);
    while h.status().last_error.is_none() {
        assert!(Instant::now() < deadline, "{:?}", h.status());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(h.status().last_error.as_deref(), Some("End of file"));
    // A unix remote to a missing socket backs off likewise.
    let u = Remote::parse("unix:/nonexistent/oxvs-remote.sock").unwrap();
    let hu = server.add_remote(&u, opts(None)).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hu.status().state, Some("BACKOFF"));
}

/// An active `ssl:` remote connects to a TLS listener opened here (the
/// "controller" side, with the controller certificate), verifying each
/// other's certificates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_ssl_remote() {
    let dir = tmpdir("ssl-active");
    let Some(pki) = make_pki(&dir) else { return };
    let server = new_server();
    server.set_tls(Some(TlsConfig::load(&pki.server).unwrap()));
    let peer = TlsConfig::load(&pki.client).unwrap();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let h = server
        .add_remote(
            &Remote::parse(&format!("ssl:127.0.0.1:{port}")).unwrap(),
            opts(None),
        )
        .unwrap();
    let s = accept_within(&l, 5).await;
    let ts = peer.acceptor().accept(s).await.unwrap();
    let c = Client::from_stream(ts);
    assert_eq!(
        c.request("list_dbs", json!([])).await.unwrap(),
        json!(["Open_vSwitch", "_Server"])
    );
    assert!(h.status().is_connected);
    // A listener with a certificate of another CA is refused by the
    // switch: it never gets a session.
    drop(c);
    drop(h);
    let rogue = TlsConfig::load(&TlsFiles {
        ca_cert: pki.client.ca_cert.clone(),
        ..pki.rogue.clone()
    })
    .unwrap();
    let h = server
        .add_remote(
            &Remote::parse(&format!("ssl:127.0.0.1:{port}")).unwrap(),
            opts(None),
        )
        .unwrap();
    let s = accept_within(&l, 5).await;
    let r = rogue.acceptor().accept(s).await;
    if let Ok(ts) = r {
        let c = Client::from_stream(ts);
        let r = tokio::time::timeout(Duration::from_secs(5), c.request("echo", json!([]))).await;
        assert!(matches!(r, Ok(Err(_))), "rogue peer served: {r:?}");
    }
    assert!(!h.status().is_connected);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Dropping a listener's handle closes it and its sessions; a `punix:`
/// socket file is removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_remote_closes_listener_and_sessions() {
    let server = new_server();
    let h = server
        .add_remote(
            &Remote::parse("ptcp:0:127.0.0.1").unwrap(),
            opts(Some(5000)),
        )
        .unwrap();
    let addr: SocketAddr = h.local_addr().unwrap();
    let c = Client::connect(&format!("tcp:{addr}")).await.unwrap();
    assert_eq!(c.request("echo", json!([])).await.unwrap(), json!([]));
    assert!(h.status().is_connected);
    drop(h);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let r = tokio::time::timeout(Duration::from_secs(5), c.request("echo", json!([]))).await;
    assert!(matches!(r, Ok(Err(Error::Closed))), "{r:?}");
    assert!(matches!(
        Client::connect(&format!("tcp:{addr}")).await,
        Err(Error::ConnectionFailed(_))
    ));

    let dir = tmpdir("punix");
    let sock = dir.join("db.sock");
    let h = server
        .add_remote(&Remote::PUnix(sock.clone()), opts(None))
        .unwrap();
    let c = Client::connect(&format!("unix:{}", sock.display()))
        .await
        .unwrap();
    assert_eq!(c.request("echo", json!([])).await.unwrap(), json!([]));
    drop(h);
    assert!(!sock.exists());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let r = tokio::time::timeout(Duration::from_secs(5), c.request("echo", json!([]))).await;
    assert!(matches!(r, Ok(Err(Error::Closed))), "{r:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The server probes an idle session after the remote's interval and drops
/// it after a second silent interval; a client that answers stays. A new
/// interval set with `set_options` applies in place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_probes_idle_sessions() {
    let server = new_server();
    let h = server
        .add_remote(&Remote::parse("ptcp:0:127.0.0.1").unwrap(), opts(Some(300)))
        .unwrap();
    let addr = h.local_addr().unwrap();
    // A silent raw client: gets an echo request, then is disconnected.
    let t = Instant::now();
    let mut raw = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), raw.read(&mut buf))
            .await
            .expect("not disconnected")
            .unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    let el = t.elapsed();
    let v: serde_json::Value = serde_json::from_slice(&got).unwrap();
    assert_eq!(v, json!({"id":"echo","method":"echo","params":[]}));
    assert!(
        el >= Duration::from_millis(550),
        "dropped too early: {el:?}"
    );
    assert!(el < Duration::from_secs(3), "dropped too late: {el:?}");
    // A client that answers echo requests stays connected.
    let c = Client::connect(&format!("tcp:{addr}")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(c.request("echo", json!([7])).await.unwrap(), json!([7]));
    // Probes off: a silent raw client is kept.
    h.set_options(opts(None));
    let mut raw = tokio::net::TcpStream::connect(addr).await.unwrap();
    let r = tokio::time::timeout(Duration::from_millis(1000), raw.read(&mut buf)).await;
    assert!(r.is_err(), "server sent or closed with probes off: {r:?}");
    raw.write_all(br#"{"id":1,"method":"echo","params":[]}"#)
        .await
        .unwrap();
    let n = raw.read(&mut buf).await.unwrap();
    assert!(n > 0);
}

/// A client configured with a probe interval probes a silent server and
/// drops the connection when the echo goes unanswered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_probes_silent_server() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let accept = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        // Read what the client sends, never answer.
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while let Ok(n) = s.read(&mut buf).await {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        got
    });
    let c = Client::connect_with(
        &format!("tcp:{addr}"),
        &ClientOptions {
            tls: None,
            probe_interval: Some(Duration::from_millis(200)),
        },
    )
    .await
    .unwrap();
    let t = Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(5), c.request("list_dbs", json!([]))).await;
    assert!(matches!(r, Ok(Err(Error::Closed))), "{r:?}");
    let el = t.elapsed();
    assert!(el >= Duration::from_millis(350), "{el:?}");
    let got = tokio::time::timeout(Duration::from_secs(5), accept)
        .await
        .expect("client did not close the connection")
        .unwrap();
    let msgs = ovsdb::jsonrpc::Framer::new().feed(&got).unwrap();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert_eq!(msgs[1], json!({"id":"echo","method":"echo","params":[]}));
}
