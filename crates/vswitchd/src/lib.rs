//! The bridge reconciler: OVSDB rows to ofproto and datapath, status back to OVSDB.
