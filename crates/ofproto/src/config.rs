//! Desired configuration handed to [`crate::Backer::reconfigure`] by the
//! reconciler (`vswitchd`), already resolved from OVSDB rows.

/// Port VLAN mode, OVS `Port.vlan_mode` (ovs-vswitchd.conf.db(5), "VLAN Configuration").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VlanMode {
    /// Untagged in/out on VLAN `tag`; tagged input frames are dropped.
    Access,
    /// Tagged in/out on VLANs `trunks` (all if empty); untagged input = VLAN 0.
    Trunk,
    /// Untagged input belongs to `tag`; output on `tag` is tagged.
    NativeTagged,
    /// Untagged input belongs to `tag`; output on `tag` is untagged.
    NativeUntagged,
}

/// One bridge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgeConfig {
    /// Bridge name (`Bridge.name`).
    pub name: String,
    /// Its ports.
    pub ports: Vec<PortConfig>,
    /// MAC-table entry lifetime in seconds (`other_config:mac-aging-time`, default 300).
    pub mac_aging_time: u32,
    /// Maximum MAC-table entries (`other_config:mac-table-size`, default 8192).
    pub mac_table_size: usize,
}

/// One port of a bridge (`Port` row).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortConfig {
    /// Port name.
    pub name: String,
    /// Effective VLAN mode: the `vlan_mode` column, or when empty, `Access` if
    /// `tag` is set and `Trunk` otherwise (OVS's default).
    pub vlan_mode: VlanMode,
    /// `Port.tag` (0–4095), if set.
    pub tag: Option<u16>,
    /// `Port.trunks`; empty = all VLANs.
    pub trunks: Vec<u16>,
    /// Member interfaces (one unless bonded).
    pub interfaces: Vec<InterfaceConfig>,
}

/// One interface of a port (`Interface` row) after it was opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceConfig {
    /// Interface name.
    pub name: String,
    /// OpenFlow port number (`Interface.ofport`; 65534 = OFPP_LOCAL).
    pub ofport: u16,
    /// Datapath port number, if the interface is open in the datapath
    /// (`None` for patch ports and interfaces that failed to open).
    pub odp_port: Option<u32>,
    /// For `type=patch`: `options:peer`, the peer interface's name.
    pub patch_peer: Option<String>,
}
