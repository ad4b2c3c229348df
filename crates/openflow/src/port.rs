//! OpenFlow port numbers, as Open vSwitch keeps them: a 16-bit `ofp_port`
//! (OpenFlow 1.0 numbering) everywhere inside, mapped to and from the 32-bit
//! OpenFlow 1.1+ numbers at the wire (OpenFlow 1.3.5 §7.2.1: reserved ports
//! 0xffffff00… ↔ 1.0's 0xff00…).

use crate::error::OfpError;

/// A 16-bit OpenFlow port number (OVS `ofp_port_t`, OpenFlow 1.0 numbering).
pub type OfpPort = u16;

/// Highest ordinary OpenFlow 1.0 port number (OFPP_MAX).
pub const OFPP_MAX: u16 = 0xff00;
/// Send the packet out the port it came in on.
pub const OFPP_IN_PORT: u16 = 0xfff8;
/// Submit the packet to the first flow table (packet-out only).
pub const OFPP_TABLE: u16 = 0xfff9;
/// Forward with the switch's normal L2 processing.
pub const OFPP_NORMAL: u16 = 0xfffa;
/// Flood (all ports except input and those with flooding disabled).
pub const OFPP_FLOOD: u16 = 0xfffb;
/// All ports except the input port.
pub const OFPP_ALL: u16 = 0xfffc;
/// Send to the controller.
pub const OFPP_CONTROLLER: u16 = 0xfffd;
/// The bridge's local (internal) port.
pub const OFPP_LOCAL: u16 = 0xfffe;
/// No port / wildcard (OF1.1+ OFPP_ANY).
pub const OFPP_NONE: u16 = 0xffff;
/// Alias of [`OFPP_NONE`] under its OpenFlow 1.1+ name.
pub const OFPP_ANY: u16 = OFPP_NONE;

/// OpenFlow 1.1+ first reserved port number (OFPP_MAX in 32 bits).
pub const OFPP11_MAX: u32 = 0xffff_ff00;
/// Offset between 16-bit reserved ports and their 32-bit OF1.1+ numbers.
pub const OFPP11_OFFSET: u32 = 0xffff_0000;
/// OpenFlow 1.3+ OFPP_LOCAL (32-bit port numbers).
pub const OFPP13_LOCAL: u32 = 0xffff_fffe;
/// OpenFlow 1.1+ OFPP_ANY.
pub const OFPP11_ANY: u32 = 0xffff_ffff;
/// OpenFlow 1.1+ OFPP_CONTROLLER.
pub const OFPP11_CONTROLLER: u32 = 0xffff_fffd;

/// The OpenFlow 1.1+ 32-bit number of 16-bit port `port`.
pub fn port_to_ofp11(port: OfpPort) -> u32 {
    if port < OFPP_MAX {
        u32::from(port)
    } else {
        u32::from(port) + OFPP11_OFFSET
    }
}

/// The 16-bit port of OpenFlow 1.1+ port number `port`.
///
/// Errors: `OFPBAC_BAD_OUT_PORT` for numbers 0xff00…0xfffffeff, which have
/// no 16-bit equivalent (as OVS's `ofputil_port_from_ofp11`).
pub fn port_from_ofp11(port: u32) -> Result<OfpPort, OfpError> {
    if port < u32::from(OFPP_MAX) {
        Ok(port as u16)
    } else if port >= OFPP11_MAX {
        Ok((port - OFPP11_OFFSET) as u16)
    } else {
        Err(OfpError::BAD_ACTION_BAD_OUT_PORT)
    }
}

/// OVS's name of a reserved port (`IN_PORT`, `TABLE`, `NORMAL`, `FLOOD`,
/// `ALL`, `CONTROLLER`, `LOCAL`, `ANY`), `None` for ordinary ports.
pub fn reserved_port_name(port: OfpPort) -> Option<&'static str> {
    Some(match port {
        OFPP_IN_PORT => "IN_PORT",
        OFPP_TABLE => "TABLE",
        OFPP_NORMAL => "NORMAL",
        OFPP_FLOOD => "FLOOD",
        OFPP_ALL => "ALL",
        OFPP_CONTROLLER => "CONTROLLER",
        OFPP_LOCAL => "LOCAL",
        OFPP_NONE => "ANY",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ofp11_mapping_round_trips() {
        for p in [
            0u16,
            1,
            0xfeff,
            OFPP_IN_PORT,
            OFPP_LOCAL,
            OFPP_NONE,
            OFPP_MAX,
        ] {
            assert_eq!(port_from_ofp11(port_to_ofp11(p)), Ok(p));
        }
        assert_eq!(port_to_ofp11(OFPP_LOCAL), OFPP13_LOCAL);
        assert_eq!(
            port_from_ofp11(0x1_0000),
            Err(OfpError::BAD_ACTION_BAD_OUT_PORT)
        );
    }
}
