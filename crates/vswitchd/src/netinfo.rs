//! Kernel facts about network devices, for the Interface row's status
//! columns: every device at once from one rtnetlink `RTM_GETLINK` dump
//! ([`dump_links`], as OVS's netdev-linux learns them by netlink), or one
//! device from sysfs (`/sys/class/net/NAME/…`, [`iface_info`]).
//!
//! A dump costs a few system calls for the whole host (about 1 ms for 1,000
//! devices) where sysfs costs ~10 file reads per device. Link speed and the
//! driver of a physical NIC are not in the dump: [`link_speed`] and
//! [`device_driver`] read them per device, and callers cache them.

use std::collections::HashMap;
use std::fs;
use std::io;

use netlink_packet_route::link::{
    InfoKind, LinkAttribute, LinkExtentMask, LinkFlags, LinkInfo, LinkMessage, State,
};
use netlink_packet_route::RouteNetlinkMessage;

/// What the kernel says about one device.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IfaceInfo {
    /// MAC address, `xx:xx:xx:xx:xx:xx`.
    pub mac: String,
    /// MTU in bytes.
    pub mtu: i64,
    /// Kernel interface index.
    pub ifindex: i64,
    /// IFF_UP (administratively up).
    pub admin_up: bool,
    /// Carrier present and operationally up (or unknown state on a device
    /// that reports no carrier, such as an up tap).
    pub link_up: bool,
    /// Link speed in bit/s, when the driver reports one.
    pub link_speed: Option<i64>,
    /// Kernel driver name (from the device's `uevent`/`driver` link), if any.
    pub driver: Option<String>,
}

fn read(name: &str, attr: &str) -> Option<String> {
    fs::read_to_string(format!("/sys/class/net/{name}/{attr}"))
        .ok()
        .map(|s| s.trim().to_string())
}

/// Reads the device's facts; `None` if no device has that name.
pub fn iface_info(name: &str) -> Option<IfaceInfo> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return None;
    }
    let ifindex = read(name, "ifindex")?.parse().ok()?;
    let flags = read(name, "flags")
        .and_then(|f| i64::from_str_radix(f.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0);
    let admin_up = flags & libc::IFF_UP as i64 != 0;
    let operstate = read(name, "operstate").unwrap_or_default();
    let carrier = read(name, "carrier").map(|c| c == "1").unwrap_or(false);
    let link_up = admin_up && (operstate == "up" || (operstate == "unknown" && carrier));
    let link_speed = read(name, "speed")
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|s| *s > 0)
        .map(|mbps| mbps * 1_000_000);
    let driver = fs::read_link(format!("/sys/class/net/{name}/device/driver"))
        .ok()
        .and_then(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()))
        .or_else(|| {
            // Virtual devices have no driver link; their uevent names the kind.
            read(name, "uevent").and_then(|u| {
                u.lines()
                    .find_map(|l| l.strip_prefix("DEVTYPE=").map(String::from))
            })
        });
    Some(IfaceInfo {
        mac: read(name, "address").unwrap_or_default(),
        mtu: read(name, "mtu").and_then(|m| m.parse().ok()).unwrap_or(0),
        ifindex,
        admin_up,
        link_up,
        link_speed,
        driver,
    })
}

/// Link speed in bit/s from sysfs, when the device reports one (`None`
/// for a down device or a driver without speed).
pub fn link_speed(name: &str) -> Option<i64> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return None;
    }
    read(name, "speed")
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|s| *s > 0)
        .map(|mbps| mbps * 1_000_000)
}

/// The kernel driver bound to a physical device (`/sys/class/net/NAME/
/// device/driver`), if any.
pub fn device_driver(name: &str) -> Option<String> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return None;
    }
    fs::read_link(format!("/sys/class/net/{name}/device/driver"))
        .ok()
        .and_then(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()))
}

/// Every network device of the current namespace by name, from one
/// `RTM_GETLINK` dump (rtnetlink(7); statistics skipped). `link_speed` is
/// left `None`; `driver` is the link kind of a virtual device (`veth`,
/// `tun`, `bridge`…) and `None` for a physical one (see [`device_driver`]).
/// Errors: the netlink socket's (EPERM, ENOBUFS…) or a kernel error reply.
pub fn dump_links() -> io::Result<HashMap<String, IfaceInfo>> {
    get_links(None)
}

/// Device `name` as [`dump_links`] describes it, from one `RTM_GETLINK`
/// request; `Ok(None)` if no device has that name (ENODEV).
pub fn get_link(name: &str) -> io::Result<Option<IfaceInfo>> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return Ok(None);
    }
    match get_links(Some(name)) {
        Ok(mut links) => Ok(links.remove(name)),
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
        Err(e) => Err(e),
    }
}

/// One `RTM_GETLINK` request: the device named `name`, or all of them.
fn get_links(name: Option<&str>) -> io::Result<HashMap<String, IfaceInfo>> {
    let mut link = LinkMessage::default();
    link.attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    if let Some(name) = name {
        link.attributes
            .push(LinkAttribute::IfName(name.to_string()));
    }
    let replies = datapath::rtnl::query(RouteNetlinkMessage::GetLink(link), name.is_none())?;
    Ok(replies
        .iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewLink(link) => link_info(link),
            _ => None,
        })
        .collect())
}

/// One RTM_NEWLINK message as (name, facts).
fn link_info(link: &LinkMessage) -> Option<(String, IfaceInfo)> {
    let mut name = None;
    let mut info = IfaceInfo {
        ifindex: i64::from(link.header.index),
        admin_up: link.header.flags.contains(LinkFlags::Up),
        ..IfaceInfo::default()
    };
    let mut oper = State::Unknown;
    let mut carrier = false;
    for attr in &link.attributes {
        match attr {
            LinkAttribute::IfName(n) => name = Some(n.clone()),
            LinkAttribute::Address(a) => info.mac = format_mac(a),
            LinkAttribute::Mtu(m) => info.mtu = i64::from(*m),
            LinkAttribute::OperState(s) => oper = *s,
            LinkAttribute::Carrier(c) => carrier = *c != 0,
            LinkAttribute::LinkInfo(infos) => {
                info.driver = infos.iter().find_map(|i| match i {
                    LinkInfo::Kind(k) => Some(match k {
                        InfoKind::Other(s) => s.clone(),
                        k => k.to_string(),
                    }),
                    _ => None,
                })
            }
            _ => {}
        }
    }
    // As sysfs's operstate/carrier: "up", or "unknown" with carrier (an
    // up tap without a reader reports no operational state).
    info.link_up = info.admin_up && (oper == State::Up || (oper == State::Unknown && carrier));
    Some((name?, info))
}

fn format_mac(a: &[u8]) -> String {
    a.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dump_agrees_with_sysfs() {
        let links = dump_links().expect("RTM_GETLINK dump");
        let lo = &links["lo"];
        let mut want = iface_info("lo").unwrap();
        want.driver = None;
        want.link_speed = None;
        let mut got = lo.clone();
        got.driver = None;
        assert_eq!(got, want);
        // Every device sysfs knows is in the dump with the same facts.
        for entry in fs::read_dir("/sys/class/net").unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            let (Some(d), Some(s)) = (links.get(&name), iface_info(&name)) else {
                continue; // appeared or vanished in between
            };
            assert_eq!(
                (&d.mac, d.mtu, d.ifindex, d.admin_up, d.link_up),
                (&s.mac, s.mtu, s.ifindex, s.admin_up, s.link_up),
                "{name}"
            );
        }
    }

    #[test]
    fn loopback_is_described() {
        let lo = iface_info("lo").expect("every Linux host has lo");
        assert_eq!(lo.mac, "00:00:00:00:00:00");
        assert!(lo.mtu > 0);
        assert_eq!(lo.ifindex, 1);
    }

    #[test]
    fn one_device_by_name() {
        let lo = get_link("lo").unwrap().expect("lo exists");
        assert_eq!(lo.ifindex, 1);
        assert_eq!(get_link("no-such-dev0").unwrap(), None);
        assert_eq!(get_link("").unwrap(), None);
        // A veth is described with its kind as the driver.
        let (a, b) = ("nitestv0", "nitestv1");
        let _ = std::process::Command::new("ip")
            .args(["link", "del", a])
            .stderr(std::process::Stdio::null())
            .status();
        let made = std::process::Command::new("ip")
            .args(["link", "add", a, "type", "veth", "peer", "name", b])
            .status()
            .is_ok_and(|s| s.success());
        if made {
            let v = get_link(a).unwrap().expect("the veth exists");
            let _ = std::process::Command::new("ip")
                .args(["link", "del", a])
                .status();
            assert_eq!(v.driver.as_deref(), Some("veth"));
            assert!(!v.admin_up && !v.link_up);
            assert_eq!(v.mtu, 1500);
        }
    }

    #[test]
    fn missing_and_hostile_names_are_none() {
        assert!(iface_info("no-such-dev0").is_none());
        assert!(iface_info("../../etc").is_none());
        assert!(iface_info("").is_none());
    }
}
