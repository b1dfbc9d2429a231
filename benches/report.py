#!/usr/bin/env python3
"""Writes BENCHMARKS.md and benchmarks.json from the figures of benches/run.

Each input file is one repeat: JSON lines {bench, name, value, unit}. A
ratio is taken within each repeat (the same run, the same machine state)
and reported as a range over the repeats, beside the medians.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess

# (what, Styrkedja's figure, its peer, how the peer is named, target, higher is better)
COMPARISONS = [
    ("1 sequential writer (decisions/s)", ("submit", "submit_1_in_flight"),
     ("submit", "raw_1_writer"), "raw JetStream, 1 writer", 0.9, True),
    ("1 sequential writer (decisions/s)", ("submit", "submit_1_in_flight"),
     ("postgres", "1_writer"), "PostgreSQL, 1 connection", None, True),
    ("64 in flight, 1 kommun (decisions/s)", ("submit", "submit_64_in_flight"),
     ("postgres", "64_connections_1_kommun"), "PostgreSQL, pool of 64", 1.5, True),
    ("64 in flight, 1 kommun (decisions/s)", ("submit", "submit_64_in_flight"),
     ("postgres", "64_connections_1_kommun_gapfree"),
     "PostgreSQL, pool of 64, gap-free per kommun", None, True),
    ("8 kommuner × 16 in flight (decisions/s)", ("submit", "submit_8_kommuner_x16"),
     ("postgres", "64_connections_8_kommuner"), "PostgreSQL, pool of 64", 1.5, True),
    ("8 kommuner × 16 in flight (decisions/s)", ("submit", "submit_8_kommuner_x16"),
     ("submit", "raw_8_kommuner"), "raw JetStream, 8 writers", None, True),
    ("64 in flight, 1 kommun (decisions/s)", ("submit", "submit_64_in_flight"),
     ("submit", "submit_64_in_flight_unpipelined"), "the same, one batch at a time", None, True),
    ("256 in flight, 1 kommun (decisions/s)", ("submit", "submit_256_in_flight"),
     ("submit", "submit_256_in_flight_unpipelined"), "the same, one batch at a time", None, True),
    ("256 in flight, 1 kommun (decisions/s)", ("submit", "submit_256_in_flight"),
     ("postgres", "64_connections_1_kommun"), "PostgreSQL, pool of 64", None, True),
    ("8 kommuner × 16 in flight (decisions/s)", ("submit", "submit_8_kommuner_x16"),
     ("submit", "submit_8_kommuner_x16_unpipelined"), "the same, one batch at a time", None, True),
    ("projection rebuild (events/s)", ("rebuild", "projection_rebuild"),
     ("rebuild", "raw_replay"), "raw JetStream ordered replay", 0.5, True),
    ("projection rebuild (events/s)", ("rebuild", "projection_rebuild"),
     ("postgres", "streamed_read"), "PostgreSQL streamed read", None, True),
    ("projection rebuild, 2 kommuner at a time (events/s)",
     ("rebuild", "projection_rebuild_2_at_a_time"),
     ("rebuild", "raw_replay"), "raw JetStream ordered replay", 0.5, True),
    ("store replay: decode, hash, link, signature (events/s)", ("rebuild", "store_replay"),
     ("rebuild", "raw_replay"), "raw JetStream ordered replay", None, True),
    ("verify (events/s)", ("verify", "verify"),
     ("verify", "raw_sha256"), "raw SHA-256 over the same bytes", 0.5, True),
    ("plan query p99, live, kept (no write since the last question) (ms)", ("rebuild", "plan_kept_p99"),
     ("postgres", "plan_by_key_p99"), "PostgreSQL JSONB by key, p99", 1.0, False),
    ("plan query p50, live, kept (no write since the last question) (ms)", ("rebuild", "plan_kept_p50"),
     ("postgres", "plan_by_key_p50"), "PostgreSQL JSONB by key, p50", None, False),
    ("plan query p99, live, first question after a write (ms)", ("rebuild", "plan_after_write_p99"),
     ("postgres", "plan_by_key_p99"), "PostgreSQL JSONB by key, p99", 1.0, False),
    ("plan query p99, built whole (nothing kept: after a restart or a rättelse) (ms)", ("rebuild", "plan_p99"),
     ("postgres", "plan_by_key_p99"), "PostgreSQL JSONB by key, p99", None, False),
    ("plan as-of p99: past view from kept versions, then the plan (ms)",
     ("rebuild", "plan_as_of_p99"), ("rebuild", "plan_as_of_folded_p99"),
     "the same from the whole history folded, p99", None, False),
    ("sled folder / event log (bytes)", ("rebuild", "sled_bytes"),
     ("rebuild", "log_bytes"), "the event log's bytes", 1.5, False),
    ("sled folder, one kommun projected an event a batch (as live) / its log (bytes)",
     ("rebuild", "live_sled_bytes"), ("rebuild", "live_log_bytes"), "the kommun's share of the log",
     1.5, False),
    ("long histories: projection rebuild (events/s)",
     ("long", "projection_rebuild"), ("long", "raw_replay"),
     "raw JetStream ordered replay", 0.5, True),
    ("long histories: sled folder / event log (bytes)", ("long", "sled_bytes"),
     ("long", "log_bytes"), "the event log's bytes", 1.5, False),
]
ALONE = [("first decision after a restart, from a snapshot with 1 500 events after it (ms)",
          ("submit", "first_answer_after_restart_snapshot"), 200.0),
         ("first decision after a restart, whole history folded (no snapshot) (ms)",
          ("submit", "first_answer_after_restart"), None),
         ("plan query p99, live, kept (no write since the last question) (ms)", ("rebuild", "plan_kept_p99"), 2.0),
         ("plan query p99, live, first question after a write (ms)", ("rebuild", "plan_after_write_p99"), 2.0),
         ("plan query p99, built whole (nothing kept) (ms)", ("rebuild", "plan_p99"), 2.0),
         ("past view p99 (as-of by sequence, record time or decision date) (ms)",
          ("rebuild", "past_view_p99"), 20.0),
         ("plan as-of p99, past view and plan (ms)", ("rebuild", "plan_as_of_p99"), 20.0),
         ("styrkedja path p99, live (kept graph) (ms)", ("rebuild", "chain_kept_p99"), 2.0),
         ("styrkedja path p99, graph built per call (ms)", ("rebuild", "chain_p99"), 2.0),
         ("entity history p99, first page (ms)", ("rebuild", "history_p99"), 2.0),
         ("long histories: past view p99 (ms)", ("long", "past_view_p99"), 20.0),
         ("long histories: plan as-of p99, past view and plan (ms)",
          ("long", "plan_as_of_p99"), 20.0),
         ("long histories: plan query p99, first question after a write (ms)",
          ("long", "plan_after_write_p99"), 2.0),
         ("long histories: plan query p99, built whole (ms)", ("long", "plan_p99"), 2.0),
         ("long histories: styrkedja path p99, live (ms)", ("long", "chain_kept_p99"), 2.0),
         ("long histories: entity history p99, first page (ms)",
          ("long", "history_p99"), 2.0),
]


def load(paths):
    runs = []
    for p in paths:
        figures = {}
        with open(p) as f:
            for line in f:
                if line.strip():
                    x = json.loads(line)
                    figures[(x["bench"], x["name"])] = x["value"]
        runs.append(figures)
    return runs


def fmt(v):
    if v >= 100:
        return f"{v:,.0f}".replace(",", " ")
    return f"{v:.3g}"


def span(values):
    lo, hi = min(values), max(values)
    return fmt(lo) if fmt(lo) == fmt(hi) else f"{fmt(lo)}–{fmt(hi)}"


def ratio_span(values):
    lo, hi = min(values), max(values)
    return f"{lo:.2f}×" if f"{lo:.2f}" == f"{hi:.2f}" else f"{lo:.2f}–{hi:.2f}×"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", default="0")
    ap.add_argument("--out", default=".")
    ap.add_argument("--sizes", default="")
    ap.add_argument("runs", nargs="+")
    a = ap.parse_args()
    quick = a.quick == "1"
    runs = load(a.runs)
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    machine = {"cpu": cpu, "cores": os.cpu_count(), "system": platform.platform()}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    if dirty:
        commit += " with uncommitted changes"
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rows, report = [], {"date": date, "commit": commit, "machine": machine, "quick": quick,
                        "repeats": len(runs), "comparisons": [], "figures": {}}
    for key in sorted({k for r in runs for k in r}):
        vals = [r[key] for r in runs if key in r]
        report["figures"][f"{key[0]}/{key[1]}"] = {
            "median": statistics.median(vals), "min": min(vals), "max": max(vals), "values": vals}
    for what, ours, peer, peer_name, target, higher in COMPARISONS:
        pairs = [(r[ours], r[peer]) for r in runs if ours in r and peer in r and r[peer]]
        if not pairs:
            continue
        ratios = [o / p for o, p in pairs]
        met = None
        if target is not None:
            worst = min(ratios) if higher else max(ratios)
            met = worst >= target if higher else worst <= target
        report["comparisons"].append({
            "what": what, "ours": [o for o, _ in pairs], "peer": peer_name,
            "peer_values": [p for _, p in pairs], "ratios": ratios, "target": target,
            "higher_is_better": higher, "met": met})
        target_text = "" if target is None else (f"≥ {target}×" if higher else f"≤ {target}×")
        verdict = "" if met is None else ("uppnått" if met else "inte uppnått")
        rows.append(f"| {what} | {span([o for o, _ in pairs])} | {peer_name}: "
                    f"{span([p for _, p in pairs])} | {ratio_span(ratios)} | {target_text} | {verdict} |")
    for what, key, target in ALONE:
        vals = [r[key] for r in runs if key in r]
        if vals and target is None:
            rows.append(f"| {what} | {span(vals)} | — | — |  |  |")
        elif vals:
            met = max(vals) < target
            rows.append(f"| {what} | {span(vals)} | — | — | < {target:g} ms | "
                        f"{'uppnått' if met else 'inte uppnått'} |")
    md = [
        "# Benchmarks",
        "",
        f"Written by `benches/run{' --quick' if quick else ''}` on {date}, commit {commit}; "
        f"{machine['cores']} cores ({cpu}), {machine['system']}; {len(runs)} repeat(s) of "
        f"{a.sizes}. "
        "Every ratio is taken within one repeat (Styrkedja and its peer in the same run) and "
        "given as the range over repeats; figures are ranges too.",
        "",
    ]
    if quick:
        md += ["**Quick mode**: a debug build and small sizes, run by CI so that the harness "
               "cannot rot. These figures say nothing about speed; run `benches/run` for those.",
               ""]
    md += [
        "| measurement | Styrkedja | peer | ratio | target | |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        "Peers: raw JetStream on the same nats-server (publish with expected last sequence, "
        "awaiting each acknowledgement; ordered-consumer replay); PostgreSQL "
        "(Debian's package, fsync and synchronous_commit on) as an append-only table with "
        "primary key (kommun, seq) written by pgbench with a pool of connections, seq from a "
        "sequence per kommun (not gap-free, not in commit order: the fastest peer, the one "
        "the targets name), and once with a locked head row per kommun (gap-free, in commit "
        "order, as a stream's expected sequence); a streamed `COPY` of the table in order; "
        "the same plan answer stored as JSONB and read back by key over a socket.",
        "",
        "Raw figures, medians and per-repeat values: `benchmarks.json`.",
        "",
    ]
    with open(os.path.join(a.out, "BENCHMARKS.md"), "w") as f:
        f.write("\n".join(md))
    with open(os.path.join(a.out, "benchmarks.json"), "w") as f:
        json.dump(report, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
