//! Builders shared by the unit tests.

use packet::FlowKey;

use crate::config::{BridgeConfig, InterfaceConfig, PortConfig, VlanMode};
use crate::mac_learning::EthAddr;

pub const BROADCAST: EthAddr = [0xff; 6];

pub fn mac(n: u8) -> EthAddr {
    [0x02, 0, 0, 0, 0, n]
}

/// A port with one interface `name` at OpenFlow port `ofport`, datapath port `odp`.
pub fn port(
    name: &str,
    mode: VlanMode,
    tag: Option<u16>,
    trunks: &[u16],
    ofport: u16,
    odp: u32,
) -> PortConfig {
    PortConfig {
        name: name.to_string(),
        vlan_mode: mode,
        tag,
        trunks: trunks.to_vec(),
        interfaces: vec![InterfaceConfig {
            name: name.to_string(),
            ofport,
            odp_port: Some(odp),
            patch_peer: None,
            ..Default::default()
        }],
    }
}

/// A trunk port carrying every VLAN (OVS's default for a port without a tag).
pub fn plain(name: &str, ofport: u16, odp: u32) -> PortConfig {
    port(name, VlanMode::Trunk, None, &[], ofport, odp)
}

/// A patch port `name` at `ofport` whose peer is `peer`.
pub fn patch(name: &str, ofport: u16, peer: &str) -> PortConfig {
    PortConfig {
        name: name.to_string(),
        vlan_mode: VlanMode::Trunk,
        tag: None,
        trunks: Vec::new(),
        interfaces: vec![InterfaceConfig {
            name: name.to_string(),
            ofport,
            odp_port: None,
            patch_peer: Some(peer.to_string()),
            ..Default::default()
        }],
    }
}

pub fn bridge(name: &str, ports: Vec<PortConfig>) -> BridgeConfig {
    BridgeConfig {
        name: name.to_string(),
        ports,
        mac_aging_time: 300,
        mac_table_size: 8192,
        ..Default::default()
    }
}

/// A TCP/IPv4 flow from `src` to `dst` received on datapath port `in_port`
/// with `vlan_tci` (0 = untagged; else TCI | VLAN_CFI).
pub fn key(in_port: u32, src: EthAddr, dst: EthAddr, vlan_tci: u16) -> FlowKey {
    FlowKey {
        in_port,
        dl_src: src,
        dl_dst: dst,
        vlan_tci,
        dl_type: 0x0800,
        nw_src: [10, 0, 0, 1],
        nw_dst: [10, 0, 0, 2],
        nw_proto: 6,
        nw_ttl: 64,
        tp_src: 40000,
        tp_dst: 80,
        tcp_flags: 0x002,
        ..FlowKey::default()
    }
}
