#!/usr/bin/env python3
"""Summary of a bench/ run: medians (min-max) per contender and metric, the
ratio of the first contender to each other one, as a markdown table on
stdout, stored as one section of a results JSON file.

Input: a JSON-lines file with one object per contender and round, e.g.
  {"who": "oxvs", "round": 1, "tcp1_gbps": 9.1, ...}
A metric that is missing or null in a row (not measured, or failed) is left
out of that contender's median; a contender with no value shows "-".

Output JSON (merged: other sections already in the file are kept):
  {"meta": {...},
   "sections": {NAME: {"title", "rounds", "contenders": [{"id", "label"}],
                       "metrics": [{"key", "label", "better": higher|lower|none}],
                       "summary": {key: {who: {"median", "min", "max", "n"}}},
                       "ratios": {key: {peer: first/peer}},
                       "rows": [...raw rows...]}}}

Usage:
  summary.py --raw RAW.jsonl --json OUT.json --section NAME [--title T]
      --who ID=LABEL ...        (first one is the base of the ratios)
      --metric KEY=LABEL ...    (in table order)
      [--lower KEY,KEY]         (metrics where lower is better)
      [--info KEY,KEY]          (figures for reference, neither better)
      [--meta KEY=VALUE ...]
Standard library only.
"""
import argparse
import json
import os
import platform
import statistics
import time


def pair(s):
    k, sep, v = s.partition("=")
    if not sep or not k:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {s!r}")
    return k, v


def fmt(x):
    """A figure with 3-4 significant digits."""
    if x is None:
        return "-"
    a = abs(x)
    if a >= 100:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    if a >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def cell(s):
    if not s:
        return "-"
    if s["n"] == 1 or s["min"] == s["max"]:
        return fmt(s["median"])
    return f"{fmt(s['median'])} ({fmt(s['min'])}-{fmt(s['max'])})"


def summarize(rows, whos, metrics):
    summary, ratios = {}, {}
    base = whos[0][0]
    for key, _ in metrics:
        summary[key] = {}
        for who, _ in whos:
            v = [r[key] for r in rows if r.get("who") == who and isinstance(r.get(key), (int, float))]
            if v:
                summary[key][who] = {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}
        ratios[key] = {}
        b = summary[key].get(base)
        for who, _ in whos[1:]:
            p = summary[key].get(who)
            ratios[key][who] = b["median"] / p["median"] if b and p and p["median"] else None
    return summary, ratios


def table(whos, metrics, lower, info, summary, ratios):
    base_label = whos[0][1]
    head = ["metric"] + [label for _, label in whos] + [f"{base_label}/{label}" for _, label in whos[1:]]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, label in metrics:
        arrow = " (lower is better)" if key in lower else " (for reference)" if key in info else ""
        cells = [cell(summary[key].get(who)) for who, _ in whos]
        rs = [fmt(ratios[key][who]) if ratios[key][who] is not None else "-" for who, _ in whos[1:]]
        out.append("| " + " | ".join([label + arrow] + cells + rs) + " |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--raw", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--section", required=True)
    ap.add_argument("--title", default="")
    ap.add_argument("--who", type=pair, action="append", required=True)
    ap.add_argument("--metric", type=pair, action="append", required=True)
    ap.add_argument("--lower", default="")
    ap.add_argument("--info", default="")
    ap.add_argument("--meta", type=pair, action="append", default=[])
    a = ap.parse_args()
    lower = {k for k in a.lower.split(",") if k}
    info = {k for k in a.info.split(",") if k}
    with open(a.raw) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    summary, ratios = summarize(rows, a.who, a.metric)
    rounds = max((r.get("round", 0) for r in rows), default=0)
    print(table(a.who, a.metric, lower, info, summary, ratios))

    doc = {}
    if os.path.exists(a.json):
        try:
            with open(a.json) as f:
                doc = json.load(f)
        except ValueError:
            doc = {}
    if not isinstance(doc.get("sections"), dict):
        doc = {"sections": {}}
    meta = doc.setdefault("meta", {})
    meta.update({
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "loadavg_at_summary": open("/proc/loadavg").read().split()[:3],
    })
    meta.update(dict(a.meta))
    doc["sections"][a.section] = {
        "title": a.title or a.section,
        "rounds": rounds,
        "contenders": [{"id": w, "label": l} for w, l in a.who],
        "metrics": [{"key": k, "label": l, "better": "lower" if k in lower else "none" if k in info else "higher"} for k, l in a.metric],
        "summary": summary,
        "ratios": ratios,
        "rows": rows,
    }
    with open(a.json + ".tmp", "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(a.json + ".tmp", a.json)


if __name__ == "__main__":
    main()
