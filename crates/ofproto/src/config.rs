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
    /// OpenFlow datapath id (`Bridge.datapath_id`, from `other_config:datapath-id`
    /// or the local port's MAC); `None` = derived from the bridge name.
    pub datapath_id: Option<u64>,
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

impl Default for BridgeConfig {
    /// An unnamed bridge with no ports and OVS's defaults (aging 300 s, 8192 MACs).
    fn default() -> Self {
        BridgeConfig {
            datapath_id: None,
            name: String::new(),
            ports: Vec::new(),
            mac_aging_time: 300,
            mac_table_size: 8192,
        }
    }
}

/// One interface of a port (`Interface` row) after it was opened.
///
/// The link fields feed OpenFlow port descriptions (`ofp_port`, OpenFlow
/// 1.3.5 §7.2.1); their defaults describe an up 10 Gb/s copper port with a
/// zero MAC, as OVS reports a tap/internal device it knows nothing about.
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
    /// Ethernet address (`Interface.mac_in_use`).
    pub mac: [u8; 6],
    /// Administratively up (`admin_state`); false sets OFPPC_PORT_DOWN.
    pub admin_up: bool,
    /// Carrier up (`link_state`); false sets OFPPS_LINK_DOWN.
    pub link_up: bool,
    /// Link speed in Mb/s (`link_speed` / 1e6); 0 = unknown (reported as 10 Gb/s like OVS).
    pub speed_mbps: u32,
}

impl Default for InterfaceConfig {
    fn default() -> Self {
        InterfaceConfig {
            name: String::new(),
            ofport: 0,
            odp_port: None,
            patch_peer: None,
            mac: [0; 6],
            admin_up: true,
            link_up: true,
            speed_mbps: 0,
        }
    }
}
