//! `oxvs`: the daemon and its command-line tools.
//!
//! ```text
//! oxvs daemon [--detach] [--db-file=PATH] [--remote=ptcp:PORT[:IP]]... [--log-file[=PATH]]
//! oxvs vsctl  [OPTIONS] COMMAND [ARGS] [-- COMMAND [ARGS]]...   (ovs-vsctl)
//! oxvs appctl [-t TARGET] COMMAND [ARGS]                         (ovs-appctl)
//! oxvs ofctl  [OPTIONS] COMMAND BRIDGE [ARGS]                     (ovs-ofctl)
//! oxvs db     [-m]... COMMAND [ARGS]                              (ovsdb-tool)
//! oxvs ovsdb-server [DATABASE] [--remote=R]... [--pidfile] [--detach]  (ovsdb-server)
//! oxvs controller [OPTIONS] [METHOD]...                         (ovs-testcontroller)
//! ```

mod appctl;
mod controller;
mod daemon;
mod db;
mod detach;
mod ofctl;
mod ovsdb_server;
mod vsctl;

fn usage() -> i32 {
    eprintln!(
        "usage: oxvs daemon [--detach] [--db-file=PATH] [--remote=ptcp:PORT[:IP]] [--log-file[=PATH]]\n       \
         oxvs vsctl [OPTIONS] COMMAND [ARGS] [-- COMMAND [ARGS]]...\n       \
         oxvs appctl [-t TARGET] COMMAND [ARGS]\n       \
         oxvs ofctl [OPTIONS] COMMAND BRIDGE [ARGS]\n       \
         oxvs db [-m]... COMMAND [ARGS]\n       \
         oxvs ovsdb-server [DATABASE] [--remote=REMOTE]... [--pidfile[=FILE]] [--detach] [--log-file[=FILE]]\n       \
         oxvs controller [OPTIONS] [ptcp:[PORT][:IP] | punix:FILE | tcp:IP[:PORT] | unix:FILE]...\n       \
         oxvs version"
    );
    1
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rest = args.get(2..).unwrap_or(&[]);
    let code = match args.get(1).map(String::as_str) {
        Some("daemon") => daemon::main(rest),
        Some("vsctl") => vsctl::main(rest),
        Some("appctl") => appctl::main(rest),
        Some("ofctl") => ofctl::main(rest),
        Some("db") => db::main(rest),
        Some("ovsdb-server") => ovsdb_server::main(rest),
        Some("controller") => controller::main(rest),
        Some("version" | "--version" | "-V") => {
            println!("oxvs {}", env!("CARGO_PKG_VERSION"));
            0
        }
        _ => usage(),
    };
    std::process::exit(code);
}
