//! OpenFlow flow tables of one bridge and the flow_mod semantics (Open
//! vSwitch `ofproto/ofproto.c`: `add_flow`, `modify_flows*`,
//! `delete_flows*`, `ofproto_rule_expire`; OpenFlow 1.3.5 §6.4).
//!
//! Idea: a bridge has [`N_TABLES`] tables (0–254; 254 is hidden and
//! read-only as in OVS, so 254 are reported). Each is a
//! `classifier::Classifier` over the words of an [`openflow::Flow`], created
//! on first use, whose payload is a [`RuleData`]: everything of a rule but
//! its match and priority, which the classifier stores (compactly). Counters
//! are atomics so translation credits them under a *read* lock; a rule's
//! counters ([`RuleStats`]) and each table's ([`TableCounters`]) are behind an
//! `Arc` so that a megaflow's translation cache can credit the rules it hit
//! even after they were modified or deleted (OVS's `xlate_cache`); everything
//! else changes under the bridge's write lock (`RwLock<OfTables>`), held only
//! for the few classifier operations of one flow_mod.
//!
//! Invariants: table 0 of a new bridge holds `priority=0 actions=NORMAL`;
//! `timed` lists exactly the rules with a nonzero idle or hard timeout;
//! rule actions passed [`check_ofpacts`] for the rule's match and table.
//!
//! Performance: an add is one classifier insert (O(words) + hash upkeep) and
//! one `Arc<[OfpAct]>` allocation; strict modify/delete one hash probe; loose
//! ones visit the subtables whose mask covers the request (all of them for a
//! catch-all). Expiry scans only `timed` rules. Nothing here is O(rules) per
//! flow_mod except loose commands, which are O(matched subtables) by nature.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use classifier::{Classifier, RuleId, TrieField};
use openflow::actions::{check_instruction_order, outputs_to, outputs_to_group};
use openflow::flow::{Flow, FLOW_U64S};
use openflow::mf::{Field, Prereq};
use openflow::msg::{
    AggregateStats, FlowMod, FlowModCommand, FlowRemoved, FlowStats, FlowStatsRequest, TableStats,
    OFPFF_CHECK_OVERLAP, OFPFF_NO_BYT_COUNTS, OFPFF_NO_PKT_COUNTS, OFPFF_RESET_COUNTS,
    OFPFF_SEND_FLOW_REM, OFPG_ANY, OFPTT_ALL,
};
use openflow::port::{OFPP_IN_PORT, OFPP_MAX, OFPP_NONE};
use openflow::{Match, OfpAct, OfpError};

/// Tables per bridge, 0–254 (OVS `N_TABLES`, 255).
pub const N_TABLES: usize = 255;
/// The hidden, read-only table (OVS `TBL_INTERNAL`); flow_mods to it fail
/// with `OFPBRC_EPERM`.
pub const TABLE_HIDDEN: u8 = 254;
/// Tables reported to controllers (`n_tables` in FEATURES_REPLY): 254.
pub const N_TABLES_REPORTED: u8 = 254;
/// `max_entries` reported in table stats (OVS reports 1,000,000).
pub const TABLE_MAX_ENTRIES: u32 = 1_000_000;

/// OFPRR_IDLE_TIMEOUT.
pub const OFPRR_IDLE_TIMEOUT: u8 = 0;
/// OFPRR_HARD_TIMEOUT.
pub const OFPRR_HARD_TIMEOUT: u8 = 1;
/// OFPRR_DELETE.
pub const OFPRR_DELETE: u8 = 2;

const NS: u64 = 1_000_000_000;

/// Everything of a rule except its match and priority (kept by the classifier).
#[derive(Debug)]
pub struct RuleData {
    /// Opaque controller-issued id.
    pub cookie: u64,
    /// Actions and instructions (shared with in-flight translations).
    pub ofpacts: Arc<[OfpAct]>,
    /// OFPFF_* flags.
    pub flags: u16,
    /// Idle timeout, seconds (0 = none).
    pub idle_timeout: u16,
    /// Hard timeout, seconds (0 = none), counted from `modified`.
    pub hard_timeout: u16,
    /// OF1.4 importance.
    pub importance: u16,
    /// Creation time, clock nanoseconds (kept by modify, reset by add).
    pub created: u64,
    /// Last add/modify, clock nanoseconds.
    pub modified: u64,
    /// Hit counters, shared with the translation caches of the megaflows
    /// that went through the rule (fast-path hits arrive through
    /// revalidation). Kept by modify and by an add that replaces the rule,
    /// unless OFPFF_RESET_COUNTS, which gives the rule fresh ones (so hits
    /// still pending in megaflows are not counted, as OVS).
    pub stats: Arc<RuleStats>,
    /// Insertion sequence number (dump order among equal priorities).
    pub seq: u64,
}

/// The hit counters of one rule (OpenFlow flow stats `packet_count`,
/// `byte_count`; OVS `rule_dpif`'s `stats` and `used`).
#[derive(Debug, Default)]
pub struct RuleStats {
    /// Packets counted.
    pub packets: AtomicU64,
    /// Bytes counted (Ethernet frames as received).
    pub bytes: AtomicU64,
    /// Last hit, clock nanoseconds (the rule's creation until hit).
    pub used: AtomicU64,
}

impl RuleStats {
    /// Counters at zero, last used at `now` (ns).
    pub fn new(now: u64) -> Arc<RuleStats> {
        Arc::new(RuleStats {
            used: AtomicU64::new(now),
            ..RuleStats::default()
        })
    }

    /// Adds `packets`/`bytes` hits at time `now` (ns).
    pub fn credit(&self, packets: u64, bytes: u64, now: u64) {
        if packets == 0 {
            return;
        }
        self.packets.fetch_add(packets, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.used.fetch_max(now, Ordering::Relaxed);
    }
}

impl RuleData {
    /// Adds `packets`/`bytes` hits at time `now` (ns) to the rule's counters.
    pub fn credit(&self, packets: u64, bytes: u64, now: u64) {
        self.stats.credit(packets, bytes, now);
    }
}

/// A flow_removed message with the counters of the rule it is about (so
/// that hits still pending in megaflows can be added once pushed).
pub type Removed = (FlowRemoved, Arc<RuleStats>);

/// One table: a classifier over flow words.
pub type Table = Classifier<FLOW_U64S, RuleData>;

/// Lookup counters of one table (table stats).
#[derive(Debug, Default)]
pub struct TableCounters {
    /// Packets looked up.
    pub lookups: AtomicU64,
    /// Packets that matched a rule.
    pub matched: AtomicU64,
}

/// A rule as found by a lookup, for translation and tracing.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The rule's counters (for the translation cache).
    pub stats: Arc<RuleStats>,
    /// Table.
    pub table_id: u8,
    /// Priority.
    pub priority: u16,
    /// Cookie.
    pub cookie: u64,
    /// Match.
    pub match_: Match,
    /// Actions.
    pub ofpacts: Arc<[OfpAct]>,
}

/// Every flow table of a bridge.
pub struct OfTables {
    tables: Vec<Option<Box<Table>>>,
    counters: Vec<Arc<TableCounters>>,
    /// Rules with a timeout: (table, rule).
    timed: HashSet<(u8, RuleId)>,
    next_seq: u64,
}

impl std::fmt::Debug for OfTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfTables")
            .field("n_rules", &self.n_rules())
            .finish()
    }
}

/// Flow word of `FlowKey::nw_src`/`nw_dst` (bytes 24..32 of the flow).
const NW_ADDR_WORD: usize = 3;

/// A new, empty classifier with OVS-like staging: stage 0 = metadata
/// (in_port, metadata, registers), 1 = L2, 2 = L3, 3 = L4 (the word holding
/// the ports, TCP flags, `nw_proto` and `nw_tos`); prefix tries on
/// `nw_src` and `nw_dst` (OVS's default `Flow_Table:prefixes`).
/// The flow_removed message for the rule (`r`, `priority`, `value`/`mask`)
/// of table `t` removed for `reason` at `now` (ns), if the rule asked for
/// one (OFPFF_SEND_FLOW_REM).
fn flow_removed(
    t: u8,
    r: &RuleData,
    priority: u32,
    (value, mask): (&[u64; FLOW_U64S], &[u64; FLOW_U64S]),
    reason: u8,
    now: u64,
) -> Option<FlowRemoved> {
    if r.flags & OFPFF_SEND_FLOW_REM == 0 {
        return None;
    }
    let (duration_sec, duration_nsec) = secs_nsecs(now.saturating_sub(r.created));
    Some(FlowRemoved {
        cookie: r.cookie,
        priority: priority as u16,
        reason,
        table_id: t,
        duration_sec,
        duration_nsec,
        idle_timeout: r.idle_timeout,
        hard_timeout: r.hard_timeout,
        packet_count: r.stats.packets.load(Ordering::Relaxed),
        byte_count: r.stats.bytes.load(Ordering::Relaxed),
        match_: match_of(value, mask),
    })
}

fn new_table() -> Box<Table> {
    let mut stages = [0u8; FLOW_U64S];
    // Words: 0 in_port/recirc, 1 dl_dst/dl_type, 2 dl_src/vlan, 3 nw addrs,
    // 4 ports/flags/proto/tos, 5 ttl/frag/label, 6-13 v6/arp/nd, 14 metadata, 15.. regs.
    for (w, s) in stages.iter_mut().enumerate() {
        *s = match w {
            0 => 0,
            1 | 2 => 1,
            4 => 3,
            w if w >= 14 => 0,
            _ => 2,
        };
    }
    let tries = [
        TrieField::network(NW_ADDR_WORD, 0, 4),
        TrieField::network(NW_ADDR_WORD, 4, 4),
    ];
    match Table::with_word_stages(stages, &tries) {
        Ok(t) => Box::new(t),
        Err(e) => {
            tracing::error!("classifier layout rejected ({e}); using a single stage");
            Box::<Table>::default()
        }
    }
}

fn match_of(value: &[u64; FLOW_U64S], mask: &[u64; FLOW_U64S]) -> Match {
    let mut m = Match::default();
    *m.flow.words_mut() = *value;
    *m.mask.words_mut() = *mask;
    m
}

fn secs_nsecs(ns: u64) -> (u32, u32) {
    (u32::try_from(ns / NS).unwrap_or(u32::MAX), (ns % NS) as u32)
}

/// Whether `port` may appear in an output action (OVS
/// `ofpact_check_output_port`): any port below OFPP_MAX, or one of the
/// reserved ports IN_PORT … LOCAL.
pub fn valid_output_port(port: u16) -> bool {
    port < OFPP_MAX || (OFPP_IN_PORT..OFPP_NONE).contains(&port)
}

/// Checks actions and instructions against the rule's `match_` and table
/// (OVS `ofpacts_check_consistency`): instruction order, output ports
/// (`OFPBAC_BAD_OUT_PORT`), goto_table forward only and below the hidden
/// table (`OFPBIC_BAD_TABLE_ID`), set-field / load / move prerequisites
/// (`OFPBAC_MATCH_INCONSISTENT`; a preceding push_vlan satisfies VLAN
/// prerequisites), no groups or meters exist (`OFPBAC_BAD_OUT_GROUP`,
/// `OFPMMFC_UNKNOWN_METER`).
pub fn check_ofpacts(acts: &[OfpAct], match_: &Match, table_id: u8) -> Result<(), OfpError> {
    check_instruction_order(acts)?;
    let mut m = *match_;
    check_list(acts, &mut m, table_id)
}

fn check_field(m: &Match, f: Field) -> Result<(), OfpError> {
    if f.prereq() == Prereq::Vlan && m.flow.key.vlan_tci & 0x1000 != 0 {
        return Ok(());
    }
    if m.prereqs_ok(f) {
        Ok(())
    } else {
        Err(OfpError::BAD_ACTION_MATCH_INCONSISTENT)
    }
}

fn check_list(acts: &[OfpAct], m: &mut Match, table_id: u8) -> Result<(), OfpError> {
    for a in acts {
        match a {
            OfpAct::Output { port, .. } | OfpAct::Enqueue { port, .. }
                if !valid_output_port(*port) =>
            {
                return Err(OfpError::BAD_ACTION_BAD_OUT_PORT);
            }
            OfpAct::Resubmit {
                in_port: Some(p), ..
            } if !valid_output_port(*p) => {
                return Err(OfpError::BAD_ACTION_BAD_OUT_PORT);
            }
            OfpAct::GotoTable(t) if *t <= table_id || *t >= TABLE_HIDDEN => {
                return Err(OfpError::BAD_INSTRUCTION_BAD_TABLE_ID);
            }
            OfpAct::Group(_) => return Err(OfpError::BAD_ACTION_BAD_OUT_GROUP),
            OfpAct::Meter(_) => return Err(OfpError::METER_MOD_FAILED_UNKNOWN_METER),
            OfpAct::PushVlan(_) | OfpAct::SetVlanVid(_) | OfpAct::SetVlanPcp(_) => {
                m.flow.key.vlan_tci |= 0x1000;
                m.mask.key.vlan_tci |= 0x1000;
            }
            OfpAct::SetField { field, .. } => check_field(m, *field)?,
            OfpAct::RegLoad { dst, .. } => check_field(m, dst.field)?,
            OfpAct::RegMove { src, dst } => {
                check_field(m, src.field)?;
                check_field(m, dst.field)?;
            }
            OfpAct::WriteActions(inner) => {
                if inner.iter().any(OfpAct::is_instruction) {
                    return Err(OfpError::BAD_INSTRUCTION_UNSUP_INST);
                }
                check_list(inner, &mut m.clone(), table_id)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Which rules a modify/delete/stats request selects.
struct Filter<'a> {
    match_: &'a Match,
    strict_priority: Option<u16>,
    cookie: u64,
    cookie_mask: u64,
    out_port: u16,
    out_group: u32,
}

impl Filter<'_> {
    /// Whether the filter selects every rule (a loose delete with a
    /// catch-all match and no cookie, out_port or out_group condition).
    fn selects_all(&self) -> bool {
        self.strict_priority.is_none()
            && self.match_.is_catchall()
            && self.cookie_mask == 0
            && self.out_port == OFPP_NONE
            && self.out_group == OFPG_ANY
    }

    fn accepts(&self, r: &RuleData) -> bool {
        (r.cookie ^ self.cookie) & self.cookie_mask == 0
            && (self.out_port == OFPP_NONE || outputs_to(&r.ofpacts, self.out_port))
            && (self.out_group == OFPG_ANY || outputs_to_group(&r.ofpacts, self.out_group))
    }
}

impl Default for OfTables {
    fn default() -> Self {
        Self::new(0)
    }
}

impl OfTables {
    /// Tables of a new bridge at time `now` (ns): empty but for OVS's
    /// default `priority=0 actions=NORMAL` in table 0.
    pub fn new(now: u64) -> OfTables {
        let mut t = OfTables {
            tables: (0..N_TABLES).map(|_| None).collect(),
            counters: (0..N_TABLES)
                .map(|_| Arc::new(TableCounters::default()))
                .collect(),
            timed: HashSet::new(),
            next_seq: 0,
        };
        let fm = FlowMod {
            priority: 0,
            ofpacts: vec![OfpAct::Output {
                port: openflow::port::OFPP_NORMAL,
                max_len: 0,
            }],
            ..FlowMod::default()
        };
        let mut removed = Vec::new();
        if let Err(e) = t.flow_mod(&fm, now, &mut removed) {
            tracing::error!("default flow rejected: {e:?}");
        }
        t
    }

    /// Total rules in all tables.
    pub fn n_rules(&self) -> usize {
        self.tables.iter().flatten().map(|t| t.len()).sum()
    }

    /// Table `id`, if it has ever held a rule.
    pub fn table(&self, id: u8) -> Option<&Table> {
        self.tables.get(usize::from(id))?.as_deref()
    }

    /// Lookup counters of table `id` (shared: a translation cache keeps
    /// them to credit lookups later).
    pub fn counters(&self, id: u8) -> Option<&Arc<TableCounters>> {
        self.counters.get(usize::from(id))
    }

    /// Looks `flow` up in table `id`, OR-ing what the lookup read into `wc`.
    /// Credits the winner (and the table counters) with `packets`/`bytes`
    /// at time `now` (ns).
    pub fn lookup(
        &self,
        id: u8,
        flow: &Flow,
        wc: &mut Flow,
        packets: u64,
        bytes: u64,
        now: u64,
    ) -> Option<Hit> {
        let c = self.counters.get(usize::from(id))?;
        if packets > 0 {
            c.lookups.fetch_add(packets, Ordering::Relaxed);
        }
        let t = self.table(id)?;
        let (rid, data) = t.lookup(flow.words(), wc.words_mut())?;
        if packets > 0 {
            c.matched.fetch_add(packets, Ordering::Relaxed);
        }
        data.credit(packets, bytes, now);
        let r = t.get(rid)?;
        Some(Hit {
            stats: data.stats.clone(),
            table_id: id,
            priority: r.priority() as u16,
            cookie: data.cookie,
            match_: match_of(&r.value(), r.mask()),
            ofpacts: data.ofpacts.clone(),
        })
    }

    /// Applies one flow_mod at time `now` (ns), appending a FlowRemoved for
    /// every deleted rule that asked for one (OFPFF_SEND_FLOW_REM). Returns
    /// whether any rule changed. Nothing changes on error.
    ///
    /// Semantics (OpenFlow 1.3.5 §6.4, as OVS): ADD replaces a rule with
    /// the same match and priority (its counters carry over unless
    /// OFPFF_RESET_COUNTS); OFPFF_CHECK_OVERLAP refuses an overlapping rule
    /// of the same priority. MODIFY/MODIFY_STRICT change the actions of the
    /// selected rules (loose: at least as specific as the match; strict:
    /// same match and priority; filtered by `cookie`/`cookie_mask`), keep
    /// timeouts, flags and creation time, set the cookie when `cookie_mask`
    /// is 0 and `cookie` is neither 0 nor all-ones (OpenFlow 1.0 "new
    /// cookie"; see the report), and, when nothing matched and the table is
    /// unspecified (`table_id` 0xff, OpenFlow 1.0), add the flow to table 0.
    /// DELETE/DELETE_STRICT select the same way plus `out_port` and
    /// `out_group`. `table_id` 0xff: ADD goes to table 0; MODIFY and DELETE
    /// act on every table but the hidden one.
    ///
    /// Errors: OFPBRC_EPERM for table 254; OFPBMC_BAD_PREREQ; the action
    /// errors of [`check_ofpacts`]; OFPFMFC_OVERLAP; OFPFMFC_TABLE_FULL if
    /// the classifier is full.
    pub fn flow_mod(
        &mut self,
        fm: &FlowMod,
        now: u64,
        removed: &mut Vec<FlowRemoved>,
    ) -> Result<bool, OfpError> {
        let mut tracked = Vec::new();
        let r = self.flow_mod_tracked(fm, now, &mut tracked);
        removed.extend(tracked.into_iter().map(|(fr, _)| fr));
        r
    }

    /// [`OfTables::flow_mod`], each FlowRemoved paired with the removed
    /// rule's counters.
    pub fn flow_mod_tracked(
        &mut self,
        fm: &FlowMod,
        now: u64,
        removed: &mut Vec<Removed>,
    ) -> Result<bool, OfpError> {
        if fm.table_id == TABLE_HIDDEN {
            return Err(OfpError::BAD_REQUEST_EPERM);
        }
        fm.match_.check_prereqs()?;
        let is_delete = matches!(
            fm.command,
            FlowModCommand::Delete | FlowModCommand::DeleteStrict
        );
        if !is_delete {
            let t = if fm.table_id == OFPTT_ALL {
                0
            } else {
                fm.table_id
            };
            check_ofpacts(&fm.ofpacts, &fm.match_, t)?;
        }
        match fm.command {
            FlowModCommand::Add => {
                let t = if fm.table_id == OFPTT_ALL {
                    0
                } else {
                    fm.table_id
                };
                self.add(t, fm, now).map(|_| true)
            }
            FlowModCommand::Modify | FlowModCommand::ModifyStrict => {
                let strict = fm.command == FlowModCommand::ModifyStrict;
                let ids = self.select(fm.table_id, &Self::fm_filter(fm, strict, true));
                if ids.is_empty() {
                    if fm.table_id == OFPTT_ALL {
                        return self.add(0, fm, now).map(|_| true);
                    }
                    return Ok(false);
                }
                if fm.table_id == OFPTT_ALL {
                    // Each rule's actions must suit its own table (goto_table).
                    for &(t, _) in &ids {
                        check_ofpacts(&fm.ofpacts, &fm.match_, t)?;
                    }
                }
                let acts: Arc<[OfpAct]> = fm.ofpacts.clone().into();
                let new_cookie = (fm.cookie_mask == 0 && fm.cookie != 0 && fm.cookie != u64::MAX)
                    .then_some(fm.cookie);
                for (t, id) in ids {
                    let Some(r) = self.tables[usize::from(t)]
                        .as_deref_mut()
                        .and_then(|tb| tb.payload_mut(id))
                    else {
                        continue;
                    };
                    r.ofpacts = acts.clone();
                    r.modified = now;
                    if let Some(c) = new_cookie {
                        r.cookie = c;
                    }
                    if fm.flags & OFPFF_RESET_COUNTS != 0 {
                        r.stats = RuleStats::new(r.stats.used.load(Ordering::Relaxed));
                    }
                }
                Ok(true)
            }
            FlowModCommand::Delete | FlowModCommand::DeleteStrict => {
                let strict = fm.command == FlowModCommand::DeleteStrict;
                let filter = Self::fm_filter(fm, strict, false);
                if filter.selects_all() {
                    return Ok(self.clear(fm.table_id, now, removed));
                }
                let ids = self.select(fm.table_id, &filter);
                let any = !ids.is_empty();
                for (t, id) in ids {
                    self.remove(t, id, OFPRR_DELETE, now, removed);
                }
                Ok(any)
            }
        }
    }

    fn fm_filter(fm: &FlowMod, strict: bool, modify: bool) -> Filter<'_> {
        Filter {
            match_: &fm.match_,
            strict_priority: strict.then_some(fm.priority),
            cookie: fm.cookie,
            cookie_mask: fm.cookie_mask,
            out_port: if modify { OFPP_NONE } else { fm.out_port },
            out_group: if modify { OFPG_ANY } else { fm.out_group },
        }
    }

    fn add(&mut self, t: u8, fm: &FlowMod, now: u64) -> Result<(), OfpError> {
        let value = *fm.match_.flow.words();
        let mask = *fm.match_.mask.words();
        let priority = u32::from(fm.priority);
        let seq = self.next_seq;
        let table = self.tables[usize::from(t)].get_or_insert_with(new_table);
        if fm.flags & OFPFF_CHECK_OVERLAP != 0 && table.overlaps(&value, &mask, priority) {
            return Err(OfpError::FLOW_MOD_FAILED_OVERLAP);
        }
        let old_id = table.find_exactly(&value, &mask, priority).map(|r| r.id());
        let data = RuleData {
            cookie: fm.cookie,
            ofpacts: fm.ofpacts.clone().into(),
            flags: fm.flags,
            idle_timeout: fm.idle_timeout,
            hard_timeout: fm.hard_timeout,
            importance: fm.importance,
            created: now,
            modified: now,
            stats: RuleStats::new(now),
            seq,
        };
        let rule = classifier::Rule::new(value, mask, priority, data);
        let (id, old) = table
            .replace(rule)
            .map_err(|_| OfpError::FLOW_MOD_FAILED_TABLE_FULL)?;
        if let Some(old) = old {
            if fm.flags & OFPFF_RESET_COUNTS == 0 {
                if let Some(r) = table.payload_mut(id) {
                    // The same counters: hits still pending in megaflows
                    // of the old rule count here too (OVS forward_counts).
                    r.stats = old.payload.stats.clone();
                    r.stats.used.fetch_max(now, Ordering::Relaxed);
                }
            }
        }
        self.next_seq += 1;
        if let Some(o) = old_id {
            self.timed.remove(&(t, o));
        }
        if fm.idle_timeout != 0 || fm.hard_timeout != 0 {
            self.timed.insert((t, id));
        }
        Ok(())
    }

    /// The (table, rule) pairs `f` selects in `table_id` (0xff = all but
    /// the hidden table).
    fn select(&self, table_id: u8, f: &Filter<'_>) -> Vec<(u8, RuleId)> {
        let mut out = Vec::new();
        let range = if table_id == OFPTT_ALL {
            0..TABLE_HIDDEN
        } else {
            table_id..table_id.saturating_add(1)
        };
        let value = f.match_.flow.words();
        let mask = f.match_.mask.words();
        for t in range {
            let Some(table) = self.table(t) else {
                continue;
            };
            match f.strict_priority {
                Some(p) => {
                    if let Some(r) = table.find_exactly(value, mask, u32::from(p)) {
                        if f.accepts(r.payload()) {
                            out.push((t, r.id()));
                        }
                    }
                }
                None => {
                    if f.match_.is_catchall() {
                        out.extend(
                            table
                                .iter()
                                .filter(|r| f.accepts(r.payload()))
                                .map(|r| (t, r.id())),
                        );
                    } else {
                        out.extend(
                            table
                                .find_loose(value, mask)
                                .filter(|r| f.accepts(r.payload()))
                                .map(|r| (t, r.id())),
                        );
                    }
                }
            }
        }
        out
    }

    fn remove(&mut self, t: u8, id: RuleId, reason: u8, now: u64, out: &mut Vec<Removed>) {
        let Some(table) = self.tables[usize::from(t)].as_deref_mut() else {
            return;
        };
        let Some(rule) = table.remove(id) else {
            return;
        };
        self.timed.remove(&(t, id));
        let m = (&rule.value, &rule.mask);
        if let Some(fr) = flow_removed(t, &rule.payload, rule.priority, m, reason, now) {
            out.push((fr, rule.payload.stats.clone()));
        }
    }

    /// Deletes every rule of `table_id` (0xff: every table but the hidden
    /// one) by dropping whole classifiers instead of removing rule by rule
    /// (`ovs-ofctl del-flows BR` of 100,000 flows). Same result as the
    /// per-rule path: flow_removed for rules that asked for it, timers
    /// forgotten. Returns whether any rule was deleted.
    fn clear(&mut self, table_id: u8, now: u64, out: &mut Vec<Removed>) -> bool {
        let range = if table_id == OFPTT_ALL {
            0..TABLE_HIDDEN
        } else {
            table_id..table_id.saturating_add(1)
        };
        let mut any = false;
        for t in range {
            let Some(table) = self.tables[usize::from(t)].take() else {
                continue;
            };
            if table.is_empty() {
                self.tables[usize::from(t)] = Some(table);
                continue;
            }
            any = true;
            out.extend(
                table
                    .iter()
                    .filter(|r| r.payload().flags & OFPFF_SEND_FLOW_REM != 0)
                    .filter_map(|r| {
                        let m = (&r.value(), r.mask());
                        flow_removed(t, r.payload(), r.priority(), m, OFPRR_DELETE, now)
                            .map(|fr| (fr, r.payload().stats.clone()))
                    }),
            );
            self.timed.retain(|&(tt, _)| tt != t);
        }
        any
    }

    /// Removes every rule whose idle timeout (since its last hit) or hard
    /// timeout (since its last add/modify) has passed at `now` (ns), OVS
    /// `rule_expire`. Appends FlowRemoved messages for rules with
    /// OFPFF_SEND_FLOW_REM; returns whether anything was removed.
    pub fn expire(&mut self, now: u64, out: &mut Vec<FlowRemoved>) -> bool {
        let mut tracked = Vec::new();
        let any = self.expire_tracked(now, &mut tracked);
        out.extend(tracked.into_iter().map(|(fr, _)| fr));
        any
    }

    /// [`OfTables::expire`], each FlowRemoved paired with the removed
    /// rule's counters.
    pub fn expire_tracked(&mut self, now: u64, out: &mut Vec<Removed>) -> bool {
        let mut dead = Vec::new();
        for &(t, id) in &self.timed {
            let Some(r) = self.table(t).and_then(|tb| tb.get(id)) else {
                dead.push((t, id, None));
                continue;
            };
            let r = r.payload();
            let hard = r.hard_timeout != 0
                && now >= r.modified.saturating_add(u64::from(r.hard_timeout) * NS);
            let idle = r.idle_timeout != 0
                && now
                    >= r.stats
                        .used
                        .load(Ordering::Relaxed)
                        .saturating_add(u64::from(r.idle_timeout) * NS);
            if hard {
                dead.push((t, id, Some(OFPRR_HARD_TIMEOUT)));
            } else if idle {
                dead.push((t, id, Some(OFPRR_IDLE_TIMEOUT)));
            }
        }
        let mut any = false;
        for (t, id, reason) in dead {
            match reason {
                Some(reason) => {
                    self.remove(t, id, reason, now, out);
                    any = true;
                }
                None => {
                    self.timed.remove(&(t, id));
                }
            }
        }
        any
    }

    fn stats_filter(req: &FlowStatsRequest) -> Filter<'_> {
        Filter {
            match_: &req.match_,
            strict_priority: None,
            cookie: req.cookie,
            cookie_mask: req.cookie_mask,
            out_port: req.out_port,
            out_group: req.out_group,
        }
    }

    /// Flow stats (OFPMP_FLOW / NXST_FLOW) at time `now` (ns): the rules
    /// `req` selects (loosely; `table_id` 0xff = every table but the
    /// hidden one), ordered by table, then priority (highest first), then
    /// age (oldest first). Counters disabled by OFPFF_NO_PKT_COUNTS /
    /// NO_BYT_COUNTS read as all ones (OpenFlow 1.3.5 §7.3.5.2).
    pub fn flow_stats(&self, req: &FlowStatsRequest, now: u64) -> Vec<FlowStats> {
        let f = Self::stats_filter(req);
        let ids = self.select(req.table_id, &f);
        let mut out: Vec<(u64, FlowStats)> = Vec::with_capacity(ids.len());
        for (t, id) in ids {
            let Some(r) = self.table(t).and_then(|tb| tb.get(id)) else {
                continue;
            };
            let d = r.payload();
            let (duration_sec, duration_nsec) = secs_nsecs(now.saturating_sub(d.created));
            let age =
                |since: u64| u16::try_from(now.saturating_sub(since) / NS).unwrap_or(u16::MAX);
            out.push((
                d.seq,
                FlowStats {
                    table_id: t,
                    duration_sec,
                    duration_nsec,
                    priority: r.priority() as u16,
                    idle_timeout: d.idle_timeout,
                    hard_timeout: d.hard_timeout,
                    flags: d.flags,
                    importance: d.importance,
                    cookie: d.cookie,
                    packet_count: if d.flags & OFPFF_NO_PKT_COUNTS != 0 {
                        u64::MAX
                    } else {
                        d.stats.packets.load(Ordering::Relaxed)
                    },
                    byte_count: if d.flags & OFPFF_NO_BYT_COUNTS != 0 {
                        u64::MAX
                    } else {
                        d.stats.bytes.load(Ordering::Relaxed)
                    },
                    idle_age: Some(age(d.stats.used.load(Ordering::Relaxed))),
                    hard_age: Some(age(d.modified)),
                    match_: match_of(&r.value(), r.mask()),
                    ofpacts: d.ofpacts.to_vec(),
                },
            ));
        }
        out.sort_by(|(sa, a), (sb, b)| {
            a.table_id
                .cmp(&b.table_id)
                .then(b.priority.cmp(&a.priority))
                .then(sa.cmp(sb))
        });
        out.into_iter().map(|(_, s)| s).collect()
    }

    /// Aggregate stats over the rules `req` selects (disabled counters
    /// contribute nothing).
    pub fn aggregate_stats(&self, req: &FlowStatsRequest) -> AggregateStats {
        let f = Self::stats_filter(req);
        let mut a = AggregateStats::default();
        for (t, id) in self.select(req.table_id, &f) {
            let Some(r) = self.table(t).and_then(|tb| tb.get(id)) else {
                continue;
            };
            let d = r.payload();
            a.flow_count = a.flow_count.saturating_add(1);
            if d.flags & OFPFF_NO_PKT_COUNTS == 0 {
                a.packet_count = a
                    .packet_count
                    .saturating_add(d.stats.packets.load(Ordering::Relaxed));
            }
            if d.flags & OFPFF_NO_BYT_COUNTS == 0 {
                a.byte_count = a
                    .byte_count
                    .saturating_add(d.stats.bytes.load(Ordering::Relaxed));
            }
        }
        a
    }

    /// Table stats for tables 0–253 (OFPMP_TABLE; names empty as OVS;
    /// OF1.0 wildcards all, `max_entries` 1,000,000).
    pub fn table_stats(&self) -> Vec<TableStats> {
        (0..N_TABLES_REPORTED)
            .map(|t| TableStats {
                table_id: t,
                name: String::new(),
                wildcards: 0x003f_ffff,
                max_entries: TABLE_MAX_ENTRIES,
                active_count: self.table(t).map_or(0, |tb| tb.len() as u32),
                lookup_count: self.counters[usize::from(t)]
                    .lookups
                    .load(Ordering::Relaxed),
                matched_count: self.counters[usize::from(t)]
                    .matched
                    .load(Ordering::Relaxed),
            })
            .collect()
    }

    /// Approximate heap bytes held by the tables (classifiers plus action lists).
    pub fn heap_bytes(&self) -> usize {
        self.tables
            .iter()
            .flatten()
            .map(|t| {
                t.heap_bytes()
                    + t.iter()
                        .map(|r| {
                            std::mem::size_of_val::<[OfpAct]>(&r.payload().ofpacts)
                                + std::mem::size_of::<RuleStats>()
                                + 32
                        })
                        .sum::<usize>()
            })
            .sum()
    }
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
