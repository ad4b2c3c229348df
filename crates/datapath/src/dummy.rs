//! `dummy`: an in-memory netdev for tests and benchmarks of the whole fast
//! path without a kernel (as OVS's `netdev-dummy`).
//!
//! Idea: the test side holds a [`DummyPeer`]; frames it injects appear on the
//! device's rx queue (an eventfd makes the device readable for epoll), and
//! frames the datapath sends are recorded for the peer to read, or only
//! counted. In `repeat` mode the device's rx never runs dry: every receive
//! returns a full batch copied from a fixed set of template frames (the
//! benchmark's packet generator).

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{unbounded, Receiver, Sender};

use crate::netdev::{DpPacket, Netdev, OffloadMeta, PacketBatch, TxResult, BATCH_SIZE};
use crate::sys::EventFd;

/// Options of a dummy device.
#[derive(Clone, Debug)]
pub struct DummyOptions {
    /// Whether the device accepts offload metadata on transmit.
    pub vnet_hdr: bool,
    /// MTU reported and enforced on transmit for non-GSO frames (L3 bytes).
    pub mtu: u32,
    /// Record transmitted frames for [`DummyPeer::recv_sent`] (else count only).
    pub record_tx: bool,
    /// If non-empty, rx endlessly returns these frames, round robin.
    pub repeat: Vec<Vec<u8>>,
}

impl Default for DummyOptions {
    fn default() -> Self {
        DummyOptions {
            vnet_hdr: false,
            mtu: 1500,
            record_tx: true,
            repeat: Vec::new(),
        }
    }
}

type Frame = (Vec<u8>, OffloadMeta);

/// The device half, handed to the datapath.
pub struct DummyNetdev {
    name: String,
    opts: DummyOptions,
    rx: Receiver<Frame>,
    tx: Option<Sender<Frame>>,
    wake: Arc<EventFd>,
    tx_count: Arc<AtomicU64>,
    cursor: AtomicUsize,
}

/// The test half: inject frames, read what the device sent.
pub struct DummyPeer {
    inject: Sender<Frame>,
    sent: Receiver<Frame>,
    wake: Arc<EventFd>,
    tx_count: Arc<AtomicU64>,
}

impl DummyNetdev {
    /// A dummy device with default options (no vnet header, MTU 1500,
    /// transmitted frames recorded) and its peer.
    pub fn new(name: &str) -> (DummyNetdev, DummyPeer) {
        Self::with_options(name, DummyOptions::default())
    }

    /// A dummy device with `opts`, and its peer.
    ///
    /// # Panics
    /// If no eventfd can be created (out of file descriptors).
    pub fn with_options(name: &str, opts: DummyOptions) -> (DummyNetdev, DummyPeer) {
        let (itx, irx) = unbounded();
        let (stx, srx) = unbounded();
        let wake = Arc::new(EventFd::new().expect("eventfd"));
        if !opts.repeat.is_empty() {
            wake.notify(); // always readable
        }
        let tx_count = Arc::new(AtomicU64::new(0));
        let dev = DummyNetdev {
            name: name.to_string(),
            tx: opts.record_tx.then_some(stx),
            opts,
            rx: irx,
            wake: wake.clone(),
            tx_count: tx_count.clone(),
            cursor: AtomicUsize::new(0),
        };
        (
            dev,
            DummyPeer {
                inject: itx,
                sent: srx,
                wake,
                tx_count,
            },
        )
    }
}

impl DummyPeer {
    /// Queues `frame` for the device's rx, with offload metadata `offload`.
    pub fn inject_with(&self, frame: &[u8], offload: OffloadMeta) {
        let _ = self.inject.send((frame.to_vec(), offload));
        self.wake.notify();
    }

    /// Queues a plain `frame` for the device's rx.
    pub fn inject(&self, frame: &[u8]) {
        self.inject_with(frame, OffloadMeta::default());
    }

    /// The next frame the device transmitted, waiting up to `timeout`.
    pub fn recv_sent(&self, timeout: Duration) -> Option<(Vec<u8>, OffloadMeta)> {
        self.sent.recv_timeout(timeout).ok()
    }

    /// Every frame transmitted so far and not yet read.
    pub fn drain_sent(&self) -> Vec<(Vec<u8>, OffloadMeta)> {
        self.sent.try_iter().collect()
    }

    /// Frames transmitted since creation (recorded or not).
    pub fn tx_count(&self) -> u64 {
        self.tx_count.load(Ordering::Relaxed)
    }
}

impl Netdev for DummyNetdev {
    fn name(&self) -> &str {
        &self.name
    }

    fn type_(&self) -> &str {
        "dummy"
    }

    fn rx_fd(&self) -> RawFd {
        self.wake.raw()
    }

    fn recv_batch(&self, batch: &mut PacketBatch) -> io::Result<usize> {
        batch.clear();
        if !self.opts.repeat.is_empty() {
            let n = self.opts.repeat.len();
            let mut c = self.cursor.load(Ordering::Relaxed);
            for _ in 0..BATCH_SIZE {
                batch.push_frame(&self.opts.repeat[c % n], OffloadMeta::default());
                c = c.wrapping_add(1);
            }
            self.cursor.store(c, Ordering::Relaxed);
            return Ok(batch.len());
        }
        // Clear the doorbell before draining so that a concurrent inject
        // (push, then notify) is never lost.
        self.wake.drain();
        while batch.len() < BATCH_SIZE {
            match self.rx.try_recv() {
                Ok((f, o)) => {
                    batch.push_frame(&f, o);
                }
                Err(_) => break,
            }
        }
        if !self.rx.is_empty() {
            self.wake.notify();
        }
        Ok(batch.len())
    }

    fn send_batch(&self, pkts: &[&DpPacket]) -> TxResult {
        let mut r = TxResult::default();
        for p in pkts {
            let too_big = p.len() > self.opts.mtu as usize + 18;
            if (!self.opts.vnet_hdr || !p.offload.is_gso()) && too_big {
                r.dropped += 1;
                continue;
            }
            r.packets += 1;
            r.bytes += p.len() as u64;
            if let Some(tx) = &self.tx {
                let off = if self.opts.vnet_hdr {
                    p.offload
                } else {
                    OffloadMeta::default()
                };
                let _ = tx.send((p.data().to_vec(), off));
            }
        }
        self.tx_count.fetch_add(r.packets, Ordering::Relaxed);
        r
    }

    fn accepts_vnet_hdr(&self) -> bool {
        self.opts.vnet_hdr
    }

    fn mtu(&self) -> io::Result<u32> {
        Ok(self.opts.mtu)
    }

    fn mac(&self) -> io::Result<[u8; 6]> {
        Ok([0xaa, 0x55, 0xaa, 0x55, 0x00, 0x01])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inject_and_receive() {
        let (dev, peer) = DummyNetdev::new("d0");
        let mut b = PacketBatch::new();
        assert_eq!(dev.recv_batch(&mut b).unwrap(), 0);
        for i in 0..40u8 {
            peer.inject(&[i; 60]);
        }
        assert_eq!(dev.recv_batch(&mut b).unwrap(), 32);
        assert_eq!(b.packets()[31].data(), &[31u8; 60][..]);
        assert_eq!(dev.recv_batch(&mut b).unwrap(), 8);
        let p = DpPacket::from_frame(&[9; 64]);
        let big = DpPacket::from_frame(&[9; 1600]);
        let r = dev.send_batch(&[&p, &big]);
        assert_eq!((r.packets, r.dropped), (1, 1));
        assert_eq!(
            peer.recv_sent(Duration::from_secs(1)).unwrap().0,
            vec![9u8; 64]
        );
    }
}
