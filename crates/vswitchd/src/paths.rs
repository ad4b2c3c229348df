//! Where the daemon keeps its sockets, pid file, database and logs.
//!
//! The defaults are Open vSwitch's, so the real `ovs-vsctl`, `ovs-ofctl` and
//! `ovs-appctl` find a running oxvs with no options; the same environment
//! variables override them (OVS_RUNDIR, OVS_DBDIR, OVS_LOGDIR). The database
//! lives under `/var/lib/oxvs` by default (not `/etc/openvswitch`) so that an
//! Open vSwitch installed beside oxvs keeps its own `conf.db`.

use std::path::PathBuf;

/// The daemon's directories.
#[derive(Clone, Debug)]
pub struct Paths {
    /// Sockets and pid files (`OVS_RUNDIR`, default `/var/run/openvswitch`).
    pub rundir: PathBuf,
    /// The database directory (`OVS_DBDIR`, default `/var/lib/oxvs`).
    pub dbdir: PathBuf,
    /// Log directory (`OVS_LOGDIR`, default `/var/log/openvswitch`).
    pub logdir: PathBuf,
}

impl Paths {
    /// Paths from the environment, falling back to the defaults.
    pub fn from_env() -> Paths {
        let var = |name: &str, default: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(default))
        };
        Paths {
            rundir: var("OVS_RUNDIR", "/var/run/openvswitch"),
            dbdir: var("OVS_DBDIR", "/var/lib/oxvs"),
            logdir: var("OVS_LOGDIR", "/var/log/openvswitch"),
        }
    }

    /// `<rundir>/db.sock`, the OVSDB unix socket.
    pub fn db_sock(&self) -> PathBuf {
        self.rundir.join("db.sock")
    }

    /// `<dbdir>/conf.db`, the database journal.
    pub fn db_file(&self) -> PathBuf {
        self.dbdir.join("conf.db")
    }

    /// `<rundir>/<target>.pid`.
    pub fn pidfile(&self, target: &str) -> PathBuf {
        self.rundir.join(format!("{target}.pid"))
    }

    /// `<rundir>/<target>.<pid>.ctl`, the unixctl socket of a daemon.
    pub fn ctl_socket(&self, target: &str, pid: u32) -> PathBuf {
        self.rundir.join(format!("{target}.{pid}.ctl"))
    }

    /// `<rundir>/<bridge>.mgmt`, a bridge's OpenFlow management socket.
    pub fn mgmt_socket(&self, bridge: &str) -> PathBuf {
        self.rundir.join(format!("{bridge}.mgmt"))
    }
}
