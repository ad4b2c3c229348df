//! Fixed switch descriptions answered on every connection: features reply
//! constants, OFPMP_DESC strings, and OpenFlow 1.3+ table features
//! (OpenFlow 1.3.5 §7.3.5.5; OVS `ofproto.c` `query_tables`).

use openflow::msg::{DescStats, TableFeatures, OFP10_VERSION};

/// Tables visible to controllers (OVS: 254; table 254 is reserved).
pub const N_TABLES: u8 = 254;

/// FEATURES_REPLY capabilities: OF1.0 FLOW_STATS | TABLE_STATS | PORT_STATS
/// | QUEUE_STATS | ARP_MATCH_IP (0xc7); OF1.1+ adds GROUP_STATS and drops
/// ARP_MATCH_IP (0x4f), as OVS.
pub fn capabilities(version: u8) -> u32 {
    if version == OFP10_VERSION {
        0xc7
    } else {
        0x4f
    }
}

/// OF1.0 FEATURES_REPLY supported-actions bitmap: OUTPUT … SET_TP_DST plus
/// ENQUEUE (0xfff), as OVS; 0 in later versions.
pub fn actions_bitmap(version: u8) -> u32 {
    if version == OFP10_VERSION {
        0xfff
    } else {
        0
    }
}

/// The OFPMP_DESC reply (strings in OVS's style with oxvs names).
pub fn desc() -> DescStats {
    DescStats {
        mfr_desc: "oxvs".to_string(),
        hw_desc: "oxvs".to_string(),
        sw_desc: env!("CARGO_PKG_VERSION").to_string(),
        serial_num: "None".to_string(),
        dp_desc: "None".to_string(),
    }
}

/// OFPIT_* instructions supported by every table.
const INSTRUCTIONS: [u16; 5] = [
    1, // GOTO_TABLE
    2, // WRITE_METADATA
    3, // WRITE_ACTIONS
    4, // APPLY_ACTIONS
    5, // CLEAR_ACTIONS
];

/// OFPAT_* (OpenFlow 1.3 numbering) supported in action lists and sets.
const ACTIONS: [u16; 6] = [
    0,  // OUTPUT
    17, // PUSH_VLAN
    18, // POP_VLAN
    23, // SET_NW_TTL
    24, // DEC_NW_TTL
    25, // SET_FIELD
];

/// OXM_OF_* fields (OpenFlow basic class 0x8000): (field number, value bytes).
const OXM_FIELDS: [(u8, u8); 31] = [
    (0, 4),   // IN_PORT
    (2, 8),   // METADATA
    (3, 6),   // ETH_DST
    (4, 6),   // ETH_SRC
    (5, 2),   // ETH_TYPE
    (6, 2),   // VLAN_VID
    (7, 1),   // VLAN_PCP
    (8, 1),   // IP_DSCP
    (9, 1),   // IP_ECN
    (10, 1),  // IP_PROTO
    (11, 4),  // IPV4_SRC
    (12, 4),  // IPV4_DST
    (13, 2),  // TCP_SRC
    (14, 2),  // TCP_DST
    (15, 2),  // UDP_SRC
    (16, 2),  // UDP_DST
    (17, 2),  // SCTP_SRC
    (18, 2),  // SCTP_DST
    (19, 1),  // ICMPV4_TYPE
    (20, 1),  // ICMPV4_CODE
    (21, 2),  // ARP_OP
    (22, 4),  // ARP_SPA
    (23, 4),  // ARP_TPA
    (24, 6),  // ARP_SHA
    (25, 6),  // ARP_THA
    (26, 16), // IPV6_SRC
    (27, 16), // IPV6_DST
    (28, 4),  // IPV6_FLABEL
    (29, 1),  // ICMPV6_TYPE
    (30, 1),  // ICMPV6_CODE
    (31, 16), // IPV6_ND_TARGET
];

fn oxm_headers(set_field: bool) -> Vec<u8> {
    OXM_FIELDS
        .iter()
        // IN_PORT and METADATA are not set with set_field.
        .filter(|(f, _)| !set_field || *f > 2)
        .flat_map(|(f, len)| {
            (0x8000_0000u32 | (u32::from(*f) << 9) | u32::from(*len)).to_be_bytes()
        })
        .collect()
}

fn ids(types: &[u16]) -> Vec<u8> {
    types
        .iter()
        .flat_map(|t| {
            let mut b = [0u8; 4];
            b[..2].copy_from_slice(&t.to_be_bytes());
            b[2..].copy_from_slice(&4u16.to_be_bytes());
            b
        })
        .collect()
}

/// The table-features entries of tables `0..n_tables`, each with the eight
/// required properties (types 0 INSTRUCTIONS, 2 NEXT_TABLES, 4
/// WRITE_ACTIONS, 6 APPLY_ACTIONS, 8 MATCH, 10 WILDCARDS, 12
/// WRITE_SETFIELD, 14 APPLY_SETFIELD; ovs-ofctl rejects a table without
/// them). Names are empty, like OVS's table stats.
pub fn table_features(n_tables: u8) -> Vec<TableFeatures> {
    let instructions = ids(&INSTRUCTIONS);
    let actions = ids(&ACTIONS);
    let matches = oxm_headers(false);
    let set_fields = oxm_headers(true);
    (0..n_tables)
        .map(|t| {
            let next: Vec<u8> = (t.saturating_add(1)..n_tables).collect();
            TableFeatures {
                table_id: t,
                name: String::new(),
                metadata_match: u64::MAX,
                metadata_write: u64::MAX,
                config: 0,
                max_entries: 1_000_000,
                properties: vec![
                    (0, instructions.clone()),
                    (2, next),
                    (4, actions.clone()),
                    (6, actions.clone()),
                    (8, matches.clone()),
                    (10, matches.clone()),
                    (12, set_fields.clone()),
                    (14, set_fields.clone()),
                ],
            }
        })
        .collect()
}
