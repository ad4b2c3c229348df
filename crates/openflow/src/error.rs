//! OpenFlow error codes (`OFPT_ERROR` type/code), version-independent.
//!
//! Idea: an [`OfpError`] is stored in the OpenFlow 1.3+ numbering (type and
//! code of OpenFlow 1.3.5 §7.4.4, bundle errors as in 1.4 §7.5.4.17), which
//! has a name for every error oxvs reports. [`OfpError::to_wire`] maps it to
//! what a given version puts on the wire: OpenFlow 1.0 (spec 1.0.0 §5.4.4) has
//! fewer types, so, as Open vSwitch does (lib/ofp-errors.h), errors it cannot
//! express go out as Nicira vendor errors (`NXET_VENDOR`, nx_vendor_error
//! with the OVS-assigned type/code), and OpenFlow 1.3 bundle errors as ONF
//! experimenter errors.

/// Nicira vendor / experimenter id.
pub const NX_VENDOR_ID: u32 = 0x0000_2320;
/// Open Networking Foundation experimenter id (ONF extensions, e.g. OF1.3 bundles).
pub const ONF_VENDOR_ID: u32 = 0x4f4e_4600;
/// OF1.0 error type carrying a Nicira `nx_vendor_error` (Nicira extension).
pub const NXET_VENDOR: u16 = 0xb0c2;
/// OF1.2+ experimenter error type.
pub const OFPET12_EXPERIMENTER: u16 = 0xffff;

/// An OpenFlow error, in OpenFlow 1.3+ numbering (`type_`, `code`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, thiserror::Error)]
#[error("OpenFlow error type {type_} code {code} ({})", self.name())]
pub struct OfpError {
    /// `ofp_error_type` (OpenFlow 1.3.5 §7.4.4 numbering; 14–17 from 1.4).
    pub type_: u16,
    /// Code within the type.
    pub code: u16,
}

/// How an [`OfpError`] appears in an `OFPT_ERROR` of one version.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum WireError {
    /// Standard `type`/`code` pair.
    Standard { type_: u16, code: u16 },
    /// OF1.0/1.1 Nicira vendor error: `type=NXET_VENDOR code=0`, then
    /// `nx_vendor_error { vendor: NX_VENDOR_ID, type_, code }` before the data.
    NxVendor { type_: u16, code: u16 },
    /// OF1.2+ experimenter error: `type=0xffff`, `exp_code`, then `experimenter`.
    Experimenter { exp_code: u16, experimenter: u32 },
}

macro_rules! errors {
    ($($name:ident = ($t:expr, $c:expr), $s:expr;)*) => {
        impl OfpError {
            $(
                #[doc = concat!("`", $s, "` (type ", stringify!($t), ", code ", stringify!($c), ").")]
                pub const $name: OfpError = OfpError { type_: $t, code: $c };
            )*
            /// OVS's name for the error (`OFPBMC_BAD_PREREQ`…), or "unknown".
            pub fn name(&self) -> &'static str {
                match (self.type_, self.code) {
                    $(($t, $c) => $s,)*
                    _ => "unknown",
                }
            }
        }
    };
}

errors! {
    HELLO_FAILED_INCOMPATIBLE = (0, 0), "OFPHFC_INCOMPATIBLE";
    HELLO_FAILED_EPERM = (0, 1), "OFPHFC_EPERM";
    BAD_REQUEST_BAD_VERSION = (1, 0), "OFPBRC_BAD_VERSION";
    BAD_REQUEST_BAD_TYPE = (1, 1), "OFPBRC_BAD_TYPE";
    BAD_REQUEST_BAD_MULTIPART = (1, 2), "OFPBRC_BAD_STAT";
    BAD_REQUEST_BAD_EXPERIMENTER = (1, 3), "OFPBRC_BAD_VENDOR";
    BAD_REQUEST_BAD_EXP_TYPE = (1, 4), "OFPBRC_BAD_SUBTYPE";
    BAD_REQUEST_EPERM = (1, 5), "OFPBRC_EPERM";
    BAD_REQUEST_BAD_LEN = (1, 6), "OFPBRC_BAD_LEN";
    BAD_REQUEST_BUFFER_EMPTY = (1, 7), "OFPBRC_BUFFER_EMPTY";
    BAD_REQUEST_BUFFER_UNKNOWN = (1, 8), "OFPBRC_BUFFER_UNKNOWN";
    BAD_REQUEST_BAD_TABLE_ID = (1, 9), "OFPBRC_BAD_TABLE_ID";
    BAD_REQUEST_IS_SLAVE = (1, 10), "OFPBRC_IS_SLAVE";
    BAD_REQUEST_BAD_PORT = (1, 11), "OFPBRC_BAD_PORT";
    BAD_REQUEST_BAD_PACKET = (1, 12), "OFPBRC_BAD_PACKET";
    BAD_REQUEST_MULTIPART_BUFFER_OVERFLOW = (1, 13), "OFPBRC_MULTIPART_BUFFER_OVERFLOW";
    BAD_ACTION_BAD_TYPE = (2, 0), "OFPBAC_BAD_TYPE";
    BAD_ACTION_BAD_LEN = (2, 1), "OFPBAC_BAD_LEN";
    BAD_ACTION_BAD_EXPERIMENTER = (2, 2), "OFPBAC_BAD_VENDOR";
    BAD_ACTION_BAD_EXP_TYPE = (2, 3), "OFPBAC_BAD_VENDOR_TYPE";
    BAD_ACTION_BAD_OUT_PORT = (2, 4), "OFPBAC_BAD_OUT_PORT";
    BAD_ACTION_BAD_ARGUMENT = (2, 5), "OFPBAC_BAD_ARGUMENT";
    BAD_ACTION_EPERM = (2, 6), "OFPBAC_EPERM";
    BAD_ACTION_TOO_MANY = (2, 7), "OFPBAC_TOO_MANY";
    BAD_ACTION_BAD_QUEUE = (2, 8), "OFPBAC_BAD_QUEUE";
    BAD_ACTION_BAD_OUT_GROUP = (2, 9), "OFPBAC_BAD_OUT_GROUP";
    BAD_ACTION_MATCH_INCONSISTENT = (2, 10), "OFPBAC_MATCH_INCONSISTENT";
    BAD_ACTION_UNSUPPORTED_ORDER = (2, 11), "OFPBAC_UNSUPPORTED_ORDER";
    BAD_ACTION_BAD_TAG = (2, 12), "OFPBAC_BAD_TAG";
    BAD_ACTION_BAD_SET_TYPE = (2, 13), "OFPBAC_BAD_SET_TYPE";
    BAD_ACTION_BAD_SET_LEN = (2, 14), "OFPBAC_BAD_SET_LEN";
    BAD_ACTION_BAD_SET_ARGUMENT = (2, 15), "OFPBAC_BAD_SET_ARGUMENT";
    BAD_INSTRUCTION_UNKNOWN_INST = (3, 0), "OFPBIC_UNKNOWN_INST";
    BAD_INSTRUCTION_UNSUP_INST = (3, 1), "OFPBIC_UNSUP_INST";
    BAD_INSTRUCTION_BAD_TABLE_ID = (3, 2), "OFPBIC_BAD_TABLE_ID";
    BAD_INSTRUCTION_UNSUP_METADATA = (3, 3), "OFPBIC_UNSUP_METADATA";
    BAD_INSTRUCTION_UNSUP_METADATA_MASK = (3, 4), "OFPBIC_UNSUP_METADATA_MASK";
    BAD_INSTRUCTION_BAD_EXPERIMENTER = (3, 5), "OFPBIC_BAD_EXPERIMENTER";
    BAD_INSTRUCTION_BAD_EXP_TYPE = (3, 6), "OFPBIC_BAD_EXP_TYPE";
    BAD_INSTRUCTION_BAD_LEN = (3, 7), "OFPBIC_BAD_LEN";
    BAD_INSTRUCTION_EPERM = (3, 8), "OFPBIC_EPERM";
    BAD_MATCH_BAD_TYPE = (4, 0), "OFPBMC_BAD_TYPE";
    BAD_MATCH_BAD_LEN = (4, 1), "OFPBMC_BAD_LEN";
    BAD_MATCH_BAD_TAG = (4, 2), "OFPBMC_BAD_TAG";
    BAD_MATCH_BAD_DL_ADDR_MASK = (4, 3), "OFPBMC_BAD_DL_ADDR_MASK";
    BAD_MATCH_BAD_NW_ADDR_MASK = (4, 4), "OFPBMC_BAD_NW_ADDR_MASK";
    BAD_MATCH_BAD_WILDCARDS = (4, 5), "OFPBMC_BAD_WILDCARDS";
    BAD_MATCH_BAD_FIELD = (4, 6), "OFPBMC_BAD_FIELD";
    BAD_MATCH_BAD_VALUE = (4, 7), "OFPBMC_BAD_VALUE";
    BAD_MATCH_BAD_MASK = (4, 8), "OFPBMC_BAD_MASK";
    BAD_MATCH_BAD_PREREQ = (4, 9), "OFPBMC_BAD_PREREQ";
    BAD_MATCH_DUP_FIELD = (4, 10), "OFPBMC_DUP_FIELD";
    BAD_MATCH_EPERM = (4, 11), "OFPBMC_EPERM";
    FLOW_MOD_FAILED_UNKNOWN = (5, 0), "OFPFMFC_UNKNOWN";
    FLOW_MOD_FAILED_TABLE_FULL = (5, 1), "OFPFMFC_TABLE_FULL";
    FLOW_MOD_FAILED_BAD_TABLE_ID = (5, 2), "OFPFMFC_BAD_TABLE_ID";
    FLOW_MOD_FAILED_OVERLAP = (5, 3), "OFPFMFC_OVERLAP";
    FLOW_MOD_FAILED_EPERM = (5, 4), "OFPFMFC_EPERM";
    FLOW_MOD_FAILED_BAD_TIMEOUT = (5, 5), "OFPFMFC_BAD_TIMEOUT";
    FLOW_MOD_FAILED_BAD_COMMAND = (5, 6), "OFPFMFC_BAD_COMMAND";
    FLOW_MOD_FAILED_BAD_FLAGS = (5, 7), "OFPFMFC_BAD_FLAGS";
    GROUP_MOD_FAILED_GROUP_EXISTS = (6, 0), "OFPGMFC_GROUP_EXISTS";
    GROUP_MOD_FAILED_INVALID_GROUP = (6, 1), "OFPGMFC_INVALID_GROUP";
    GROUP_MOD_FAILED_OUT_OF_GROUPS = (6, 3), "OFPGMFC_OUT_OF_GROUPS";
    GROUP_MOD_FAILED_UNKNOWN_GROUP = (6, 8), "OFPGMFC_UNKNOWN_GROUP";
    GROUP_MOD_FAILED_BAD_TYPE = (6, 10), "OFPGMFC_BAD_TYPE";
    GROUP_MOD_FAILED_BAD_COMMAND = (6, 11), "OFPGMFC_BAD_COMMAND";
    GROUP_MOD_FAILED_EPERM = (6, 14), "OFPGMFC_EPERM";
    PORT_MOD_FAILED_BAD_PORT = (7, 0), "OFPPMFC_BAD_PORT";
    PORT_MOD_FAILED_BAD_HW_ADDR = (7, 1), "OFPPMFC_BAD_HW_ADDR";
    PORT_MOD_FAILED_BAD_CONFIG = (7, 2), "OFPPMFC_BAD_CONFIG";
    PORT_MOD_FAILED_BAD_ADVERTISE = (7, 3), "OFPPMFC_BAD_ADVERTISE";
    PORT_MOD_FAILED_EPERM = (7, 4), "OFPPMFC_EPERM";
    TABLE_MOD_FAILED_BAD_TABLE = (8, 0), "OFPTMFC_BAD_TABLE";
    TABLE_MOD_FAILED_BAD_CONFIG = (8, 1), "OFPTMFC_BAD_CONFIG";
    TABLE_MOD_FAILED_EPERM = (8, 2), "OFPTMFC_EPERM";
    QUEUE_OP_FAILED_BAD_PORT = (9, 0), "OFPQOFC_BAD_PORT";
    QUEUE_OP_FAILED_BAD_QUEUE = (9, 1), "OFPQOFC_BAD_QUEUE";
    QUEUE_OP_FAILED_EPERM = (9, 2), "OFPQOFC_EPERM";
    SWITCH_CONFIG_FAILED_BAD_FLAGS = (10, 0), "OFPSCFC_BAD_FLAGS";
    SWITCH_CONFIG_FAILED_BAD_LEN = (10, 1), "OFPSCFC_BAD_LEN";
    SWITCH_CONFIG_FAILED_EPERM = (10, 2), "OFPSCFC_EPERM";
    ROLE_REQUEST_FAILED_STALE = (11, 0), "OFPRRFC_STALE";
    ROLE_REQUEST_FAILED_UNSUP = (11, 1), "OFPRRFC_UNSUP";
    ROLE_REQUEST_FAILED_BAD_ROLE = (11, 2), "OFPRRFC_BAD_ROLE";
    METER_MOD_FAILED_UNKNOWN = (12, 0), "OFPMMFC_UNKNOWN";
    METER_MOD_FAILED_INVALID_METER = (12, 2), "OFPMMFC_INVALID_METER";
    METER_MOD_FAILED_UNKNOWN_METER = (12, 3), "OFPMMFC_UNKNOWN_METER";
    METER_MOD_FAILED_OUT_OF_METERS = (12, 10), "OFPMMFC_OUT_OF_METERS";
    TABLE_FEATURES_FAILED_BAD_TABLE = (13, 0), "OFPTFFC_BAD_TABLE";
    TABLE_FEATURES_FAILED_EPERM = (13, 5), "OFPTFFC_EPERM";
    BAD_PROPERTY_BAD_TYPE = (14, 0), "OFPBPC_BAD_TYPE";
    BAD_PROPERTY_BAD_LEN = (14, 1), "OFPBPC_BAD_LEN";
    BAD_PROPERTY_BAD_VALUE = (14, 2), "OFPBPC_BAD_VALUE";
    ASYNC_CONFIG_FAILED_INVALID = (15, 0), "OFPACFC_INVALID";
    ASYNC_CONFIG_FAILED_UNSUPPORTED = (15, 1), "OFPACFC_UNSUPPORTED";
    BUNDLE_FAILED_UNKNOWN = (17, 0), "OFPBFC_UNKNOWN";
    BUNDLE_FAILED_EPERM = (17, 1), "OFPBFC_EPERM";
    BUNDLE_FAILED_BAD_ID = (17, 2), "OFPBFC_BAD_ID";
    BUNDLE_FAILED_BUNDLE_EXIST = (17, 3), "OFPBFC_BUNDLE_EXIST";
    BUNDLE_FAILED_BUNDLE_CLOSED = (17, 4), "OFPBFC_BUNDLE_CLOSED";
    BUNDLE_FAILED_OUT_OF_BUNDLES = (17, 5), "OFPBFC_OUT_OF_BUNDLES";
    BUNDLE_FAILED_BAD_TYPE = (17, 6), "OFPBFC_BAD_TYPE";
    BUNDLE_FAILED_BAD_FLAGS = (17, 7), "OFPBFC_BAD_FLAGS";
    BUNDLE_FAILED_MSG_BAD_LEN = (17, 8), "OFPBFC_MSG_BAD_LEN";
    BUNDLE_FAILED_MSG_BAD_XID = (17, 9), "OFPBFC_MSG_BAD_XID";
    BUNDLE_FAILED_MSG_UNSUP = (17, 10), "OFPBFC_MSG_UNSUP";
    BUNDLE_FAILED_MSG_CONFLICT = (17, 11), "OFPBFC_MSG_CONFLICT";
    BUNDLE_FAILED_MSG_TOO_MANY = (17, 12), "OFPBFC_MSG_TOO_MANY";
    BUNDLE_FAILED_MSG_FAILED = (17, 13), "OFPBFC_MSG_FAILED";
    BUNDLE_FAILED_TIMEOUT = (17, 14), "OFPBFC_TIMEOUT";
    BUNDLE_FAILED_BUNDLE_IN_PROGRESS = (17, 15), "OFPBFC_BUNDLE_IN_PROGRESS";
}

/// OF1.0 (type, code) → canonical, for the errors whose OF1.0 numbering differs
/// (the rest keep their numbers: HELLO_FAILED, BAD_REQUEST 0–8, BAD_ACTION 0–8).
const OF10_STANDARD: &[((u16, u16), OfpError)] = &[
    ((3, 0), OfpError::FLOW_MOD_FAILED_TABLE_FULL),
    ((3, 1), OfpError::FLOW_MOD_FAILED_OVERLAP),
    ((3, 2), OfpError::FLOW_MOD_FAILED_EPERM),
    ((3, 3), OfpError::FLOW_MOD_FAILED_BAD_TIMEOUT), // OFPFMFC_BAD_EMERG_TIMEOUT
    ((3, 4), OfpError::FLOW_MOD_FAILED_BAD_COMMAND),
    ((3, 5), OfpError::BAD_ACTION_UNSUPPORTED_ORDER), // OFPFMFC_UNSUPPORTED
    ((4, 0), OfpError::PORT_MOD_FAILED_BAD_PORT),
    ((4, 1), OfpError::PORT_MOD_FAILED_BAD_HW_ADDR),
    ((5, 0), OfpError::QUEUE_OP_FAILED_BAD_PORT),
    ((5, 1), OfpError::QUEUE_OP_FAILED_BAD_QUEUE),
    ((5, 2), OfpError::QUEUE_OP_FAILED_EPERM),
];

/// OF1.0 Nicira vendor (type, code) ↔ canonical (lib/ofp-errors.h "NX1.0").
const OF10_NX: &[((u16, u16), OfpError)] = &[
    ((1, 512), OfpError::BAD_REQUEST_BAD_TABLE_ID),
    ((1, 513), OfpError::ROLE_REQUEST_FAILED_BAD_ROLE),
    ((1, 514), OfpError::BAD_REQUEST_BAD_PORT),
    ((1, 522), OfpError::BAD_ACTION_MATCH_INCONSISTENT),
    ((1, 523), OfpError::BAD_ACTION_BAD_SET_TYPE),
    ((1, 524), OfpError::BAD_ACTION_BAD_SET_LEN),
    ((1, 525), OfpError::BAD_ACTION_BAD_SET_ARGUMENT),
    ((2, 257), OfpError::BAD_INSTRUCTION_UNSUP_INST),
    ((1, 262), OfpError::BAD_MATCH_BAD_WILDCARDS),
    ((0, 263), OfpError::BAD_MATCH_BAD_FIELD),
    ((1, 258), OfpError::BAD_MATCH_BAD_VALUE),
    ((1, 259), OfpError::BAD_MATCH_BAD_MASK),
    ((1, 260), OfpError::BAD_MATCH_BAD_PREREQ),
    ((1, 261), OfpError::BAD_MATCH_DUP_FIELD),
    ((3, 258), OfpError::FLOW_MOD_FAILED_BAD_FLAGS),
    ((5, 257), OfpError::FLOW_MOD_FAILED_BAD_TABLE_ID),
];

/// OVS's "cannot be represented in this version" error (NXBRC_UNENCODABLE_ERROR, NX1.0 (1,521)).
const OF10_UNENCODABLE: (u16, u16) = (1, 521);

impl OfpError {
    /// The `(type, code)` (or vendor/experimenter form) this error takes in an
    /// `OFPT_ERROR` of OpenFlow `version` (1 = 1.0 … 6 = 1.5).
    pub fn to_wire(self, version: u8) -> WireError {
        if version <= 2 {
            let (t, c) = (self.type_, self.code);
            if t == 0 || (t == 1 && c <= 8) || (t == 2 && c <= 8) {
                return WireError::Standard { type_: t, code: c };
            }
            if self == OfpError::BAD_REQUEST_IS_SLAVE {
                return WireError::Standard { type_: 1, code: 5 };
            }
            if let Some((w, _)) = OF10_STANDARD.iter().find(|(_, e)| *e == self) {
                return WireError::Standard {
                    type_: w.0,
                    code: w.1,
                };
            }
            if let Some((w, _)) = OF10_NX.iter().find(|(_, e)| *e == self) {
                return WireError::NxVendor {
                    type_: w.0,
                    code: w.1,
                };
            }
            let (t, c) = OF10_UNENCODABLE;
            return WireError::NxVendor { type_: t, code: c };
        }
        if version == 4 && self.type_ == 17 {
            return WireError::Experimenter {
                exp_code: 2300 + self.code,
                experimenter: ONF_VENDOR_ID,
            };
        }
        if version < 5 && self.type_ >= 14 {
            // Property errors were table-features errors (13, 2..4) in 1.3.
            if self.type_ == 14 && self.code <= 2 {
                return WireError::Standard {
                    type_: 13,
                    code: self.code + 2,
                };
            }
            return WireError::Experimenter {
                exp_code: 10,
                experimenter: NX_VENDOR_ID,
            };
        }
        WireError::Standard {
            type_: self.type_,
            code: self.code,
        }
    }

    /// The canonical error for a standard `(type, code)` received in `version`.
    /// Unknown pairs are kept as they are.
    pub fn from_wire(version: u8, type_: u16, code: u16) -> OfpError {
        if version <= 2 {
            if let Some((_, e)) = OF10_STANDARD.iter().find(|(w, _)| *w == (type_, code)) {
                return *e;
            }
        }
        OfpError { type_, code }
    }

    /// The canonical error for an OF1.0 Nicira vendor error `(type, code)`, if known.
    pub fn from_nx_vendor(type_: u16, code: u16) -> Option<OfpError> {
        OF10_NX
            .iter()
            .find(|(w, _)| *w == (type_, code))
            .map(|(_, e)| *e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn of10_mapping() {
        assert_eq!(
            OfpError::BAD_MATCH_BAD_PREREQ.to_wire(1),
            WireError::NxVendor {
                type_: 1,
                code: 260
            }
        );
        assert_eq!(
            OfpError::FLOW_MOD_FAILED_OVERLAP.to_wire(1),
            WireError::Standard { type_: 3, code: 1 }
        );
        assert_eq!(
            OfpError::FLOW_MOD_FAILED_OVERLAP.to_wire(4),
            WireError::Standard { type_: 5, code: 3 }
        );
        assert_eq!(
            OfpError::from_wire(1, 3, 1),
            OfpError::FLOW_MOD_FAILED_OVERLAP
        );
        assert_eq!(
            OfpError::BAD_REQUEST_EPERM.to_wire(1),
            WireError::Standard { type_: 1, code: 5 }
        );
        assert_eq!(OfpError::BAD_MATCH_BAD_PREREQ.name(), "OFPBMC_BAD_PREREQ");
    }

    #[test]
    fn bundle_errors_per_version() {
        assert_eq!(
            OfpError::BUNDLE_FAILED_BAD_ID.to_wire(4),
            WireError::Experimenter {
                exp_code: 2302,
                experimenter: ONF_VENDOR_ID
            }
        );
        assert_eq!(
            OfpError::BUNDLE_FAILED_BAD_ID.to_wire(5),
            WireError::Standard { type_: 17, code: 2 }
        );
    }
}
