//! Text of replies exactly as `ovs-ofctl` 3.1 prints them (OVS
//! `ofp-print.c`, `ofp-port.c`, `ofp-table.c`): message headers, switch
//! features, port descriptions, port stats, table stats with "ditto"
//! compression, switch config, errors.

use std::fmt::Write;

use openflow::msg::{FeaturesReply, PortDesc, PortStats, SwitchConfig, TableStats};
use openflow::port::reserved_port_name;

/// `NAME (OF1.x) (xid=0xN):` — the version part only for versions other
/// than OpenFlow 1.0 (OVS `ofp_header_to_string__`).
pub fn header(name: &str, version: u8, xid: u32) -> String {
    if version == 1 {
        format!("{name} (xid={xid:#x}):")
    } else {
        format!("{name} (OF1.{}) (xid={xid:#x}):", version.saturating_sub(1))
    }
}

/// Header of a stats reply part, with ` flags=[more]` when more follow.
pub fn stats_header(name: &str, version: u8, xid: u32, flags: u16) -> String {
    let mut s = header(name, version, xid);
    if flags != 0 {
        s.push_str(" flags=");
        if flags & 1 != 0 {
            s.push_str("[more]");
        }
        if flags & !1 != 0 {
            let _ = write!(s, "[***unknown flags 0x{:04x}***]", flags & !1);
        }
    }
    s
}

/// A port number as OVS prints it (`ofputil_format_port`): a number or a
/// reserved name (LOCAL, CONTROLLER…).
pub fn port(p: u16) -> String {
    match reserved_port_name(p) {
        Some(n) => n.to_string(),
        None => p.to_string(),
    }
}

/// OVS `ofp_print_bit_names`: names of set bits separated by spaces, `0`
/// when none, leftover unnamed bits as hex.
fn bit_names(bits: u32, name: impl Fn(u32) -> Option<&'static str>) -> String {
    if bits == 0 {
        return "0".into();
    }
    let mut out = Vec::new();
    let mut rest = bits;
    for i in 0..32 {
        let bit = 1u32 << i;
        if bits & bit != 0 {
            if let Some(n) = name(bit) {
                out.push(n.to_string());
                rest &= !bit;
            }
        }
    }
    if rest != 0 {
        out.push(format!("{rest:#x}"));
    }
    out.join(" ")
}

fn port_config_name(bit: u32) -> Option<&'static str> {
    Some(match bit {
        1 => "PORT_DOWN",
        2 => "NO_STP",
        4 => "NO_RECV",
        8 => "NO_RECV_STP",
        16 => "NO_FLOOD",
        32 => "NO_FWD",
        64 => "NO_PACKET_IN",
        _ => return None,
    })
}

fn port_feature_name(bit: u32) -> Option<&'static str> {
    Some(match bit.trailing_zeros() {
        0 => "10MB-HD",
        1 => "10MB-FD",
        2 => "100MB-HD",
        3 => "100MB-FD",
        4 => "1GB-HD",
        5 => "1GB-FD",
        6 => "10GB-FD",
        7 => "40GB-FD",
        8 => "100GB-FD",
        9 => "1TB-FD",
        10 => "OTHER",
        11 => "COPPER",
        12 => "FIBER",
        13 => "AUTO_NEG",
        14 => "AUTO_PAUSE",
        15 => "AUTO_PAUSE_ASYM",
        _ => return None,
    })
}

/// Port state text (`ofp_print_port_state`), `state` in wire bits of
/// `version` (OF1.0: LINK_DOWN 1 and STP bits 8–9; OF1.1+: LINK_DOWN 1,
/// BLOCKED 2, LIVE 4).
fn port_state(version: u8, state: u32) -> String {
    let stp = if version == 1 { state & (3 << 8) } else { 0 };
    let rest = state & !stp;
    let name = |bit: u32| match bit {
        1 => Some("LINK_DOWN"),
        2 if version != 1 => Some("BLOCKED"),
        4 if version != 1 => Some("LIVE"),
        _ => None,
    };
    if stp != 0 {
        let s = match stp >> 8 {
            1 => "STP_LEARN",
            2 => "STP_FORWARD",
            _ => "STP_BLOCK",
        };
        if rest != 0 {
            return format!("{s}{}", bit_names(rest, name));
        }
        return s.to_string();
    }
    bit_names(rest, name)
}

/// One port description block (`ofp_print_phy_port`).
pub fn phy_port(out: &mut String, version: u8, p: &PortDesc) {
    let _ = writeln!(
        out,
        " {}({}): addr:{}",
        port(p.port_no),
        p.name,
        p.hw_addr
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    );
    let _ = writeln!(
        out,
        "     config:     {}",
        bit_names(p.config, port_config_name)
    );
    let _ = writeln!(out, "     state:      {}", port_state(version, p.state));
    for (v, label) in [
        (p.curr, "current:    "),
        (p.advertised, "advertised: "),
        (p.supported, "supported:  "),
        (p.peer, "peer:       "),
    ] {
        if v != 0 {
            let _ = writeln!(out, "     {label}{}", bit_names(v, port_feature_name));
        }
    }
    let _ = writeln!(
        out,
        "     speed: {} Mbps now, {} Mbps max",
        p.curr_speed / 1000,
        p.max_speed / 1000
    );
}

/// Ports sorted by number with LOCAL last, as ovs-ofctl prints them.
pub fn phy_ports(out: &mut String, version: u8, ports: &[PortDesc]) {
    let mut v: Vec<&PortDesc> = ports.iter().collect();
    v.sort_by_key(|p| p.port_no);
    for p in v {
        phy_port(out, version, p);
    }
}

fn capability_name(version: u8) -> impl Fn(u32) -> Option<&'static str> {
    move |bit| {
        Some(match (bit.trailing_zeros(), version) {
            (0, _) => "FLOW_STATS",
            (1, _) => "TABLE_STATS",
            (2, _) => "PORT_STATS",
            (3, 1) => "STP",
            (3, _) => "GROUP_STATS",
            (5, _) => "IP_REASM",
            (6, _) => "QUEUE_STATS",
            (7, 1) => "ARP_MATCH_IP",
            (8, 4..) => "PORT_BLOCKED",
            (9, 5..) => "BUNDLES",
            (10, 5..) => "FLOW_MONITORING",
            _ => return None,
        })
    }
}

/// OF1.0 supported-actions bitmap in OVS's ofpact order.
fn actions10(bits: u32) -> String {
    const ORDER: [(u32, &str); 12] = [
        (0, "output"),
        (11, "enqueue"),
        (1, "set_vlan_vid"),
        (2, "set_vlan_pcp"),
        (3, "strip_vlan"),
        (4, "mod_dl_src"),
        (5, "mod_dl_dst"),
        (6, "mod_nw_src"),
        (7, "mod_nw_dst"),
        (8, "mod_nw_tos"),
        (9, "mod_tp_src"),
        (10, "mod_tp_dst"),
    ];
    let v: Vec<&str> = ORDER
        .iter()
        .filter(|(b, _)| bits & (1 << b) != 0)
        .map(|(_, n)| *n)
        .collect();
    v.join(" ")
}

/// A FEATURES_REPLY (`ofp_print_switch_features`), ports included for OF1.0.
pub fn features(version: u8, xid: u32, f: &FeaturesReply) -> String {
    let mut s = header("OFPT_FEATURES_REPLY", version, xid);
    let _ = writeln!(s, " dpid:{:016x}", f.datapath_id);
    let _ = write!(s, "n_tables:{}, n_buffers:{}", f.n_tables, f.n_buffers);
    if f.auxiliary_id != 0 {
        let _ = write!(s, ", auxiliary_id:{}", f.auxiliary_id);
    }
    s.push('\n');
    let _ = writeln!(
        s,
        "capabilities: {}",
        bit_names(f.capabilities, capability_name(version))
    );
    if version == 1 {
        let _ = writeln!(s, "actions: {}", actions10(f.actions));
    }
    phy_ports(&mut s, version, &f.ports);
    s
}

/// A GET_CONFIG_REPLY.
pub fn switch_config(version: u8, xid: u32, c: &SwitchConfig) -> String {
    let frags = match c.flags & 3 {
        0 => "normal",
        1 => "drop",
        2 => "reassemble",
        _ => "nx-match",
    };
    let mut s = header("OFPT_GET_CONFIG_REPLY", version, xid);
    let _ = write!(s, " frags={frags}");
    if c.flags & 4 != 0 {
        s.push_str(" invalid_ttl_to_controller");
    }
    let _ = writeln!(s, " miss_send_len={}", c.miss_send_len);
    s
}

fn counter(v: u64) -> String {
    if v == u64::MAX {
        "?".into()
    } else {
        v.to_string()
    }
}

/// Port stats entries (`ofputil_format_port_stats`).
pub fn port_stats(out: &mut String, stats: &[PortStats]) {
    for ps in stats {
        out.push_str("  port ");
        if ps.port_no < 10 {
            out.push(' ');
        }
        let _ = writeln!(
            out,
            "{}: rx pkts={}, bytes={}, drop={}, errs={}, frame={}, over={}, crc={}",
            port(ps.port_no),
            counter(ps.rx_packets),
            counter(ps.rx_bytes),
            counter(ps.rx_dropped),
            counter(ps.rx_errors),
            counter(ps.rx_frame_err),
            counter(ps.rx_over_err),
            counter(ps.rx_crc_err)
        );
        let _ = writeln!(
            out,
            "           tx pkts={}, bytes={}, drop={}, errs={}, coll={}",
            counter(ps.tx_packets),
            counter(ps.tx_bytes),
            counter(ps.tx_dropped),
            counter(ps.tx_errors),
            counter(ps.collisions)
        );
        if ps.duration_sec != u32::MAX {
            let _ = writeln!(
                out,
                "           duration={}.{:03}s",
                ps.duration_sec,
                ps.duration_nsec / 1_000_000
            );
        }
    }
}

/// OF1.0 wildcard bits → OVS field names, in OVS's field order, with runs
/// sharing a `prefix_` folded into `prefix_{a,b}`.
fn of10_fields(wildcards: u32) -> String {
    const F: [(u32, &str); 12] = [
        (1 << 0, "in_port"),
        (1 << 2, "eth_src"),
        (1 << 3, "eth_dst"),
        (1 << 4, "eth_type"),
        (1 << 1, "vlan_vid"),
        (1 << 20, "vlan_pcp"),
        (0x3f << 8, "ip_src"),
        (0x3f << 14, "ip_dst"),
        (1 << 5, "nw_proto"),
        (1 << 21, "nw_tos"),
        (1 << 6, "tcp_src"),
        (1 << 7, "tcp_dst"),
    ];
    let names: Vec<&str> = F
        .iter()
        .filter(|(b, _)| wildcards & b != 0)
        .map(|(_, n)| *n)
        .collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < names.len() {
        let (pre, _) = names[i].split_once('_').unwrap_or((names[i], ""));
        let mut j = i + 1;
        while j < names.len()
            && names[j].split_once('_').map(|p| p.0) == Some(pre)
            && names[i].contains('_')
        {
            j += 1;
        }
        if j - i > 1 {
            let tails: Vec<&str> = names[i..j]
                .iter()
                .map(|n| n.split_once('_').map_or("", |p| p.1))
                .collect();
            out.push(format!("{pre}_{{{}}}", tails.join(",")));
        } else {
            out.push(names[i].to_string());
        }
        i = j;
    }
    out.join(" ")
}

/// A table stats reply's tables with OVS's "ditto" compression
/// (`ofputil_table_features_format`); `first` carries state across parts.
pub struct TablePrinter {
    prev: Option<TableStats>,
    first_ditto: Option<(u8, u8)>,
}

impl TablePrinter {
    /// A printer with no previous table.
    pub fn new() -> TablePrinter {
        TablePrinter {
            prev: None,
            first_ditto: None,
        }
    }

    fn flush(&mut self, out: &mut String) {
        if let Some((a, b)) = self.first_ditto.take() {
            if a == b {
                let _ = write!(out, "\n  table {a}: ditto\n");
            } else {
                let _ = write!(out, "\n  tables {a}...{b}: ditto\n");
            }
        }
    }

    /// Prints one table.
    pub fn table(&mut self, out: &mut String, version: u8, t: &TableStats) {
        let features_of = |t: &TableStats| (t.wildcards, t.max_entries);
        let (same_stats, same_features) = match &self.prev {
            Some(p) => (
                p.active_count == t.active_count
                    && p.lookup_count == t.lookup_count
                    && p.matched_count == t.matched_count,
                features_of(p) == features_of(t),
            ),
            None => (false, false),
        };
        self.prev = Some(t.clone());
        if same_stats && same_features && t.name.is_empty() {
            match &mut self.first_ditto {
                Some((_, b)) => *b = t.table_id,
                None => self.first_ditto = Some((t.table_id, t.table_id)),
            }
            return;
        }
        self.flush(out);
        let _ = write!(out, "\n  table {}", t.table_id);
        if !t.name.is_empty() {
            let _ = write!(out, " (\"{}\")", t.name);
        }
        out.push_str(":\n");
        let _ = writeln!(
            out,
            "    active={}, lookup={}, matched={}",
            t.active_count, t.lookup_count, t.matched_count
        );
        let empty = version != 1;
        if same_features {
            if !empty {
                out.push_str("    (same features)\n");
            }
            return;
        }
        if empty {
            return;
        }
        if t.max_entries != 0 {
            let _ = writeln!(out, "    max_entries={}", t.max_entries);
        }
        let fields = of10_fields(t.wildcards);
        if !fields.is_empty() {
            out.push_str("    matching:\n");
            let _ = writeln!(out, "      exact match or wildcard: {fields}");
        }
    }

    /// Ends the reply (a pending ditto run).
    pub fn finish(&mut self, out: &mut String) {
        self.flush(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn of10_matching_line() {
        assert_eq!(
            of10_fields(0x3fffff),
            "in_port eth_{src,dst,type} vlan_{vid,pcp} ip_{src,dst} nw_{proto,tos} tcp_{src,dst}"
        );
        assert_eq!(of10_fields(1), "in_port");
    }

    #[test]
    fn headers() {
        assert_eq!(
            header("OFPST_FLOW reply", 4, 2),
            "OFPST_FLOW reply (OF1.3) (xid=0x2):"
        );
        assert_eq!(
            stats_header("NXST_FLOW reply", 1, 4, 1),
            "NXST_FLOW reply (xid=0x4): flags=[more]"
        );
    }

    #[test]
    fn states() {
        assert_eq!(port_state(1, 1), "LINK_DOWN");
        assert_eq!(port_state(4, 4), "LIVE");
        assert_eq!(port_state(1, 4), "0x4");
        assert_eq!(port_state(1, 0), "0");
        assert_eq!(
            bit_names(1 | (1 << 20), port_config_name),
            "PORT_DOWN 0x100000"
        );
    }
}
