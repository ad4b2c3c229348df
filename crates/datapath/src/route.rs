//! The switch's own IP route table (OVS `lib/ovs-router.c`): where tunnel
//! traffic for an underlay address goes — output device, gateway, source
//! address — independent of the host kernel once read.
//!
//! Idea: entries are kept in IPv6 form (IPv4 as `::ffff:a.b.c.d/96+plen`,
//! as OVS) with OVS's priority: the prefix length, plus 64 for a *local*
//! route (an address of this host), so a lookup is "first entry in priority
//! order whose prefix contains the address" — longest-prefix match with
//! local addresses first. The table is seeded from the kernel's `main` and
//! `local` routing tables (unicast and local routes, read by rtnetlink
//! `RTM_GETROUTE`); a route without a preferred source gets the output
//! device's address on the same subnet as the gateway (or destination), as
//! OVS does. Users add and delete routes at run time (`ovs/route/add`,
//! `ovs/route/del`); re-reading the kernel keeps them.
//!
//! Texts (`ovs/route/show`, `ovs/route/lookup`, errors) are Open vSwitch
//! 3.1's.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::rtnl;

/// `RT_TABLE_LOCAL` (linux/rtnetlink.h).
const RT_TABLE_LOCAL: u32 = 255;

/// One route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// Destination prefix (IPv4 mapped into IPv6).
    pub prefix: Ipv6Addr,
    /// Prefix length in the IPv6 form (an IPv4 /24 is 120).
    pub plen: u8,
    /// Output device (OVS's "output bridge").
    pub dev: String,
    /// Gateway; `::` (unspecified) when the destination is on-link.
    pub gw: Ipv6Addr,
    /// Source address for packets sent along this route.
    pub src: Ipv6Addr,
    /// A route to an address of this host.
    pub local: bool,
    /// Added with `ovs/route/add` (shown as `User:`), else read from the
    /// kernel (`Cached:`).
    pub user: bool,
}

impl Route {
    /// OVS's priority: prefix length, +64 for local routes.
    pub fn priority(&self) -> u32 {
        u32::from(self.plen) + if self.local { 64 } else { 0 }
    }

    fn contains(&self, ip: &Ipv6Addr) -> bool {
        masked(ip, self.plen) == self.prefix
    }
}

/// An address of a device (from `RTM_GETADDR`).
#[derive(Clone, Debug)]
struct DevAddr {
    addr: Ipv6Addr,
    plen: u8,
}

/// The route table.
#[derive(Debug, Default)]
pub struct RouteTable {
    /// In priority order (highest first); equal priorities in insertion
    /// order.
    routes: Vec<Route>,
    /// Device addresses, for choosing a source address.
    addrs: HashMap<String, Vec<DevAddr>>,
}

/// `ip` in IPv6 form.
pub fn to_v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(a) => a.to_ipv6_mapped(),
        IpAddr::V6(a) => a,
    }
}

fn masked(ip: &Ipv6Addr, plen: u8) -> Ipv6Addr {
    let bits = u128::from(*ip);
    let mask = if plen == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(plen.min(128)))
    };
    Ipv6Addr::from(bits & mask)
}

/// OVS's text for an address: dotted quad for mapped IPv4.
fn fmt_addr(a: &Ipv6Addr) -> String {
    match a.to_ipv4_mapped() {
        Some(v4) => v4.to_string(),
        None => a.to_string(),
    }
}

/// Parses `IP/PLEN` (or a bare IP: full length) into IPv6 form; `None` if
/// malformed.
fn parse_prefix(s: &str) -> Option<(Ipv6Addr, u8)> {
    let (ip, plen) = match s.split_once('/') {
        Some((ip, p)) => (ip, Some(p.parse::<u8>().ok()?)),
        None => (s, None),
    };
    let ip: IpAddr = ip.parse().ok()?;
    let plen = match ip {
        IpAddr::V4(_) => 96 + plen.unwrap_or(32).min(33),
        IpAddr::V6(_) => plen.unwrap_or(128),
    };
    if plen > 128 {
        return None;
    }
    Some((masked(&to_v6(ip), plen), plen))
}

impl RouteTable {
    /// An empty table.
    pub fn new() -> RouteTable {
        RouteTable::default()
    }

    /// The kernel's routes and addresses. Errors: the netlink dumps'.
    pub fn from_kernel() -> io::Result<RouteTable> {
        let mut t = RouteTable::new();
        t.reload()?;
        Ok(t)
    }

    /// Re-reads the kernel's routes and addresses, keeping user routes.
    pub fn reload(&mut self) -> io::Result<()> {
        let names = link_names()?;
        let mut addrs: HashMap<String, Vec<DevAddr>> = HashMap::new();
        for m in rtnl::dump(RouteNetlinkMessage::GetAddress(AddressMessage::default()))? {
            let RouteNetlinkMessage::NewAddress(a) = m else {
                continue;
            };
            let Some(dev) = names.get(&a.header.index) else {
                continue;
            };
            let plen = a.header.prefix_len;
            // IFA_LOCAL is the local address on point-to-point links,
            // IFA_ADDRESS otherwise.
            let ip = a
                .attributes
                .iter()
                .find_map(|x| match x {
                    AddressAttribute::Local(ip) => Some(*ip),
                    _ => None,
                })
                .or_else(|| {
                    a.attributes.iter().find_map(|x| match x {
                        AddressAttribute::Address(ip) => Some(*ip),
                        _ => None,
                    })
                });
            let Some(ip) = ip else { continue };
            let plen = if ip.is_ipv4() { 96 + plen } else { plen };
            addrs.entry(dev.clone()).or_default().push(DevAddr {
                addr: to_v6(ip),
                plen,
            });
        }
        self.addrs = addrs;
        let user: Vec<Route> = self.routes.drain(..).filter(|r| r.user).collect();
        let mut msg = RouteMessage::default();
        msg.header.address_family = AddressFamily::Unspec;
        for m in rtnl::dump(RouteNetlinkMessage::GetRoute(msg))? {
            let RouteNetlinkMessage::NewRoute(r) = m else {
                continue;
            };
            if let Some(route) = self.kernel_route(&r, &names) {
                self.insert(route);
            }
        }
        for r in user {
            self.insert(r);
        }
        Ok(())
    }

    /// A kernel route as OVS caches it (`route_table.c`): unicast and local
    /// routes of the main and local tables, with an output device.
    fn kernel_route(&self, r: &RouteMessage, names: &HashMap<u32, String>) -> Option<Route> {
        let h = &r.header;
        let table = r
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::Table(t) => Some(*t),
                _ => None,
            })
            .unwrap_or(u32::from(h.table));
        if table != u32::from(RouteHeader::RT_TABLE_MAIN) && table != RT_TABLE_LOCAL {
            return None;
        }
        let local = match h.kind {
            RouteType::Unicast => false,
            RouteType::Local => true,
            _ => return None,
        };
        let addr = |x: &RouteAddress| match x {
            RouteAddress::Inet(a) => Some(a.to_ipv6_mapped()),
            RouteAddress::Inet6(a) => Some(*a),
            _ => None,
        };
        let mut dst = None;
        let mut gw = Ipv6Addr::UNSPECIFIED;
        let mut src = None;
        let mut dev = None;
        for a in &r.attributes {
            match a {
                RouteAttribute::Destination(x) => dst = addr(x),
                RouteAttribute::Gateway(x) => gw = addr(x).unwrap_or(gw),
                RouteAttribute::PrefSource(x) => src = addr(x),
                RouteAttribute::Oif(i) => dev = names.get(i).cloned(),
                _ => {}
            }
        }
        let v4 = h.address_family == AddressFamily::Inet;
        let plen = h.destination_prefix_length + if v4 { 96 } else { 0 };
        let prefix = dst.unwrap_or(if v4 {
            Ipv4Addr::UNSPECIFIED.to_ipv6_mapped()
        } else {
            Ipv6Addr::UNSPECIFIED
        });
        let dev = dev?;
        let prefix = masked(&prefix, plen);
        let src = match src {
            Some(s) => s,
            None => self.source_for(&dev, if gw.is_unspecified() { &prefix } else { &gw })?,
        };
        Some(Route {
            prefix,
            plen,
            dev,
            gw,
            src,
            local,
            user: false,
        })
    }

    /// The address of `dev` on the same subnet as `toward` (OVS
    /// `get_src_addr`).
    fn source_for(&self, dev: &str, toward: &Ipv6Addr) -> Option<Ipv6Addr> {
        self.addrs
            .get(dev)?
            .iter()
            .find(|a| masked(toward, a.plen) == masked(&a.addr, a.plen))
            .map(|a| a.addr)
    }

    /// Inserts `r` after every route of higher or equal priority, replacing
    /// a route with the same prefix, length and locality.
    fn insert(&mut self, r: Route) {
        self.routes
            .retain(|x| !(x.prefix == r.prefix && x.plen == r.plen && x.local == r.local));
        let at = self
            .routes
            .iter()
            .position(|x| x.priority() < r.priority())
            .unwrap_or(self.routes.len());
        self.routes.insert(at, r);
    }

    /// The route for `dst` (longest prefix, local first).
    pub fn lookup(&self, dst: IpAddr) -> Option<&Route> {
        let ip = to_v6(dst);
        self.routes.iter().find(|r| r.contains(&ip))
    }

    /// Every route, in lookup order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// `ovs/route/show`: OVS's lines, in lookup order (OVS prints the same
    /// lines in its classifier's internal order).
    pub fn show(&self) -> String {
        let mut out = String::from("Route Table:\n");
        for r in &self.routes {
            let plen = if r.prefix.to_ipv4_mapped().is_some() && r.plen >= 96 {
                r.plen - 96
            } else {
                r.plen
            };
            out.push_str(if r.user { "User: " } else { "Cached: " });
            out.push_str(&format!("{}/{plen} dev {}", fmt_addr(&r.prefix), r.dev));
            if !r.gw.is_unspecified() {
                out.push_str(&format!(" GW {}", fmt_addr(&r.gw)));
            }
            if !r.src.is_unspecified() {
                out.push_str(&format!(" SRC {}", fmt_addr(&r.src)));
            }
            if r.local {
                out.push_str(" local");
            }
            out.push('\n');
        }
        out
    }

    /// `ovs/route/lookup IP`. Errors (OVS's texts): `Invalid parameters`,
    /// `Not found`.
    pub fn lookup_text(&self, arg: &str) -> Result<String, String> {
        let ip: IpAddr = arg.parse().map_err(|_| "Invalid parameters".to_string())?;
        let r = self.lookup(ip).ok_or_else(|| "Not found".to_string())?;
        Ok(format!(
            "src {}\ngateway {}\ndev {}\n",
            fmt_addr(&r.src),
            fmt_addr(&r.gw),
            r.dev
        ))
    }

    /// `ovs/route/add IP/PLEN DEV [GW]`: a user route. Errors (OVS's
    /// texts): `Invalid parameters`; `Error while inserting route.` when
    /// `DEV` has no address toward the gateway (or destination).
    pub fn add_user(&mut self, args: &[String]) -> Result<String, String> {
        let bad = || "Invalid parameters".to_string();
        let (prefix, plen) = args.first().and_then(|a| parse_prefix(a)).ok_or_else(bad)?;
        let dev = args.get(1).ok_or_else(bad)?.clone();
        let gw = match args.get(2) {
            Some(g) => {
                let g: IpAddr = g.parse().map_err(|_| bad())?;
                if g.is_ipv4() != prefix.to_ipv4_mapped().is_some() {
                    return Err(bad());
                }
                to_v6(g)
            }
            None => Ipv6Addr::UNSPECIFIED,
        };
        let toward = if gw.is_unspecified() { prefix } else { gw };
        let src = self
            .source_for(&dev, &toward)
            .ok_or_else(|| "Error while inserting route.".to_string())?;
        self.insert(Route {
            prefix,
            plen,
            dev,
            gw,
            src,
            local: false,
            user: true,
        });
        Ok("OK\n".into())
    }

    /// `ovs/route/del IP/PLEN`. Errors: `Invalid parameters`, `Not found`.
    pub fn del(&mut self, args: &[String]) -> Result<String, String> {
        let (prefix, plen) = args
            .first()
            .and_then(|a| parse_prefix(a))
            .ok_or_else(|| "Invalid parameters".to_string())?;
        let at = self
            .routes
            .iter()
            .position(|r| r.prefix == prefix && r.plen == plen && !r.local)
            .ok_or_else(|| "Not found".to_string())?;
        self.routes.remove(at);
        Ok("OK\n".into())
    }
}

/// Interface index → name, from an `RTM_GETLINK` dump.
fn link_names() -> io::Result<HashMap<u32, String>> {
    use netlink_packet_route::link::{LinkAttribute, LinkMessage};
    let mut names = HashMap::new();
    for m in rtnl::dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))? {
        if let RouteNetlinkMessage::NewLink(l) = m {
            if let Some(n) = l.attributes.iter().find_map(|a| match a {
                LinkAttribute::IfName(n) => Some(n.clone()),
                _ => None,
            }) {
                names.insert(l.header.index, n);
            }
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RouteTable {
        let mut t = RouteTable::new();
        t.addrs.insert(
            "eth0".into(),
            vec![DevAddr {
                addr: to_v6("192.0.2.2".parse().unwrap()),
                plen: 120,
            }],
        );
        let r = |p: &str, dev: &str, gw: &str, local: bool| {
            let (prefix, plen) = parse_prefix(p).unwrap();
            Route {
                prefix,
                plen,
                dev: dev.into(),
                gw: if gw.is_empty() {
                    Ipv6Addr::UNSPECIFIED
                } else {
                    to_v6(gw.parse().unwrap())
                },
                src: to_v6("192.0.2.2".parse().unwrap()),
                local,
                user: false,
            }
        };
        t.insert(r("0.0.0.0/0", "eth0", "192.0.2.1", false));
        t.insert(r("192.0.2.0/24", "eth0", "", false));
        t.insert(r("192.0.2.2/32", "eth0", "", true));
        t
    }

    #[test]
    fn longest_prefix_then_local_first() {
        let t = table();
        assert_eq!(t.lookup("192.0.2.9".parse().unwrap()).unwrap().plen, 120);
        assert!(t.lookup("192.0.2.2".parse().unwrap()).unwrap().local);
        let d = t.lookup("8.8.8.8".parse().unwrap()).unwrap();
        assert_eq!(fmt_addr(&d.gw), "192.0.2.1");
        assert!(t.lookup("2001:db8::1".parse().unwrap()).is_none());
        assert_eq!(
            t.show(),
            "Route Table:\n\
             Cached: 192.0.2.2/32 dev eth0 SRC 192.0.2.2 local\n\
             Cached: 192.0.2.0/24 dev eth0 SRC 192.0.2.2\n\
             Cached: 0.0.0.0/0 dev eth0 GW 192.0.2.1 SRC 192.0.2.2\n"
        );
    }

    #[test]
    fn user_routes_need_a_source_and_can_be_deleted() {
        let mut t = table();
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            t.add_user(&a(&["10.9.0.0/16", "eth0", "192.0.2.7"]))
                .unwrap(),
            "OK\n"
        );
        assert_eq!(
            t.lookup_text("10.9.1.1").unwrap(),
            "src 192.0.2.2\ngateway 192.0.2.7\ndev eth0\n"
        );
        assert!(t
            .show()
            .contains("User: 10.9.0.0/16 dev eth0 GW 192.0.2.7 SRC 192.0.2.2\n"));
        assert_eq!(
            t.add_user(&a(&["10.8.0.0/16", "nosuchdev"])).unwrap_err(),
            "Error while inserting route."
        );
        assert_eq!(
            t.add_user(&a(&["10.8.0.0/99", "eth0"])).unwrap_err(),
            "Invalid parameters"
        );
        assert_eq!(
            t.add_user(&a(&["10.8.0.0/16"])).unwrap_err(),
            "Invalid parameters"
        );
        assert_eq!(t.del(&a(&["10.9.0.0/16"])).unwrap(), "OK\n");
        assert_eq!(t.del(&a(&["10.9.0.0/16"])).unwrap_err(), "Not found");
        assert_eq!(t.lookup_text("bogus").unwrap_err(), "Invalid parameters");
    }

    #[test]
    fn the_kernel_table_has_loopback() {
        let t = RouteTable::from_kernel().expect("route dump");
        let lo = t
            .lookup("127.0.0.1".parse().unwrap())
            .expect("127.0.0.1 routes");
        assert_eq!(lo.dev, "lo");
        assert!(lo.local);
        assert!(t.show().starts_with("Route Table:\nCached: "));
    }
}
