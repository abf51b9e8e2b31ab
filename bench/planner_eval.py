#!/usr/bin/python3
"""The learned planner's honest evaluation: writes docs/planner.md.

    /usr/bin/python3 bench/planner_eval.py               # calibrate, then all nine models
    /usr/bin/python3 bench/planner_eval.py --threads 1 2 # also with 2 threads
    /usr/bin/python3 bench/planner_eval.py --report-only # rewrite the report from results

1. Builds deepfirst (Release) into --build-dir if needed and exports the zoo (batch 1,
   224x224) into --zoo if missing (tools/export_zoo.py).
2. Calibrates into a cache directory of its own (--cache, default bench/out/planner_cache;
   removed first unless --keep-calibration), timing it: the synthetic networks never
   include the zoo, so every zoo model is held out.
3. For each model and thread count runs `deepfirst evaluate` (tools/cli/cmd_evaluate.c):
   every unit of the plan space measured on the real model, the prediction errors of the
   learned model and of the analytic estimate alone, Kendall's tau of the schedules of each
   segment, the planners' plans and the best plan of the space measured end to end side by
   side (regret = latency over the fastest of them), planning time, and, from measuring
   the plan space twice (--passes), the run-to-run noise and how well the measurement
   ranks the schedules itself (the tau a perfect-looking prediction can reach here).
4. Writes the report (default docs/planner.md) and the raw results (bench/out/planner.json).
Progress goes to stderr.
"""
import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
ZOO = ["resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_large", "squeezenet1_1",
       "shufflenet_v2_x1_0", "densenet121", "efficientnet_b0", "googlenet"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def ensure_tools(args):
    exe = os.path.join(args.build_dir, "deepfirst")
    if not os.path.exists(exe):
        subprocess.run(["cmake", "-S", ROOT, "-B", args.build_dir, "-DCMAKE_BUILD_TYPE=Release"],
                       check=True)
        subprocess.run(["cmake", "--build", args.build_dir, "-j2", "--target", "deepfirst_cli"],
                       check=True)
    missing = [m for m in args.models if not os.path.exists(os.path.join(args.zoo, m + ".onnx"))]
    if missing:
        log("exporting " + " ".join(missing))
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "export_zoo.py"),
                        "--out", args.zoo, "--models"] + missing, check=True)
    return exe


def calibrate(exe, args):
    if os.path.exists(args.cache) and not args.keep_calibration:
        shutil.rmtree(args.cache)
    if args.keep_calibration and os.path.exists(args.cache):
        return None
    cmd = [exe, "calibrate", "--budget", str(args.budget), "--cache-dir", args.cache]
    log("$ " + " ".join(cmd))
    t0 = time.time()
    out = subprocess.run(cmd, check=True, stderr=subprocess.PIPE, text=True)
    seconds = time.time() - t0
    lines = [l for l in out.stderr.splitlines() if not l.startswith(("measuring", "fingerprint"))]
    for l in lines:
        log(l)
    return {"seconds": seconds, "log": lines}


def evaluate(exe, args, model, threads):
    cmd = [exe, "evaluate", os.path.join(args.zoo, model + ".onnx"), "-t", str(threads),
           "--cache-dir", args.cache, "--runs", str(args.runs), "--rounds", str(args.rounds),
           "--passes", str(args.passes)]
    log("$ " + " ".join(cmd))
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True)
    r = json.loads(out.stdout)
    r["name"] = model
    return r


def fmt(x, digits=1):
    return "-" if x is None or x != x else f"{x:.{digits}f}"


MARGIN = 0.05  # DF_PLAN_MARGIN in src/plan/planner.h


def report(results, calib, args):
    rows = results["runs"]
    lines = ["# The learned planner: how well it predicts and chooses", "",
             f"Written by `/usr/bin/python3 bench/planner_eval.py {' '.join(results['argv'])}` on "
             f"{results['date']} ({results['machine']}). The calibration ran on synthetic networks "
             "only (tools/cli/synth.c); none of the nine zoo models below was seen in training.", ""]
    if calib:
        lines += [f"Calibration: {calib['seconds']:.0f} s (`deepfirst calibrate --budget "
                  f"{args.budget}`).", ""] + ["    " + l for l in calib["log"]] + [""]
    lines += ["## Targets", ""]
    for threads in sorted({r["threads"] for r in rows}):
        rs = [r for r in rows if r["threads"] == threads]
        ml = statistics.mean(r["errors"]["learned"]["mape"] for r in rs)
        ma = statistics.mean(r["errors"]["analytic"]["mape"] for r in rs)
        tau = statistics.mean(r["tau"]["learned"] for r in rs)
        tau_a = statistics.mean(r["tau"]["analytic"] for r in rs)
        self_taus = [r["tau"].get("measurement") for r in rs]
        self_taus = [t for t in self_taus if t is not None and t == t]
        tau_self = fmt(statistics.mean(self_taus), 2) if self_taus else "-"
        worst = max(r["plans"]["learned"]["regret_pct"] for r in rs)
        plan_ms = max(r["planning_ms"] for r in rs)
        noise = statistics.mean(r["noise_pct"] for r in rs)
        plain = [r["plans"]["learned_plain"]["regret_pct"] for r in rs if "learned_plain" in r["plans"]]
        mean_regret = {k: statistics.mean(r["plans"][k]["regret_pct"] for r in rs)
                       for k in ("learned", "analytic", "heuristic")}
        lines += [f"{threads} thread{'s' if threads > 1 else ''}, mean over the models:", "",
                  "| target | wanted | learned | analytic | heuristic |", "|---|---|---|---|---|",
                  f"| segment time error (MAPE) | <= 10%, <= half the analytic's | {ml:.1f}% | {ma:.1f}% | - |",
                  f"| Kendall's tau, schedules of each segment | >= 0.8 | {tau:.2f} | {tau_a:.2f} | - |",
                  f"| end-to-end regret, worst model | <= 3% | {worst:.1f}% | "
                  f"{max(r['plans']['analytic']['regret_pct'] for r in rs):.1f}% | "
                  f"{max(r['plans']['heuristic']['regret_pct'] for r in rs):.1f}% |",
                  f"| end-to-end regret, mean of the models | | {mean_regret['learned']:.1f}% | "
                  f"{mean_regret['analytic']:.1f}% | {mean_regret['heuristic']:.1f}% |",
                  f"| planning time, slowest model | < 1 s | {plan_ms:.0f} ms | | |",
                  f"| Kendall's tau of the measurement against itself (two passes over the same schedules) | | {tau_self} | | |",
                  f"| run-to-run noise of a unit's time (two passes) | | {noise:.1f}% | | |",
                  ""]
        if plain:
            lines += [f"The learned planner takes a segment only when it is predicted {100 * MARGIN:.0f}% "
                      "faster than what it replaces (src/plan/planner.h, DF_PLAN_MARGIN). Without "
                      f"that margin, in the same run, its regret was {max(plain):.1f}% on the worst "
                      f"model and {statistics.mean(plain):.1f}% on the mean (with it: {worst:.1f}% "
                      f"and {mean_regret['learned']:.1f}%).", ""]
    lines += ["## How the planner works", "",
              "A unit of work is one op run layer by layer, or a depth-first segment of 2 to 10 "
              "ops under a band height of 1, 2, 4, 8, 16 or 32 rows (or the whole height when it "
              "is at most 32). Its features (src/plan/features.h) come from the compiled program "
              "and the machine fingerprint, and include an analytic roofline estimate: per op, "
              "the longer of its arithmetic at the measured FMA rate and its traffic at the "
              "measured bandwidth of the cache level each tensor lives in. XGBoost (trained by "
              "`deepfirst calibrate` on random synthetic networks run under random plans) "
              "predicts log(measured / roofline); the library evaluates the trees itself. The "
              "plan is the one of least predicted total time, by dynamic programming over the "
              "ops. The analytic planner runs the same dynamic program on the roofline alone; "
              "the heuristic is the cache-size rule used without a calibration "
              "(README, Design decisions).", ""]
    lines += ["## Per model", "",
              "The whole plan space is measured in passes (`deepfirst evaluate --passes`, "
              f"{rows[0].get('passes', 1)} here), each running the same packed plans in fresh models, a pass "
              "apart in time; a unit's measured time is the least of its passes' medians, because "
              "this VM has slow phases of a few seconds in which everything runs 20-40% slower. "
              "Noise: the mean absolute difference between the first two passes, per unit. "
              "MAPE and median APE: absolute percentage error of the predicted time of every unit "
              "of the plan space (each layer step, each segment under each band), against its "
              "measured time. Tau: Kendall's tau between predicted and measured times of "
              "the schedules of each segment (its bands and its steps layer by layer), averaged "
              "over segments; tau self: the same between the first and the second pass, which "
              "bounds what a measured tau can show. Regret: end-to-end median latency of the planner's plan over the "
              "fastest plan measured side by side (the planners' plans, the layer-by-layer plan, "
              "and the best plan of the space by its units' measured times). Exhaustive: time to "
              "measure the whole space; planning: time to predict every candidate and choose.", ""]
    lines += ["| model | threads | candidates | MAPE learned / analytic | median APE l / a | "
              "tau l / a / self | regret learned / analytic / heuristic / best / layer / learned without margin | latency learned, ms | "
              "planning ms | exhaustive s | noise |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        e, p = r["errors"], r["plans"]
        lines.append(
            f"| {r['name']} | {r['threads']} | {r['candidates']} | "
            f"{fmt(e['learned']['mape'])} / {fmt(e['analytic']['mape'])} | "
            f"{fmt(e['learned']['median_ape'])} / {fmt(e['analytic']['median_ape'])} | "
            f"{fmt(r['tau']['learned'], 2)} / {fmt(r['tau']['analytic'], 2)} / "
            f"{fmt(r['tau'].get('measurement'), 2)} | "
            + " / ".join(fmt(p[k]['regret_pct']) if k in p else "-"
                         for k in ["learned", "analytic", "heuristic", "best", "layer", "learned_plain"])
            + f" | {p['learned']['median_us'] / 1e3:.2f} | {r['planning_ms']:.0f} | "
            f"{r['exhaustive_s']:.0f} | {fmt(r['noise_pct'])}% |")
    lines += ["", "## Plans chosen", ""]
    for r in rows:
        lines.append(f"- {r['name']}, {r['threads']} thread(s): learned `{r['plans']['learned']['plan']}`; "
                     f"best `{r['plans']['best']['plan']}`; heuristic `{r['plans']['heuristic']['plan']}`")
    lines.append("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--zoo", default=os.path.join(ROOT, "build", "zoo"))
    ap.add_argument("--cache", default=os.path.join(BENCH, "out", "planner_cache"))
    ap.add_argument("--keep-calibration", action="store_true")
    ap.add_argument("--budget", type=int, default=150, help="calibration seconds")
    ap.add_argument("--models", nargs="+", default=ZOO)
    ap.add_argument("--threads", nargs="+", type=int, default=[1])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--passes", type=int, default=2, help="measurements of each plan space")
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "planner.md"))
    ap.add_argument("--results", default=os.path.join(BENCH, "out", "planner.json"))
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args()
    os.makedirs(os.path.dirname(args.results), exist_ok=True)
    if args.report_only:
        with open(args.results) as f:
            results = json.load(f)
    else:
        exe = ensure_tools(args)
        calib = calibrate(exe, args)
        if calib is None and os.path.exists(args.results):  # kept: its record from last time
            with open(args.results) as f:
                calib = json.load(f).get("calibration")
        results = {"argv": sys.argv[1:], "date": datetime.date.today().isoformat(),
                   "machine": os.uname().machine + ", " + str(os.cpu_count()) + " cores",
                   "calibration": calib, "runs": []}
        for threads in args.threads:
            for m in args.models:
                results["runs"].append(evaluate(exe, args, m, threads))
                with open(args.results, "w") as f:
                    json.dump(results, f, indent=1)
    text = report(results, results.get("calibration"), args)
    with open(args.doc, "w") as f:
        f.write(text)
    log("wrote " + args.doc)


if __name__ == "__main__":
    main()
