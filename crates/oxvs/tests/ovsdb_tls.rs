//! SSL end to end: `oxvs vsctl --db=ssl:` and the real `ovs-vsctl` against
//! `oxvs ovsdb-server --remote=pssl:` (and `oxvs daemon`), with certificates
//! made by the real `ovs-pki`: right and wrong CAs, a client certificate of
//! another PKI, ovs-vsctl's errors for missing or unusable SSL options
//! (compared line by line with the real tool), `--bootstrap-ca-cert` on
//! both the client and the server side, `--ssl-protocols` and
//! `--ssl-ciphers`, and the Manager table's `other_config:dscp` (IP_TOS
//! read back with `ss --tos`) and `connection_mode`. Tests print a reason
//! and pass when the Open vSwitch tools are not installed.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use common::{have, oxvs_bin, s, wait_until};

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("oxvs-tls-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn tools_missing(tools: &[&str]) -> bool {
    for t in tools {
        if !have(t) {
            eprintln!("skipping: {t} is not installed");
            return true;
        }
    }
    false
}

/// Runs `prog args` in `dir` (private OVS directories), killed after 30 s.
fn run(dir: &Path, prog: &str, args: &[&str]) -> Output {
    Command::new("timeout")
        .arg("30")
        .arg(prog)
        .args(args)
        .current_dir(dir)
        .env("OVS_RUNDIR", dir)
        .env("OVS_DBDIR", dir)
        .env("OVS_LOGDIR", dir)
        .output()
        .unwrap_or_else(|e| panic!("{prog}: {e}"))
}

fn vsctl(dir: &Path, args: &[&str]) -> Output {
    let mut full = vec!["vsctl"];
    full.extend_from_slice(args);
    run(dir, oxvs_bin(), &full)
}

fn ovs_vsctl(dir: &Path, args: &[&str]) -> Output {
    run(dir, "ovs-vsctl", args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status,
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

/// Log lines with the time stamp replaced (`<TIME>|00001|stream_ssl|…`).
fn norm(text: &str) -> String {
    text.lines()
        .map(|l| {
            let b = l.as_bytes();
            if b.len() > 21 && b[4] == b'-' && b[10] == b'T' && b[19] == b'Z' && b[20] == b'|' {
                format!("<TIME>|{}\n", &l[21..])
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

/// `N` distinct TCP ports that were free a moment ago.
fn free_ports<const N: usize>() -> [u16; N] {
    let ls: Vec<std::net::TcpListener> = (0..N)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    std::array::from_fn(|i| ls[i].local_addr().unwrap().port())
}

fn free_port() -> u16 {
    free_ports::<1>()[0]
}

/// Certificates made by `ovs-pki` in `dir`: `server` (switch certificate,
/// signed by switchca), `client` (controller certificate, signed by
/// controllerca), `peer` (a second switch certificate, for one-CA setups)
/// and `rogue` (a controller certificate of an unrelated PKI).
struct Pki {
    dir: PathBuf,
    switchca: PathBuf,
    controllerca: PathBuf,
    other_switchca: PathBuf,
}

impl Pki {
    fn make(dir: &Path) -> Pki {
        let p = format!("--dir={}", s(&dir.join("pki")));
        let o = format!("--dir={}", s(&dir.join("other-pki")));
        for args in [
            vec![p.as_str(), "init"],
            vec![o.as_str(), "init"],
            vec![p.as_str(), "req+sign", "server", "switch"],
            vec![p.as_str(), "req+sign", "client", "controller"],
            vec![p.as_str(), "req+sign", "peer", "switch"],
            vec![o.as_str(), "req+sign", "rogue", "controller"],
            vec![o.as_str(), "req+sign", "imposter", "switch"],
        ] {
            ok(run(dir, "ovs-pki", &args));
        }
        Pki {
            dir: dir.to_path_buf(),
            switchca: dir.join("pki/switchca/cacert.pem"),
            controllerca: dir.join("pki/controllerca/cacert.pem"),
            other_switchca: dir.join("other-pki/switchca/cacert.pem"),
        }
    }

    fn key(&self, name: &str) -> String {
        s(&self.dir.join(format!("{name}-privkey.pem"))).to_string()
    }

    fn cert(&self, name: &str) -> String {
        s(&self.dir.join(format!("{name}-cert.pem"))).to_string()
    }

    /// `-p KEY -c CERT` of `name`.
    fn id(&self, name: &str) -> Vec<String> {
        vec![
            format!("--private-key={}", self.key(name)),
            format!("--certificate={}", self.cert(name)),
        ]
    }
}

/// DER bytes of the certificates in a PEM file (comments ignored).
fn pem_ders(path: &Path) -> Vec<Vec<u8>> {
    let out = Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in", s(path)])
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl x509 {}", path.display());
    vec![out.stdout]
}

/// `oxvs ovsdb-server` (or `oxvs daemon`) in the foreground, killed when
/// dropped.
struct Server {
    child: Child,
    sock: PathBuf,
}

impl Server {
    /// `oxvs ovsdb-server DIR/conf.db --remote=punix:DIR/db.sock EXTRA…`,
    /// ready once the unix socket answers; `None` if it exited (its log is
    /// `DIR/server.log`).
    fn start(dir: &Path, extra: &[String]) -> Option<Server> {
        let sock = dir.join("db.sock");
        let _ = std::fs::remove_file(&sock);
        let mut args = vec![
            "ovsdb-server".to_string(),
            s(&dir.join("conf.db")).to_string(),
            format!("--remote=punix:{}", s(&sock)),
            format!("--unixctl={}", s(&dir.join("server.ctl"))),
        ];
        args.extend_from_slice(extra);
        Server::spawn(dir, &args, sock)
    }

    fn spawn(dir: &Path, args: &[String], sock: PathBuf) -> Option<Server> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("server.log"))
            .unwrap();
        let child = Command::new(oxvs_bin())
            .args(args)
            .current_dir(dir)
            .env("OVS_RUNDIR", dir)
            .env("OVS_DBDIR", dir)
            .env("OVS_LOGDIR", dir)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut srv = Server { child, sock };
        let up = wait_until(20, || {
            std::os::unix::net::UnixStream::connect(&srv.sock).is_ok()
                || srv.child.try_wait().ok().flatten().is_some()
        });
        assert!(up, "server neither started nor exited");
        if srv.child.try_wait().ok().flatten().is_some() {
            return None;
        }
        Some(srv)
    }

    fn unix(&self) -> String {
        format!("--db=unix:{}", s(&self.sock))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// `oxvs vsctl --db=ssl:` with ovs-pki certificates: show/add-br/list
/// work; the wrong CA and a client certificate of another PKI are refused
/// (as with the real ovs-vsctl), and the server goes on serving.
#[test]
fn vsctl_over_ssl() {
    if tools_missing(&["ovs-pki", "ovs-vsctl"]) {
        return;
    }
    let dir = tmpdir("vsctl");
    let pki = Pki::make(&dir);
    let port = free_port();
    let mut extra = vec![format!("--remote=pssl:{port}:127.0.0.1")];
    extra.extend(pki.id("server"));
    extra.push(format!("--ca-cert={}", s(&pki.controllerca)));
    let srv = Server::start(&dir, &extra).expect("server");
    let db = format!("--db=ssl:127.0.0.1:{port}");
    let good = |more: &[&str]| {
        let mut a = vec![db.clone()];
        a.extend(pki.id("client"));
        a.push(format!("--ca-cert={}", s(&pki.switchca)));
        a.extend(more.iter().map(|x| x.to_string()));
        a
    };
    ok(vsctl(&dir, &args(&good(&["--no-wait", "add-br", "tls0"]))));
    assert_eq!(ok(vsctl(&dir, &args(&good(&["list-br"])))), "tls0\n");
    let show = ok(vsctl(&dir, &args(&good(&["show"]))));
    assert!(show.contains("    Bridge tls0\n"), "{show}");
    let list = ok(vsctl(&dir, &args(&good(&["list", "Bridge", "tls0"]))));
    assert!(list.contains("name                : tls0"), "{list}");
    // Short options, attached and separate, as getopt takes them.
    let short = [
        db.as_str(),
        "-p",
        &pki.key("client"),
        &format!("-c{}", pki.cert("client")),
        "-C",
        s(&pki.switchca),
        "br-exists",
        "tls0",
    ];
    ok(vsctl(&dir, &short));
    // The real ovs-vsctl reads the same database over SSL.
    assert_eq!(ok(ovs_vsctl(&dir, &args(&good(&["list-br"])))), "tls0\n");

    // Wrong CA (the controllers' CA does not sign the server): the
    // handshake fails on our side, as with ovs-vsctl.
    let mut wrong = vec![db.clone()];
    wrong.extend(pki.id("client"));
    wrong.push(format!("--ca-cert={}", s(&pki.controllerca)));
    wrong.push("list-br".into());
    for o in [vsctl(&dir, &args(&wrong)), ovs_vsctl(&dir, &args(&wrong))] {
        assert_eq!(o.status.code(), Some(1));
        assert!(stdout(&o).is_empty());
        let e = stderr(&o);
        assert!(e.contains("|stream_ssl|WARN|SSL_connect: "), "{e}");
        assert!(
            e.ends_with(&format!(
                "ovs-vsctl: ssl:127.0.0.1:{port}: database connection failed (Protocol error)\n"
            )),
            "{e}"
        );
    }
    // A client certificate of another PKI: refused by the server.
    let mut rogue = vec![db.clone()];
    rogue.extend(pki.id("rogue"));
    rogue.push(format!("--ca-cert={}", s(&pki.switchca)));
    rogue.extend(["--no-wait".into(), "add-br".into(), "rogue0".into()]);
    for o in [vsctl(&dir, &args(&rogue)), ovs_vsctl(&dir, &args(&rogue))] {
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("database connection failed"),
            "{}",
            stderr(&o)
        );
    }
    // Nothing changed, and good clients are still served.
    assert_eq!(ok(vsctl(&dir, &args(&good(&["list-br"])))), "tls0\n");
    assert_eq!(ok(vsctl(&dir, &[&srv.unix(), "list-br"])), "tls0\n");
}

/// Missing or unusable SSL options: `oxvs vsctl` prints what ovs-vsctl 3.1
/// prints (log lines up to the time stamp, the final error) and exits
/// with the same status.
#[test]
fn ssl_option_errors_match_ovs_vsctl() {
    if tools_missing(&["ovs-pki", "ovs-vsctl"]) {
        return;
    }
    let dir = tmpdir("errors");
    let pki = Pki::make(&dir);
    let junk = dir.join("junk.pem");
    std::fs::write(&junk, "not a PEM file\n").unwrap();
    let (key, cert, ca) = (
        pki.key("client"),
        pki.cert("client"),
        s(&pki.switchca).to_string(),
    );
    let other_key = pki.key("server");
    let missing = s(&dir.join("missing.pem")).to_string();
    let junk = s(&junk).to_string();
    let boot = format!("--bootstrap-ca-cert={missing}");
    // Port 1 on loopback: nothing listens, so a run that gets as far as
    // connecting fails with "Connection refused" in both tools.
    let cases: Vec<Vec<&str>> = vec![
        vec!["--db=ssl:127.0.0.1:1"],
        vec!["--db=ssl:127.0.0.1:1", "-p", &missing],
        vec!["--db=ssl:127.0.0.1:1", "-p", &key],
        vec!["--db=ssl:127.0.0.1:1", "-p", &key, "-c", &cert],
        vec!["--db=ssl:127.0.0.1:1", "-c", &cert, "-C", &ca],
        vec!["--db=ssl:127.0.0.1:1", "-C", &missing],
        vec!["--db=ssl:127.0.0.1:1", "-p", &junk, "-c", &cert, "-C", &ca],
        vec!["--db=ssl:127.0.0.1:1", "-p", &key, "-c", &junk, "-C", &ca],
        vec![
            "--db=ssl:127.0.0.1:1",
            "-p",
            &other_key,
            "-c",
            &cert,
            "-C",
            &ca,
        ],
        vec!["--db=ssl:127.0.0.1:1", "-p", &key, "-c", &cert, "-C", &ca],
        vec![
            "--db=ssl:127.0.0.1:1",
            "-p",
            &key,
            "-c",
            &cert,
            "-C",
            "none",
        ],
        vec!["--db=ssl:127.0.0.1:1", "-p", &key, "-c", &cert, &boot],
        vec!["--db=tcp:127.0.0.1:1", "-p", &missing],
    ];
    for case in cases {
        let mut a = case.clone();
        a.push("show");
        let theirs = ovs_vsctl(&dir, &a);
        let ours = vsctl(&dir, &a);
        assert_eq!(ours.status.code(), theirs.status.code(), "{a:?}");
        assert_eq!(norm(&stderr(&ours)), norm(&stderr(&theirs)), "{a:?}");
        assert!(stdout(&ours).is_empty(), "{a:?}");
    }
    // The missing flags, spelled out (what the comparison above checked).
    let o = vsctl(&dir, &["--db=ssl:127.0.0.1:1", "show"]);
    assert_eq!(
        norm(&stderr(&o)),
        "<TIME>|00001|stream_ssl|ERR|Private key must be configured to use SSL\n\
         <TIME>|00002|stream_ssl|ERR|Certificate must be configured to use SSL\n\
         <TIME>|00003|stream_ssl|ERR|CA certificate must be configured to use SSL\n\
         ovs-vsctl: ssl:127.0.0.1:1: database connection failed (Protocol not available)\n"
    );
    // A missing value is a usage error, worded as getopt words it.
    for a in [
        ["--db=ssl:127.0.0.1:1", "--private-key"],
        ["--db=ssl:127.0.0.1:1", "-p"],
    ] {
        let (o, t) = (vsctl(&dir, &a), ovs_vsctl(&dir, &a));
        assert_eq!(o.status.code(), Some(1));
        assert_eq!(stderr(&o), stderr(&t));
    }
    assert!(!dir.join("missing.pem").exists());
}

/// `--bootstrap-ca-cert` on the client: the first connection saves the
/// server's CA (the last, self-signed certificate of its chain) and goes
/// on; the next run reads the file as its CA (a server of another PKI is
/// then refused). Without a CA in the server's chain it fails as
/// ovs-vsctl does. The real ovs-vsctl bootstraps from `oxvs
/// ovsdb-server` too, from `--peer-ca-cert` or from the chain completed
/// from `--ca-cert` when one CA signs both sides.
#[test]
fn bootstrap_ca_cert() {
    if tools_missing(&["ovs-pki", "ovs-vsctl", "openssl"]) {
        return;
    }
    let dir = tmpdir("bootstrap");
    let pki = Pki::make(&dir);
    let server_args = |port: u16, name: &str, ca: &Path, peer_ca: Option<&Path>| {
        let mut v = vec![format!("--remote=pssl:{port}:127.0.0.1")];
        v.extend(pki.id(name));
        v.push(format!("--ca-cert={}", s(ca)));
        if let Some(p) = peer_ca {
            v.push(format!("--peer-ca-cert={}", s(p)));
        }
        v
    };
    let client = |port: u16, name: &str, file: &Path, cmd: &[&str]| {
        let mut v = vec![format!("--db=ssl:127.0.0.1:{port}")];
        v.extend(pki.id(name));
        v.push(format!("--bootstrap-ca-cert={}", s(file)));
        // No switch behind these databases: never wait for cur_cfg.
        v.push("--no-wait".into());
        v.extend(cmd.iter().map(|x| x.to_string()));
        v
    };

    // A server that sends the switch CA after its certificate.
    let sdir = dir.join("peer-ca");
    std::fs::create_dir_all(&sdir).unwrap();
    let port = free_port();
    let srv = Server::start(
        &sdir,
        &server_args(port, "server", &pki.controllerca, Some(&pki.switchca)),
    )
    .expect("server");
    ok(vsctl(&sdir, &[&srv.unix(), "--no-wait", "add-br", "boot0"]));

    let ours = dir.join("oxvs-ca.pem");
    let o = vsctl(&dir, &args(&client(port, "client", &ours, &["list-br"])));
    assert_eq!(ok(o), "boot0\n", "the bootstrapping run goes on");
    let meta = std::fs::metadata(&ours).expect("CA file created");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o444);
    assert_eq!(pem_ders(&ours), pem_ders(&pki.switchca));
    let o = vsctl(&dir, &args(&client(port, "client", &ours, &["list-br"])));
    assert_eq!(ok(o), "boot0\n");

    // The real ovs-vsctl: its bootstrapping run saves the CA and then
    // fails on purpose ("killing successful connection to retry using CA
    // cert"); the next run works.
    let theirs = dir.join("ovs-ca.pem");
    let o = ovs_vsctl(&dir, &args(&client(port, "client", &theirs, &["list-br"])));
    assert!(
        theirs.exists(),
        "ovs-vsctl did not bootstrap: {}",
        stderr(&o)
    );
    assert_eq!(pem_ders(&theirs), pem_ders(&pki.switchca));
    let o = ovs_vsctl(&dir, &args(&client(port, "client", &theirs, &["list-br"])));
    assert_eq!(ok(o), "boot0\n");
    drop(srv);

    // The saved CA is what the next runs trust: a server of another PKI is
    // refused instead of bootstrapped again.
    let idir = dir.join("imposter");
    std::fs::create_dir_all(&idir).unwrap();
    let iport = free_port();
    let _imp = Server::start(
        &idir,
        &server_args(
            iport,
            "imposter",
            &pki.controllerca,
            Some(&pki.other_switchca),
        ),
    )
    .expect("imposter server");
    let o = vsctl(&dir, &args(&client(iport, "client", &ours, &["list-br"])));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("database connection failed (Protocol error)"),
        "{}",
        stderr(&o)
    );
    assert_eq!(pem_ders(&ours), pem_ders(&pki.switchca));

    // A server that sends only its own certificate: no CA to bootstrap;
    // both tools say why, in the same words, and create no file.
    let ndir = dir.join("no-ca");
    std::fs::create_dir_all(&ndir).unwrap();
    let nport = free_port();
    let _srv = Server::start(
        &ndir,
        &server_args(nport, "server", &pki.controllerca, None),
    )
    .expect("server");
    let none = dir.join("none.pem");
    let a = client(nport, "client", &none, &["list-br"]);
    let (o, t) = (vsctl(&dir, &args(&a)), ovs_vsctl(&dir, &args(&a)));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(t.status.code(), Some(1));
    assert_eq!(norm(&stderr(&o)), norm(&stderr(&t)));
    assert!(
        stderr(&o).contains("only one certificate was received"),
        "{}",
        stderr(&o)
    );
    assert!(!none.exists());

    // One CA for both sides and no --peer-ca-cert: the server completes
    // its chain from --ca-cert (as OpenSSL does), so ovs-vsctl bootstraps.
    let odir = dir.join("one-ca");
    std::fs::create_dir_all(&odir).unwrap();
    let oport = free_port();
    let _srv =
        Server::start(&odir, &server_args(oport, "server", &pki.switchca, None)).expect("server");
    let one = dir.join("one.pem");
    let _ = ovs_vsctl(&dir, &args(&client(oport, "peer", &one, &["list-br"])));
    assert!(one.exists(), "ovs-vsctl did not bootstrap from the chain");
    ok(ovs_vsctl(
        &dir,
        &args(&client(oport, "peer", &one, &["list-br"])),
    ));
}

/// The server side bootstraps too: an `oxvs ovsdb-server` whose SSL row has
/// `bootstrap_ca_cert=true` (set with the real `ovs-vsctl --bootstrap
/// set-ssl`, files given as ovs-ctl does, `db:…`) connects to an `ssl:`
/// manager, saves that manager's CA and keeps the session up.
#[test]
fn server_bootstraps_manager_ca() {
    if tools_missing(&["ovs-pki", "ovs-vsctl", "openssl"]) {
        return;
    }
    let dir = tmpdir("srvboot");
    let pki = Pki::make(&dir);
    // The manager: an oxvs ovsdb-server with a controller certificate that
    // sends the controller CA.
    let mdir = dir.join("manager");
    std::fs::create_dir_all(&mdir).unwrap();
    let mport = free_port();
    let mut margs = vec![format!("--remote=pssl:{mport}:127.0.0.1")];
    margs.extend(pki.id("client"));
    margs.push(format!("--ca-cert={}", s(&pki.switchca)));
    margs.push(format!("--peer-ca-cert={}", s(&pki.controllerca)));
    let _manager = Server::start(&mdir, &margs).expect("manager");

    let sdir = dir.join("switch");
    std::fs::create_dir_all(&sdir).unwrap();
    let sw = Server::start(
        &sdir,
        &[
            "--remote=db:Open_vSwitch,Open_vSwitch,manager_options".into(),
            "--private-key=db:Open_vSwitch,SSL,private_key".into(),
            "--certificate=db:Open_vSwitch,SSL,certificate".into(),
            "--bootstrap-ca-cert=db:Open_vSwitch,SSL,ca_cert".into(),
        ],
    )
    .expect("switch db");
    let ca = sdir.join("learnt-ca.pem");
    let db = sw.unix();
    ok(ovs_vsctl(
        &dir,
        &[
            &db,
            "--no-wait",
            "--bootstrap",
            "set-ssl",
            &pki.key("server"),
            &pki.cert("server"),
            s(&ca),
        ],
    ));
    ok(ovs_vsctl(
        &dir,
        &[
            &db,
            "--no-wait",
            "set-manager",
            &format!("ssl:127.0.0.1:{mport}"),
        ],
    ));
    let connected = wait_until(30, || {
        let target = format!("ssl:127.0.0.1:{mport}");
        let o = ovs_vsctl(
            &dir,
            &[&db, "--no-wait", "get", "Manager", &target, "is_connected"],
        );
        stdout(&o).trim() == "true"
    });
    assert!(
        connected,
        "switch never connected to its manager: {}",
        std::fs::read_to_string(sdir.join("server.log")).unwrap_or_default()
    );
    assert_eq!(pem_ders(&ca), pem_ders(&pki.controllerca));
}

/// `--ssl-protocols` and `--ssl-ciphers` on both sides: a TLSv1.2-only
/// server serves TLSv1.2 clients and refuses TLSv1.3-only ones; names
/// rustls lacks are warned about and ignored; a list with nothing usable is
/// an error (vsctl: before connecting; servers: at start).
#[test]
fn ssl_protocols_and_ciphers() {
    if tools_missing(&["ovs-pki", "ovs-vsctl"]) {
        return;
    }
    let dir = tmpdir("protos");
    let pki = Pki::make(&dir);
    let port = free_port();
    let mut extra = vec![
        format!("--remote=pssl:{port}:127.0.0.1"),
        "--ssl-protocols=TLSv1.2".into(),
        "--ssl-ciphers=HIGH:!aNULL:!MD5".into(),
    ];
    extra.extend(pki.id("server"));
    extra.push(format!("--ca-cert={}", s(&pki.switchca)));
    let _srv = Server::start(&dir, &extra).expect("server");
    let c = |more: &[&str]| {
        let mut a = vec![format!("--db=ssl:127.0.0.1:{port}")];
        a.extend(pki.id("peer"));
        a.push(format!("--ca-cert={}", s(&pki.switchca)));
        a.extend(more.iter().map(|x| x.to_string()));
        a.extend(["--no-wait".into(), "list-br".into()]);
        a
    };
    ok(vsctl(&dir, &args(&c(&["--ssl-protocols=TLSv1.2"]))));
    ok(vsctl(&dir, &args(&c(&[]))));
    let o = vsctl(&dir, &args(&c(&["--ssl-protocols=TLSv1.3"])));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).ends_with("database connection failed (Protocol error)\n"));
    // TLSv1.1 and an OpenSSL-only cipher: warnings, then it works.
    let o = vsctl(
        &dir,
        &args(&c(&[
            "--ssl-protocols=TLSv1.1,TLSv1.2",
            "--ssl-ciphers=ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA",
        ])),
    );
    let e = stderr(&o);
    ok(o);
    assert!(
        e.contains("|stream_ssl|WARN|TLSv1.1: SSL protocol not supported"),
        "{e}"
    );
    assert!(
        e.contains("|stream_ssl|WARN|AES128-SHA: no cipher suite"),
        "{e}"
    );
    // Only unsupported protocols: a clear error, no connection attempt.
    let o = vsctl(&dir, &args(&c(&["--ssl-protocols=TLSv1,TLSv1.1"])));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        norm(&stderr(&o)),
        format!(
            "<TIME>|00001|stream_ssl|ERR|--ssl-protocols=TLSv1,TLSv1.1: none of these SSL protocols is supported (only TLSv1.2 and TLSv1.3 are)\n\
             ovs-vsctl: ssl:127.0.0.1:{port}: database connection failed (Protocol not available)\n"
        )
    );
    // ECDSA suites only, against an RSA certificate: no common suite.
    let o = vsctl(
        &dir,
        &args(&c(&[
            "--ssl-protocols=TLSv1.2",
            "--ssl-ciphers=ECDHE-ECDSA-AES128-GCM-SHA256",
        ])),
    );
    assert_eq!(o.status.code(), Some(1));
    // The real ovs-vsctl (OpenSSL) with one named TLSv1.2 suite.
    ok(ovs_vsctl(
        &dir,
        &args(&c(&[
            "--ssl-protocols=TLSv1.2",
            "--ssl-ciphers=ECDHE-RSA-CHACHA20-POLY1305",
        ])),
    ));

    // Servers refuse to start with unusable lists.
    let bad = dir.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    for list in [
        vec!["--ssl-protocols=TLSv1,TLSv1.1".to_string()],
        vec!["--ssl-protocols=SSLv3".to_string()],
        vec![
            "--ssl-protocols=TLSv1.2".to_string(),
            "--ssl-ciphers=ECDHE-ECDSA-AES128-GCM-SHA256:!ECDSA".to_string(),
        ],
    ] {
        let mut a = list.clone();
        a.extend(pki.id("server"));
        a.push(format!("--ca-cert={}", s(&pki.switchca)));
        assert!(Server::start(&bad, &a).is_none(), "{list:?} accepted");
        let mut d = vec!["daemon".to_string()];
        d.extend(a);
        let o = run(&bad, oxvs_bin(), &args(&d));
        assert_eq!(o.status.code(), Some(1), "daemon {list:?}");
        assert!(!stderr(&o).is_empty());
    }
    let log = std::fs::read_to_string(bad.join("server.log")).unwrap();
    assert!(
        log.contains("none of these SSL protocols is supported"),
        "{log}"
    );
    assert!(log.contains("SSLv3: SSL protocol not recognized"), "{log}");
}

/// `oxvs daemon` takes the same SSL flags: a client bootstraps from its
/// `--peer-ca-cert` and runs a waiting (default) command over SSL.
#[test]
fn daemon_ssl_flags() {
    if tools_missing(&["ovs-pki"]) || !common::have_root() {
        return;
    }
    let dir = tmpdir("daemon");
    let pki = Pki::make(&dir);
    let port = free_port();
    let mut a = vec![
        "daemon".to_string(),
        format!("--db-file={}", s(&dir.join("conf.db"))),
        format!("--remote=pssl:{port}:127.0.0.1"),
        "--ssl-protocols=TLSv1.2,TLSv1.3".into(),
        "--ssl-ciphers=HIGH:!aNULL:!MD5".into(),
        format!("--peer-ca-cert={}", s(&pki.switchca)),
    ];
    a.extend(pki.id("server"));
    a.push(format!("--ca-cert={}", s(&pki.controllerca)));
    let _d = Server::spawn(&dir, &a, dir.join("db.sock")).expect("daemon");
    let ca = dir.join("daemon-ca.pem");
    let mut c = vec![format!("--db=ssl:127.0.0.1:{port}")];
    c.extend(pki.id("client"));
    c.push(format!("--bootstrap-ca-cert={}", s(&ca)));
    let mut set = c.clone();
    set.extend(["set".into(), "Open_vSwitch".into(), ".".into()]);
    set.push("external_ids:tls-test=yes".into());
    ok(vsctl(&dir, &args(&set)));
    assert_eq!(pem_ders(&ca), pem_ders(&pki.switchca));
    let mut get = c.clone();
    get.extend(["get", "Open_vSwitch", ".", "external_ids:tls-test"].map(String::from));
    assert_eq!(ok(vsctl(&dir, &args(&get))), "yes\n");
}

/// `tos:0x..` of the sockets `ss` lists for `filter` (e.g. `sport = :N`).
fn tos(filter: &str, state: &str) -> Vec<String> {
    let o = Command::new("ss")
        .args(["-tnH", "--tos", "state", state, &format!("( {filter} )")])
        .output()
        .expect("ss");
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("tos:").map(String::from))
        .collect()
}

/// Manager `other_config:dscp` sets IP_TOS (dscp << 2) on the manager's
/// sockets (default 48, 0xc0, as ovsdb-server; `--remote` listeners keep
/// 0): on listeners and the sessions they accept, reopened when the value
/// changes, and on outgoing `tcp:` connections. `connection_mode` is
/// accepted.
#[test]
fn manager_dscp_and_connection_mode() {
    if tools_missing(&["ovs-vsctl", "ss"]) {
        return;
    }
    let dir = tmpdir("dscp");
    let [p0, p1, p2, p3] = free_ports::<4>();
    let srv = Server::start(
        &dir,
        &[
            format!("--remote=ptcp:{p0}:127.0.0.1"),
            "--remote=db:Open_vSwitch,Open_vSwitch,manager_options".into(),
        ],
    )
    .expect("server");
    // Something for the active manager to connect to.
    let out = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    out.set_nonblocking(true).unwrap();
    let p4 = out.local_addr().unwrap().port();
    let db = srv.unix();
    ok(ovs_vsctl(
        &dir,
        &[
            &db,
            "--no-wait",
            "--",
            "--id=@a",
            "create",
            "Manager",
            &format!("target=\"ptcp:{p1}:127.0.0.1\""),
            "other_config:dscp=46",
            "--",
            "--id=@b",
            "create",
            "Manager",
            &format!("target=\"ptcp:{p2}:127.0.0.1\""),
            "--",
            "--id=@c",
            "create",
            "Manager",
            &format!("target=\"ptcp:{p3}:127.0.0.1\""),
            "connection_mode=in-band",
            "--",
            "--id=@d",
            "create",
            "Manager",
            &format!("target=\"tcp:127.0.0.1:{p4}\""),
            "other_config:dscp=26",
            "--",
            "set",
            "Open_vSwitch",
            ".",
            "manager_options=@a,@b,@c,@d",
        ],
    ));
    let listening = |p: u16| tos(&format!("sport = :{p}"), "listening");
    assert!(
        wait_until(20, || [p1, p2, p3]
            .iter()
            .all(|p| !listening(*p).is_empty())),
        "manager listeners did not open"
    );
    assert_eq!(listening(p0), ["0"]);
    assert_eq!(listening(p1), ["0xb8"]);
    assert_eq!(listening(p2), ["0xc0"]);
    assert_eq!(listening(p3), ["0xc0"]);
    // An accepted session inherits the listener's.
    let c = std::net::TcpStream::connect(("127.0.0.1", p1)).unwrap();
    let local = c.local_addr().unwrap().port();
    assert!(wait_until(10, || tos(
        &format!("sport = :{p1} and dport = :{local}"),
        "established"
    ) == ["0xb8"]));
    // The active manager's connection carries its DSCP (26 << 2 = 0x68).
    let mut accepted = None;
    assert!(
        wait_until(20, || {
            accepted = out.accept().ok();
            accepted.is_some()
        }),
        "the tcp: manager did not connect"
    );
    let (_conn, peer) = accepted.unwrap();
    let server_side = tos(
        &format!("sport = :{} and dport = :{p4}", peer.port()),
        "established",
    );
    assert_eq!(server_side, ["0x68"]);
    // A changed DSCP reopens the listener with it.
    ok(ovs_vsctl(
        &dir,
        &[
            &db,
            "--no-wait",
            "set",
            "Manager",
            &format!("ptcp:{p1}:127.0.0.1"),
            "other_config:dscp=10",
        ],
    ));
    assert!(
        wait_until(20, || listening(p1) == ["0x28"]),
        "{:?}",
        listening(p1)
    );
    // A DSCP out of range keeps the default.
    ok(ovs_vsctl(
        &dir,
        &[
            &db,
            "--no-wait",
            "set",
            "Manager",
            &format!("ptcp:{p2}:127.0.0.1"),
            "other_config:dscp=99",
        ],
    ));
    // The in-band manager serves like any other.
    assert!(wait_until(10, || ovs_vsctl(
        &dir,
        &[&format!("--db=tcp:127.0.0.1:{p3}"), "--no-wait", "list-br"]
    )
    .status
    .success()));
    assert_eq!(listening(p2), ["0xc0"]);
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap();
    assert!(log.contains("connection_mode=in-band"), "{log}");
    assert!(log.contains("other_config:dscp=\"99\""), "{log}");
    drop(c);
}
