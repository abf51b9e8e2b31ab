#!/usr/bin/python3
"""Side-by-side benchmark: deepfirst, ONNX Runtime and PyTorch on the model zoo, in one run.

    /usr/bin/python3 bench/run.py            # full run: 9 models, batch 1 and 8, 1 and 2 threads
    /usr/bin/python3 bench/run.py --quick    # 3 small models, few runs, one pass (a smoke test)

What it does:
 1. makes sure the tools exist: builds deepfirst (Release) in --build-dir if needed; installs
    onnxruntime-node from npm into bench/node_modules (--ignore-scripts: its post-install step
    fetches GPU files from a host that is not reachable; the CPU library ships in the package);
    exports the zoo at each batch size into --work (default build/zoo; existing files reused).
 2. measures, interleaving the engines: for each pass, batch, model and thread count it runs
    deepfirst (`deepfirst bench --json`), ONNX Runtime (bench/ort_bench.js) and PyTorch
    (bench/torch_bench.py) one after the other, each in a fresh process; the whole round is
    repeated --passes times (default 2) and the pass with the better median is kept per engine.
 3. checks that the engines agree on the zoo's fixed input: the max abs error of each engine's
    output against the output PyTorch saved at export (NAME.output.npy).
 4. writes the report (default docs/benchmarks.md) and a plot of the latency ratios against
    ONNX Runtime (default docs/benchmarks.png; skipped with a message if matplotlib is
    missing: apt-get install -y python3-matplotlib). All raw results go to
    bench/out/results.json; --report-only rewrites the report from that file.

With --quick the report goes to bench/out/ unless --doc/--plot say otherwise, so smoke tests do
not overwrite docs/. Progress goes to stderr.
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
QUICK_MODELS = ["squeezenet1_1", "mobilenet_v2", "resnet18"]
ENGINES = ["deepfirst", "ort", "torch"]
ENGINE_TITLE = {"deepfirst": "deepfirst", "ort": "ORT", "torch": "torch"}
ORT_DEFAULT_VERSION = "1.30.0"
PY = "/usr/bin/python3"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def rel(path):
    """path relative to the repository root when inside it (for the report)."""
    p = os.path.abspath(path)
    return os.path.relpath(p, ROOT) if p.startswith(ROOT + os.sep) else p


def stem(name, batch):
    return name if batch == 1 else "%s_b%d" % (name, batch)


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


def ensure_zoo(args, batches):
    os.makedirs(args.work, exist_ok=True)
    for b in batches:
        missing = [m for m in args.models
                   if not all(os.path.exists(os.path.join(args.work, stem(m, b) + e))
                              for e in (".onnx", ".input.npy", ".output.npy"))]
        if not missing:
            continue
        log("run.py: exporting %s at batch %d into %s" % (",".join(missing), b, args.work))
        r = subprocess.run([PY, os.path.join(ROOT, "tools", "export_zoo.py"), "--out", args.work,
                            "--batch", str(b), "--models", ",".join(missing)])
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


def measure(engine, args, exe, model, batch, threads, runs, warmup, out_npy=None):
    s = stem(model, batch)
    onnx = os.path.join(args.work, s + ".onnx")
    inp = os.path.join(args.work, s + ".input.npy")
    if engine == "deepfirst":
        cmd = [exe, "bench", onnx, "-t", str(threads), "-r", str(runs), "-w", str(warmup),
               "--json"]
        if args.schedule:
            cmd += ["--schedule", args.schedule]
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
    d, err = run_json(cmd, args.timeout)
    if d is None:
        return {"error": err}
    rec = {k: d.get(k) for k in ("median_ms", "min_ms", "p90_ms", "mean_ms", "load_ms")}
    if engine == "deepfirst":
        rec.update(peak_bytes=d.get("peak_bytes"), weight_bytes=d.get("weight_bytes"),
                   rss_bytes=d.get("rss_bytes"), schedule=d.get("schedule"),
                   flops=d.get("flops"))
    else:
        rec["rss_bytes"] = d.get("peak_rss_bytes")
        if engine == "torch":
            rec["mode"] = d.get("mode")
    return rec


def deepfirst_output(exe, args, model, batch, threads, out_npy):
    s = stem(model, batch)
    cmd = [exe, "run", os.path.join(args.work, s + ".onnx"), "-i",
           os.path.join(args.work, s + ".input.npy"), "-o", out_npy, "-t", str(threads)]
    if args.schedule:
        cmd += ["--schedule", args.schedule]
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
    total = len(args.batches) * len(args.models) * len(args.threads) * len(ENGINES) * args.passes
    done = 0
    t_start = time.time()
    for p in range(args.passes):
        for batch in args.batches:
            runs = args.runs_b1 if batch == 1 else args.runs_b8
            warmup = args.warmup_b1 if batch == 1 else args.warmup_b8
            for model in args.models:
                s = stem(model, batch)
                if not os.path.exists(os.path.join(args.work, s + ".onnx")):
                    log("run.py: %s missing in %s, skipped" % (s, args.work))
                    continue
                for threads in args.threads:
                    key = "%s|%d|%d" % (model, batch, threads)
                    entry = results["measurements"].setdefault(
                        key, {"model": model, "batch": batch, "threads": threads,
                              "passes": {e: [] for e in ENGINES}})
                    check = (p == 0 and threads == args.threads[0])
                    for engine in ENGINES:
                        out_npy = None
                        if check and engine != "deepfirst":
                            out_npy = os.path.join(outdir, "%s.%s.npy" % (s, engine))
                        la = loadavg()
                        rec = measure(engine, args, exe, model, batch, threads, runs, warmup,
                                      out_npy)
                        rec["load1"] = la[0] if la else None
                        rec["pass"] = p
                        entry["passes"][engine].append(rec)
                        done += 1
                        el = time.time() - t_start
                        log("[%3d/%d %5.0fs] pass %d  %-22s b%d t%d  %-9s %s"
                            % (done, total, el, p + 1, model, batch, threads, engine,
                               "%.2f ms (min %.2f)" % (rec["median_ms"], rec["min_ms"])
                               if "error" not in rec else "FAILED " + rec["error"]))
                    if check:
                        ref = os.path.join(args.work, s + ".output.npy")
                        agree = {}
                        df_out = os.path.join(outdir, "%s.deepfirst.npy" % s)
                        if os.path.exists(df_out):
                            os.remove(df_out)
                        err = deepfirst_output(exe, args, model, batch, threads, df_out)
                        agree["deepfirst"] = {"error": err} if err else compare(df_out, ref)
                        for engine in ("ort", "torch"):
                            o = os.path.join(outdir, "%s.%s.npy" % (s, engine))
                            if entry["passes"][engine] and "error" in entry["passes"][engine][-1]:
                                agree[engine] = {"error": "did not run"}
                            else:
                                agree[engine] = compare(o, ref)
                        results["agreement"]["%s|%d" % (model, batch)] = agree
                        log("      agreement vs PyTorch's saved output: " + ", ".join(
                            "%s %s" % (e, ("%.2e" % a["max_abs_err"]) if "max_abs_err" in a
                                       else a.get("error"))
                            for e, a in agree.items()))
                    save()
    results["elapsed_s"] = time.time() - t_start


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
    ok = [r for r in entry["passes"][engine] if "error" not in r and r.get("median_ms")]
    if not ok:
        errs = [r["error"] for r in entry["passes"][engine] if "error" in r]
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
    return "%.1f" % x if x >= 10 else "%.2f" % x


def fmib(b):
    return "-" if not b else "%.1f" % (b / 2**20)


def fratio(x):
    return "-" if x is None else "%.2f" % x


def summarize(results):
    """Per (batch, threads): rows of best-pass numbers and the geomeans."""
    groups = {}
    for key, entry in results["measurements"].items():
        g = groups.setdefault((entry["batch"], entry["threads"]), [])
        row = {"model": entry["model"]}
        for e in ENGINES:
            row[e], row[e + "_err"] = best(entry, e)
        d, o, t = row["deepfirst"], row["ort"], row["torch"]
        row["df_ort"] = d["median_ms"] / o["median_ms"] if d and o else None
        row["df_torch"] = d["median_ms"] / t["median_ms"] if d and t else None
        row["torch_ort"] = t["median_ms"] / o["median_ms"] if t and o else None
        g.append(row)
    order = {m: i for i, m in enumerate(ZOO)}
    for g in groups.values():
        g.sort(key=lambda r: order.get(r["model"], 99))
    return dict(sorted(groups.items()))


def write_report(results, doc, plot_path, plot_note):
    groups = summarize(results)
    cfg = results["config"]
    m = results["machine"]
    v = results["versions"]
    L = []
    w = L.append
    w("# Benchmarks: deepfirst, ONNX Runtime and PyTorch side by side")
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

    # headline
    w("## Summary")
    w("")
    for (batch, threads), rows in groups.items():
        if batch != 1:
            continue
        r_ort = [r["df_ort"] for r in rows if r["df_ort"]]
        r_t = [r["df_torch"] for r in rows if r["df_torch"]]
        gm, gt = geomean(r_ort), geomean(r_t)
        w("- batch 1, %d thread%s: geometric mean of deepfirst/ORT median latency **%s** over "
          "%d model%s (target: at most 1.0); deepfirst/torch %s." % (
              threads, "s" if threads > 1 else "", fratio(gm), len(r_ort),
              "s" if len(r_ort) != 1 else "",
              fratio(gt)))
    for (batch, threads), rows in groups.items():
        if batch == 1:
            continue
        r_ort = [r["df_ort"] for r in rows if r["df_ort"]]
        if r_ort:
            w("- batch %d, %d thread%s: geometric mean deepfirst/ORT %s over %d models; "
              "deepfirst/torch %s." % (batch, threads, "s" if threads > 1 else "",
                                       fratio(geomean(r_ort)), len(r_ort),
                                       fratio(geomean([r["df_torch"] for r in rows
                                                       if r["df_torch"]]))))
    # thread scaling
    sc = []
    for e in ENGINES:
        per = {}
        for (batch, threads), rows in groups.items():
            for r in rows:
                if r["model"] == "resnet50" and batch == 1 and r[e]:
                    per[threads] = r[e]["median_ms"]
        if 1 in per and 2 in per:
            sc.append("%s %.2fx" % (ENGINE_TITLE[e], per[1] / per[2]))
    if sc:
        w("- resnet50, batch 1, speed-up from 1 to 2 threads (target for deepfirst: at least "
          "1.8x): " + ", ".join(sc) + ".")
    fails = []
    for key, a in results["agreement"].items():
        for e, x in a.items():
            if "max_abs_err" in x and x["max_abs_err"] > 1e-4 * max(x["ref_max_abs"], 1e-30):
                fails.append("%s %s (%.2e)" % (ENGINE_TITLE[e], key.replace("|", " b"),
                                               x["max_abs_err"]))
            elif "error" in x:
                fails.append("%s %s (%s)" % (ENGINE_TITLE[e], key.replace("|", " b"), x["error"]))
    w("- outputs: " + ("all engines agree with PyTorch's saved output within 1e-4 x max|ref| "
                       "(the zoo tests' tolerance)." if not fails else
                       "outside 1e-4 x max|ref| or failed: " + "; ".join(fails) + "."))
    errs = []
    for (batch, threads), rows in groups.items():
        for r in rows:
            for e in ENGINES:
                if r[e] is None:
                    errs.append("%s %s b%d t%d: %s" % (ENGINE_TITLE[e], r["model"], batch,
                                                       threads, r[e + "_err"]))
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
          "AVX-512 here, while deepfirst's fast kernels are AVX2/FMA.")
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
    w("- deepfirst: commit %s, `deepfirst bench --json` (schedule %s), peak activation memory "
      "from its memory plan." % (v.get("deepfirst_commit"), cfg.get("schedule") or "default"))
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
    w("- Each engine runs in a fresh process per (model, batch, threads); the engines alternate "
      "per model and thread count; %d timed runs after %d warm-up runs at batch 1, %d after %d "
      "at batch 8; the whole round ran %d time(s) and the table keeps, per engine, the pass "
      "with the lower median (min = the lowest over all passes)." % (
          cfg["runs_b1"], cfg["warmup_b1"], cfg["runs_b8"], cfg["warmup_b8"], cfg["passes"]))
    w("- Models: the zoo of tools/export_zoo.py (torchvision, seeded random weights, "
      "BatchNorm statistics re-estimated, ONNX opset 13, 3x224x224 input), exported into %s."
      % cfg.get("work"))
    w("")

    # latency tables
    w("## Latency")
    w("")
    w("Milliseconds per inference (whole batch). Ratios are of medians: below 1.00 means "
      "deepfirst is faster. Spread: how much the pass medians of deepfirst / ORT / torch "
      "differed (max/min - 1), a measure of the noise.")
    w("")
    for (batch, threads), rows in groups.items():
        w("### Batch %d, %d thread%s" % (batch, threads, "s" if threads > 1 else ""))
        w("")
        w("| model | deepfirst median | min | ORT median | min | torch median | min "
          "| deepfirst/ORT | deepfirst/torch | spread |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            cells = [r["model"]]
            for e in ENGINES:
                x = r[e]
                mark = " †" if e == "torch" and x and x.get("mode") == "jit-frozen" else ""
                cells += [fms(x["median_ms"]) + mark, fms(x["min_ms"])] if x else ["fail", "-"]
            cells += ["**%s**" % fratio(r["df_ort"]) if r["df_ort"] else "-",
                      fratio(r["df_torch"])]
            cells.append(" / ".join("-" if not r[e] or r[e]["pass_spread"] is None
                                    else "%.0f%%" % (100 * r[e]["pass_spread"])
                                    for e in ENGINES))
            w("| " + " | ".join(cells) + " |")
        gm = geomean([r["df_ort"] for r in rows])
        gt = geomean([r["df_torch"] for r in rows])
        w("| **geometric mean** | | | | | | | **%s** | %s | |" % (fratio(gm), fratio(gt)))
        w("")

    if any(r["torch"] and r["torch"].get("mode") == "jit-frozen"
           for rows in groups.values() for r in rows):
        w("† torch: torch.jit.optimize_for_inference computed this model wrongly (max error "
        "0.05 at batch 1; see Agreement), so torch_bench.py timed the traced and frozen module "
        "without it.")
        w("")
    # memory
    w("## Peak memory")
    w("")
    base = results.get("baselines", {})
    w("MiB. deepfirst activations: the peak of its static activation arena (memory plan); "
      "weights: its packed weights. RSS: the peak resident set of the whole process "
      "(getrusage ru_maxrss / process.resourceUsage().maxRSS), so it includes the runtime "
      "itself: node with onnxruntime loaded and no session peaks at %s MiB, python with torch "
      "imported at %s MiB. Measured with %d thread(s)." % (
          fmib(base.get("ort")), fmib(base.get("torch")), cfg["threads"][0]))
    w("")
    w("| model | batch | deepfirst activations | deepfirst weights | deepfirst RSS | ORT RSS "
      "| torch RSS |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for (batch, threads), rows in groups.items():
        if threads != cfg["threads"][0]:
            continue
        for r in rows:
            d, o, t = r["deepfirst"], r["ort"], r["torch"]
            w("| %s | %d | %s | %s | %s | %s | %s |" % (
                r["model"], batch, fmib(d and d.get("peak_bytes")),
                fmib(d and d.get("weight_bytes")), fmib(d and d.get("rss_bytes")),
                fmib(o and o.get("rss_bytes")), fmib(t and t.get("rss_bytes"))))
    w("")

    # agreement
    w("## Agreement")
    w("")
    w("Max absolute error of each engine's output on the zoo's fixed input against the output "
      "PyTorch saved at export (eager, 2 threads), with the largest |reference| for scale; "
      "top-1 agrees for every image unless marked *. deepfirst via `deepfirst run -i -o`, "
      "ORT via ort_bench.js --output, torch via torch_bench.py --output (its %s model, so "
      "BatchNorm folded by torch)." % cfg.get("torch_mode"))
    w("")
    w("| model | batch | max abs ref | deepfirst | ORT | torch |")
    w("|---|---:|---:|---:|---:|---:|")
    order = {m: i for i, m in enumerate(ZOO)}
    for key in sorted(results["agreement"], key=lambda k: (int(k.split("|")[1]),
                                                           order.get(k.split("|")[0], 99))):
        a = results["agreement"][key]
        model, batch = key.split("|")
        scale = next((x["ref_max_abs"] for x in a.values() if "ref_max_abs" in x), None)
        cells = []
        for e in ENGINES:
            x = a.get(e, {})
            if "max_abs_err" in x:
                cells.append("%.1e%s" % (x["max_abs_err"], "" if x["argmax_agree"] else " *"))
            else:
                cells.append("fail: " + str(x.get("error", "?"))[:60])
        w("| %s | %s | %s | %s |" % (model, batch, "-" if scale is None else "%.3g" % scale,
                                     " | ".join(cells)))
    w("")
    w("Raw results (every pass): bench/out/results.json (not committed).")
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
    fig, axes = plt.subplots(len(keys), 1, figsize=(10, 2.6 * len(keys) + 0.6), squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        rows = groups[key]
        names = [r["model"] for r in rows]
        x = range(len(rows))
        wd = 0.38
        df = [r["df_ort"] or 0 for r in rows]
        tt = [r["torch_ort"] or 0 for r in rows]
        # bars grow up (slower than ORT) or down (faster) from 1 on a log axis
        ax.bar([i - wd / 2 for i in x], [v - 1 if v else 0 for v in df], wd, bottom=1,
               label="deepfirst / ORT", color="#1f77b4")
        ax.bar([i + wd / 2 for i in x], [v - 1 if v else 0 for v in tt], wd, bottom=1,
               label="torch / ORT", color="#ff7f0e")
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_yscale("log")
        vals = [v for v in df + tt if v]
        if vals:
            ax.set_ylim(min(min(vals), 1) / 1.25, max(max(vals), 1) * 1.25)
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: "%g" % v))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.FuncFormatter(
            lambda v, _: "%g" % v if ("%g" % v)[0] in "235" else ""))
        ax.tick_params(axis="y", which="minor", labelsize=7)
        ax.set_ylabel("latency / ORT")
        gm = geomean([r["df_ort"] for r in rows])
        ax.set_title("batch %d, %d thread%s (deepfirst/ORT geomean %s)" % (
            key[0], key[1], "s" if key[1] > 1 else "", fratio(gm)), fontsize=10)
        ax.set_xticks(list(x))
        ax.set_xticklabels(names, rotation=20, fontsize=8, ha="right")
        for i, v in enumerate(df):
            if v:
                ax.text(i - wd / 2, v, "%.2f" % v, ha="center",
                        va="bottom" if v >= 1 else "top", fontsize=7)
        ax.grid(axis="y", which="both", alpha=0.3)
    axes[0, 0].legend(fontsize=8, loc="upper left")
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
                    help="smoke test: %s, 5/2 runs, 1 pass" % ",".join(QUICK_MODELS))
    ap.add_argument("--models", help="comma-separated zoo models (default: all nine)")
    ap.add_argument("--batches", default="1,8", help="batch sizes (default 1,8)")
    ap.add_argument("--threads", default="1,2", help="thread counts (default 1,2)")
    ap.add_argument("--runs-b1", type=int, help="timed runs at batch 1 (default 20, quick 5)")
    ap.add_argument("--runs-b8", type=int,
                    help="timed runs at batch > 1 (default 5, quick 2)")
    ap.add_argument("--warmup-b1", type=int, help="warm-up runs at batch 1 (default 3)")
    ap.add_argument("--warmup-b8", type=int, help="warm-up runs at batch > 1 (default 1)")
    ap.add_argument("--passes", type=int, help="rounds over everything (default 2, quick 1)")
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "zoo"),
                    help="zoo directory (default build/zoo; existing files are reused)")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"),
                    help="deepfirst build directory (default build)")
    ap.add_argument("--deepfirst", help="use this deepfirst binary, do not build")
    ap.add_argument("--no-build", action="store_true",
                    help="do not rebuild deepfirst if the binary exists")
    ap.add_argument("--schedule", help="deepfirst --schedule (default: deepfirst's own)")
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
    ap.add_argument("--results", default=os.path.join(BENCH, "out", "results.json"),
                    help="raw results JSON (default bench/out/results.json)")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite the report and plot from --results, measure nothing")
    args = ap.parse_args()

    q = args.quick
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

    args.models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models \
        else (QUICK_MODELS if q else ZOO)
    bad = [m for m in args.models if m not in ZOO]
    if bad:
        ap.error("unknown model(s): %s (zoo: %s)" % (",".join(bad), ",".join(ZOO)))
    args.batches = [int(x) for x in args.batches.split(",")]
    args.threads = [int(x) for x in args.threads.split(",")]
    if any(b < 1 for b in args.batches) or any(t < 1 for t in args.threads):
        ap.error("batches and threads must be >= 1")
    args.runs_b1 = args.runs_b1 or (5 if q else 20)
    args.runs_b8 = args.runs_b8 or (2 if q else 5)
    args.warmup_b1 = 3 if args.warmup_b1 is None else args.warmup_b1
    args.warmup_b8 = 1 if args.warmup_b8 is None else args.warmup_b8
    args.passes = args.passes or (1 if q else 2)
    args.work = os.path.abspath(args.work)

    t0 = time.time()
    exe = ensure_deepfirst(args)
    ort_version = ensure_ort(args)
    ensure_zoo(args, args.batches)
    if not have_matplotlib():
        log("run.py: NOTE: matplotlib is missing, the plot will be skipped "
            "(apt-get install -y python3-matplotlib)")
    log("run.py: tools ready in %.0f s" % (time.time() - t0))

    command = "/usr/bin/python3 bench/run.py" + "".join(
        " " + shlex.quote(a) for a in sys.argv[1:])
    results = {
        "command": command,
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "config": {"models": args.models, "batches": args.batches, "threads": args.threads,
                   "runs_b1": args.runs_b1, "runs_b8": args.runs_b8,
                   "warmup_b1": args.warmup_b1, "warmup_b8": args.warmup_b8,
                   "passes": args.passes, "quick": q, "schedule": args.schedule,
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
    groups = summarize(results)
    for (batch, threads), rows in groups.items():
        gm = geomean([r["df_ort"] for r in rows])
        log("run.py: batch %d, %d thread(s): geomean deepfirst/ORT %s over %d models"
            % (batch, threads, fratio(gm), len([r for r in rows if r["df_ort"]])))


if __name__ == "__main__":
    sys.exit(main())
