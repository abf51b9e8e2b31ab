#!/usr/bin/python3
"""Side-by-side benchmark: deepfirst (layer by layer and depth first), ONNX Runtime and PyTorch.

    /usr/bin/python3 bench/run.py            # full run (~20 min on an idle 2-core machine)
    /usr/bin/python3 bench/run.py --quick    # 3 small models, few runs, one pass (~3 min)

Settings measured by default: every zoo model at 224x224, batch 1 and 8; and the models of
--large-models (mobilenet_v2, mobilenet_v3_large, efficientnet_b0, shufflenet_v2_x1_0,
resnet50) at 512x512, batch 1 (--sizes, --large-batches); each with 1 and 2 threads.

Engines: deepfirst with `--schedule layer`, `--schedule depth` and `--schedule auto` (three
engines, "layer", "depth", "auto"; --schedules picks a subset), ONNX Runtime ("ort") and
PyTorch ("torch").

What it does:
 1. makes sure the tools exist: builds deepfirst (Release) in --build-dir if needed; installs
    onnxruntime-node from npm into bench/node_modules (--ignore-scripts: its post-install step
    fetches GPU files from a host that is not reachable; the CPU library ships in the package);
    exports the zoo at each batch size and input size into --work (default build/zoo; existing
    files reused; names as in tools/export_zoo.py: NAME, NAME_b8, NAME_s512, NAME_b8_s512).
 2. measures, interleaving the engines: for each pass, setting (size, batch), model and thread
    count it runs deepfirst layer, depth and auto (`deepfirst bench --schedule S --json`), ONNX
    Runtime (bench/ort_bench.js) and PyTorch (bench/torch_bench.py) one after the other, each
    in a fresh process (the order rotates by one engine each pass); the whole round is repeated
    --passes times (default 2) and the pass with the better median is kept per engine.
 3. checks that the engines agree on the zoo's fixed input: the max abs error of each engine's
    output (deepfirst: each schedule) against the output PyTorch saved at export.
 4. writes the report (default docs/benchmarks.md) with the targets of issues 3 and 4 at the
    top, and a plot of the latency ratios against ONNX Runtime (default docs/benchmarks.png;
    skipped with a message if matplotlib is missing: apt-get install -y python3-matplotlib).
    All raw results go to bench/out/results.json; --report-only rewrites the report from it.

With --quick the report goes to bench/out/ unless --doc/--plot say otherwise, and the raw results
to bench/out/results-quick.json, so smoke tests overwrite neither docs/ nor a full run's results.
Progress goes to stderr.
"""
import argparse
import datetime
import json
import math
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(ROOT, "tools"))

ZOO = ["resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_large", "squeezenet1_1",
       "shufflenet_v2_x1_0", "densenet121", "efficientnet_b0", "googlenet"]
# issue 4's depth-first models (memory-bound inverted residuals and channel shuffles)
DEPTH_MODELS = ["mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0", "shufflenet_v2_x1_0"]
LARGE_MODELS = DEPTH_MODELS + ["resnet50"]
QUICK_MODELS = ["squeezenet1_1", "mobilenet_v2", "resnet18"]
QUICK_LARGE_MODELS = ["mobilenet_v2"]
SCHEDULES = ["layer", "depth", "auto"]  # deepfirst engines, named by their --schedule
ENGINES = SCHEDULES + ["ort", "torch"]
ENGINE_TITLE = {"layer": "deepfirst layer", "depth": "deepfirst depth", "auto": "deepfirst auto",
                "ort": "ORT", "torch": "torch"}
SHORT = {"layer": "layer", "depth": "depth", "auto": "auto", "ort": "ORT", "torch": "torch"}
IMAGE = 224
ORT_DEFAULT_VERSION = "1.30.0"
PY = "/usr/bin/python3"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def rel(path):
    """path relative to the repository root when inside it (for the report)."""
    p = os.path.abspath(path)
    return os.path.relpath(p, ROOT) if p.startswith(ROOT + os.sep) else p


def stem(name, batch, size=IMAGE):
    """The zoo's file stem (tools/export_zoo.py's stem(), repeated to keep torch out of here)."""
    s = name if batch == 1 else "%s_b%d" % (name, batch)
    return s if size == IMAGE else "%s_s%d" % (s, size)


def is_df(engine):
    return engine in SCHEDULES


def heavy(batch, size):
    """Settings that get --runs-large/--warmup-large: batch > 1 or a larger image."""
    return batch > 1 or size > IMAGE


def setting_title(size, batch):
    return "%dx%d, batch %d" % (size, size, batch)


# --------------------------------------------------------------------------------------------
# 1. tools
# --------------------------------------------------------------------------------------------

def ensure_deepfirst(args):
    if args.deepfirst:
        if not os.access(args.deepfirst, os.X_OK):
            sys.exit("run.py: --deepfirst %s is not an executable" % args.deepfirst)
        return os.path.abspath(args.deepfirst)
    bdir = os.path.abspath(args.build_dir)
    exe = os.path.join(bdir, "deepfirst")
    if args.no_build and os.access(exe, os.X_OK):
        return exe
    cache = os.path.join(bdir, "CMakeCache.txt")
    if not os.path.exists(cache):
        log("run.py: configuring a Release build in %s" % bdir)
        subprocess.run(["cmake", "-S", ROOT, "-B", bdir, "-DCMAKE_BUILD_TYPE=Release",
                        "-DDF_BUILD_TESTS=OFF"], check=True, stdout=subprocess.DEVNULL)
    else:
        with open(cache) as f:
            btype = [l.split("=", 1)[1].strip() for l in f if l.startswith("CMAKE_BUILD_TYPE:")]
        if btype and btype[0] != "Release":
            log("run.py: WARNING: %s is a %s build, not Release" % (bdir, btype[0]))
    log("run.py: building deepfirst in %s" % bdir)
    r = subprocess.run(["cmake", "--build", bdir, "-j%d" % (os.cpu_count() or 1),
                        "--target", "deepfirst_cli"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        tail = "\n".join(r.stdout.splitlines()[-15:])
        if os.access(exe, os.X_OK):
            log("run.py: WARNING: the build failed, using the existing %s:\n%s" % (exe, tail))
        else:
            sys.exit("run.py: building deepfirst failed:\n%s" % tail)
    return exe


def ort_installed_version():
    try:
        with open(os.path.join(BENCH, "node_modules", "onnxruntime-node", "package.json")) as f:
            return json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        return None


def ensure_ort(args):
    if not shutil.which("node"):
        sys.exit("run.py: node is missing (apt-get install -y nodejs npm)")
    have = ort_installed_version()
    if have and (have == args.ort_version or not args.ort_version_strict):
        if have != args.ort_version:
            log("run.py: using the installed onnxruntime-node %s (asked %s; "
                "--ort-version-strict to reinstall)" % (have, args.ort_version))
        return have
    if not shutil.which("npm"):
        sys.exit("run.py: npm is missing (apt-get install -y npm)")
    log("run.py: installing onnxruntime-node@%s into bench/node_modules" % args.ort_version)
    # --no-save/--no-package-lock: leave no package.json or lock file in the source tree.
    subprocess.run(["npm", "install", "--prefix", BENCH, "--ignore-scripts", "--no-save",
                    "--no-package-lock", "--no-audit", "--no-fund",
                    "onnxruntime-node@" + args.ort_version], check=True,
                   stdout=sys.stderr)
    have = ort_installed_version()
    if not have:
        sys.exit("run.py: onnxruntime-node did not install")
    return have


def ensure_zoo(args):
    os.makedirs(args.work, exist_ok=True)
    for size, batch, models in args.settings:
        missing = [m for m in models
                   if not all(os.path.exists(os.path.join(args.work, stem(m, batch, size) + e))
                              for e in (".onnx", ".input.npy", ".output.npy"))]
        if not missing:
            continue
        log("run.py: exporting %s at %s into %s" % (",".join(missing),
                                                    setting_title(size, batch), args.work))
        r = subprocess.run([PY, os.path.join(ROOT, "tools", "export_zoo.py"), "--out", args.work,
                            "--batch", str(batch), "--size", str(size),
                            "--models", ",".join(missing)])
        if r.returncode != 0:
            log("run.py: WARNING: export_zoo.py failed for some models (see above)")


def have_matplotlib():
    try:
        import matplotlib  # noqa: F401
        return True
    except ImportError:
        return False


# --------------------------------------------------------------------------------------------
# 2. measuring
# --------------------------------------------------------------------------------------------

def run_json(cmd, timeout):
    """Run cmd, parse the last JSON line of its stdout. Returns (dict or None, error)."""
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return None, "timed out after %d s" % timeout
    if r.returncode != 0:
        msg = (r.stderr.strip() or r.stdout.strip()).splitlines()
        return None, "exit %d: %s" % (r.returncode, msg[-1] if msg else "")
    for line in reversed(r.stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line), None
            except ValueError:
                break
    return None, "no JSON in output: %r" % r.stdout[-200:]


def measure(engine, args, exe, model, batch, size, threads, runs, warmup, out_npy=None):
    s = stem(model, batch, size)
    onnx = os.path.join(args.work, s + ".onnx")
    inp = os.path.join(args.work, s + ".input.npy")
    if is_df(engine):
        cmd = [exe, "bench", onnx, "-t", str(threads), "-r", str(runs), "-w", str(warmup),
               "--schedule", engine, "--json"]
    elif engine == "ort":
        cmd = ["node", os.path.join(BENCH, "ort_bench.js"), onnx, "--input", inp,
               "-t", str(threads), "-r", str(runs), "-w", str(warmup)]
        if out_npy:
            cmd += ["--output", out_npy]
    else:
        cmd = [PY, os.path.join(BENCH, "torch_bench.py"), model, "--input", inp,
               "-t", str(threads), "-r", str(runs), "-w", str(warmup), "--mode",
               args.torch_mode, "--cache", os.path.join(args.work, "torch")]
        if out_npy:
            cmd += ["--output", out_npy]
    t0 = time.time()
    d, err = run_json(cmd, args.timeout)
    wall = time.time() - t0
    if d is None:
        return {"error": err, "wall_s": wall}
    rec = {k: d.get(k) for k in ("median_ms", "min_ms", "p90_ms", "mean_ms", "load_ms")}
    rec["wall_s"] = wall
    if is_df(engine):
        # "schedule" is what deepfirst ran (auto resolves to layer or depth), "asked" what we
        # asked for
        rec.update(peak_bytes=d.get("peak_bytes"), weight_bytes=d.get("weight_bytes"),
                   rss_bytes=d.get("rss_bytes"), schedule=d.get("schedule"), asked=engine,
                   flops=d.get("flops"), planner=d.get("planner"))
    else:
        rec["rss_bytes"] = d.get("peak_rss_bytes")
        if engine == "torch":
            rec["mode"] = d.get("mode")
    return rec


def deepfirst_output(exe, args, model, batch, size, threads, schedule, out_npy):
    s = stem(model, batch, size)
    cmd = [exe, "run", os.path.join(args.work, s + ".onnx"), "-i",
           os.path.join(args.work, s + ".input.npy"), "-o", out_npy, "-t", str(threads),
           "--schedule", schedule]
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=args.timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return "timed out"
    if r.returncode != 0:
        msg = r.stderr.strip().splitlines()
        return "exit %d: %s" % (r.returncode, msg[-1] if msg else "")
    return None


def compare(out_npy, ref_npy):
    import numpy as np
    try:
        y = np.load(out_npy).astype(np.float64)
        ref = np.load(ref_npy).astype(np.float64)
    except Exception as e:  # noqa: BLE001
        return {"error": "%s: %s" % (type(e).__name__, e)}
    if y.shape != ref.shape:
        if y.size == ref.size:
            y = y.reshape(ref.shape)
        else:
            return {"error": "shape %s, expected %s" % (y.shape, ref.shape)}
    err = float(np.abs(y - ref).max())
    scale = float(np.abs(ref).max())
    return {"max_abs_err": err, "ref_max_abs": scale,
            "argmax_agree": bool((y.reshape(y.shape[0], -1).argmax(1)
                                  == ref.reshape(ref.shape[0], -1).argmax(1)).all())}


def loadavg():
    try:
        return list(os.getloadavg())
    except OSError:
        return None


def measure_all(args, exe, results, save):
    outdir = os.path.join(args.work, "outputs")
    os.makedirs(outdir, exist_ok=True)
    engines = args.engines
    npass = {e: min(args.passes, args.torch_passes) if e == "torch" else args.passes
             for e in engines}
    total = sum(len(models) for _, _, models in args.settings) * len(args.threads) * \
        sum(npass.values())
    done = 0
    t_start = time.time()
    for p in range(args.passes):
        # rotate the engine order each pass, so no engine always runs first or after another
        order = engines[p % len(engines):] + engines[:p % len(engines)]
        for size, batch, models in args.settings:
            big = heavy(batch, size)
            runs = args.runs_large if big else args.runs_b1
            warmup = args.warmup_large if big else args.warmup_b1
            for model in models:
                s = stem(model, batch, size)
                if not os.path.exists(os.path.join(args.work, s + ".onnx")):
                    log("run.py: %s missing in %s, skipped" % (s, args.work))
                    continue
                for threads in args.threads:
                    key = "%s|%d|%d|%d" % (model, batch, threads, size)
                    entry = results["measurements"].setdefault(
                        key, {"model": model, "batch": batch, "threads": threads, "size": size,
                              "passes": {e: [] for e in engines}})
                    check = (p == 0 and threads == args.threads[0])
                    for engine in order:
                        if engine == "torch" and p >= args.torch_passes:
                            continue
                        out_npy = None
                        if check and not is_df(engine):
                            out_npy = os.path.join(outdir, "%s.%s.npy" % (s, engine))
                            if os.path.exists(out_npy):
                                os.remove(out_npy)
                        la = loadavg()
                        rec = measure(engine, args, exe, model, batch, size, threads, runs,
                                      warmup, out_npy)
                        rec["load1"] = la[0] if la else None
                        rec["pass"] = p
                        entry["passes"][engine].append(rec)
                        done += 1
                        el = time.time() - t_start
                        log("[%3d/%d %5.0fs] pass %d  %-22s %3d b%d t%d  %-5s %s"
                            % (done, total, el, p + 1, model, size, batch, threads,
                               SHORT[engine],
                               "%.2f ms (min %.2f), %.1f s" % (rec["median_ms"], rec["min_ms"],
                                                               rec["wall_s"])
                               if "error" not in rec else "FAILED " + rec["error"]))
                    if check:
                        check_outputs(args, exe, results, entry, model, batch, size, threads,
                                      outdir)
                    save()
    results["elapsed_s"] = time.time() - t_start


def check_outputs(args, exe, results, entry, model, batch, size, threads, outdir):
    s = stem(model, batch, size)
    ref = os.path.join(args.work, s + ".output.npy")
    agree = {}
    for sched in [e for e in args.engines if is_df(e)]:
        df_out = os.path.join(outdir, "%s.deepfirst-%s.npy" % (s, sched))
        if os.path.exists(df_out):
            os.remove(df_out)
        err = deepfirst_output(exe, args, model, batch, size, threads, sched, df_out)
        agree[sched] = {"error": err} if err else compare(df_out, ref)
    for engine in [e for e in args.engines if not is_df(e)]:
        o = os.path.join(outdir, "%s.%s.npy" % (s, engine))
        if entry["passes"][engine] and "error" in entry["passes"][engine][-1]:
            agree[engine] = {"error": "did not run"}
        else:
            agree[engine] = compare(o, ref)
    results["agreement"]["%s|%d|%d" % (model, batch, size)] = agree
    log("      agreement vs PyTorch's saved output: " + ", ".join(
        "%s %s" % (SHORT[e], ("%.2e" % a["max_abs_err"]) if "max_abs_err" in a
                   else a.get("error"))
        for e, a in agree.items()))


# --------------------------------------------------------------------------------------------
# 3. facts about the machine and versions
# --------------------------------------------------------------------------------------------

def cmd_out(cmd):
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              cwd=ROOT, timeout=60).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine_facts():
    facts = {}
    ls = {}
    for line in cmd_out(["lscpu"]).splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            ls[k.strip()] = v.strip()
    facts["cpu_model"] = ls.get("Model name", platform.processor())
    facts["cpu_family"] = ls.get("CPU family")
    facts["cpu_model_number"] = ls.get("Model")
    facts["cpus"] = ls.get("CPU(s)")
    facts["threads_per_core"] = ls.get("Thread(s) per core")
    facts["cores_per_socket"] = ls.get("Core(s) per socket")
    for c in ("L1d cache", "L2 cache", "L3 cache"):
        facts[c] = ls.get(c)
    flags = ls.get("Flags", "").split()
    facts["isa"] = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "avx_vnni") if f in flags]
    facts["hypervisor"] = "hypervisor" in flags
    try:
        facts["affinity"] = len(os.sched_getaffinity(0))
    except AttributeError:
        facts["affinity"] = os.cpu_count()
    try:
        with open("/proc/meminfo") as f:
            facts["mem_gib"] = round(int(f.readline().split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    facts["kernel"] = platform.release()
    try:
        with open("/etc/debian_version") as f:
            facts["debian"] = f.read().strip()
    except OSError:
        pass
    return facts


def versions(args, ort_version):
    v = {"onnxruntime_node": ort_version, "node": cmd_out(["node", "--version"])}
    r = cmd_out([PY, "-c", "import torch,torchvision,numpy,onnx;print(torch.__version__,"
                 "torchvision.__version__,numpy.__version__,onnx.__version__)"]).split()
    if len(r) == 4:
        v["torch"], v["torchvision"], v["numpy"], v["onnx"] = r
    v["deepfirst_commit"] = cmd_out(["git", "rev-parse", "--short", "HEAD"])
    dirty = cmd_out(["git", "status", "--porcelain", "--untracked-files=no"])
    if dirty:
        v["deepfirst_commit"] += " + uncommitted changes"
    v["blas"] = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    return v


def baselines(args):
    b = {}
    d, _ = run_json(["node", os.path.join(BENCH, "ort_bench.js"), "--baseline"], 120)
    if d:
        b["ort"] = d.get("peak_rss_bytes")
    d, _ = run_json([PY, os.path.join(BENCH, "torch_bench.py"), "--baseline"], 120)
    if d:
        b["torch"] = d.get("peak_rss_bytes")
    return b


# --------------------------------------------------------------------------------------------
# 4. the report
# --------------------------------------------------------------------------------------------

def best(entry, engine):
    """The pass with the lowest median (errors ignored), plus the spread between passes."""
    recs = entry["passes"].get(engine)
    if recs is None:
        return None, None  # not measured in this run
    ok = [r for r in recs if "error" not in r and r.get("median_ms")]
    if not ok:
        errs = [r["error"] for r in recs if "error" in r]
        return None, (errs[0] if errs else "not run")
    b = dict(min(ok, key=lambda r: r["median_ms"]))
    b["min_ms"] = min(r["min_ms"] for r in ok)
    meds = [r["median_ms"] for r in ok]
    b["pass_spread"] = max(meds) / min(meds) - 1 if len(meds) > 1 else None
    b["npasses"] = len(ok)
    return b, None


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def fms(x):
    if x is None:
        return "-"
    return "%.0f" % x if x >= 1000 else "%.1f" % x if x >= 10 else "%.2f" % x


def fmib(b):
    return "-" if not b else "%.1f" % (b / 2**20)


def fratio(x):
    return "-" if x is None else "%.2f" % x


def div(a, b):
    return a / b if a and b else None


def med(x):
    return x["median_ms"] if x else None


def summarize(results):
    """{(size, batch, threads): [row per model]} of best-pass numbers and ratios."""
    groups = {}
    for key, entry in results["measurements"].items():
        if "deepfirst" in entry["passes"] and "layer" not in entry["passes"]:
            # results of the first version of this script: one deepfirst engine, the schedule
            # deepfirst chose (layer by layer then)
            recs = entry["passes"]["deepfirst"]
            sched = next((r.get("schedule") for r in recs if r.get("schedule")), "layer")
            entry = dict(entry, passes=dict(entry["passes"], **{sched: recs}))
        size = entry.get("size", IMAGE)
        g = groups.setdefault((size, entry["batch"], entry["threads"]), [])
        row = {"model": entry["model"]}
        for e in ENGINES:
            row[e], row[e + "_err"] = best(entry, e)
        L, D, A, O, T = (row[e] for e in ENGINES)
        row["layer_ort"] = div(med(L), med(O))
        row["depth_ort"] = div(med(D), med(O))
        row["auto_ort"] = div(med(A), med(O))
        row["torch_ort"] = div(med(T), med(O))
        row["speedup"] = div(med(L), med(D))        # depth over layer: > 1 = depth faster
        row["auto_layer"] = div(med(A), med(L))     # > 1 = auto slower than layer
        row["mem_ratio"] = div(L and L.get("peak_bytes"), D and D.get("peak_bytes"))
        g.append(row)
    order = {m: i for i, m in enumerate(ZOO)}
    for g in groups.values():
        g.sort(key=lambda r: order.get(r["model"], 99))
    return dict(sorted(groups.items()))


def rows_of(groups, size, batch, threads):
    return {r["model"]: r for r in groups.get((size, batch, threads), [])}


def threads_of(groups):
    return sorted({k[2] for k in groups})


def verdict(value, target, higher_is_better):
    """'**met**' or '**missed** (N% short)'; None when there is no value."""
    if value is None:
        return None
    ok = value >= target if higher_is_better else value <= target
    if ok:
        return "**met**"
    miss = 100 * abs(value / target - 1)
    return "**missed** (%s%% %s)" % ("%.1f" % miss if miss < 10 else "%.0f" % miss,
                                     "short" if higher_is_better else "over")


def tsuffix(t):
    return "%d thread%s" % (t, "s" if t > 1 else "")


def target_lines(results, groups):
    """The targets of issues 3 and 4, each as measured value vs target, in plain words."""
    out3, out4 = [], []
    ths = threads_of(groups)

    # ---- issue 3: the layer-by-layer engine against ONNX Runtime
    for t in ths:
        rows = [r for r in groups.get((IMAGE, 1, t), []) if r["layer_ort"]]
        gm = geomean([r["layer_ort"] for r in rows])
        if gm:
            out3.append("Layer-by-layer deepfirst / ORT, geometric mean of median latency over "
                        "%d model%s at batch 1, %s: **%.2f** (target: at most 1.00): %s." % (
                            len(rows), "s" if len(rows) != 1 else "", tsuffix(t), gm,
                            verdict(gm, 1.0, False)))
    per = {}
    for t in ths:
        r = rows_of(groups, IMAGE, 1, t).get("resnet50")
        if r:
            per[t] = r
    if 1 in per and 2 in per:
        sc = {e: div(med(per[1][e]), med(per[2][e])) for e in ENGINES}
        v = sc["layer"]
        if v:
            others = ", ".join("%s %.2fx" % (ENGINE_TITLE[e], sc[e]) for e in ENGINES
                               if e != "layer" and sc[e])
            out3.append("resnet50, batch 1, 224x224, speed-up of layer-by-layer deepfirst from 1 "
                        "to 2 threads: **%.2fx** (target: at least 1.8x): %s. Others: %s." % (
                            v, verdict(v, 1.8, True), others or "-"))
    out3.append("ResNet-50 conv layers at 85% of the FMA peak: not measured here "
                "(`deepfirst bench build/zoo/resnet50.onnx --ops -t 1`).")

    # ---- issue 4: depth first
    for t in ths:
        rows = rows_of(groups, IMAGE, 1, t)
        sel = [rows[m] for m in DEPTH_MODELS if m in rows and rows[m]["speedup"]]
        if sel:
            gm = geomean([r["speedup"] for r in sel])
            out4.append("Depth first over layer by layer, geometric mean over %s at batch 1, "
                        "224x224, %s: **%.2fx** (target: at least 1.25x): %s. Per model: %s." % (
                            ", ".join(r["model"] for r in sel), tsuffix(t), gm,
                            verdict(gm, 1.25, True),
                            ", ".join("%s %.2fx" % (r["model"], r["speedup"]) for r in sel)))
    for t in ths:
        rows = [r for r in groups.get((IMAGE, 1, t), []) if r["speedup"]]
        if rows:
            b = max(rows, key=lambda r: r["speedup"])
            out4.append("Best model, depth over layer at batch 1, 224x224, %s: **%s %.2fx** "
                        "(target: at least 1.41x on the best model): %s." % (
                            tsuffix(t), b["model"], b["speedup"],
                            verdict(b["speedup"], 1.41, True)))
    big = []
    for (size, batch, t) in groups:
        if size > IMAGE or batch > 1:
            r = rows_of(groups, size, batch, t).get("mobilenet_v2")
            if r and r["speedup"]:
                big.append((size, batch, t, r["speedup"]))
    if big:
        bestv = max(x[3] for x in big)
        out4.append("mobilenet_v2 at 512x512 or batch 8, depth over layer: %s; best **%.2fx** "
                    "(target: at least 1.5x in one of these settings): %s." % (
                        "; ".join("%s, %s %.2fx" % (setting_title(sz, b), tsuffix(t), v)
                                  for sz, b, t, v in sorted(big)),
                        bestv, verdict(bestv, 1.5, True)))
    for t in ths:
        rows = [r for r in groups.get((IMAGE, 1, t), []) if r["depth_ort"]]
        gm = geomean([r["depth_ort"] for r in rows])
        if gm:
            out4.append("Depth-first deepfirst / ORT, geometric mean over %d model%s at batch 1, "
                        "224x224, %s: **%.2f** (target: below 1.00, faster than ORT): %s." % (
                            len(rows), "s" if len(rows) != 1 else "", tsuffix(t), gm,
                            verdict(gm, 1.0, False)))
    for t in ths:
        rows = rows_of(groups, IMAGE, 8, t)
        sel = [(m, rows[m]["depth_ort"]) for m in ("resnet50", "mobilenet_v2")
               if m in rows and rows[m]["depth_ort"]]
        if sel:
            out4.append("Depth-first deepfirst / ORT at batch 8, 224x224, %s: %s (target: below "
                        "1.00 on both): %s." % (
                            tsuffix(t), ", ".join("%s **%.2f**" % x for x in sel),
                            "**met**" if all(v < 1 for _, v in sel) else "**missed** on " +
                            ", ".join(m for m, v in sel if v >= 1)))
    for t in ths:
        r = rows_of(groups, IMAGE, 1, t).get("mobilenet_v2")
        if r and r["mem_ratio"]:
            out4.append("Peak activation memory of mobilenet_v2, batch 1, 224x224, %s: layer by "
                        "layer %s MiB, depth first %s MiB, **%.2fx** lower (target: at least "
                        "4x): %s." % (tsuffix(t), fmib(r["layer"]["peak_bytes"]),
                                      fmib(r["depth"]["peak_bytes"]), r["mem_ratio"],
                                      verdict(r["mem_ratio"], 4.0, True)))
    autos = [(r["auto_layer"], r["model"], k) for k, rows in groups.items() for r in rows
             if r["auto_layer"]]
    if autos:
        v, m, (size, batch, t) = max(autos)
        n_over = len([a for a in autos if a[0] > 1.02])
        out4.append("Auto schedule against layer by layer, worst case over %d measured settings: "
                    "**%s %s, %s at %.2f** (%+.0f%%; target: never more than 2%% slower): %s%s." % (
                        len(autos), m, setting_title(size, batch), tsuffix(t), v,
                        100 * (v - 1), verdict(v, 1.02, False),
                        "" if n_over == 0 else "; %d setting%s over 2%%" % (
                            n_over, "s" if n_over != 1 else "")))
    else:
        out4.append("Auto schedule against layer by layer: auto was not measured in this run "
                    "(--schedules).")
    return out3, out4


def write_report(results, doc, plot_path, plot_note):
    groups = summarize(results)
    cfg = results["config"]
    m = results["machine"]
    v = results["versions"]
    engines = [e for e in ENGINES if e in cfg.get("engines", ENGINES)]
    scheds = [e for e in engines if is_df(e)]
    L = []
    w = L.append
    w("# Benchmarks: deepfirst (layer by layer and depth first), ONNX Runtime and PyTorch")
    w("")
    w("Written by `bench/run.py` on %s (%s of measuring). Regenerate with the command below; "
      "compare only numbers measured in the same run." % (
          results["date"], "%.0f min" % (results.get("elapsed_s", 0) / 60)))
    w("")
    w("```sh")
    w(results["command"])
    w("```")
    w("")
    if cfg.get("quick"):
        w("**This is a --quick smoke run (few models and runs, one pass): not a measurement "
          "to quote.**")
        w("")

    # headline: the targets
    out3, out4 = target_lines(results, groups)
    w("## Targets")
    w("")
    w("Ratios are of median latencies, each the better of the passes; every engine runs in its "
      "own process. \"Depth over layer\" = layer median / depth median (above 1 = depth first "
      "is faster).")
    w("")
    w("Issue 3 (the layer-by-layer engine at ONNX Runtime's speed):")
    w("")
    for x in out3:
        w("- " + x)
    w("")
    w("Issue 4 (depth-first execution):")
    w("")
    for x in out4:
        w("- " + x)
    w("")

    w("## Summary")
    w("")
    for (size, batch, threads), rows in groups.items():
        parts = []
        for e in [x for x in engines if x != "ort"]:
            gm = geomean([r[e + "_ort"] for r in rows])
            if gm:
                parts.append("%s/ORT %s" % (SHORT[e], fratio(gm)))
        sp = geomean([r["speedup"] for r in rows])
        if sp:
            parts.append("depth over layer %s" % fratio(sp))
        w("- %s, %s, geometric means over %d model%s: %s." % (
            setting_title(size, batch), tsuffix(threads), len(rows),
            "s" if len(rows) != 1 else "", "; ".join(parts) or "-"))
    fails = []
    for key, a in results["agreement"].items():
        f = key.split("|")
        where = "%s b%s%s" % (f[0], f[1], " %sx%s" % (f[2], f[2]) if len(f) > 2 and
                                 int(f[2]) != IMAGE else "")
        for e, x in a.items():
            t = ENGINE_TITLE.get(e, e)
            if "max_abs_err" in x and x["max_abs_err"] > 1e-4 * max(x["ref_max_abs"], 1e-30):
                fails.append("%s %s (%.2e)" % (t, where, x["max_abs_err"]))
            elif "error" in x:
                fails.append("%s %s (%s)" % (t, where, x["error"]))
    w("- outputs: " + ("all engines (deepfirst with every schedule) agree with PyTorch's saved "
                       "output within 1e-4 x max|ref| (the zoo tests' tolerance)." if not fails
                       else "outside 1e-4 x max|ref| or failed: " + "; ".join(fails) + "."))
    errs = []
    for (size, batch, threads), rows in groups.items():
        for r in rows:
            for e in engines:
                if r[e] is None and r[e + "_err"]:
                    errs.append("%s %s %s %s: %s" % (ENGINE_TITLE[e], r["model"],
                                                      setting_title(size, batch),
                                                      tsuffix(threads), r[e + "_err"]))
    if errs:
        w("- runs that failed: " + "; ".join(errs) + ".")
    w("")
    if plot_path:
        w("![latency relative to ONNX Runtime](%s)" % os.path.basename(plot_path))
        w("")
    elif plot_note:
        w("(No plot: %s)" % plot_note)
        w("")

    for note in results.get("notes", []):
        w("- Note: " + note)
    if results.get("notes"):
        w("")
    # setup
    w("## Setup")
    w("")
    caches = ", ".join("%s %s" % (c.split()[0], m[c]) for c in ("L1d cache", "L2 cache",
                                                                   "L3 cache") if m.get(c))
    w("- Machine: %s (lscpu: CPU family %s, model %s), %s CPU(s), %s thread(s) per core, "
      "%s available to the process; %s; %s; %s GiB RAM; ISA flags of note: %s; Linux %s, "
      "Debian %s." % (
          m.get("cpu_model"), m.get("cpu_family"), m.get("cpu_model_number"), m.get("cpus"),
          m.get("threads_per_core"), m.get("affinity"),
          "virtual machine" if m.get("hypervisor") else "bare metal",
          caches or "cache sizes not reported by lscpu", m.get("mem_gib"),
          ", ".join(m.get("isa", [])), m.get("kernel"), m.get("debian")))
    if "avx512f" in m.get("isa", []):
        w("- The CPU reports AVX-512 (lscpu flag avx512f). ONNX Runtime's MLAS and PyTorch's "
          "oneDNN choose their kernels from the CPU's features at run time and may use "
          "AVX-512 here; so does deepfirst (AVX-512 kernels selected at load, AVX2/FMA "
          "otherwise).")
    la0, la1 = results.get("loadavg_before"), results.get("loadavg_after")
    if la0:
        w("- Load average (1, 5, 15 min) before the run %s, after %s: %s" % (
            ", ".join("%.2f" % x for x in la0),
            ", ".join("%.2f" % x for x in la1) if la1 else "-",
            "other processes shared the cores, so expect noise (see the pass spread below)."
            if max(la0 + (la1 or [])) > 1.5 else "the machine was mostly idle."))
    loads = [r["load1"] for e in results["measurements"].values() for rs in e["passes"].values()
             for r in rs if r.get("load1") is not None]
    if loads:
        w("- 1-minute load average sampled before each measurement: median %.2f, max %.2f "
          "(on %s CPUs; the benchmark itself adds up to the thread count)." % (
              statistics.median(loads), max(loads), m.get("cpus")))
    auto_planners = sorted({r.get("planner") for e in results["measurements"].values()
                            for rs in e["passes"].values() for r in rs
                            if r.get("asked") == "auto" and r.get("planner")})
    w("- deepfirst: commit %s, `deepfirst bench --schedule S --json` once per schedule (%s), "
      "each in its own process; peak activation memory from its memory plan. auto is "
      "deepfirst's default: the planner decides per segment (in this run: %s; learned = the "
      "cost model of `deepfirst calibrate` on this machine, heuristic = the cache-size rule "
      "used without a calibration); depth forces every segment the heuristic planner finds "
      "to run depth first." % (v.get("deepfirst_commit"), ", ".join(scheds),
                               ", ".join(auto_planners) or "not recorded"))
    w("- ONNX Runtime: onnxruntime-node %s (CPU execution provider) on node %s, driven by "
      "`bench/ort_bench.js`: intraOpNumThreads = threads, interOpNumThreads 1, executionMode "
      "sequential, graphOptimizationLevel all; thread spinning left at ORT's default." % (
          v.get("onnxruntime_node"), v.get("node")))
    w("- PyTorch: Debian's torch %s / torchvision %s, `bench/torch_bench.py` in %s mode, eval "
      "mode, torch.inference_mode(), torch.set_num_threads(threads), one inter-op thread; the "
      "model is re-created by tools/export_zoo.py's own functions with the same seed, so it has "
      "the ONNX file's weights.%s" % (
          v.get("torch"), v.get("torchvision"), cfg.get("torch_mode"),
          " jit = torch.jit.trace + freeze + optimize_for_inference (oneDNN convolutions). Eager "
          "mode is not the default because Debian's torch sends single-threaded 1x1 "
          "convolutions at batch 1 to BLAS, and the BLAS here is %s (the reference BLAS unless "
          "OpenBLAS is installed): eager resnet50 with 1 thread took about 20x longer than jit "
          "when this script was written." % v.get("blas")
          if cfg.get("torch_mode") == "jit" else ""))
    runs_large = cfg.get("runs_large", cfg.get("runs_b8"))
    warm_large = cfg.get("warmup_large", cfg.get("warmup_b8"))
    w("- Each engine runs in a fresh process per (model, size, batch, threads); the engines "
      "alternate per model and thread count, their order rotating by one each pass; %d timed "
      "runs after %d warm-up runs at 224x224 batch 1, %d after %d at batch 8 and at 512x512; "
      "the whole round ran %d time(s) (torch in the first %d only) and the tables keep, per "
      "engine, the pass with the lower median (min = the lowest over all passes)." % (
          cfg["runs_b1"], cfg["warmup_b1"], runs_large, warm_large, cfg["passes"],
          cfg.get("torch_passes", cfg["passes"])))
    w("- Models: the zoo of tools/export_zoo.py (torchvision, seeded random weights, "
      "BatchNorm statistics re-estimated at 224x224, ONNX opset 13), exported into %s at "
      "3x224x224 and, for the larger settings, 3x512x512 (`--size 512`: the same weights on a "
      "larger image)." % cfg.get("work"))
    w("")

    # latency tables
    w("## Latency")
    w("")
    w("Milliseconds per inference (whole batch): median (min). Ratios are of medians: below "
      "1.00 means deepfirst is faster than ORT; depth over layer above 1.00 means depth first "
      "is faster than layer by layer; auto/layer above 1.00 means auto is slower. Spread: how "
      "much the pass medians differed (max/min - 1, per engine in column order), a measure of "
      "the noise.")
    w("")
    ratio_cols = [("layer_ort", "layer/ORT"), ("depth_ort", "depth/ORT"),
                  ("speedup", "depth over layer"), ("auto_layer", "auto/layer")]
    ratio_cols = [c for c in ratio_cols
                  if (c[0] != "auto_layer" or "auto" in engines)
                  and (c[0] not in ("depth_ort", "speedup") or "depth" in engines)
                  and (c[0] != "layer_ort" or "layer" in engines)]
    for (size, batch, threads), rows in groups.items():
        w("### %s, %s" % (setting_title(size, batch), tsuffix(threads)))
        w("")
        w("| model | " + " | ".join(SHORT[e] for e in engines) + " | " +
          " | ".join(t for _, t in ratio_cols) + " | torch/ORT | spread |")
        w("|---|" + "---:|" * (len(engines) + len(ratio_cols) + 2))
        for r in rows:
            cells = [r["model"]]
            for e in engines:
                x = r[e]
                mark = " †" if e == "torch" and x and x.get("mode") == "jit-frozen" else ""
                cells.append("%s (%s)%s" % (fms(x["median_ms"]), fms(x["min_ms"]), mark)
                             if x else ("fail" if r[e + "_err"] else "-"))
            for c, _ in ratio_cols:
                v_ = r[c]
                cells.append("-" if v_ is None else
                             "**%.2f**" % v_ if c in ("depth_ort", "speedup") else "%.2f" % v_)
            cells.append(fratio(r["torch_ort"]))
            cells.append(" / ".join("-" if not r[e] or r[e]["pass_spread"] is None
                                    else "%.0f%%" % (100 * r[e]["pass_spread"])
                                    for e in engines))
            w("| " + " | ".join(cells) + " |")
        gms = [fratio(geomean([r[c] for r in rows])) for c, _ in ratio_cols]
        w("| **geometric mean** |" + " |" * len(engines) + " " +
          " | ".join("**%s**" % g for g in gms) + " | %s | |" % fratio(
              geomean([r["torch_ort"] for r in rows])))
        w("")

    if any(r["torch"] and r["torch"].get("mode") == "jit-frozen"
           for rows in groups.values() for r in rows):
        w("† torch: torch.jit.optimize_for_inference computed this model wrongly (checked "
          "against the saved output), so torch_bench.py timed the traced and frozen module "
          "without it.")
        w("")
    # memory
    w("## Peak memory")
    w("")
    base = results.get("baselines", {})
    w("MiB. deepfirst activations: the peak of its static activation arena (memory plan; the "
      "depth-first ring buffers are in it), per schedule and thread count (depth first keeps "
      "buffers per thread strip); weights: its packed weights. RSS: the peak resident set of "
      "the whole process (getrusage ru_maxrss / process.resourceUsage().maxRSS), so it "
      "includes the runtime itself: node with onnxruntime loaded and no session peaks at %s "
      "MiB, python with torch imported at %s MiB; RSS columns are from the %s runs." % (
          fmib(base.get("ort")), fmib(base.get("torch")), tsuffix(cfg["threads"][0])))
    w("")
    ths = cfg["threads"]
    hdr = ["model", "size", "batch", "layer act."]
    for t in ths:
        hdr += ["depth act. %dt" % t, "layer/depth %dt" % t]
    if "auto" in engines:
        hdr += ["auto act. %dt" % ths[0]]
    hdr += ["weights", "RSS layer", "RSS depth", "RSS ORT", "RSS torch"]
    w("| " + " | ".join(hdr) + " |")
    w("|---|" + "---:|" * (len(hdr) - 1))
    settings = sorted({(k[0], k[1]) for k in groups})
    for size, batch in settings:
        per_t = {t: rows_of(groups, size, batch, t) for t in ths}
        for model in [r["model"] for r in groups.get((size, batch, ths[0]), [])]:
            r0 = per_t[ths[0]][model]
            lay = r0["layer"]
            cells = [model, str(size), str(batch), fmib(lay and lay.get("peak_bytes"))]
            for t in ths:
                rt = per_t[t].get(model)
                d = rt and rt["depth"]
                cells += [fmib(d and d.get("peak_bytes")),
                          fratio(rt and rt["mem_ratio"])]
            if "auto" in engines:
                a = r0["auto"]
                cells.append(fmib(a and a.get("peak_bytes")))
            anydf = lay or r0["depth"] or r0["auto"]
            cells.append(fmib(anydf and anydf.get("weight_bytes")))
            for e in ("layer", "depth", "ort", "torch"):
                x = r0[e]
                cells.append(fmib(x and x.get("rss_bytes")))
            w("| " + " | ".join(cells) + " |")
    w("")

    # agreement
    w("## Agreement")
    w("")
    w("Max absolute error of each engine's output on the zoo's fixed input against the output "
      "PyTorch saved at export (eager, 2 threads), with the largest |reference| for scale; "
      "top-1 agrees for every image unless marked *. deepfirst via `deepfirst run -i -o "
      "--schedule S` (%s), ORT via ort_bench.js --output, torch via torch_bench.py --output "
      "(its %s model, so BatchNorm folded by torch)." % (tsuffix(ths[0]), cfg.get("torch_mode")))
    w("")
    w("| model | size | batch | max abs ref | " + " | ".join(SHORT[e] for e in engines) + " |")
    w("|---|---:|---:|---:|" + "---:|" * len(engines))
    order = {mm: i for i, mm in enumerate(ZOO)}

    def akey(k):
        f = k.split("|")
        return (int(f[2]) if len(f) > 2 else IMAGE, int(f[1]), order.get(f[0], 99))
    for key in sorted(results["agreement"], key=akey):
        a = results["agreement"][key]
        f = key.split("|")
        model, batch, size = f[0], f[1], f[2] if len(f) > 2 else str(IMAGE)
        scale = next((x["ref_max_abs"] for x in a.values() if "ref_max_abs" in x), None)
        cells = []
        for e in engines:
            x = a.get(e, {})
            if "max_abs_err" in x:
                cells.append("%.1e%s" % (x["max_abs_err"], "" if x["argmax_agree"] else " *"))
            elif "error" in x:
                cells.append("fail: " + str(x.get("error", "?"))[:60])
            else:
                cells.append("-")
        w("| %s | %s | %s | %s | %s |" % (model, size, batch,
                                          "-" if scale is None else "%.3g" % scale,
                                          " | ".join(cells)))
    w("")
    w("Raw results (every pass, with each invocation's wall time): bench/out/results.json "
      "(not committed).")
    w("")
    os.makedirs(os.path.dirname(os.path.abspath(doc)), exist_ok=True)
    with open(doc + ".tmp", "w") as f:
        f.write("\n".join(L))
    os.replace(doc + ".tmp", doc)


def write_plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker  # noqa: F401

    groups = summarize(results)
    keys = list(groups)
    series = [("layer_ort", "deepfirst layer / ORT", "#9ecae1"),
              ("depth_ort", "deepfirst depth / ORT", "#1f77b4"),
              ("torch_ort", "torch / ORT", "#ff7f0e")]
    series = [s_ for s_ in series if any(r[s_[0]] for rows in groups.values() for r in rows)]
    ncol = 2 if len(keys) > 1 else 1
    nrow = (len(keys) + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(7.5 * ncol, 2.9 * nrow + 0.7), squeeze=False)
    for ax in axes.flat[len(keys):]:
        ax.axis("off")
    for ax, key in zip(axes.flat, keys):
        rows = groups[key]
        names = [r["model"] for r in rows]
        x = range(len(rows))
        wd = 0.8 / max(len(series), 1)
        vals = []
        for j, (col, label, color) in enumerate(series):
            ys = [r[col] or 0 for r in rows]
            vals += [y for y in ys if y]
            xs = [i + (j - (len(series) - 1) / 2) * wd for i in x]
            # bars grow up (slower than ORT) or down (faster) from 1 on a log axis
            ax.bar(xs, [y - 1 if y else 0 for y in ys], wd, bottom=1, label=label, color=color)
            if col == "depth_ort":
                for xi, y in zip(xs, ys):
                    if y:
                        ax.text(xi, y, "%.2f" % y, ha="center",
                                va="bottom" if y >= 1 else "top", fontsize=6)
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_yscale("log")
        if vals:
            ax.set_ylim(min(min(vals), 1) / 1.25, max(max(vals), 1) * 1.25)
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: "%g" % v))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.FuncFormatter(
            lambda v, _: "%g" % v if ("%g" % v)[0] in "235" else ""))
        ax.tick_params(axis="y", which="minor", labelsize=7)
        ax.set_ylabel("latency / ORT")
        gl = geomean([r["layer_ort"] for r in rows])
        gd = geomean([r["depth_ort"] for r in rows])
        ax.set_title("%s, %s (geomean layer/ORT %s, depth/ORT %s)" % (
            setting_title(key[0], key[1]), tsuffix(key[2]), fratio(gl), fratio(gd)),
            fontsize=9)
        ax.set_xticks(list(x))
        ax.set_xlim(-0.6, max(len(rows), 3) - 0.4)  # one model: not one huge bar
        ax.set_xticklabels(names, rotation=20, fontsize=7, ha="right")
        ax.grid(axis="y", which="both", alpha=0.3)
    axes[0, 0].legend(fontsize=7, loc="upper left")
    fig.suptitle("Median latency relative to ONNX Runtime (lower is faster; 1 = ORT)",
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(path + ".tmp.png", dpi=90)
    plt.close(fig)
    os.replace(path + ".tmp.png", path)


# --------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--quick", action="store_true",
                    help="smoke test (~3 min): %s at 224x224 batch 1, %s also at batch 8 and "
                    "512x512; 5/2 runs, 1 pass" % (",".join(QUICK_MODELS),
                                                   ",".join(QUICK_LARGE_MODELS)))
    ap.add_argument("--models", help="comma-separated zoo models (default: all nine)")
    ap.add_argument("--sizes", default="224,512",
                    help="input sizes (default 224,512); sizes other than 224 run only the "
                    "--large-models at the --large-batches")
    ap.add_argument("--batches", default="1,8", help="batch sizes at 224x224 (default 1,8)")
    ap.add_argument("--large-models", default=",".join(LARGE_MODELS),
                    help="models measured at sizes other than 224 (those also in --models), "
                    "'all' for every model of --models (default %s)" % ",".join(LARGE_MODELS))
    ap.add_argument("--large-batches", default="1",
                    help="batch sizes at sizes other than 224 (default 1)")
    ap.add_argument("--threads", default="1,2", help="thread counts (default 1,2)")
    ap.add_argument("--schedules", default=",".join(SCHEDULES),
                    help="deepfirst schedules to measure, each as its own engine (default %s)"
                    % ",".join(SCHEDULES))
    ap.add_argument("--no-torch", action="store_true", help="do not measure PyTorch")
    ap.add_argument("--torch-passes", type=int, default=1,
                    help="passes that include PyTorch (default 1: torch, the slowest engine to "
                    "start and no target's reference, runs in the first pass only)")
    ap.add_argument("--runs-b1", type=int,
                    help="timed runs at 224x224 batch 1 (default 20, quick 5)")
    ap.add_argument("--runs-large", "--runs-b8", dest="runs_large", type=int,
                    help="timed runs at batch > 1 or size > 224 (default 5, quick 2)")
    ap.add_argument("--warmup-b1", type=int, help="warm-up runs at 224x224 batch 1 (default 3)")
    ap.add_argument("--warmup-large", "--warmup-b8", dest="warmup_large", type=int,
                    help="warm-up runs at batch > 1 or size > 224 (default 1)")
    ap.add_argument("--passes", type=int, help="rounds over everything (default 2, quick 1)")
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "zoo"),
                    help="zoo directory (default build/zoo; existing files are reused)")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"),
                    help="deepfirst build directory (default build)")
    ap.add_argument("--deepfirst", help="use this deepfirst binary, do not build")
    ap.add_argument("--no-build", action="store_true",
                    help="do not rebuild deepfirst if the binary exists")
    ap.add_argument("--ort-version", default=ORT_DEFAULT_VERSION,
                    help="onnxruntime-node version to install (default %s)" % ORT_DEFAULT_VERSION)
    ap.add_argument("--ort-version-strict", action="store_true",
                    help="reinstall onnxruntime-node if another version is installed")
    ap.add_argument("--torch-mode", choices=("jit", "eager"), default="jit",
                    help="PyTorch mode (default jit; see bench/torch_bench.py)")
    ap.add_argument("--timeout", type=int, default=600,
                    help="seconds per engine invocation (default 600)")
    ap.add_argument("--doc", help="report path (default docs/benchmarks.md, quick: bench/out/)")
    ap.add_argument("--plot", help="plot path (default docs/benchmarks.png, quick: bench/out/)")
    ap.add_argument("--results",
                    help="raw results JSON (default bench/out/results.json, quick: "
                    "bench/out/results-quick.json)")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite the report and plot from --results, measure nothing")
    args = ap.parse_args()

    q = args.quick
    if args.results is None:
        args.results = os.path.join(BENCH, "out", "results-quick.json" if q else "results.json")
    if args.report_only and not q:
        try:  # a quick run's results rewrite the quick report, never docs/
            with open(args.results) as f:
                q = bool(json.load(f).get("config", {}).get("quick"))
        except (OSError, ValueError):
            pass
    if args.doc is None:
        args.doc = os.path.join(BENCH, "out", "benchmarks.md") if q else \
            os.path.join(ROOT, "docs", "benchmarks.md")
    if args.plot is None:
        args.plot = os.path.join(os.path.dirname(os.path.abspath(args.doc)), "benchmarks.png")

    if args.report_only:
        with open(args.results) as f:
            results = json.load(f)
        finish(results, args)
        return 0

    def names(text, what):
        xs = [x.strip() for x in text.split(",") if x.strip()]
        bad = [x for x in xs if x not in ZOO]
        if bad:
            ap.error("unknown model(s) in %s: %s (zoo: %s)" % (what, ",".join(bad),
                                                                ",".join(ZOO)))
        return xs

    def ints(text, what):
        try:
            xs = [int(x) for x in text.split(",") if x.strip()]
        except ValueError:
            ap.error("%s: a comma-separated list of integers, got %r" % (what, text))
        if not xs or any(x < 1 for x in xs):
            ap.error("%s must be integers >= 1" % what)
        return xs

    args.models = names(args.models, "--models") if args.models else \
        (QUICK_MODELS if q else ZOO)
    if args.large_models == "all":
        large = list(args.models)
    elif q and args.large_models == ",".join(LARGE_MODELS):
        large = QUICK_LARGE_MODELS
    else:
        large = names(args.large_models, "--large-models")
    large = [m for m in args.models if m in large]  # only models of --models
    args.sizes = ints(args.sizes, "--sizes")
    if any(x < 32 for x in args.sizes):
        ap.error("--sizes must be >= 32")
    args.batches = ints(args.batches, "--batches")
    args.large_batches = ints(args.large_batches, "--large-batches")
    args.threads = ints(args.threads, "--threads")
    scheds = [x.strip() for x in args.schedules.split(",") if x.strip()]
    if not scheds or any(x not in SCHEDULES for x in scheds):
        ap.error("--schedules: a subset of %s" % ",".join(SCHEDULES))
    args.engines = [e for e in ENGINES if e in scheds or e == "ort" or
                    (e == "torch" and not args.no_torch)]
    # settings: (size, batch, models), light ones first. --quick: the quick models at 224x224
    # batch 1, the quick large model (mobilenet_v2) alone in every other setting.
    args.settings = []
    for size in args.sizes:
        for batch in (args.batches if size == IMAGE else args.large_batches):
            models = args.models if size == IMAGE and (batch == 1 or not q) else large
            if models:
                args.settings.append((size, batch, models))
    args.settings.sort(key=lambda x: (x[1] * x[0] * x[0], x[0]))
    if not args.settings:
        ap.error("nothing to measure (check --sizes, --batches, --large-models)")
    args.runs_b1 = args.runs_b1 or (5 if q else 20)
    args.runs_large = args.runs_large or (2 if q else 5)
    args.warmup_b1 = 3 if args.warmup_b1 is None else args.warmup_b1
    args.warmup_large = 1 if args.warmup_large is None else args.warmup_large
    args.passes = args.passes or (1 if q else 2)
    args.work = os.path.abspath(args.work)

    t0 = time.time()
    exe = ensure_deepfirst(args)
    ort_version = ensure_ort(args)
    ensure_zoo(args)
    if not have_matplotlib():
        log("run.py: NOTE: matplotlib is missing, the plot will be skipped "
            "(apt-get install -y python3-matplotlib)")
    log("run.py: tools ready in %.0f s; settings: %s; engines: %s; %d pass(es)" % (
        time.time() - t0, "; ".join("%s: %d model(s)" % (setting_title(sz, b), len(ms))
                                    for sz, b, ms in args.settings),
        ", ".join(SHORT[e] for e in args.engines), args.passes))

    command = "/usr/bin/python3 bench/run.py" + "".join(
        " " + shlex.quote(a) for a in sys.argv[1:])
    results = {
        "command": command,
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "config": {"models": args.models, "settings": [list(x) for x in args.settings],
                   "sizes": args.sizes, "batches": args.batches,
                   "large_batches": args.large_batches, "threads": args.threads,
                   "engines": args.engines,
                   "runs_b1": args.runs_b1, "runs_large": args.runs_large,
                   "warmup_b1": args.warmup_b1, "warmup_large": args.warmup_large,
                   "passes": args.passes, "torch_passes": min(args.passes, args.torch_passes),
                   "quick": q,
                   "torch_mode": args.torch_mode, "work": rel(args.work), "deepfirst": rel(exe)},
        "machine": machine_facts(),
        "versions": versions(args, ort_version),
        "baselines": baselines(args),
        "loadavg_before": loadavg(),
        "measurements": {},
        "agreement": {},
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.results)), exist_ok=True)

    def save():
        with open(args.results + ".tmp", "w") as f:
            json.dump(results, f, indent=1)
        os.replace(args.results + ".tmp", args.results)

    measure_all(args, exe, results, save)
    results["loadavg_after"] = loadavg()
    save()
    finish(results, args)
    log("run.py: done in %.1f min" % ((time.time() - t0) / 60))
    return 0


def finish(results, args):
    plot, note = None, None
    if have_matplotlib():
        try:
            write_plot(results, args.plot)
            plot = args.plot
        except Exception as e:  # noqa: BLE001  (a plot must not lose the report)
            note = "plotting failed: %s: %s" % (type(e).__name__, e)
            log("run.py: " + note)
    else:
        note = "matplotlib is missing (apt-get install -y python3-matplotlib)"
        log("run.py: NOTE: " + note + "; no plot written")
    write_report(results, args.doc, plot, note)
    log("run.py: wrote %s%s" % (rel(args.doc), " and " + rel(plot) if plot else ""))
    out3, out4 = target_lines(results, summarize(results))
    for x in out3 + out4:
        log("run.py: " + x.replace("**", ""))


if __name__ == "__main__":
    sys.exit(main())
