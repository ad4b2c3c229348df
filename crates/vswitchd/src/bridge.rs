//! The bridge reconciler: makes the running switch match the Open_vSwitch
//! database, and says in the database what it did.
//!
//! Idea: each pass reads a whole snapshot of the configuration (bridges →
//! ports → interfaces), computes the desired set of interfaces, closes the
//! ones no longer wanted (or whose type or bridge changed), opens the new
//! ones in the shared datapath, assigns OpenFlow port numbers, hands the
//! resolved configuration to `ofproto`, and returns the status updates
//! (`Interface.ofport/error/mac_in_use/...`, `Bridge.datapath_id`,
//! `Open_vSwitch.cur_cfg := next_cfg`) as OVSDB operations. Only columns whose
//! value differs from the snapshot are written, so the reconciler's own
//! writes come back as a change that needs no further write (no loop).
//!
//! Invariants: an interface name is open at most once; OpenFlow port numbers
//! are unique per bridge, stable while an interface lives, and reused from
//! `Interface.ofport` after a restart; the bridge's internal port is
//! OFPP_LOCAL (65534). A failed interface gets `ofport -1` and an `error`,
//! and is retried at the next pass; the rest of the switch keeps working.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use datapath::{Datapath, PortStats};
use ofproto::connmgr::ConnMgr;
use ofproto::{Backer, BridgeConfig, InterfaceConfig, PortConfig, VlanMode};
use ovsdb::datum::{Atom, Datum};
use ovsdb::{Database, Row, Table};
use serde_json::{json, Value};
use uuid::Uuid;

use std::collections::HashMap;

use crate::netinfo::{self, IfaceInfo};

/// OpenFlow port number of a bridge's internal port (OFPP_LOCAL).
pub const OFPP_LOCAL: u16 = 0xfffe;
/// Highest ordinary OpenFlow port number we assign (OFPP_MAX - 1).
const OFPORT_MAX: u16 = 0xfeff;

/// An interface the switch has (tried to) set up.
#[derive(Debug)]
struct OpenIface {
    bridge: String,
    type_: String,
    odp_port: Option<u32>,
    ofport: u16,
    error: Option<String>,
    peer: Option<String>,
    /// (admin up, link up) as last handed to ofproto, to notice changes.
    link: Option<(bool, bool)>,
    /// The facts a link dump lacks, read per device: (link speed in
    /// bit/s, driver of a physical NIC). Read when the interface opens and
    /// at each [`Reconciler::refresh`].
    slow: Option<(Option<i64>, Option<String>)>,
    /// What the status written for this interface was computed from, the
    /// last time `reconfigure` computed it: a pass where none of it changed
    /// skips the interface (with 1,000 interfaces, recomputing all of them
    /// on every `ovs-vsctl` call cost more than the rest of the pass).
    status_from: Option<StatusInputs>,
}

/// The inputs of an interface's configuration-time status columns.
#[derive(Clone, Debug, PartialEq)]
struct StatusInputs {
    row_version: Uuid,
    info: Option<IfaceInfo>,
    ofport: u16,
    failed: bool,
    error: Option<String>,
}

/// How long `reconfigure` reuses the last dump of the kernel's devices: a
/// stream of `ovs-vsctl add-port` calls must not cost a dump per call.
/// A device just opened is read at once by name; [`Reconciler::refresh`]
/// dumps afresh.
const INFO_MAX_AGE: Duration = Duration::from_secs(1);

/// The kernel's devices by name from one rtnetlink dump, and when it was
/// taken (`None`: never, or invalidated).
#[derive(Default)]
struct Links {
    at: Option<Instant>,
    by_name: HashMap<String, IfaceInfo>,
}

impl Links {
    /// Dumps again unless the last dump is younger than `max_age`.
    fn refresh(&mut self, max_age: Duration) {
        if self.at.is_some_and(|at| at.elapsed() < max_age) {
            return;
        }
        match netinfo::dump_links() {
            Ok(by_name) => self.by_name = by_name,
            Err(e) => tracing::warn!("RTM_GETLINK dump failed: {e}"),
        }
        self.at = Some(Instant::now());
    }

    /// Reads device `name` alone (just opened: not in the last dump).
    fn update(&mut self, name: &str) {
        match netinfo::get_link(name) {
            Ok(Some(info)) => {
                self.by_name.insert(name.to_string(), info);
            }
            Ok(None) => {
                self.by_name.remove(name);
            }
            Err(e) => tracing::warn!("{name}: RTM_GETLINK failed: {e}"),
        }
    }
}

/// The running switch's configuration state.
pub struct Reconciler {
    datapath: Arc<Datapath>,
    backer: Arc<Backer>,
    ifaces: BTreeMap<String, OpenIface>,
    links: Links,
    /// OpenFlow listeners (management sockets, passive controllers), if any.
    connmgr: Option<Arc<ConnMgr>>,
}

fn col<'a>(row: &'a Row, name: &str) -> Option<&'a Datum> {
    row.get(name)
}

/// The bridge's datapath id as 16 hex digits: `other_config:datapath-id`,
/// else `0000` + the local port's MAC (OVS's default).
fn bridge_dpid(brow: &Row, bname: &str, links: &Links) -> Option<String> {
    map_str(brow, "other_config", "datapath-id")
        .filter(|d| d.len() == 16 && d.chars().all(|c| c.is_ascii_hexdigit()))
        .map(String::from)
        .or_else(|| {
            links
                .by_name
                .get(bname)
                .map(|i| format!("0000{}", i.mac.replace(':', "")))
        })
}

/// `xx:xx:xx:xx:xx:xx` → bytes.
fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut mac {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

fn str_col(row: &Row, name: &str) -> String {
    col(row, name)
        .and_then(|d| d.as_str())
        .unwrap_or("")
        .to_string()
}

fn int_col(row: &Row, name: &str) -> Option<i64> {
    col(row, name).and_then(|d| d.as_integer())
}

fn map_str<'a>(row: &'a Row, column: &str, key: &str) -> Option<&'a str> {
    col(row, column).and_then(|d| d.map_get_str(key))
}

fn uuids(row: &Row, column: &str) -> Vec<Uuid> {
    col(row, column)
        .map(|d| d.uuids().collect())
        .unwrap_or_default()
}

fn opt_int(v: Option<i64>) -> Datum {
    match v {
        Some(i) => Datum::scalar(Atom::Integer(i)),
        None => Datum::empty_set(),
    }
}

fn opt_str(v: Option<&str>) -> Datum {
    match v {
        Some(s) => Datum::scalar(Atom::String(s.to_string())),
        None => Datum::empty_set(),
    }
}

fn str_map(pairs: &[(&str, String)]) -> Datum {
    Datum::map(
        pairs
            .iter()
            .map(|(k, v)| (Atom::String((*k).to_string()), Atom::String(v.clone()))),
    )
}

fn int_map(pairs: &[(&str, i64)]) -> Datum {
    Datum::map(
        pairs
            .iter()
            .map(|(k, v)| (Atom::String((*k).to_string()), Atom::Integer(*v))),
    )
}

/// Collects `column := value` for columns whose value differs from `row`.
struct RowUpdate<'a> {
    row: &'a Row,
    changes: serde_json::Map<String, Value>,
}

impl<'a> RowUpdate<'a> {
    fn new(row: &'a Row) -> Self {
        RowUpdate {
            row,
            changes: serde_json::Map::new(),
        }
    }

    fn set(&mut self, column: &str, value: Datum) {
        if self.row.get(column) != Some(&value) {
            self.changes.insert(column.to_string(), value.to_json());
        }
    }

    fn into_op(self, table: &str, uuid: &Uuid) -> Option<Value> {
        if self.changes.is_empty() {
            return None;
        }
        Some(json!({
            "op": "update",
            "table": table,
            "where": [["_uuid", "==", ["uuid", uuid.to_string()]]],
            "row": Value::Object(self.changes),
        }))
    }
}

/// A desired interface, as read from the database.
struct WantIface<'a> {
    uuid: Uuid,
    row: &'a Row,
    bridge: String,
}

impl Reconciler {
    /// A reconciler driving `datapath` and `backer`.
    pub fn new(datapath: Arc<Datapath>, backer: Arc<Backer>) -> Reconciler {
        Reconciler {
            datapath,
            backer,
            ifaces: BTreeMap::new(),
            links: Links::default(),
            connmgr: None,
        }
    }

    /// Also keeps `connmgr`'s OpenFlow listeners and controller
    /// connections in step with the bridges (`Bridge.controller` targets,
    /// `Bridge.protocols`, `Bridge.fail_mode`) and reports the controllers'
    /// state in their rows.
    pub fn with_connmgr(mut self, connmgr: Arc<ConnMgr>) -> Reconciler {
        self.connmgr = Some(connmgr);
        self
    }

    /// `Controller.is_connected`/`role`/`status` updates (see
    /// [`crate::controllers::status_ops`]); none without a connection
    /// manager.
    pub fn controller_status(&self, db: &Database, with_times: bool) -> Vec<Value> {
        match &self.connmgr {
            Some(cm) => crate::controllers::status_ops(db, cm, with_times),
            None => Vec::new(),
        }
    }

    /// Applies the configuration in `db` and returns the status updates to
    /// write back (possibly none).
    pub fn reconfigure(&mut self, db: &Database) -> Vec<Value> {
        let empty = Table::default();
        let table = |name: &str| db.table(name).unwrap_or(&empty);
        let (bridges_t, ports_t, ifaces_t) = (table("Bridge"), table("Port"), table("Interface"));
        let Some(ovs_row) = table("Open_vSwitch").iter().next() else {
            // No Open_vSwitch row yet: nothing is configured.
            self.close_all();
            return Vec::new();
        };

        // 1. What the database asks for.
        let mut want: BTreeMap<String, WantIface> = BTreeMap::new();
        let mut bridge_rows: Vec<&Row> = Vec::new();
        for b in uuids(ovs_row, "bridges") {
            let Some(brow) = bridges_t.get(&b) else {
                continue;
            };
            let bname = str_col(brow, "name");
            bridge_rows.push(brow);
            for p in uuids(brow, "ports") {
                let Some(prow) = ports_t.get(&p) else {
                    continue;
                };
                for i in uuids(prow, "interfaces") {
                    let Some(irow) = ifaces_t.get(&i) else {
                        continue;
                    };
                    let iname = str_col(irow, "name");
                    // A name configured twice: the first one wins (OVS logs
                    // the duplicate and ignores it).
                    want.entry(iname).or_insert(WantIface {
                        uuid: i,
                        row: irow,
                        bridge: bname.clone(),
                    });
                }
            }
        }

        // 2. Close what is gone or changed.
        let stale: Vec<String> = self
            .ifaces
            .iter()
            .filter(|(name, open)| match want.get(*name) {
                None => true,
                Some(w) => {
                    open.bridge != w.bridge || open.type_ != effective_type(w.row, &w.bridge, name)
                }
            })
            .map(|(n, _)| n.clone())
            .collect();
        let mut gone = Vec::new();
        for name in stale {
            if let Some(open) = self.ifaces.remove(&name) {
                gone.extend(open.odp_port);
                tracing::info!("{}: removed interface {name}", open.bridge);
            }
        }
        // In one batch: deleting a bridge's devices one by one costs the
        // kernel ~20 ms each.
        self.datapath.del_ports(&gone);

        // 3. Open what is new (and retry what failed).
        let mut opened = Vec::new();
        for (name, w) in &want {
            let type_ = effective_type(w.row, &w.bridge, name);
            let retry = self
                .ifaces
                .get(name)
                .map(|o| o.odp_port.is_none() && type_ != "patch")
                .unwrap_or(true);
            if !retry {
                continue;
            }
            let (odp_port, error) = if type_ == "patch" {
                (None, None)
            } else {
                match datapath::open_netdev(name, &type_)
                    .map_err(|e| e.to_string())
                    .and_then(|nd| self.datapath.add_port(nd).map_err(|e| e.to_string()))
                {
                    Ok(p) => {
                        tracing::info!("{}: added interface {name} on port {p}", w.bridge);
                        opened.push(name.clone());
                        (Some(p), None)
                    }
                    Err(e) => {
                        if self.ifaces.get(name).and_then(|o| o.error.as_ref()) != Some(&e) {
                            tracing::warn!("{}: {e}", w.bridge);
                        }
                        (None, Some(e))
                    }
                }
            };
            let ofport = self.ifaces.get(name).map(|o| o.ofport).unwrap_or(0);
            self.ifaces.insert(
                name.clone(),
                OpenIface {
                    bridge: w.bridge.clone(),
                    type_: type_.clone(),
                    odp_port,
                    ofport,
                    error,
                    peer: if type_ == "patch" {
                        map_str(w.row, "options", "peer").map(String::from)
                    } else {
                        None
                    },
                    link: None,
                    slow: None,
                    status_from: None,
                },
            );
        }

        // The kernel's facts: a device just opened is asked for by name.
        self.links.refresh(INFO_MAX_AGE);
        for name in opened {
            self.links.update(&name);
        }

        // 4. OpenFlow port numbers.
        self.assign_ofports(&want);

        // Patch ports need a peer patch port that points back.
        let peers: Vec<(String, Option<String>)> = self
            .ifaces
            .iter()
            .filter(|(_, o)| o.type_ == "patch")
            .map(|(n, o)| {
                let ok = o.peer.as_ref().is_some_and(|p| {
                    self.ifaces
                        .get(p)
                        .is_some_and(|po| po.type_ == "patch" && po.peer.as_deref() == Some(n))
                });
                let err = if ok {
                    None
                } else {
                    Some(match &o.peer {
                        Some(p) => format!("No usable peer '{p}' exists in 'netdev' datapath."),
                        None => format!("{n}: patch type requires valid 'peer' argument"),
                    })
                };
                (n.clone(), err)
            })
            .collect();
        for (n, err) in peers {
            if let Some(o) = self.ifaces.get_mut(&n) {
                o.error = err;
            }
        }

        // 5. Hand the resolved configuration to ofproto.
        let mut configs = Vec::new();
        for brow in &bridge_rows {
            let bname = str_col(brow, "name");
            let mut ports = Vec::new();
            for p in uuids(brow, "ports") {
                let Some(prow) = ports_t.get(&p) else {
                    continue;
                };
                let mut interfaces = Vec::new();
                for i in uuids(prow, "interfaces") {
                    let Some(irow) = ifaces_t.get(&i) else {
                        continue;
                    };
                    let iname = str_col(irow, "name");
                    let Some(open) = self.ifaces.get(&iname) else {
                        continue;
                    };
                    if open.bridge != bname || open.ofport == 0 {
                        continue;
                    }
                    let usable =
                        open.odp_port.is_some() || (open.type_ == "patch" && open.error.is_none());
                    if !usable {
                        continue;
                    }
                    let info = self.info(&iname);
                    let Some(open) = self.ifaces.get(&iname) else {
                        continue;
                    };
                    let mut ic = InterfaceConfig {
                        name: iname,
                        ofport: open.ofport,
                        odp_port: open.odp_port,
                        patch_peer: open.peer.clone(),
                        ..InterfaceConfig::default()
                    };
                    if let Some(o) = self.ifaces.get_mut(&ic.name) {
                        o.link = info.as_ref().map(|i| (i.admin_up, i.link_up));
                    }
                    if let Some(i) = info {
                        ic.mac = parse_mac(&i.mac).unwrap_or_default();
                        ic.admin_up = i.admin_up;
                        ic.link_up = i.link_up;
                        ic.speed_mbps = i
                            .link_speed
                            .and_then(|b| u32::try_from(b / 1_000_000).ok())
                            .unwrap_or(0);
                    }
                    interfaces.push(ic);
                }
                if interfaces.is_empty() {
                    continue;
                }
                let tag = int_col(prow, "tag").and_then(|t| u16::try_from(t).ok());
                let trunks: Vec<u16> = col(prow, "trunks")
                    .map(|d| {
                        d.keys
                            .iter()
                            .filter_map(|a| a.as_integer())
                            .filter_map(|t| u16::try_from(t).ok())
                            .collect()
                    })
                    .unwrap_or_default();
                let vlan_mode = match col(prow, "vlan_mode").and_then(|d| d.as_str()) {
                    Some("access") => VlanMode::Access,
                    Some("trunk") => VlanMode::Trunk,
                    Some("native-tagged") => VlanMode::NativeTagged,
                    Some("native-untagged") => VlanMode::NativeUntagged,
                    _ if tag.is_some() => VlanMode::Access,
                    _ => VlanMode::Trunk,
                };
                ports.push(PortConfig {
                    name: str_col(prow, "name"),
                    vlan_mode,
                    tag,
                    trunks,
                    interfaces,
                });
            }
            let other =
                |k: &str| map_str(brow, "other_config", k).and_then(|v| v.parse::<u64>().ok());
            configs.push(BridgeConfig {
                datapath_id: bridge_dpid(brow, &bname, &self.links)
                    .and_then(|d| u64::from_str_radix(&d, 16).ok()),
                name: bname,
                ports,
                mac_aging_time: other("mac-aging-time")
                    .and_then(|v| u32::try_from(v).ok())
                    .filter(|v| *v > 0)
                    .unwrap_or(300),
                mac_table_size: other("mac-table-size")
                    .and_then(|v| usize::try_from(v).ok())
                    .filter(|v| *v > 0)
                    .unwrap_or(8192),
            });
        }
        self.backer.reconfigure(&configs);
        if let Some(cm) = &self.connmgr {
            cm.reconfigure(&crate::controllers::openflow_configs(db, &bridge_rows));
        }

        // 6. Status back to the database.
        let mut ops = self.interface_status(&want, false);
        for brow in &bridge_rows {
            let bname = str_col(brow, "name");
            let mut up = RowUpdate::new(brow);
            let dpid = bridge_dpid(brow, &bname, &self.links);
            if let Some(dpid) = dpid {
                up.set("datapath_id", opt_str(Some(&dpid)));
            }
            up.set("datapath_version", opt_str(Some("<built-in>")));
            ops.extend(up.into_op("Bridge", &brow.uuid));
        }
        let mut up = RowUpdate::new(ovs_row);
        if let Some(next) = int_col(ovs_row, "next_cfg") {
            up.set("cur_cfg", Datum::scalar(Atom::Integer(next)));
        }
        up.set(
            "datapath_types",
            Datum::set([Atom::String("netdev".into()), Atom::String("system".into())]),
        );
        up.set(
            "iface_types",
            Datum::set(
                ["internal", "patch", "system", "tap"]
                    .iter()
                    .map(|s| Atom::String((*s).into())),
            ),
        );
        ops.extend(up.into_op("Open_vSwitch", &ovs_row.uuid));
        ops.extend(self.controller_status(db, false));
        ops
    }

    /// Periodic status refresh (link state, statistics); also retries
    /// interfaces that failed to open. Returns the updates to write.
    pub fn refresh(&mut self, db: &Database) -> Vec<Value> {
        // Everything below reads the devices afresh.
        self.links.refresh(Duration::ZERO);
        for (name, o) in self.ifaces.iter_mut() {
            o.slow = (o.type_ != "patch").then(|| slow_facts(name));
        }
        let retry = self
            .ifaces
            .values()
            .any(|o| o.odp_port.is_none() && o.type_ != "patch");
        // A link or admin state change (carrier lost, `ip link set down`,
        // an OFPPC_PORT_DOWN port_mod) updates ofproto, which announces it
        // with OFPT_PORT_STATUS.
        let link_changed = self.ifaces.iter().any(|(name, o)| {
            o.link.is_some()
                && o.link
                    != self
                        .links
                        .by_name
                        .get(name)
                        .map(|i| (i.admin_up, i.link_up))
        });
        if retry || link_changed {
            return self.reconfigure(db);
        }
        let empty = Table::default();
        let ifaces_t = db.table("Interface").unwrap_or(&empty);
        let want: BTreeMap<String, WantIface> = ifaces_t
            .iter()
            .filter_map(|row| {
                let name = str_col(row, "name");
                let open = self.ifaces.get(&name)?;
                Some((
                    name,
                    WantIface {
                        uuid: row.uuid,
                        row,
                        bridge: open.bridge.clone(),
                    },
                ))
            })
            .collect();
        let mut ops = self.interface_status(&want, true);
        ops.extend(self.controller_status(db, true));
        ops
    }

    /// The last status write failed (or its outcome is unknown): the next
    /// pass recomputes every interface's status.
    pub fn forget_status(&mut self) {
        for o in self.ifaces.values_mut() {
            o.status_from = None;
        }
    }

    /// Closes every interface and removes every bridge (the database has
    /// no Open_vSwitch row).
    fn close_all(&mut self) {
        let mut gone = Vec::new();
        for (name, open) in std::mem::take(&mut self.ifaces) {
            gone.extend(open.odp_port);
            tracing::info!("{}: removed interface {name}", open.bridge);
        }
        self.datapath.del_ports(&gone);
        self.backer.reconfigure(&[]);
        if let Some(cm) = &self.connmgr {
            cm.reconfigure(&[]);
        }
    }

    fn assign_ofports(&mut self, want: &BTreeMap<String, WantIface>) {
        let mut used: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
        for o in self.ifaces.values() {
            if o.ofport != 0 {
                used.entry(o.bridge.clone()).or_default().insert(o.ofport);
            }
        }
        // Interfaces still without a number, in name order (deterministic).
        let names: Vec<String> = self
            .ifaces
            .iter()
            .filter(|(_, o)| o.ofport == 0)
            .map(|(n, _)| n.clone())
            .collect();
        for name in names {
            let Some(w) = want.get(&name) else { continue };
            let bridge = w.bridge.clone();
            let taken = used.entry(bridge.clone()).or_default();
            let candidate = if name == bridge {
                Some(OFPP_LOCAL)
            } else {
                let valid = |p: i64| (1..=OFPORT_MAX as i64).contains(&p);
                let request = int_col(w.row, "ofport_request").filter(|p| valid(*p));
                let previous = int_col(w.row, "ofport").filter(|p| valid(*p));
                request
                    .or(previous)
                    .map(|p| p as u16)
                    .filter(|p| !taken.contains(p))
                    .or_else(|| (1..=OFPORT_MAX).find(|p| !taken.contains(p)))
            };
            if let Some(p) = candidate {
                taken.insert(p);
                if let Some(o) = self.ifaces.get_mut(&name) {
                    o.ofport = p;
                }
            }
        }
    }

    /// The facts about interface `name` (`None` for patch ports and
    /// devices missing from the last dump): the dump's, completed with the
    /// per-device ones (read once when first needed).
    fn info(&mut self, name: &str) -> Option<IfaceInfo> {
        let open = self.ifaces.get_mut(name)?;
        if open.type_ == "patch" {
            return None;
        }
        let mut info = self.links.by_name.get(name)?.clone();
        let (speed, driver) = open.slow.get_or_insert_with(|| slow_facts(name));
        info.link_speed = *speed;
        if driver.is_some() {
            info.driver.clone_from(driver);
        }
        Some(info)
    }

    fn interface_status(
        &mut self,
        want: &BTreeMap<String, WantIface>,
        stats_only: bool,
    ) -> Vec<Value> {
        let mut ops = Vec::new();
        for (name, w) in want {
            let info = self.info(name);
            let Some(open) = self.ifaces.get_mut(name) else {
                continue;
            };
            let failed = open.odp_port.is_none() && open.type_ != "patch";
            if !stats_only {
                let inputs = StatusInputs {
                    row_version: w.row.version,
                    info: info.clone(),
                    ofport: open.ofport,
                    failed,
                    error: open.error.clone(),
                };
                if open.status_from.as_ref() == Some(&inputs) {
                    continue;
                }
                open.status_from = Some(inputs);
            }
            let open = &*open;
            let mut up = RowUpdate::new(w.row);
            if !stats_only {
                let ofport = if failed { -1 } else { i64::from(open.ofport) };
                up.set("ofport", opt_int(Some(ofport)));
                up.set("error", opt_str(open.error.as_deref()));
            }
            match &info {
                Some(i) if !failed => {
                    up.set("mac_in_use", opt_str(Some(&i.mac)));
                    up.set("mtu", opt_int(Some(i.mtu)));
                    up.set("ifindex", opt_int(Some(i.ifindex)));
                    up.set(
                        "admin_state",
                        opt_str(Some(if i.admin_up { "up" } else { "down" })),
                    );
                    up.set(
                        "link_state",
                        opt_str(Some(if i.link_up { "up" } else { "down" })),
                    );
                    if i.link_up {
                        up.set("link_speed", opt_int(i.link_speed));
                        up.set("duplex", opt_str(i.link_speed.map(|_| "full")));
                    }
                    let driver = match open.type_.as_str() {
                        "internal" | "tap" => "tun".to_string(),
                        _ => i.driver.clone().unwrap_or_default(),
                    };
                    up.set("status", str_map(&[("driver_name", driver)]));
                }
                _ if failed => {
                    up.set("admin_state", opt_str(None));
                    up.set("link_state", opt_str(None));
                }
                _ => {}
            }
            // Statistics are the periodic pass's (every 5 s, as OVS).
            if stats_only {
                if let Some(stats) = open.odp_port.and_then(|p| self.datapath.port_stats(p)) {
                    up.set("statistics", stats_datum(&stats));
                }
            }
            ops.extend(up.into_op("Interface", &w.uuid));
        }
        ops
    }
}

/// The per-device facts a link dump lacks: (speed, physical driver).
fn slow_facts(name: &str) -> (Option<i64>, Option<String>) {
    (netinfo::link_speed(name), netinfo::device_driver(name))
}

fn stats_datum(s: &PortStats) -> Datum {
    int_map(&[
        ("collisions", 0),
        ("rx_bytes", s.rx_bytes as i64),
        ("rx_crc_err", 0),
        ("rx_dropped", s.rx_dropped as i64),
        ("rx_errors", s.rx_errors as i64),
        ("rx_frame_err", s.rx_frame_err as i64),
        ("rx_over_err", 0),
        ("rx_packets", s.rx_packets as i64),
        ("tx_bytes", s.tx_bytes as i64),
        ("tx_dropped", s.tx_dropped as i64),
        ("tx_errors", s.tx_errors as i64),
        ("tx_packets", s.tx_packets as i64),
    ])
}

/// The interface's type as the switch treats it: the bridge's own interface
/// is always `internal`; `system` means `""`.
fn effective_type(row: &Row, bridge: &str, name: &str) -> String {
    let t = str_col(row, "type");
    if name == bridge {
        return "internal".into();
    }
    match t.as_str() {
        "system" => String::new(),
        _ => t,
    }
}
