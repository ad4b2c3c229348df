//! End-to-end test on a real kernel (needs root): two network namespaces,
//! each connected by a veth pair whose root-side end is an AF_PACKET port of
//! a `Datapath` that forwards port 1 ↔ port 2. Checks ping, a 3-second TCP
//! iperf3 run with the namespaces' default offloads (TSO/GSO on, so GSO
//! super-frames and partial checksums cross the switch), and 802.1Q-tagged
//! traffic (this kernel has no 8021q module, so tagged frames are sent from
//! an AF_PACKET socket inside one namespace and received by another inside
//! the other; the veths strip the tag into skb metadata on both hops).

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use datapath::{open_netdev, Datapath, DpAction, FlowStats, UpcallHandler, XlateCache, Xlated};
use packet::FlowKey;

struct Cross {
    vlan_seen: AtomicU64,
}

impl UpcallHandler for Cross {
    fn upcall(&self, key: &FlowKey, _packet: &[u8]) -> Xlated {
        self.revalidate(key, &FlowStats::default(), &XlateCache::default())
    }
    fn revalidate(&self, key: &FlowKey, _stats: &FlowStats, _xc: &XlateCache) -> Xlated {
        if key.vlan_tci == 0x1000 | 10 {
            self.vlan_seen.fetch_or(1 << key.in_port, Ordering::SeqCst);
        }
        let out = if key.in_port == 1 { 2 } else { 1 };
        let mask = FlowKey {
            in_port: u32::MAX,
            recirc_id: u32::MAX,
            vlan_tci: 0xffff,
            ..FlowKey::default()
        };
        Xlated {
            actions: vec![DpAction::Output(out)],
            mask,
            xcache: XlateCache::default(),
        }
    }
    fn generation(&self) -> u64 {
        0
    }
}

fn sh(args: &str) -> Output {
    let v: Vec<&str> = args.split_whitespace().collect();
    Command::new(v[0])
        .args(&v[1..])
        .output()
        .expect("run command")
}

fn ok(args: &str) {
    let o = sh(args);
    assert!(
        o.status.success(),
        "{args}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Runs `f` on a thread that has entered network namespace `ns`.
fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).expect("open netns");
        use std::os::fd::AsRawFd;
        // SAFETY: setns on a valid namespace fd; affects only this thread.
        assert_eq!(
            unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) },
            0,
            "setns"
        );
        f()
    })
    .join()
    .unwrap()
}

/// Sends `count` ICMP echo requests to `dst` from namespace `ns` (raw
/// socket; this machine has no `ping` binary) and returns how many replies
/// came back within 2 s each.
fn ping(ns: &str, dst: [u8; 4], count: u16) -> u16 {
    in_netns(ns, move || {
        // SAFETY: plain syscalls on a socket this closure owns and closes.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP);
            assert!(fd >= 0);
            let tv = libc::timeval {
                tv_sec: 2,
                tv_usec: 0,
            };
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                &tv as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::timeval>() as u32,
            );
            let mut sa: libc::sockaddr_in = std::mem::zeroed();
            sa.sin_family = libc::AF_INET as u16;
            sa.sin_addr.s_addr = u32::from_ne_bytes(dst);
            let mut got = 0;
            for seq in 0..count {
                let mut req = [0u8; 64];
                req[0] = 8;
                req[4..6].copy_from_slice(&0x4f58u16.to_be_bytes());
                req[6..8].copy_from_slice(&seq.to_be_bytes());
                let mut sum: u32 = req
                    .chunks(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]) as u32)
                    .sum();
                while sum >> 16 != 0 {
                    sum = (sum & 0xffff) + (sum >> 16);
                }
                req[2..4].copy_from_slice(&(!(sum as u16)).to_be_bytes());
                libc::sendto(
                    fd,
                    req.as_ptr() as *const libc::c_void,
                    req.len(),
                    0,
                    &sa as *const _ as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_in>() as u32,
                );
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
                while std::time::Instant::now() < deadline {
                    let mut buf = [0u8; 1500];
                    let n = libc::recv(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0);
                    if n < 0 {
                        break;
                    }
                    let ihl = (buf[0] & 0xf) as usize * 4;
                    let icmp = &buf[ihl..n as usize];
                    if icmp.len() >= 8
                        && icmp[0] == 0
                        && icmp[4..6] == [0x4f, 0x58]
                        && icmp[6..8] == seq.to_be_bytes()
                    {
                        got += 1;
                        break;
                    }
                }
            }
            libc::close(fd);
            got
        }
    })
}

struct Topo;

impl Topo {
    fn cleanup() {
        for c in [
            "ip netns del oxdpt-a",
            "ip netns del oxdpt-b",
            "ip link del oxdpt-a0",
            "ip link del oxdpt-b0",
        ] {
            let _ = sh(c);
        }
    }

    fn new() -> Topo {
        Self::cleanup();
        for (ns, n, ip) in [("oxdpt-a", "a", 1), ("oxdpt-b", "b", 2)] {
            ok(&format!("ip netns add {ns}"));
            ok(&format!(
                "ip link add oxdpt-{n}0 type veth peer name oxdpt-{n}1 netns {ns}"
            ));
            ok(&format!("ip link set oxdpt-{n}0 up"));
            ok(&format!("ip -n {ns} link set lo up"));
            ok(&format!(
                "ip -n {ns} addr add 10.77.0.{ip}/24 dev oxdpt-{n}1"
            ));
            ok(&format!("ip -n {ns} link set oxdpt-{n}1 up"));
        }
        Topo
    }
}

impl Drop for Topo {
    fn drop(&mut self) {
        Self::cleanup();
    }
}

#[test]
fn veth_ping_tcp_and_vlan_through_afpacket_ports() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || sh("which iperf3").stdout.is_empty() {
        eprintln!("skipped: needs root and iperf3");
        return;
    }
    let _topo = Topo::new();
    let h = Arc::new(Cross {
        vlan_seen: AtomicU64::new(0),
    });
    let dp = Datapath::new(h.clone());
    assert_eq!(
        dp.add_port(open_netdev("oxdpt-a0", "system").unwrap())
            .unwrap(),
        1
    );
    assert_eq!(
        dp.add_port(open_netdev("oxdpt-b0", "").unwrap()).unwrap(),
        2
    );

    assert_eq!(
        ping("oxdpt-a", [10, 77, 0, 2], 3),
        3,
        "ping through the datapath"
    );

    let mut server = Command::new("ip")
        .args([
            "netns", "exec", "oxdpt-b", "iperf3", "-s", "-1", "-p", "5299",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let o = sh("ip netns exec oxdpt-a iperf3 -c 10.77.0.2 -p 5299 -t 3 -J");
    let _ = server.kill();
    let _ = server.wait();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "iperf3 failed: {out} {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let rx_bytes = out
        .split("\"sum_received\"")
        .nth(1)
        .and_then(|s| s.split("\"bytes\":").nth(1))
        .and_then(|s| s.split([',', '\n']).next())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(0);
    assert!(rx_bytes > 1_000_000, "TCP moved only {rx_bytes} bytes");
    eprintln!("iperf3: {rx_bytes} bytes in 3 s");

    // VLAN: a tagged frame from ns a arrives in ns b with its tag.
    let mut f = vec![0xffu8; 6];
    f.extend_from_slice(&[2, 0, 0, 0, 0xaa, 1, 0x81, 0x00, 0x00, 10, 0x88, 0xb5]);
    f.extend_from_slice(b"oxvs-vlan-test");
    f.resize(64, 0);
    let want = f.clone();
    let rx = std::thread::spawn(|| {
        in_netns("oxdpt-b", move || {
            let dev = open_netdev("oxdpt-b1", "system").unwrap();
            let mut b = datapath::PacketBatch::new();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
            while std::time::Instant::now() < deadline {
                let _ = dev.recv_batch(&mut b);
                if let Some(p) = b
                    .packets()
                    .iter()
                    .find(|p| p.data().windows(14).any(|w| w == b"oxvs-vlan-test"))
                {
                    return Some(p.data().to_vec());
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            None
        })
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    in_netns("oxdpt-a", move || {
        let dev = open_netdev("oxdpt-a1", "system").unwrap();
        let p = datapath::DpPacket::from_frame(&f);
        for _ in 0..3 {
            assert_eq!(dev.send_batch(&[&p]).packets, 1);
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    });
    let got = rx.join().unwrap().expect("tagged frame not delivered");
    assert_eq!(got, want, "frame (with its 802.1Q tag) changed in transit");
    assert_eq!(
        h.vlan_seen.load(Ordering::SeqCst) & 0b10,
        0b10,
        "datapath did not see VLAN 10 on port 1"
    );

    let st = dp.port_stats(2).unwrap();
    assert!(st.tx_packets > 0 && st.rx_packets > 0);
    let show = dp.show(false);
    assert!(
        show.contains("  port 1: oxdpt-a0\n  port 2: oxdpt-b0\n"),
        "{show}"
    );
    let nodev = open_netdev("oxdpt-none", "system")
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        nodev,
        "could not open network device oxdpt-none (No such device)"
    );
}
