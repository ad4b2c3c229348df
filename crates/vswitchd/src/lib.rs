//! The bridge reconciler: OVSDB rows to ofproto and datapath, status back to
//! OVSDB; and the daemon's plumbing (paths, pid file, control socket).

pub mod bridge;
pub mod controllers;
pub mod daemon;
pub mod manager;
pub mod netinfo;
pub mod paths;
pub mod pidfile;
pub mod unixctl;
