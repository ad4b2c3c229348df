//! rtnetlink requests made of the kernel (rtnetlink(7)): dumps and single
//! queries ([`dump`], [`query`]) and batched device deletion.
//!
//! Idea: unregistering a network device waits for RCU grace periods
//! (~20 ms here), so deleting 1,000 tap devices one by one (closing their
//! file descriptors, or one `RTM_DELLINK` each) takes ~20 s. The kernel
//! deletes all the devices of one *group* in a single batch with one wait
//! (`ip link del group N`): [`delete_links`] moves the doomed devices into
//! a group of their own, then deletes that group.

use std::io;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

/// A NETLINK_ROUTE socket that sends one request at a time and waits for
/// its acknowledgement.
struct Rtnl {
    socket: Socket,
    seq: u32,
    rx: Vec<u8>,
}

impl Rtnl {
    fn open() -> io::Result<Rtnl> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        Ok(Rtnl {
            socket,
            seq: 0,
            rx: vec![0; 8192],
        })
    }

    /// Sends `msg` with NLM_F_ACK and returns the kernel's verdict.
    fn request(&mut self, msg: RouteNetlinkMessage) -> io::Result<()> {
        self.seq = self.seq.wrapping_add(1);
        let mut req = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(msg));
        req.header.flags = NLM_F_REQUEST | NLM_F_ACK;
        req.header.sequence_number = self.seq;
        req.finalize();
        let mut buf = vec![0; req.buffer_len()];
        req.serialize(&mut buf);
        self.socket.send(&buf, 0)?;
        loop {
            let n = self.socket.recv(&mut &mut self.rx[..], 0)?;
            let mut off = 0;
            while off < n {
                let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&self.rx[off..n])
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                let len = msg.header.length as usize;
                if let NetlinkPayload::Error(e) = msg.payload {
                    if msg.header.sequence_number == self.seq {
                        return match e.code {
                            None => Ok(()),
                            Some(c) => Err(io::Error::from_raw_os_error(-c.get())),
                        };
                    }
                }
                if len == 0 {
                    break;
                }
                off += len;
            }
        }
    }
}

/// Every message of an `NLM_F_DUMP` request for `msg` (RTM_GETROUTE,
/// RTM_GETADDR, RTM_GETLINK…). Errors: the socket's, a kernel error reply,
/// or a message that does not decode.
pub fn dump(msg: RouteNetlinkMessage) -> io::Result<Vec<RouteNetlinkMessage>> {
    query(msg, true)
}

/// The answer to request `msg`: every message of a dump (`dump`), else the
/// kernel's one reply message. Errors as [`dump`] (ENODEV for a device
/// asked for by a name that does not exist…).
pub fn query(msg: RouteNetlinkMessage, dump: bool) -> io::Result<Vec<RouteNetlinkMessage>> {
    let mut rtnl = Rtnl::open()?;
    rtnl.seq = rtnl.seq.wrapping_add(1);
    let mut req = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(msg));
    req.header.flags = if dump {
        NLM_F_REQUEST | NLM_F_DUMP
    } else {
        NLM_F_REQUEST
    };
    req.header.sequence_number = rtnl.seq;
    req.finalize();
    let mut buf = vec![0; req.buffer_len()];
    req.serialize(&mut buf);
    rtnl.socket.send(&buf, 0)?;
    let mut out = Vec::new();
    let mut rx = vec![0u8; 1 << 16];
    loop {
        let n = rtnl.socket.recv(&mut &mut rx[..], 0)?;
        let mut off = 0;
        while off < n {
            let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&rx[off..n])
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            let len = msg.header.length as usize;
            match msg.payload {
                NetlinkPayload::Done(_) => return Ok(out),
                NetlinkPayload::Error(e) => {
                    return Err(e
                        .code
                        .map(|c| io::Error::from_raw_os_error(-c.get()))
                        .unwrap_or_else(|| io::Error::other("netlink error")))
                }
                NetlinkPayload::InnerMessage(m) => {
                    out.push(m);
                    if !dump {
                        return Ok(out);
                    }
                }
                _ => {}
            }
            if len == 0 {
                break;
            }
            off += len;
        }
    }
}

/// Deletes the network devices `names` (those that exist) in one kernel
/// batch. Errors: the netlink socket's, or the kernel's for the group
/// deletion; a device that cannot be moved into the group (gone already)
/// is skipped.
pub fn delete_links(names: &[&str]) -> io::Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    let mut rtnl = Rtnl::open()?;
    // A group number nobody else uses: high bits "ox", low bits from the
    // process and the clock.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let group = 0x6f78_0000 | ((std::process::id() ^ nanos) & 0xffff);
    let mut moved = 0;
    for name in names {
        let mut link = LinkMessage::default();
        link.attributes
            .push(LinkAttribute::IfName((*name).to_string()));
        link.attributes.push(LinkAttribute::Group(group));
        match rtnl.request(RouteNetlinkMessage::SetLink(link)) {
            Ok(()) => moved += 1,
            Err(e) => tracing::debug!("{name}: cannot move into group {group:#x}: {e}"),
        }
    }
    if moved == 0 {
        return Ok(());
    }
    let mut link = LinkMessage::default();
    link.attributes.push(LinkAttribute::Group(group));
    rtnl.request(RouteNetlinkMessage::DelLink(link))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn exists(name: &str) -> bool {
        std::path::Path::new(&format!("/sys/class/net/{name}")).exists()
    }

    #[test]
    fn deletes_the_named_devices_and_nothing_else() {
        let names = ["rtnlt0", "rtnlt1", "rtnlt2"];
        let keep = "rtnlt3";
        for n in names.iter().chain([&keep]) {
            let _ = Command::new("ip").args(["link", "del", n]).output();
            let ok = Command::new("ip")
                .args(["tuntap", "add", n, "mode", "tap"])
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                return; // not root: nothing to test here
            }
        }
        delete_links(&[names[0], names[1], names[2], "rtnl-no-such"]).unwrap();
        let left: Vec<_> = names.iter().filter(|n| exists(n)).collect();
        let kept = exists(keep);
        let _ = Command::new("ip").args(["link", "del", keep]).output();
        assert!(left.is_empty(), "not deleted: {left:?}");
        assert!(kept, "an unnamed device was deleted");
    }
}
