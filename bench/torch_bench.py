#!/usr/bin/python3
"""Time a zoo model in PyTorch (Debian's python3-torch) for bench/run.py.

The model is re-created exactly as tools/export_zoo.py makes it (same constructor, same seed,
same BatchNorm calibration; its functions are imported, not copied), so its weights are the
ones in the ONNX file. Building, calibrating and tracing take seconds, so --cache DIR (bench/run.py
passes WORK/torch) keeps the state dict (eager) or the traced, frozen module per batch size
and input size (jit); a cached copy holds identical weights.

Modes:
  jit    (default) torch.jit.trace + torch.jit.freeze + torch.jit.optimize_for_inference, the
         way PyTorch recommends for CPU inference; convolutions run in oneDNN (MKL-DNN).
  eager  the nn.Module as is. Debian's torch 1.13 routes single-threaded 1x1 convolutions at
         batch 1 to BLAS, and Debian's default BLAS is the slow reference one (20x slower on
         resnet50 than jit here), so eager mode mostly measures libblas.
Both run in eval mode under torch.inference_mode(), with torch.set_num_threads(THREADS) and
one inter-op thread.

Prints one JSON object: median/min/p90 ms and peak_rss_bytes (ru_maxrss of this process, so it
includes python and torch themselves: see --baseline). With --output, the output of one run
on the fixed input is written as a float32 .npy (before timing).

usage: /usr/bin/python3 bench/torch_bench.py NAME --input IN.npy [--output OUT.npy]
           [-t THREADS] [-r RUNS] [-w WARMUP] [--mode jit|eager] [--cache DIR]
       /usr/bin/python3 bench/torch_bench.py --baseline
"""
import argparse
import json
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def make_model(name, cache):
    import torch
    import export_zoo as ez  # the zoo's own constructor, seed and BN calibration

    path = os.path.join(cache, name + ".torch.pt") if cache else None
    torch.manual_seed(ez.seed_for(name))
    model = ez.build(name)
    if path and os.path.exists(path):
        model.load_state_dict(torch.load(path))
    else:
        ez.calibrate_batchnorm(model)
        if path:
            os.makedirs(cache, exist_ok=True)
            tmp = path + ".tmp"
            torch.save(model.state_dict(), tmp)
            os.replace(tmp, path)
    model.eval()
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("name", nargs="?", help="zoo model name (see tools/export_zoo.py)")
    ap.add_argument("-i", "--input", help="fixed input .npy (NAME.input.npy of the zoo)")
    ap.add_argument("-o", "--output", help="write the output for --input here")
    ap.add_argument("-t", "--threads", type=int, default=1)
    ap.add_argument("-r", "--runs", type=int, default=20)
    ap.add_argument("-w", "--warmup", type=int, default=3)
    ap.add_argument("--mode", choices=("jit", "eager"), default="jit")
    ap.add_argument("--cache", help="directory for cached state dicts")
    ap.add_argument("--baseline", action="store_true",
                    help="print the peak RSS of python + torch with no model and exit")
    args = ap.parse_args()

    import numpy as np
    import torch
    import torchvision

    if args.baseline:
        print(json.dumps({"engine": "torch", "torch_version": torch.__version__,
                          "peak_rss_bytes": peak_rss_bytes()}))
        return 0
    if not args.name or not args.input:
        ap.error("NAME and --input are required")
    if args.threads < 1 or args.runs < 1 or args.warmup < 0:
        ap.error("bad --threads/--runs/--warmup")

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass

    t0 = time.perf_counter()
    x = torch.from_numpy(np.ascontiguousarray(np.load(args.input), dtype=np.float32))
    if args.mode == "jit":
        # The traced and frozen module is specialised to the input shape; it is cached per
        # model, batch and input size (the zoo's file stem), so later runs skip building,
        # calibrating and tracing.
        jit_path = None
        if args.cache:
            import export_zoo as ez
            if x.dim() != 4 or x.shape[2] != x.shape[3]:
                ap.error("--input must be N x 3 x S x S, got %s" % (tuple(x.shape),))
            stem = ez.stem(args.name, int(x.shape[0]), int(x.shape[2]))
            jit_path = os.path.join(args.cache, stem + ".frozen.pt")
        if jit_path and os.path.exists(jit_path):
            frozen = torch.jit.load(jit_path)
        else:
            model = make_model(args.name, args.cache)
            with torch.no_grad():
                import warnings
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    traced = torch.jit.trace(model, x, check_trace=False)
                    frozen = torch.jit.freeze(traced.eval())
            del model, traced
            if jit_path:
                os.makedirs(args.cache, exist_ok=True)
                torch.jit.save(frozen, jit_path + ".tmp")
                os.replace(jit_path + ".tmp", jit_path)
        with torch.no_grad():
            model = torch.jit.optimize_for_inference(frozen)
        # torch 1.13's optimize_for_inference computes mobilenet_v3_large wrongly from its
        # third run on (its oneDNN rewrite reuses buffers of the wrong size: "An output ...
        # was resized" warnings, max error 0.05). Check a few runs once against the zoo's
        # saved output (NAME.output.npy next to the input) and time the plain frozen module
        # if they disagree; the verdict is cached next to the frozen module.
        ref_path = args.input.replace(".input.npy", ".output.npy")
        verdict = jit_path + ".ofi" if jit_path else None
        ok = True
        if verdict and os.path.exists(verdict):
            with open(verdict) as f:
                ok = f.read().strip() == "ok"
        elif verdict and os.path.exists(ref_path) and ref_path != args.input:
            import warnings
            want = torch.from_numpy(np.load(ref_path).astype(np.float32))
            tol = 1e-4 * float(want.abs().max()) + 1e-6
            with torch.inference_mode(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for _ in range(4):
                    y = model(x)
                    y = y[0] if isinstance(y, tuple) else y
                    ok = ok and float((y - want.reshape(y.shape)).abs().max()) <= tol
            with open(verdict + ".tmp", "w") as f:
                f.write("ok\n" if ok else "wrong\n")
            os.replace(verdict + ".tmp", verdict)
        if not ok:
            print("torch_bench: optimize_for_inference gives a wrong output for %s; timing the "
                  "frozen module instead" % args.name, file=sys.stderr)
            model = torch.jit.load(jit_path)  # optimize_for_inference changed `frozen`
            args.mode = "jit-frozen"
    else:
        model = make_model(args.name, args.cache)
    load_ms = (time.perf_counter() - t0) * 1e3

    def run():
        y = model(x)
        if isinstance(y, tuple):  # googlenet may return a named tuple
            y = y[0]
        return y

    with torch.inference_mode():
        if args.output:
            y = run().numpy()
            tmp = args.output + ".tmp"
            with open(tmp, "wb") as f:
                np.save(f, np.ascontiguousarray(y, dtype=np.float32))
            os.replace(tmp, args.output)
        for _ in range(args.warmup):
            run()
        times = []
        for _ in range(args.runs):
            a = time.perf_counter()
            run()
            times.append((time.perf_counter() - a) * 1e3)

    t = np.array(times)
    print(json.dumps({
        "engine": "torch", "mode": args.mode, "torch_version": torch.__version__,
        "torchvision_version": torchvision.__version__, "model": args.name,
        "threads": args.threads, "runs": args.runs, "warmup": args.warmup,
        "load_ms": load_ms, "median_ms": float(np.median(t)), "min_ms": float(t.min()),
        "p90_ms": float(np.percentile(t, 90)), "mean_ms": float(t.mean()),
        "max_ms": float(t.max()), "peak_rss_bytes": peak_rss_bytes()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
