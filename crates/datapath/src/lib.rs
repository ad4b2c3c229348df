//! The userspace datapath: netdev providers, packet batches, the exact-match
//! and megaflow caches, the action executor and the upcall interface.
//!
//! The datapath knows nothing of OpenFlow. It sees flow keys, masks and
//! datapath actions ([`DpAction`]); a packet that misses both caches is handed
//! to an [`UpcallHandler`] (implemented by `ofproto`), whose answer becomes a
//! megaflow.
//!
//! Modules: [`netdev`] (provider trait, [`DpPacket`], [`PacketBatch`]), the
//! providers [`afpacket`], [`tap`], [`dummy`]; [`cache`] (EMC and megaflow
//! cache); [`execute`] (header rewrites of the `set` actions); [`upcall`]
//! (actions, the slow-path interface); [`dpif`] (the `ovs-netdev` datapath
//! and its forwarding threads).

pub mod afpacket;
pub mod cache;
pub mod dpif;
pub mod dummy;
pub mod execute;
pub mod netdev;
pub mod route;
pub mod rtnl;
pub mod sys;
pub mod tap;
pub mod upcall;

pub use dpif::{Datapath, DpStats, PortStats};
pub use netdev::{open_netdev, DpPacket, Netdev, OffloadMeta, PacketBatch};
pub use upcall::{
    ControllerUserdata, DpAction, EthKey, FlowStats, Ipv4Key, Ipv6Key, L4Proto, PortsKey,
    UpcallHandler, XlateCache, Xlated,
};

/// Errors of the datapath crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A netdev could not be opened; text as OVS's `netdev_open` failures
    /// (`could not open network device NAME (strerror)`).
    #[error("could not open network device {name} ({reason})")]
    Open {
        /// Device name.
        name: String,
        /// errno value.
        errno: i32,
        /// `strerror(errno)`.
        reason: String,
    },
    /// No port with this datapath port number.
    #[error("no such datapath port {0}")]
    NoSuchPort(u32),
    /// A port with this device name is already in the datapath.
    #[error("{0}: device already in datapath")]
    Exists(String),
    /// A frame to execute is empty or longer than [`netdev::MAX_FRAME`]
    /// bytes (the length is given).
    #[error("cannot execute a frame of {0} bytes")]
    FrameLength(usize),
    /// Any other system error.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// An [`Error::Open`] for device `name` and errno `errno`.
    pub fn open(name: &str, errno: i32) -> Error {
        Error::Open {
            name: name.to_string(),
            errno,
            reason: sys::strerror(errno),
        }
    }

    /// An [`Error::Open`] from an `io::Error` (errno EIO if it has none).
    pub fn open_io(name: &str, e: &std::io::Error) -> Error {
        Error::open(name, e.raw_os_error().unwrap_or(libc::EIO))
    }
}
