//! Kernel facts about a network device, read from sysfs
//! (`/sys/class/net/NAME/…`), for the Interface row's status columns.

use std::fs;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_described() {
        let lo = iface_info("lo").expect("every Linux host has lo");
        assert_eq!(lo.mac, "00:00:00:00:00:00");
        assert!(lo.mtu > 0);
        assert_eq!(lo.ifindex, 1);
    }

    #[test]
    fn missing_and_hostile_names_are_none() {
        assert!(iface_info("no-such-dev0").is_none());
        assert!(iface_info("../../etc").is_none());
        assert!(iface_info("").is_none());
    }
}
