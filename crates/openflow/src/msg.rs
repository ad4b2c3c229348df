//! The OpenFlow message model: one typed struct per message, version-free.
//!
//! Idea: [`OfpMessage`] has one variant per *wire* message (so that encoding
//! is deterministic and `decode(encode(m)) == m`): where OpenFlow 1.0 needs a
//! Nicira extension for the same thing (NXT_FLOW_MOD for an NXM match,
//! NXST_FLOW, NXT_PACKET_IN2), that extension is its own variant carrying the
//! same struct. Ports are 16-bit `ofp_port` values, matches are [`Match`],
//! actions and instructions are one [`OfpAct`] list. The codec
//! ([`crate::codec`]) maps these to and from OpenFlow 1.0, 1.3, 1.4 and 1.5.

use crate::actions::OfpAct;
use crate::matching::Match;
use crate::port::OfpPort;

/// OpenFlow 1.0 wire version.
pub const OFP10_VERSION: u8 = 0x01;
/// OpenFlow 1.1 wire version (not supported by the codec).
pub const OFP11_VERSION: u8 = 0x02;
/// OpenFlow 1.2 wire version (not supported by the codec).
pub const OFP12_VERSION: u8 = 0x03;
/// OpenFlow 1.3 wire version.
pub const OFP13_VERSION: u8 = 0x04;
/// OpenFlow 1.4 wire version.
pub const OFP14_VERSION: u8 = 0x05;
/// OpenFlow 1.5 wire version.
pub const OFP15_VERSION: u8 = 0x06;
/// Version bitmap of the versions the codec implements (bit n = version n).
pub const SUPPORTED_VERSIONS: u32 =
    (1 << OFP10_VERSION) | (1 << OFP13_VERSION) | (1 << OFP14_VERSION) | (1 << OFP15_VERSION);

/// Length of the OpenFlow header.
pub const OFP_HEADER_LEN: usize = 8;
/// `buffer_id` meaning "no buffered packet".
pub const NO_BUFFER: u32 = 0xffff_ffff;
/// Table id meaning "all tables" (flow stats, delete) or "unspecified".
pub const OFPTT_ALL: u8 = 0xff;
/// Group id meaning "any group" (OFPG_ANY).
pub const OFPG_ANY: u32 = 0xffff_ffff;

/// flow_mod flag: send flow_removed when the flow expires or is deleted.
pub const OFPFF_SEND_FLOW_REM: u16 = 1 << 0;
/// flow_mod flag: refuse to add a flow overlapping another of the same priority.
pub const OFPFF_CHECK_OVERLAP: u16 = 1 << 1;
/// flow_mod flag (OF1.3+; OF1.0 "emergency" is not supported): reset counters on modify.
pub const OFPFF_RESET_COUNTS: u16 = 1 << 2;
/// flow_mod flag (OF1.3+): do not count packets.
pub const OFPFF_NO_PKT_COUNTS: u16 = 1 << 3;
/// flow_mod flag (OF1.3+): do not count bytes.
pub const OFPFF_NO_BYT_COUNTS: u16 = 1 << 4;

/// `ofp_config_flags` fragment handling: normal.
pub const OFPC_FRAG_NORMAL: u16 = 0;
/// `ofp_config_flags` fragment handling: drop.
pub const OFPC_FRAG_DROP: u16 = 1;
/// `ofp_config_flags` fragment handling: reassemble.
pub const OFPC_FRAG_REASM: u16 = 2;

/// Multipart flag: more parts follow (OFPMPF_REQ_MORE / OFPMPF_REPLY_MORE).
pub const OFPMPF_MORE: u16 = 1;

/// NXT_SET_FLOW_FORMAT value: OpenFlow 1.0 matches.
pub const NXFF_OPENFLOW10: u32 = 0;
/// NXT_SET_FLOW_FORMAT value: NXM matches.
pub const NXFF_NXM: u32 = 2;
/// NXT_SET_PACKET_IN_FORMAT: standard packet-in.
pub const NXPIF_STANDARD: u32 = 0;
/// NXT_SET_PACKET_IN_FORMAT: NXT_PACKET_IN.
pub const NXPIF_NXT_PACKET_IN: u32 = 1;
/// NXT_SET_PACKET_IN_FORMAT: NXT_PACKET_IN2.
pub const NXPIF_NXT_PACKET_IN2: u32 = 2;

/// NXT_ROLE_REQUEST role: equal access, as OFPCR_ROLE_EQUAL (OVS nicira-ext.h).
pub const NX_ROLE_OTHER: u32 = 0;
/// NXT_ROLE_REQUEST role: full access, at most one master (OFPCR_ROLE_MASTER).
pub const NX_ROLE_MASTER: u32 = 1;
/// NXT_ROLE_REQUEST role: read-only access (OFPCR_ROLE_SLAVE).
pub const NX_ROLE_SLAVE: u32 = 2;

/// The OpenFlow header (OpenFlow 1.3.5 §7.1.1): all fields host order here.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct OfpHeader {
    /// Wire version (1 = 1.0 … 6 = 1.5).
    pub version: u8,
    /// Message type in that version's numbering.
    pub type_: u8,
    /// Total message length in bytes, header included.
    pub length: u16,
    /// Transaction id.
    pub xid: u32,
}

/// OFPT_HELLO.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Hello {
    /// OFPHET_VERSIONBITMAP element (bit n = wire version n), if present.
    pub version_bitmap: Option<u32>,
}

/// OFPT_ERROR as received/sent: raw wire type/code plus data (usually the
/// first bytes of the offending request, or ASCII for HELLO_FAILED).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct ErrorMsg {
    /// The error in canonical (OF1.3+) numbering; see [`crate::error::OfpError`].
    pub error: crate::error::OfpError,
    /// Error data.
    pub data: Vec<u8>,
}

/// OpenFlow port description (`ofp_phy_port` 1.0, `ofp_port` 1.1+/1.4 properties).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct PortDesc {
    /// Port number.
    pub port_no: OfpPort,
    /// Ethernet address.
    pub hw_addr: [u8; 6],
    /// Name (at most 15 bytes on the wire).
    pub name: String,
    /// OFPPC_* bits (PORT_DOWN 1, NO_RECV 4, NO_FWD 32, NO_PACKET_IN 64; same bits in 1.0).
    pub config: u32,
    /// OFPPS_* bits in OF1.1+ layout (LINK_DOWN 1, BLOCKED 2, LIVE 4).
    pub state: u32,
    /// Current features, OF1.1+ `ofp_port_features` layout (10GB_FD = 1<<6, COPPER = 1<<11…).
    pub curr: u32,
    /// Advertised features (OF1.1+ layout).
    pub advertised: u32,
    /// Supported features (OF1.1+ layout).
    pub supported: u32,
    /// Peer features (OF1.1+ layout).
    pub peer: u32,
    /// Current speed in kbps (OF1.1+ only on the wire).
    pub curr_speed: u32,
    /// Maximum speed in kbps (OF1.1+ only on the wire).
    pub max_speed: u32,
}

/// OFPT_FEATURES_REPLY.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct FeaturesReply {
    /// Datapath id.
    pub datapath_id: u64,
    /// Packets the switch can buffer (OVS: 0).
    pub n_buffers: u32,
    /// Number of tables (OVS: 254).
    pub n_tables: u8,
    /// OF1.3+ auxiliary connection id.
    pub auxiliary_id: u8,
    /// OFPC_* capability bits, in the message version's layout.
    pub capabilities: u32,
    /// OF1.0 supported-actions bitmap (0 in later versions).
    pub actions: u32,
    /// OF1.0 only: the ports.
    pub ports: Vec<PortDesc>,
}

/// OFPT_GET_CONFIG_REPLY / OFPT_SET_CONFIG body.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct SwitchConfig {
    /// OFPC_FRAG_* flags.
    pub flags: u16,
    /// Bytes of a packet sent to the controller on a table miss.
    pub miss_send_len: u16,
}

/// A packet-in (OFPT_PACKET_IN of any version, or NXT_PACKET_IN2).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct PacketIn {
    /// Buffer id or [`NO_BUFFER`].
    pub buffer_id: u32,
    /// Full length of the frame in bytes.
    pub total_len: u32,
    /// OFPR_* reason.
    pub reason: u8,
    /// Table the packet was in (OF1.3+, NX).
    pub table_id: u8,
    /// Cookie of the rule that sent it (OF1.3+, NX); all ones if none.
    pub cookie: u64,
    /// Pipeline metadata: `in_port`, `metadata`, registers (OF1.0 carries only in_port).
    pub metadata: Match,
    /// The frame (possibly truncated).
    pub data: Vec<u8>,
    /// NX packet-in2 `userdata` property.
    pub userdata: Option<Vec<u8>>,
}

/// OFPT_PACKET_OUT.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct PacketOut {
    /// Buffer id or [`NO_BUFFER`].
    pub buffer_id: u32,
    /// Ingress port for the actions (OFPP_CONTROLLER/NONE or LOCAL when none).
    pub in_port: OfpPort,
    /// Actions.
    pub ofpacts: Vec<OfpAct>,
    /// Frame, if `buffer_id` is NO_BUFFER.
    pub data: Vec<u8>,
}

/// flow_mod command (`ofp_flow_mod_command`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum FlowModCommand {
    /// OFPFC_ADD (0).
    #[default]
    Add,
    /// OFPFC_MODIFY (1).
    Modify,
    /// OFPFC_MODIFY_STRICT (2).
    ModifyStrict,
    /// OFPFC_DELETE (3).
    Delete,
    /// OFPFC_DELETE_STRICT (4).
    DeleteStrict,
}

impl FlowModCommand {
    /// Wire value.
    pub fn to_wire(self) -> u8 {
        self as u8
    }

    /// From the wire value (`None` → OFPFMFC_BAD_COMMAND).
    pub fn from_wire(v: u8) -> Option<FlowModCommand> {
        Some(match v {
            0 => FlowModCommand::Add,
            1 => FlowModCommand::Modify,
            2 => FlowModCommand::ModifyStrict,
            3 => FlowModCommand::Delete,
            4 => FlowModCommand::DeleteStrict,
            _ => return None,
        })
    }
}

/// OFPT_FLOW_MOD / NXT_FLOW_MOD.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct FlowMod {
    /// Cookie (ADD) or cookie to filter with (`cookie_mask` != 0).
    pub cookie: u64,
    /// Cookie mask for MODIFY/DELETE (OF1.1+; 0 in OF1.0 except via NX).
    pub cookie_mask: u64,
    /// Table, or [`OFPTT_ALL`] (= unspecified in OF1.0 without flow_mod_table_id).
    pub table_id: u8,
    /// Command.
    pub command: FlowModCommand,
    /// Idle timeout, seconds (0 = none).
    pub idle_timeout: u16,
    /// Hard timeout, seconds (0 = none).
    pub hard_timeout: u16,
    /// Priority (OVS default 0x8000).
    pub priority: u16,
    /// Buffer to apply to, or [`NO_BUFFER`].
    pub buffer_id: u32,
    /// DELETE filter: only flows outputting to this port (OFPP_NONE = any).
    pub out_port: OfpPort,
    /// DELETE filter: only flows with this group (OFPG_ANY = any).
    pub out_group: u32,
    /// OFPFF_* flags (OF1.3 layout).
    pub flags: u16,
    /// OF1.4+ importance.
    pub importance: u16,
    /// The match.
    pub match_: Match,
    /// Actions and instructions.
    pub ofpacts: Vec<OfpAct>,
}

impl Default for FlowMod {
    fn default() -> FlowMod {
        FlowMod {
            cookie: 0,
            cookie_mask: 0,
            table_id: 0,
            command: FlowModCommand::Add,
            idle_timeout: 0,
            hard_timeout: 0,
            priority: 0x8000,
            buffer_id: NO_BUFFER,
            out_port: crate::port::OFPP_NONE,
            out_group: OFPG_ANY,
            flags: 0,
            importance: 0,
            match_: Match::catchall(),
            ofpacts: Vec::new(),
        }
    }
}

/// OFPT_FLOW_REMOVED.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct FlowRemoved {
    /// Rule cookie.
    pub cookie: u64,
    /// Rule priority.
    pub priority: u16,
    /// OFPRR_* reason (IDLE_TIMEOUT 0, HARD_TIMEOUT 1, DELETE 2, GROUP_DELETE 3).
    pub reason: u8,
    /// Table (OF1.3+).
    pub table_id: u8,
    /// Lifetime seconds.
    pub duration_sec: u32,
    /// Lifetime nanoseconds beyond `duration_sec`.
    pub duration_nsec: u32,
    /// Rule idle timeout.
    pub idle_timeout: u16,
    /// Rule hard timeout (OF1.3+).
    pub hard_timeout: u16,
    /// Packets counted.
    pub packet_count: u64,
    /// Bytes counted.
    pub byte_count: u64,
    /// Rule match.
    pub match_: Match,
}

/// OFPT_PORT_STATUS.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct PortStatus {
    /// OFPPR_ADD 0, DELETE 1, MODIFY 2.
    pub reason: u8,
    /// The port.
    pub desc: PortDesc,
}

/// OFPT_PORT_MOD.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct PortMod {
    /// Port.
    pub port_no: OfpPort,
    /// Must match the port's address.
    pub hw_addr: [u8; 6],
    /// New OFPPC_* bits.
    pub config: u32,
    /// Which config bits to change.
    pub mask: u32,
    /// Features to advertise (0 = unchanged), OF1.1+ layout.
    pub advertise: u32,
}

/// OFPT_ROLE_REQUEST / OFPT_ROLE_REPLY.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct RoleMsg {
    /// OFPCR_ROLE_NOCHANGE 0, EQUAL 1, MASTER 2, SLAVE 3.
    pub role: u32,
    /// Master election generation id.
    pub generation_id: u64,
}

/// OFPT_GET_ASYNC_REPLY / OFPT_SET_ASYNC: [master/equal, slave] bitmasks.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct AsyncConfig {
    /// Packet-in reasons (bit = 1 << OFPR_*).
    pub packet_in_mask: [u32; 2],
    /// Port-status reasons.
    pub port_status_mask: [u32; 2],
    /// Flow-removed reasons.
    pub flow_removed_mask: [u32; 2],
}

/// Flow / aggregate stats request (standard and NXST).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct FlowStatsRequest {
    /// Table, or [`OFPTT_ALL`].
    pub table_id: u8,
    /// Only flows outputting to this port (OFPP_NONE = any).
    pub out_port: OfpPort,
    /// Only flows using this group (OFPG_ANY = any; OF1.1+).
    pub out_group: u32,
    /// Cookie filter (OF1.1+).
    pub cookie: u64,
    /// Cookie mask (OF1.1+; 0 = no filter).
    pub cookie_mask: u64,
    /// Match filter (non-strict).
    pub match_: Match,
}

impl Default for FlowStatsRequest {
    fn default() -> Self {
        FlowStatsRequest {
            table_id: OFPTT_ALL,
            out_port: crate::port::OFPP_NONE,
            out_group: OFPG_ANY,
            cookie: 0,
            cookie_mask: 0,
            match_: Match::catchall(),
        }
    }
}

/// One flow in a flow stats reply.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct FlowStats {
    /// Table.
    pub table_id: u8,
    /// Age seconds.
    pub duration_sec: u32,
    /// Age nanoseconds beyond `duration_sec`.
    pub duration_nsec: u32,
    /// Priority.
    pub priority: u16,
    /// Idle timeout seconds.
    pub idle_timeout: u16,
    /// Hard timeout seconds.
    pub hard_timeout: u16,
    /// OFPFF_* flags (OF1.3+).
    pub flags: u16,
    /// OF1.4+ importance.
    pub importance: u16,
    /// Cookie.
    pub cookie: u64,
    /// Packets.
    pub packet_count: u64,
    /// Bytes.
    pub byte_count: u64,
    /// NXST_FLOW only: seconds since last hit (wire carries value + 1; None = 0 on wire).
    pub idle_age: Option<u16>,
    /// NXST_FLOW only: seconds since last modification (as `idle_age`).
    pub hard_age: Option<u16>,
    /// Match.
    pub match_: Match,
    /// Actions and instructions.
    pub ofpacts: Vec<OfpAct>,
}

/// Aggregate stats reply.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct AggregateStats {
    /// Packets.
    pub packet_count: u64,
    /// Bytes.
    pub byte_count: u64,
    /// Flows.
    pub flow_count: u32,
}

/// One table in a table stats reply.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct TableStats {
    /// Table id.
    pub table_id: u8,
    /// OF1.0: table name (OVS sends empty names).
    pub name: String,
    /// OF1.0: OFPFW10_* wildcards supported.
    pub wildcards: u32,
    /// OF1.0: max entries.
    pub max_entries: u32,
    /// Active entries.
    pub active_count: u32,
    /// Lookups.
    pub lookup_count: u64,
    /// Matches.
    pub matched_count: u64,
}

/// One table-features entry (OF1.3+ §7.3.5.5); properties kept raw.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct TableFeatures {
    /// Table id.
    pub table_id: u8,
    /// Name (≤ 31 bytes).
    pub name: String,
    /// Metadata bits the table can match.
    pub metadata_match: u64,
    /// Metadata bits the table can write.
    pub metadata_write: u64,
    /// OFPTC_* config (1.3) / capabilities (1.4+).
    pub config: u32,
    /// Max entries.
    pub max_entries: u32,
    /// Properties: (type, body without the 4-byte property header and padding).
    pub properties: Vec<(u16, Vec<u8>)>,
}

/// Port stats entry.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct PortStats {
    /// Port.
    pub port_no: OfpPort,
    /// Received packets.
    pub rx_packets: u64,
    /// Transmitted packets.
    pub tx_packets: u64,
    /// Received bytes.
    pub rx_bytes: u64,
    /// Transmitted bytes.
    pub tx_bytes: u64,
    /// Receive drops.
    pub rx_dropped: u64,
    /// Transmit drops.
    pub tx_dropped: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Transmit errors.
    pub tx_errors: u64,
    /// Frame alignment errors.
    pub rx_frame_err: u64,
    /// Overruns.
    pub rx_over_err: u64,
    /// CRC errors.
    pub rx_crc_err: u64,
    /// Collisions.
    pub collisions: u64,
    /// Seconds alive (OF1.3+).
    pub duration_sec: u32,
    /// Nanoseconds beyond `duration_sec` (OF1.3+).
    pub duration_nsec: u32,
}

/// Queue stats entry.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct QueueStats {
    /// Port.
    pub port_no: OfpPort,
    /// Queue id.
    pub queue_id: u32,
    /// Bytes.
    pub tx_bytes: u64,
    /// Packets.
    pub tx_packets: u64,
    /// Errors.
    pub tx_errors: u64,
    /// Seconds alive (OF1.3+).
    pub duration_sec: u32,
    /// Nanoseconds (OF1.3+).
    pub duration_nsec: u32,
}

/// OFPST_DESC / OFPMP_DESC reply.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct DescStats {
    /// Manufacturer (≤ 255 bytes).
    pub mfr_desc: String,
    /// Hardware (≤ 255 bytes).
    pub hw_desc: String,
    /// Software (≤ 255 bytes).
    pub sw_desc: String,
    /// Serial number (≤ 31 bytes).
    pub serial_num: String,
    /// Datapath description (≤ 255 bytes).
    pub dp_desc: String,
}

/// Multipart (stats) request bodies.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum MultipartRequestBody {
    /// OFPMP_DESC.
    Desc,
    /// OFPMP_FLOW.
    Flow(FlowStatsRequest),
    /// OFPMP_AGGREGATE.
    Aggregate(FlowStatsRequest),
    /// OFPMP_TABLE.
    Table,
    /// OFPMP_PORT_STATS for one port or OFPP_NONE (all).
    PortStats { port_no: OfpPort },
    /// OFPMP_QUEUE (port OFPP_NONE / queue 0xffffffff = all).
    Queue { port_no: OfpPort, queue_id: u32 },
    /// OFPMP_GROUP (stub).
    Group { group_id: u32 },
    /// OFPMP_GROUP_DESC (stub).
    GroupDesc,
    /// OFPMP_GROUP_FEATURES (stub).
    GroupFeatures,
    /// OFPMP_METER (stub).
    Meter { meter_id: u32 },
    /// OFPMP_METER_CONFIG (stub).
    MeterConfig { meter_id: u32 },
    /// OFPMP_METER_FEATURES (stub).
    MeterFeatures,
    /// OFPMP_TABLE_FEATURES (empty = query).
    TableFeatures(Vec<TableFeatures>),
    /// OFPMP_PORT_DESC (OF1.0: OVS extension stats type 13).
    PortDesc,
    /// NXST_FLOW.
    NxFlow(FlowStatsRequest),
    /// NXST_AGGREGATE.
    NxAggregate(FlowStatsRequest),
    /// OFPMP_TABLE_DESC (OpenFlow 1.4+).
    TableDesc,
}

/// Multipart (stats) reply bodies.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum MultipartReplyBody {
    /// OFPMP_DESC.
    Desc(DescStats),
    /// OFPMP_FLOW.
    Flow(Vec<FlowStats>),
    /// OFPMP_AGGREGATE.
    Aggregate(AggregateStats),
    /// OFPMP_TABLE.
    Table(Vec<TableStats>),
    /// OFPMP_PORT_STATS.
    PortStats(Vec<PortStats>),
    /// OFPMP_QUEUE.
    Queue(Vec<QueueStats>),
    /// OFPMP_PORT_DESC.
    PortDesc(Vec<PortDesc>),
    /// OFPMP_TABLE_FEATURES.
    TableFeatures(Vec<TableFeatures>),
    /// Group/meter stats with an empty body (stub), by multipart type.
    Empty(u16),
    /// NXST_FLOW.
    NxFlow(Vec<FlowStats>),
    /// NXST_AGGREGATE.
    NxAggregate(AggregateStats),
    /// OFPMP_TABLE_DESC (OpenFlow 1.4+).
    TableDesc(Vec<TableDesc>),
}

/// A multipart (stats) request.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct MultipartRequest {
    /// OFPMPF_* flags.
    pub flags: u16,
    /// Body.
    pub body: MultipartRequestBody,
}

/// A multipart (stats) reply (one part; [`OFPMPF_MORE`] in `flags` if more follow).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct MultipartReply {
    /// OFPMPF_* flags.
    pub flags: u16,
    /// Body.
    pub body: MultipartReplyBody,
}

/// `ofp_table_config` bit (OpenFlow 1.4.1 §7.3.3): the table may evict
/// flows when full.
pub const OFPTC14_EVICTION: u32 = 1 << 2;
/// `ofp_table_config` bit (OpenFlow 1.4.1 §7.3.3): vacancy events enabled.
pub const OFPTC14_VACANCY_EVENTS: u32 = 1 << 3;

/// Vacancy thresholds of a table (OFPTMPT_VACANCY / OFPTDPT_VACANCY
/// property, OpenFlow 1.4.1 §7.3.3), all in percent (0–100).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct TableVacancy {
    /// Event when the vacancy falls below this.
    pub vacancy_down: u8,
    /// Event when the vacancy rises above this.
    pub vacancy_up: u8,
    /// Current vacancy (0 in a table_mod).
    pub vacancy: u8,
}

/// OFPT_TABLE_MOD (OpenFlow 1.3.5 §7.3.3: table and config only; 1.4.1
/// §7.3.3 adds properties). Not in OpenFlow 1.0.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct TableMod {
    /// Table, or [`OFPTT_ALL`].
    pub table_id: u8,
    /// OFPTC_* bits: in 1.4+ [`OFPTC14_EVICTION`] and
    /// [`OFPTC14_VACANCY_EVENTS`]; in 1.3 deprecated bits with no meaning.
    pub config: u32,
    /// OFPTMPT_EVICTION property (1.4+): OFPTMPEF_* eviction flags.
    pub eviction_flags: Option<u32>,
    /// OFPTMPT_VACANCY property (1.4+; `vacancy` must be 0).
    pub vacancy: Option<TableVacancy>,
}

/// One table of an OFPMP_TABLE_DESC reply (OpenFlow 1.4.1 §7.3.5.8,
/// `ofp_table_desc`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct TableDesc {
    /// Table id.
    pub table_id: u8,
    /// OFPTC_* bits ([`OFPTC14_EVICTION`], [`OFPTC14_VACANCY_EVENTS`]).
    pub config: u32,
    /// OFPTMPT_EVICTION property: OFPTMPEF_* flags (OVS: OTHER|IMPORTANCE|LIFETIME = 7).
    pub eviction_flags: Option<u32>,
    /// OFPTMPT_VACANCY property (OVS sends it when vacancy events are on).
    pub vacancy: Option<TableVacancy>,
}

/// OFPT_BUNDLE_CONTROL (OF1.4 §7.3.9).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct BundleCtrl {
    /// Bundle id.
    pub bundle_id: u32,
    /// OFPBCT_* (OPEN_REQUEST 0 … DISCARD_REPLY 7).
    pub type_: u16,
    /// OFPBF_ATOMIC 1, OFPBF_ORDERED 2.
    pub flags: u16,
}

/// OFPT_BUNDLE_ADD_MESSAGE: the inner message is kept as its raw bytes
/// (header included) so the receiver can decode it with [`crate::codec::decode`].
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct BundleAdd {
    /// Bundle id.
    pub bundle_id: u32,
    /// OFPBF_* flags.
    pub flags: u16,
    /// The complete inner message.
    pub message: Vec<u8>,
}

/// Every message the codec knows.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum OfpMessage {
    /// OFPT_HELLO.
    Hello(Hello),
    /// OFPT_ERROR.
    Error(ErrorMsg),
    /// OFPT_ECHO_REQUEST with its payload.
    EchoRequest(Vec<u8>),
    /// OFPT_ECHO_REPLY with its payload.
    EchoReply(Vec<u8>),
    /// OFPT_FEATURES_REQUEST.
    FeaturesRequest,
    /// OFPT_FEATURES_REPLY.
    FeaturesReply(FeaturesReply),
    /// OFPT_GET_CONFIG_REQUEST.
    GetConfigRequest,
    /// OFPT_GET_CONFIG_REPLY.
    GetConfigReply(SwitchConfig),
    /// OFPT_SET_CONFIG.
    SetConfig(SwitchConfig),
    /// OFPT_PACKET_IN.
    PacketIn(PacketIn),
    /// OFPT_FLOW_REMOVED.
    FlowRemoved(FlowRemoved),
    /// OFPT_PORT_STATUS.
    PortStatus(PortStatus),
    /// OFPT_PACKET_OUT.
    PacketOut(PacketOut),
    /// OFPT_FLOW_MOD.
    FlowMod(FlowMod),
    /// OFPT_GROUP_MOD (not implemented: body kept raw so the switch can refuse it).
    GroupMod(Vec<u8>),
    /// OFPT_METER_MOD (not implemented: body kept raw).
    MeterMod(Vec<u8>),
    /// OFPT_PORT_MOD.
    PortMod(PortMod),
    /// OFPT_MULTIPART_REQUEST / OFPT_STATS_REQUEST.
    MultipartRequest(MultipartRequest),
    /// OFPT_MULTIPART_REPLY / OFPT_STATS_REPLY.
    MultipartReply(MultipartReply),
    /// OFPT_BARRIER_REQUEST.
    BarrierRequest,
    /// OFPT_BARRIER_REPLY.
    BarrierReply,
    /// OFPT_ROLE_REQUEST.
    RoleRequest(RoleMsg),
    /// OFPT_ROLE_REPLY.
    RoleReply(RoleMsg),
    /// OFPT_GET_ASYNC_REQUEST.
    GetAsyncRequest,
    /// OFPT_GET_ASYNC_REPLY.
    GetAsyncReply(AsyncConfig),
    /// OFPT_SET_ASYNC.
    SetAsync(AsyncConfig),
    /// OFPT_TABLE_MOD (OpenFlow 1.1+).
    TableMod(TableMod),
    /// OFPT_BUNDLE_CONTROL (OF1.4+); in OpenFlow 1.3, where no standard
    /// form exists, the ONF extension ONFT_BUNDLE_CONTROL (experimenter
    /// 0x4f4e4600, type 2300) with the same body.
    BundleControl(BundleCtrl),
    /// OFPT_BUNDLE_ADD_MESSAGE (OF1.4+); in OpenFlow 1.3
    /// ONFT_BUNDLE_ADD_MESSAGE (experimenter 0x4f4e4600, type 2301).
    BundleAdd(BundleAdd),
    /// NXT_SET_FLOW_FORMAT (NXFF_OPENFLOW10 / NXFF_NXM).
    NxSetFlowFormat(u32),
    /// NXT_FLOW_MOD_TABLE_ID (enable flag).
    NxFlowModTableId(bool),
    /// NXT_SET_PACKET_IN_FORMAT (NXPIF_*).
    NxSetPacketInFormat(u32),
    /// NXT_FLOW_MOD: a flow_mod with an NXM match.
    NxFlowMod(FlowMod),
    /// NXT_PACKET_IN2.
    NxPacketIn2(PacketIn),
    /// NXT_FLOW_REMOVED (`nx_flow_removed`, OVS nicira-ext.h): a
    /// flow_removed with an NXM match, sent on an OpenFlow 1.0 connection
    /// whose flow format is NXFF_NXM. The wire has no hard_timeout (decoded
    /// as 0) and carries the table id plus one, 0 meaning unknown
    /// (decoded as [`OFPTT_ALL`]).
    NxFlowRemoved(FlowRemoved),
    /// NXT_ROLE_REQUEST (`nx_role_request`, a 4-byte body): the role as
    /// [`NX_ROLE_OTHER`], [`NX_ROLE_MASTER`] or [`NX_ROLE_SLAVE`] (any value
    /// decodes; the switch refuses others with OFPRRFC_BAD_ROLE). Unlike
    /// OFPT_ROLE_REQUEST there is no generation id.
    NxRoleRequest(u32),
    /// NXT_ROLE_REPLY: the connection's role in NX numbering.
    NxRoleReply(u32),
}

impl OfpMessage {
    /// Whether this message expects a reply of its own (requests that are
    /// not answered on success: flow_mod, packet_out, set_config, NX settings).
    pub fn is_request_with_reply(&self) -> bool {
        matches!(
            self,
            OfpMessage::EchoRequest(_)
                | OfpMessage::FeaturesRequest
                | OfpMessage::GetConfigRequest
                | OfpMessage::MultipartRequest(_)
                | OfpMessage::BarrierRequest
                | OfpMessage::RoleRequest(_)
                | OfpMessage::NxRoleRequest(_)
                | OfpMessage::GetAsyncRequest
        )
    }
}
