//! `oxvs ofctl monitor SWITCH [MISS_LEN] [invalid_ttl] [watch:[SPEC]]`:
//! OVS `ofctl_monitor`. Configures the connection, then prints every
//! message the switch sends to stderr, exactly as `ovs-ofctl monitor` of
//! Open vSwitch 3.1 does (`ofp_print` at verbosity `-m` count + 2), until
//! killed.
//!
//! Idea: the arguments are applied in order on one connection, each change
//! followed by a barrier (GET_CONFIG/SET_CONFIG for MISS_LEN and
//! `invalid_ttl`, a flow monitor request for `watch:`); then the
//! connection asks for NXT_PACKET_IN2 (falling back to NXT_PACKET_IN on
//! OpenFlow 1.0) and loops. Packet-ins print their header line, any
//! userdata, and the frame decoded as OVS's `ofp_packet_to_string` (from
//! `ofproto::trace`); `-m` adds a hex dump. Echo requests are printed, then
//! answered. SIGTERM/SIGINT/SIGHUP print OVS's `fatal_signal` warning before
//! the process dies of the signal, as ovs-ofctl does.
//!
//! Performance: a human-speed tool; one allocation per message is fine.

use openflow::codec;
use openflow::msg::NO_BUFFER;
use openflow::text as oftext;
use openflow::OfpMessage;

use super::vconn::{Session, Vconn};
use super::wire::{self, Msg, OFPT_ECHO_REQUEST, OFPT_ERROR};
use super::{print, Fatal, Opts};

/// OFPC_INVALID_TTL_TO_CONTROLLER in the switch-config flags (OF1.1/1.2;
/// an Open vSwitch extension in OF1.0).
const OFPC_INVALID_TTL_TO_CONTROLLER: u16 = 1 << 2;
/// Versions that can carry `invalid_ttl` (OpenFlow 1.0–1.2), as a bitmap.
const INVALID_TTL_VERSIONS: u32 = (1 << 1) | (1 << 2) | (1 << 3);

/// OVS `atoi` of an argument that starts with a digit: leading digits,
/// wrapping as C's int arithmetic does, truncated to 16 bits.
fn atoi_u16(s: &str) -> u16 {
    let mut v: u32 = 0;
    for c in s.bytes().take_while(u8::is_ascii_digit) {
        v = v.wrapping_mul(10).wrapping_add(u32::from(c - b'0'));
    }
    v as u16
}

/// Runs `monitor`; returns only on error (the loop ends with the process).
pub fn monitor(s: &mut Session, o: &Opts, target: &str, args: &[String]) -> Result<(), Fatal> {
    if args.iter().any(|a| a == "invalid_ttl") {
        if s.allowed & INVALID_TTL_VERSIONS == 0 {
            return Err(Fatal::msg(
                "invalid_ttl requires one of the OpenFlow versions OpenFlow10, OpenFlow11, \
                 OpenFlow12 but none is enabled (use -O)",
            ));
        }
        s.allowed &= INVALID_TTL_VERSIONS;
    }
    let mut v = Vconn::open(target, s)?;
    for arg in args {
        if arg.starts_with(|c: char| c.is_ascii_digit()) {
            let mut c = fetch_config(s, &mut v)?;
            c.miss_send_len = atoi_u16(arg);
            set_config(s, &mut v, c)?;
        } else if arg == "invalid_ttl" {
            let mut c = fetch_config(s, &mut v)?;
            if c.flags & OFPC_INVALID_TTL_TO_CONTROLLER == 0 {
                c.flags |= OFPC_INVALID_TTL_TO_CONTROLLER;
                set_config(s, &mut v, c)?;
            }
        } else if let Some(spec) = arg.strip_prefix("watch:") {
            watch(s, o, &mut v, spec)?;
        } else if arg == "resume" {
            let mut c = fetch_config(s, &mut v)?;
            c.miss_send_len = u16::MAX;
            set_config(s, &mut v, c)?;
        } else {
            return Err(Fatal::msg(format!(
                "{arg}: unsupported \"monitor\" argument"
            )));
        }
    }
    // NXT_PACKET_IN2 preferred; on refusal, NXT_PACKET_IN in OpenFlow 1.0.
    if !set_packet_in_format(s, &mut v, 2)? && v.version == 1 {
        set_packet_in_format(s, &mut v, 1)?;
    }
    fatal_signal::install();
    loop {
        let m = v.recv_any()?;
        eprint!("{}", format_message(&m, o.verbosity + 2));
        if m.type_ == OFPT_ECHO_REQUEST {
            let mut reply = m.bytes.clone();
            reply[1] = wire::OFPT_ECHO_REPLY;
            v.send(&reply)?;
        }
    }
}

/// OVS `fetch_switch_config`: GET_CONFIG_REQUEST and its reply.
fn fetch_config(s: &mut Session, v: &mut Vconn) -> Result<openflow::msg::SwitchConfig, Fatal> {
    let xid = s.alloc_xid();
    let req = wire::message(v.version, wire::OFPT_GET_CONFIG_REQUEST, xid, &[]);
    let m = v.transact(&req)?;
    match (m.type_, wire::switch_config(&m)) {
        (8, Some(c)) => Ok(c),
        _ => Err(Fatal::msg(format!(
            "{}: bad reply to config request",
            v.vconn_name
        ))),
    }
}

/// OVS `set_switch_config`: SET_CONFIG and a barrier; an error is printed
/// and fatal.
fn set_config(s: &mut Session, v: &mut Vconn, c: openflow::msg::SwitchConfig) -> Result<(), Fatal> {
    let xid = s.alloc_xid();
    v.send(&wire::set_config(v.version, xid, c))?;
    if let Some(err) = v.barrier(s, &[xid])? {
        eprint!("{}", super::flows::format_error(&err, None));
        return Err(Fatal::silent());
    }
    Ok(())
}

/// NXT_SET_PACKET_IN_FORMAT(`format`) and a barrier; whether the switch
/// accepted it (OVS `set_packet_in_format` with `must_succeed` false).
fn set_packet_in_format(s: &mut Session, v: &mut Vconn, format: u32) -> Result<bool, Fatal> {
    let xid = s.alloc_xid();
    let bytes = codec::encode(v.version, xid, &OfpMessage::NxSetPacketInFormat(format));
    v.send(&bytes)?;
    Ok(v.barrier(s, &[xid])?.is_none())
}

/// `watch:` — a flow monitor on every flow with OVS's default flags
/// (initial, add, delete, modify, actions, own: `parse_flow_monitor_request`
/// of an empty spec), as NXST_FLOW_MONITOR (OpenFlow 1.0–1.2). Like
/// ovs-ofctl it first opens the table-map and port-map connections, and
/// prints the reply (or error) to stdout (`dump_transaction`). A non-empty
/// spec and the ONF/OpenFlow 1.4 flow monitors are not supported.
fn watch(s: &mut Session, o: &Opts, v: &mut Vconn, spec: &str) -> Result<(), Fatal> {
    if !spec.is_empty() {
        return Err(Fatal::msg(format!(
            "watch:{spec}: flow monitor specifications are not supported by oxvs"
        )));
    }
    if v.version > 3 {
        return Err(Fatal::msg(
            "watch: flow monitors are supported by oxvs only in OpenFlow 1.0-1.2",
        ));
    }
    super::flows::fetch_maps(s, o, &v.name.clone())?;
    static NEXT_ID: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let xid = s.alloc_xid();
    let req = wire::nx_flow_monitor_request(v.version, xid, id, NXFMF_DEFAULT);
    for part in v.dump(&req)? {
        print!("{}", format_message(&part, 1));
        if part.type_ == OFPT_ERROR {
            break;
        }
    }
    Ok(())
}

/// NXFMF_INITIAL | ADD | DELETE | MODIFY | ACTIONS | OWN.
const NXFMF_DEFAULT: u16 = 0x3f;

/// The updates of an NXST_FLOW_MONITOR reply body as OVS's
/// `ofputil_flow_update_format` prints them, each starting a new line.
fn format_flow_updates(mut b: &[u8], version: u8) -> String {
    let mut s = String::new();
    while b.len() >= 4 {
        let len = usize::from(wire::be16(b, 0).unwrap_or(0));
        let event = wire::be16(b, 2).unwrap_or(0);
        if len < 8 || len > b.len() {
            s.push_str("\n ***bad flow update***");
            break;
        }
        let u = &b[..len];
        b = &b[len..];
        if event == 3 {
            let xid = wire::be32(u, 4).unwrap_or(0);
            s.push_str(&format!("\n event=ABBREV xid={xid:#x}"));
            continue;
        }
        if u.len() < 24 || event > 2 {
            s.push_str("\n ***bad flow update***");
            break;
        }
        let reason = u[4..6][1];
        let idle = wire::be16(u, 8).unwrap_or(0);
        let hard = wire::be16(u, 10).unwrap_or(0);
        let match_len = usize::from(wire::be16(u, 12).unwrap_or(0));
        let table = u[14];
        let cookie = wire::be64(u, 16).unwrap_or(0);
        let m_end = 24 + match_len.div_ceil(8) * 8;
        let (Some(mb), Some(ab)) = (u.get(24..24 + match_len), u.get(m_end.min(u.len())..)) else {
            s.push_str("\n ***bad flow update***");
            break;
        };
        s.push_str(
            match event {
                0 => "\n event=ADDED".to_string(),
                1 => format!("\n event=DELETED reason={}", flow_removed_reason(reason)),
                _ => "\n event=MODIFIED".to_string(),
            }
            .as_str(),
        );
        s.push_str(&format!(" table={table}"));
        if idle != 0 {
            s.push_str(&format!(" idle_timeout={idle}"));
        }
        if hard != 0 {
            s.push_str(&format!(" hard_timeout={hard}"));
        }
        s.push_str(&if cookie == 0 {
            " cookie=0".to_string()
        } else {
            format!(" cookie={cookie:#x}")
        });
        s.push(' ');
        match codec::decode_tlvs(mb) {
            Ok(m) => s.push_str(&oftext::format_match(&m, 0x8000, None)),
            Err(e) => s.push_str(&format!("***{}***", e.name())),
        }
        if !ab.is_empty() {
            if !s.ends_with(' ') {
                s.push(' ');
            }
            s.push_str("actions=");
            match codec::decode_actions(ab, version) {
                Ok(a) => s.push_str(&oftext::format_actions(&a, None)),
                Err(e) => s.push_str(&format!("***{}***", e.name())),
            }
        }
    }
    s
}

/// OVS `ds_put_hex_dump` (offset 0, no ASCII column): 16 bytes a line,
/// `%08x` offset, two spaces, bytes separated by spaces, `-` after the 8th.
pub fn hex_dump(data: &[u8]) -> String {
    let mut s = String::new();
    for (i, line) in data.chunks(16).enumerate() {
        s.push_str(&format!("{:08x}  ", i * 16));
        for (j, b) in line.iter().enumerate() {
            s.push_str(&format!("{b:02x}{}", if j == 7 { '-' } else { ' ' }));
        }
        // ovs-ofctl's output carries no trailing blank.
        s.truncate(s.trim_end_matches(' ').len());
        s.push('\n');
    }
    s
}

/// OVS `ofputil_packet_in_reason_to_string`.
fn packet_in_reason(reason: u8) -> String {
    match reason {
        0 => "no_match".into(),
        1 => "action".into(),
        2 => "invalid_ttl".into(),
        3 => "action_set".into(),
        4 => "group".into(),
        5 => "packet_out".into(),
        r => r.to_string(),
    }
}

/// OVS `ofp_flow_removed_reason_to_string`.
fn flow_removed_reason(reason: u8) -> String {
    match reason {
        0 => "idle".into(),
        1 => "hard".into(),
        2 => "delete".into(),
        3 => "group_delete".into(),
        4 => "eviction".into(),
        5 => "meter_delete".into(),
        r => r.to_string(),
    }
}

/// The Nicira/ONF experimenter subtype of `m`, if it is one.
fn nx_subtype(m: &Msg) -> Option<u32> {
    (m.type_ == wire::OFPT_VENDOR && wire::be32(&m.bytes, 8)? == 0x2320)
        .then(|| wire::be32(&m.bytes, 12))
        .flatten()
}

/// One received message as `ovs-ofctl monitor` prints it (`ofp_print` at
/// `verbosity`): packet-in (OFPT_PACKET_IN, NXT_PACKET_IN2), flow removed,
/// port status, echo request, error, flow monitor replies; other messages
/// by their name only.
pub fn format_message(m: &Msg, verbosity: u32) -> String {
    let v = m.version;
    if m.type_ == OFPT_ERROR {
        return super::flows::format_error(m, None);
    }
    if m.type_ == OFPT_ECHO_REQUEST {
        let payload = m.body();
        let mut s = format!(
            "{} {} bytes of payload\n",
            print::header("OFPT_ECHO_REQUEST", v, m.xid),
            payload.len()
        );
        if verbosity > 1 {
            s.push_str(&hex_dump(payload));
        }
        return s;
    }
    if m.type_ == 12 && m.bytes.len() >= 16 {
        let reason = match m.bytes[8] {
            0 => " ADD:".to_string(),
            1 => " DEL:".to_string(),
            2 => " MOD:".to_string(),
            r => format!(" reason {r}:"),
        };
        let mut s = format!("{}{reason}", print::header("OFPT_PORT_STATUS", v, m.xid));
        if let Some(p) = wire::ports(v, &m.bytes[16..]).first() {
            print::phy_port(&mut s, v, p);
        } else {
            s.push('\n');
        }
        return s;
    }
    // NXST_FLOW_MONITOR reply (vendor stats, subtype 2).
    let stats_type = if v == 1 { 17 } else { 19 };
    if m.type_ == stats_type
        && wire::be16(&m.bytes, 8) == Some(0xffff)
        && wire::be32(&m.bytes, 12) == Some(0x2320)
        && wire::be32(&m.bytes, 16) == Some(2)
    {
        let body = m.bytes.get(24..).unwrap_or(&[]);
        return format!(
            "{}{}\n",
            print::stats_header("NXST_FLOW_MONITOR reply", v, m.xid, wire::stats_flags(m)),
            format_flow_updates(body, v)
        );
    }
    let pin_name = match (m.type_, nx_subtype(m)) {
        (10, _) => Some("OFPT_PACKET_IN"),
        (wire::OFPT_VENDOR, Some(30)) => Some("NXT_PACKET_IN2"),
        (wire::OFPT_VENDOR, Some(17)) => Some("NXT_PACKET_IN"),
        _ => None,
    };
    match codec::decode(&m.bytes) {
        Ok((_, OfpMessage::PacketIn(p))) | Ok((_, OfpMessage::NxPacketIn2(p))) => {
            let mut s = print::header(pin_name.unwrap_or("OFPT_PACKET_IN"), v, m.xid);
            if p.table_id != 0 {
                s.push_str(&format!(" table_id={}", p.table_id));
            }
            if p.cookie != u64::MAX {
                s.push_str(&format!(" cookie={:#x}", p.cookie));
            }
            s.push_str(&format!(" total_len={} ", p.total_len));
            s.push_str(&oftext::format_match(&p.metadata, 0x8000, None));
            s.push_str(&format!(
                " (via {}) data_len={}",
                packet_in_reason(p.reason),
                p.data.len()
            ));
            let data_len = p.data.len() as u64;
            if p.buffer_id == NO_BUFFER {
                s.push_str(" (unbuffered)");
                if u64::from(p.total_len) != data_len {
                    s.push_str(" (***total_len != data_len***)");
                }
            } else {
                s.push_str(&format!(" buffer={:#010x}", p.buffer_id));
                if u64::from(p.total_len) < data_len {
                    s.push_str(" (***total_len < data_len***)");
                }
            }
            s.push('\n');
            if let Some(u) = p.userdata.as_ref().filter(|u| !u.is_empty()) {
                let hex: Vec<String> = u.iter().map(|b| format!("{b:02x}")).collect();
                s.push_str(&format!(" userdata={}\n", hex.join(".")));
            }
            if verbosity > 0 {
                s.push_str(&ofproto::trace::packet_to_string(&p.data));
            }
            if verbosity > 2 {
                s.push_str(&hex_dump(&p.data));
            }
            s
        }
        Ok((_, OfpMessage::FlowRemoved(fr))) => {
            let mut s = print::header("OFPT_FLOW_REMOVED", v, m.xid);
            s.push(' ');
            s.push_str(&oftext::format_match(&fr.match_, fr.priority, None));
            s.push_str(&format!(" reason={}", flow_removed_reason(fr.reason)));
            // OpenFlow 1.0's flow_removed has no table (OVS decodes 255).
            if v != 1 && fr.table_id != 255 {
                s.push_str(&format!(" table_id={}", fr.table_id));
            }
            if fr.cookie != 0 {
                s.push_str(&format!(" cookie:{:#x}", fr.cookie));
            }
            s.push_str(&format!(
                " duration{} idle{}",
                oftext::format_duration(fr.duration_sec, fr.duration_nsec),
                fr.idle_timeout
            ));
            if fr.hard_timeout != 0 {
                s.push_str(&format!(" hard{}", fr.hard_timeout));
            }
            s.push_str(&format!(
                " pkts{} bytes{}\n",
                fr.packet_count, fr.byte_count
            ));
            s
        }
        Err(e) if pin_name.is_some() || matches!(m.type_, 10 | 11) => {
            // OVS ofp_to_string on a message it cannot decode.
            let name = pin_name.unwrap_or(if m.type_ == 10 {
                "OFPT_PACKET_IN"
            } else {
                "OFPT_FLOW_REMOVED"
            });
            format!(
                "{} ***decode error: {}***\n{}",
                print::header(name, v, m.xid),
                e.name(),
                hex_dump_ascii(&m.bytes)
            )
        }
        _ => format!("{}\n", print::header(&message_name(m), v, m.xid)),
    }
}

/// OVS `ds_put_hex_dump` with the ASCII column (`|...|`), as ovs-ofctl
/// prints a message it cannot decode.
fn hex_dump_ascii(data: &[u8]) -> String {
    let mut s = String::new();
    for (i, line) in data.chunks(16).enumerate() {
        s.push_str(&format!("{:08x}  ", i * 16));
        for j in 0..16 {
            match line.get(j) {
                Some(b) => s.push_str(&format!("{b:02x}{}", if j == 7 { '-' } else { ' ' })),
                None => s.push_str("   "),
            }
        }
        s.push('|');
        for &b in line {
            s.push(if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            });
        }
        for _ in line.len()..16 {
            s.push(' ');
        }
        s.push_str("|\n");
    }
    s
}

/// The OVS name of a message type this printer does not decode.
fn message_name(m: &Msg) -> String {
    if let Some(sub) = nx_subtype(m) {
        return match sub {
            21 => "NXT_FLOW_MONITOR_CANCEL".into(),
            22 => "NXT_FLOW_MONITOR_PAUSED".into(),
            23 => "NXT_FLOW_MONITOR_RESUMED".into(),
            _ => format!("NXT_{sub}"),
        };
    }
    let name = match (m.version, m.type_) {
        (_, 0) => "OFPT_HELLO",
        (_, 3) => "OFPT_ECHO_REPLY",
        (_, 4) => "OFPT_VENDOR",
        (_, 6) => "OFPT_FEATURES_REPLY",
        (_, 8) => "OFPT_GET_CONFIG_REPLY",
        (1, 17) | (2.., 19) => "OFPST reply",
        (1, 19) | (2.., 21) => "OFPT_BARRIER_REPLY",
        (5.., 30) => "OFPT_ROLE_STATUS",
        (5.., 31) => "OFPT_TABLE_STATUS",
        (5.., 32) => "OFPT_REQUESTFORWARD",
        (_, t) => return format!("OFPT_{t}"),
    };
    name.to_string()
}

/// ovs-ofctl's `fatal_signal` behaviour for a monitor killed by a signal:
/// the warning `terminating with signal N (NAME)` in its log format, then
/// death by the same signal (so the exit status says "killed by signal").
mod fatal_signal {
    const SIGNALS: [libc::c_int; 3] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP];

    fn set() -> libc::sigset_t {
        // SAFETY: sigemptyset/sigaddset initialise and fill a sigset_t we own.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for s in SIGNALS {
                libc::sigaddset(&mut set, s);
            }
            set
        }
    }

    /// Blocks the signals in the calling (main) thread and waits for them
    /// on a helper thread.
    pub fn install() {
        let set = set();
        // SAFETY: pthread_sigmask with a valid set; the new thread inherits
        // the mask, so only `sigwait` receives these signals.
        let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
        if rc != 0 {
            return;
        }
        let _ = std::thread::Builder::new()
            .name("fatal_signal".into())
            .spawn(move || {
                let mut sig: libc::c_int = 0;
                // SAFETY: sigwait on a valid set, writing into a local int.
                if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
                    return;
                }
                // SAFETY: strsignal returns a NUL-terminated string for any
                // signal number.
                let name = unsafe { std::ffi::CStr::from_ptr(libc::strsignal(sig)) }
                    .to_string_lossy()
                    .into_owned();
                super::super::vconn::log_line(
                    "fatal_signal",
                    "WARN",
                    &format!("terminating with signal {sig} ({name})"),
                );
                // SAFETY: restore the default action, unblock the signal in
                // this thread and raise it: the process dies of it.
                unsafe {
                    libc::signal(sig, libc::SIG_DFL);
                    let mut one: libc::sigset_t = std::mem::zeroed();
                    libc::sigemptyset(&mut one);
                    libc::sigaddset(&mut one, sig);
                    libc::pthread_sigmask(libc::SIG_UNBLOCK, &one, std::ptr::null_mut());
                    libc::raise(sig);
                }
                std::process::exit(128 + sig);
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Hex dump lines exactly as ovs-ofctl -m prints them (from a capture).
    #[test]
    fn hex_dump_is_ovs_format() {
        let udp = unhex(
            "02770000000202770000000108004500001fd8c5400040114d6c0a4d00010a4d0002bcd51388000b14b968690a",
        );
        assert_eq!(
            hex_dump(&udp),
            "00000000  02 77 00 00 00 02 02 77-00 00 00 01 08 00 45 00\n\
             00000010  00 1f d8 c5 40 00 40 11-4d 6c 0a 4d 00 01 0a 4d\n\
             00000020  00 02 bc d5 13 88 00 0b-14 b9 68 69 0a\n"
        );
        assert_eq!(hex_dump(&[]), "");
    }

    #[test]
    fn atoi_as_c() {
        assert_eq!(atoi_u16("65535"), 65535);
        assert_eq!(atoi_u16("128abc"), 128);
        assert_eq!(atoi_u16("65536"), 0);
        assert_eq!(atoi_u16("0"), 0);
    }

    /// An OpenFlow 1.0 port status for a port added, as OVS sends it, is
    /// printed as ovs-ofctl does; short or odd messages do not panic.
    #[test]
    fn port_status_and_short_messages() {
        let mut b = vec![1, 12, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        b.extend_from_slice(&[0, 3, 0x5e, 0xd6, 0x40, 0xa6, 0xa4, 0xaa]);
        b.extend_from_slice(b"p3\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
        b.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0xc0, 0, 0, 0, 0]);
        b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            format_message(&Msg::new(b.clone()), 2),
            "OFPT_PORT_STATUS (xid=0x0): ADD: 3(p3): addr:5e:d6:40:a6:a4:aa\n     \
             config:     PORT_DOWN\n     state:      LINK_DOWN\n     current:    \
             10GB-FD COPPER\n     speed: 10000 Mbps now, 0 Mbps max\n"
        );
        for n in 8..b.len() {
            let mut short = b[..n].to_vec();
            short[3] = n as u8;
            let _ = format_message(&Msg::new(short), 3);
        }
        for t in 0..40u8 {
            let _ = format_message(&Msg::new(vec![4, t, 0, 8, 0, 0, 0, 1]), 3);
        }
    }
}
