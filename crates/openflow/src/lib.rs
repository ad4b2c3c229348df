//! OpenFlow: the match/action model, the wire codec (OpenFlow 1.0, 1.3, 1.4,
//! 1.5 with the Nicira/ONF extensions ovs-ofctl uses) and the `ovs-ofctl`
//! text syntax. No I/O.
//!
//! Map: [`flow::Flow`] (what rules match on) · [`mf`] (the field table:
//! names, widths, NXM/OXM codes, prerequisites) · [`matching::Match`]
//! (value + mask) · [`actions::OfpAct`] (actions and instructions in one
//! list) · [`msg`] (typed messages) · [`error::OfpError`] (OFPT_ERROR
//! codes per version) · [`port`] (port numbers) · [`codec`] (wire format:
//! `decode`/`encode`, version negotiation) · `text` (ovs-ofctl syntax).

pub mod actions;
pub mod codec;
pub mod error;
pub mod flow;
pub mod matching;
pub mod mf;
pub mod msg;
pub mod port;
pub mod text;

pub use actions::OfpAct;
pub use codec::{decode, decode_with, encode, encode_into, negotiate, CodecOptions};
pub use error::OfpError;
pub use flow::Flow;
pub use matching::Match;
pub use mf::{Field, Subfield};
pub use msg::{FlowMod, FlowModCommand, OfpHeader, OfpMessage};
pub use port::{OfpPort, OFPP13_LOCAL, OFPP_LOCAL, OFPP_MAX};
