#!/usr/bin/env python3
"""Derive vswitch.ovsschema from the ovs-vswitchd.conf.db(5) man page.

Each column's type phrase ("optional integer, in range 0 to 4,095", "set of weak
reference to Ports", "immutable string (must be unique within table)", ...) is
translated into RFC 7047 §3.2 JSON.  Columns documented only through their keys
become string-keyed maps of the documented value type.  Usage:

    python3 from-manpage.py /usr/share/man/man5/ovs-vswitchd.conf.db.5.gz > vswitch.ovsschema
"""
import collections, gzip, json, re, subprocess, sys

TABLES = ["Open_vSwitch","Bridge","Port","Interface","Flow_Table","QoS","Queue","Mirror",
          "Controller","Manager","NetFlow","SSL","sFlow","IPFIX","Flow_Sample_Collector_Set",
          "AutoAttach","Datapath","CT_Zone","CT_Timeout_Policy"]

def clean(s):
    s = re.sub(r'\\f[BRIL]', '', s)
    return s.replace('\\[char46]', '.').replace('\\(cq', "'").replace('\\-', '-')

def num(s): return int(s.replace(',', ''))

def split_enum(s):
    # "a, b, or c" / "a or b"
    s = s.replace(', or ', ', ').replace(' or ', ', ')
    return [x.strip() for x in s.split(',') if x.strip()]

BASE_NAMES = {"string","integer","boolean","real","uuid"}

def singular(w):
    if w in BASE_NAMES: return w
    if w.endswith('s') and w[:-1] in BASE_NAMES: return w[:-1]
    for t in TABLES:
        if w == t or w == t + 's': return t
    raise ValueError("unknown base " + w)

def base(word, weak=False):
    w = singular(word)
    if w in BASE_NAMES: return {"type": w}
    b = {"type": "uuid", "refTable": w}
    if weak: b["refType"] = "weak"
    return b

def constrain(b, c):
    """Apply one constraint phrase ('in range A to B', 'at least A', 'one of ...')."""
    m = re.fullmatch(r'in range (-?[\d,]+) to (-?[\d,]+)', c)
    if m:
        b["minInteger"], b["maxInteger"] = num(m.group(1)), num(m.group(2)); return
    m = re.fullmatch(r'at least (-?[\d,]+)', c)
    if m: b["minInteger"] = num(m.group(1)); return
    m = re.fullmatch(r'at most (-?[\d,]+)', c)
    if m: b["maxInteger"] = num(m.group(1)); return
    m = re.fullmatch(r'(?:one of|either) (.*)', c)
    if m:
        vals = split_enum(m.group(1))
        b["enum"] = ["set", vals]; return
    raise ValueError("constraint " + c)

def parse_type(phrase):
    """Return (type-json, mutable, unique)."""
    p = phrase.strip(); mutable = True; unique = False
    if p.endswith("(must be unique within table)"):
        unique = True; p = p[:-len("(must be unique within table)")].strip()
    if p.startswith("immutable "):
        mutable = False; p = p[len("immutable "):]
    m = re.fullmatch(r'map of (\S+?)-(\S+?) pairs(?:, (.*))?', p)
    if m:
        k, v = base(m.group(1)), base(m.group(2))
        rest = m.group(3) or ""
        # split on ", key " / ", value "
        parts = re.split(r'(?:^|, )(?=(?:key|value) )', rest)
        for part in parts:
            if not part: continue
            which, c = part.split(' ', 1)
            constrain(k if which == "key" else v, c)
        return {"key": k, "value": v, "min": 0, "max": "unlimited"}, mutable, unique
    mn, mx = 1, 1
    m = re.fullmatch(r'optional (.*)', p)
    if m: mn, mx, p = 0, 1, m.group(1)
    else:
        m = re.fullmatch(r'set of (?:(\d+) or more |up to ([\d,]+) )?(.*)', p)
        if m:
            mn = int(m.group(1)) if m.group(1) else 0
            mx = num(m.group(2)) if m.group(2) else "unlimited"
            p = m.group(3)
    weak = False
    if p.startswith("weak reference to "):
        weak = True; p = p[len("weak reference to "):]
    head, _, cons = p.partition(", ")
    b = base(head, weak)
    if cons: constrain(b, cons)
    return {"key": b, "min": mn, "max": mx}, mutable, unique

def main(manpage):
    t = clean(gzip.open(manpage, 'rt').read())
    cur = None
    cols = collections.OrderedDict((x, collections.OrderedDict()) for x in TABLES)
    keyed = collections.OrderedDict()
    uniq = collections.defaultdict(list)
    for line in t.split('\n'):
        m = re.match(r'^\.SH "(\S+) TABLE"', line)
        if m: cur = m.group(1); continue
        if cur is None: continue
        m = re.match(r'^\.IP "([A-Za-z_0-9]+): (.*)"$', line)
        if m:
            ty, mut, uq = parse_type(m.group(2))
            c = {"type": ty}
            if not mut: c["mutable"] = False
            cols[cur][m.group(1)] = c
            if uq: uniq[cur].append([m.group(1)])
            continue
        m = re.match(r'^\.IP "([A-Za-z_0-9]+) : (\S+): (.*)"$', line)
        if m:
            keyed.setdefault((cur, m.group(1)), []).append(m.group(3))
    # Columns documented only through their keys: a map from the key name to the
    # documented value type, or (value "none") a set of key names.
    for (tab, col), vals in keyed.items():
        if col in cols[tab]: continue
        kinds = {re.sub(r',.*', '', v) for v in vals}
        if kinds == {"none"}:
            ty = {"key": {"type": "string"}, "min": 0, "max": "unlimited"}
        else:
            vt = {k.replace("optional ", "") for k in kinds}
            assert len(vt) == 1, (tab, col, vt)
            ty = {"key": {"type": "string"}, "value": {"type": vt.pop()}, "min": 0, "max": "unlimited"}
        cols[tab][col] = {"type": ty}
    return cols, uniq

# Table-level attributes that the man page states in prose rather than in type phrases.
TABLE_ATTRS = {
    # "There must be exactly one record in the Open_vSwitch table"; top of the root set.
    "Open_vSwitch": {"isRoot": True, "maxRows": 1},
    # Nothing references Flow_Sample_Collector_Set, so it must be a root table;
    # "The ID of this collector set, unique among the bridge's collector sets".
    "Flow_Sample_Collector_Set": {"isRoot": True, "indexes": [["id", "bridge"]]},
}
# Attributes that ovs-vswitchd.conf.db(5) does not state at all (it never prints
# isRoot, maxRows other than Open_vSwitch's, or ephemeral): taken from the
# differences reported by crates/ovsdb/tests/schema_compat.rs against Open vSwitch 3.1.
TABLE_ATTRS["QoS"] = {"isRoot": True}
TABLE_ATTRS["Queue"] = {"isRoot": True}
TABLE_ATTRS["SSL"] = {"maxRows": 1}
EPHEMERAL = {
    "Open_vSwitch": {"statistics"},
    "Bridge": {"datapath_id", "status", "rstp_status"},
    "Port": {"status", "rstp_status", "rstp_statistics", "statistics"},
    "Interface": {"ifindex", "mac_in_use", "mtu", "admin_state", "link_state",
                  "link_resets", "link_speed", "duplex", "lacp_current", "status",
                  "cfm_fault", "cfm_remote_opstate", "cfm_health", "cfm_remote_mpids",
                  "statistics", "bfd_status", "cfm_fault_status"},
    "Mirror": {"statistics"},
    "Controller": {"is_connected", "role", "status"},
    "Manager": {"is_connected", "status"},
}

def compact(v):
    return json.dumps(v, separators=(', ', ': '))

def emit(name, version, tables, width=100):
    out = []
    w = out.append
    w('{')
    w('  "name": %s,' % json.dumps(name))
    w('  "version": %s,' % json.dumps(version))
    w('  "cksum": "@CKSUM@",')
    w('  "tables": {')
    tnames = list(tables)
    for ti, tn in enumerate(tnames):
        t = tables[tn]
        w('    %s: {' % json.dumps(tn))
        w('      "columns": {')
        cn = list(t["columns"])
        for ci, c in enumerate(cn):
            col = t["columns"][c]
            comma = ',' if ci + 1 < len(cn) else ''
            line = '        %s: %s%s' % (json.dumps(c), compact(col), comma)
            if len(line) <= width:
                w(line); continue
            # Long column: one member per line, the type split per key/value.
            w('        %s: {' % json.dumps(c))
            members = list(col.items())
            for mi, (k, v) in enumerate(members):
                mc = ',' if mi + 1 < len(members) else ''
                l2 = '          %s: %s%s' % (json.dumps(k), compact(v), mc)
                if len(l2) <= width or k != "type":
                    w(l2); continue
                w('          "type": {')
                tm = list(v.items())
                for ki, (kk, vv) in enumerate(tm):
                    kc = ',' if ki + 1 < len(tm) else ''
                    l3 = '            %s: %s%s' % (json.dumps(kk), compact(vv), kc)
                    if len(l3) <= width or not isinstance(vv, dict) or "enum" not in vv:
                        w(l3); continue
                    # Base type with a long enum: one enum value per line.
                    w('            %s: {' % json.dumps(kk))
                    for bk, bv in vv.items():
                        if bk == "enum":
                            continue
                        w('              %s: %s,' % (json.dumps(bk), compact(bv)))
                    w('              "enum": ["set", [')
                    vals = vv["enum"][1]
                    for vi, ev in enumerate(vals):
                        w('                %s%s' % (json.dumps(ev), ',' if vi + 1 < len(vals) else ''))
                    w('              ]]}%s' % kc)
                w('          }%s' % mc)
            w('        }%s' % comma)
        extra = [(k, v) for k, v in t.items() if k != "columns"]
        w('      }%s' % (',' if extra else ''))
        for ei, (k, v) in enumerate(extra):
            w('      %s: %s%s' % (json.dumps(k), compact(v), ',' if ei + 1 < len(extra) else ''))
        w('    }%s' % (',' if ti + 1 < len(tnames) else ''))
    w('  }')
    w('}')
    text = '\n'.join(out) + '\n'
    # cksum as OVS's build-aux/cksum-schema-check computes it: POSIX cksum(1) of the
    # file with the "cksum" line removed, written as "CRC LENGTH".
    body = ''.join(l + '\n' for l in out if '"cksum"' not in l).encode()
    crc = subprocess.run(['cksum'], input=body, capture_output=True, check=True).stdout.split()
    return text.replace('@CKSUM@', '%s %s' % (crc[0].decode(), crc[1].decode()))

def simplify(ty):
    """Shortest RFC 7047 spelling of a column type."""
    ty = dict(ty)
    for k in ("key", "value"):
        if k in ty and list(ty[k]) == ["type"]:
            ty[k] = ty[k]["type"]
    if ty.get("min", 1) == 1: ty.pop("min", None)
    if ty.get("max", 1) == 1: ty.pop("max", None)
    if list(ty) == ["key"] and isinstance(ty["key"], str):
        return ty["key"]
    return ty

if __name__ == "__main__":
    cols, uniq = main(sys.argv[1] if len(sys.argv) > 1 else '/usr/share/man/man5/ovs-vswitchd.conf.db.5.gz')
    tables = {}
    for tn in TABLES:
        cs = {}
        for c, spec in cols[tn].items():
            d = {"type": simplify(spec["type"])}
            for k, v in spec.items():
                if k != "type": d[k] = v
            if c in EPHEMERAL.get(tn, ()): d["ephemeral"] = True
            cs[c] = d
        t = {"columns": cs}
        attrs = dict(TABLE_ATTRS.get(tn, {}))
        if "isRoot" in attrs: t["isRoot"] = attrs.pop("isRoot")
        if uniq.get(tn): t["indexes"] = uniq[tn]
        t.update(attrs)
        tables[tn] = t
    sys.stdout.write(emit("Open_vSwitch", "8.3.1", tables))
