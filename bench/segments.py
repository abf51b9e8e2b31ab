#!/usr/bin/env python3
"""Where depth first gains and where it does not, segment by segment.

For each model, runs `deepfirst plan --measure --json` alternately with the
depth and the layer schedule (ROUNDS times each, one process per run), maps
the layer-by-layer time of every op onto the depth-first segment it belongs
to, and prints per segment: its ops, the image it ends with, the median time
both ways, the ratio, and the bytes layer by layer writes between the
segment's ops (the traffic depth first keeps in its ring buffers) against
the cache sizes. Ops outside every segment are summed as "between". The
Markdown table goes to stdout, or to --out.

usage: bench/segments.py [--deepfirst build/deepfirst] [--zoo build/zoo]
                         [--threads 1] [--rounds 5] [--schedule depth|auto]
                         [--out FILE] MODEL...
--schedule auto profiles the segments the planner chose instead of all the
depth schedule's. MODEL is a zoo name (mobilenet_v2) or a path to an .onnx file.
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys


def plan_json(deepfirst, model, threads, schedule):
    cmd = [deepfirst, "plan", model, "-t", str(threads), "--schedule", schedule,
           "--measure", "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def mib(b):
    return f"{b / 2**20:.2f}"


def profile(deepfirst, model, threads, rounds, schedule):
    depth_runs, layer_runs = [], []
    for _ in range(rounds):
        depth_runs.append(plan_json(deepfirst, model, threads, schedule))
        layer_runs.append(plan_json(deepfirst, model, threads, "layer"))
    plan = depth_runs[0]
    ops, segs = plan["ops"], plan["segments"]
    if [o["name"] for o in layer_runs[0]["ops"]] != [o["name"] for o in ops]:
        sys.exit(f"{model}: the layer and depth plans list different ops")

    def layer_ms(first, last):
        return statistics.median(
            sum(r["ops"][i]["measured_us"] for i in range(first, last + 1)) / 1e3
            for r in layer_runs)

    rows = []
    in_segment = set()
    for k, s in enumerate(segs):
        first, last = s["first_op"], s["last_op"]
        in_segment.update(range(first, last + 1))
        d = statistics.median(r["segments"][k]["measured_us"] for r in depth_runs) / 1e3
        lm = layer_ms(first, last)
        # what layer by layer writes and reads back inside the segment: every
        # op's output but the last one's (4-byte floats)
        inner = 0
        for i in range(first, last):
            n = 1
            for dim in ops[i]["shape"]:
                n *= dim
            inner += 4 * n
        last_shape = "x".join(str(v) for v in ops[last]["shape"])
        rows.append((f"{first}-{last}", last - first + 1, last_shape, s["band_rows"], lm, d,
                     inner, s["ring_bytes"] + s["weight_bytes"]))
    outside = [i for i in range(len(ops)) if i not in in_segment]
    between_layer = statistics.median(
        sum(r["ops"][i]["measured_us"] for i in outside) / 1e3 for r in layer_runs)
    between_depth = statistics.median(
        sum(r["ops"][i].get("measured_us", 0.0) for i in outside) / 1e3 for r in depth_runs)
    total_layer = statistics.median(r["measured_us"] / 1e3 for r in layer_runs)
    total_depth = statistics.median(r["measured_us"] / 1e3 for r in depth_runs)
    return plan, rows, (len(outside), between_layer, between_depth), (total_layer, total_depth)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--deepfirst", default="build/deepfirst")
    ap.add_argument("--zoo", default="build/zoo")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--schedule", default="depth", choices=["depth", "auto"],
                    help="whose segments: the depth schedule's (default) or auto's")
    ap.add_argument("--out")
    a = ap.parse_args()

    lines = []
    for m in a.models:
        path = m if m.endswith(".onnx") else os.path.join(a.zoo, m + ".onnx")
        plan, rows, between, totals = profile(a.deepfirst, path, a.threads, a.rounds,
                                              a.schedule)
        c = plan["caches"]
        lines.append(f"### {os.path.basename(path)}, {a.threads} thread(s), "
                     f"{a.schedule} schedule\n")
        lines.append(f"Plan `{plan['plan']}`; caches L2 {mib(c['l2'])} MiB, L3 {mib(c['l3'])} MiB "
                     f"per core as reported. Medians of {a.rounds} alternating runs of "
                     "`deepfirst plan --measure` per schedule; layer = the sum of the segment's "
                     "ops run layer by layer.\n")
        lines.append("| ops | count | ends with | band | layer ms | depth ms | depth over layer "
                     "| written between its ops, layer by layer (MiB) | depth working set (MiB) |")
        lines.append("|---|---:|---|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            lines.append(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]:.3f} | {r[5]:.3f} | "
                         f"{r[4] / r[5]:.2f}x | {mib(r[6])} | {mib(r[7])} |")
        n_out, bl, bd = between
        lines.append(f"| between segments | {n_out} | | | {bl:.3f} | {bd:.3f} | "
                     f"{(bl / bd if bd else float('nan')):.2f}x | | |")
        tl, td = totals
        lines.append(f"| **whole model** | {len(plan['ops'])} | | | {tl:.3f} | {td:.3f} | "
                     f"**{tl / td:.2f}x** | | |\n")
    text = "\n".join(lines)
    if a.out:
        head = ["# Depth first, segment by segment", "",
                f"Written by `python3 bench/segments.py {' '.join(sys.argv[1:])}` on "
                f"{datetime.date.today().isoformat()} ({os.uname().machine}, "
                f"{os.cpu_count()} cores). For each segment of the plan: the time of its ops "
                "run layer by layer and run depth first (median of alternating runs), and the "
                "bytes layer by layer writes between the segment's ops, which depth first keeps "
                "in ring buffers (its working set: rings plus weights). Depth first can only "
                "win where that traffic does not stay in L2 anyway.", ""]
        with open(a.out, "w") as f:
            f.write("\n".join(head) + "\n" + text + "\n")
    print(text)


if __name__ == "__main__":
    main()
