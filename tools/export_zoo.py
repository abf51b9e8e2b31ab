#!/usr/bin/python3
"""Export a small zoo of torchvision CNNs to ONNX, with reference inputs and outputs.

For each model NAME this writes, into the output directory:
    NAME.onnx          opset 13, float32, input 1x3x224x224 (Nx3xSxS with --batch N --size S)
    NAME.input.npy     a fixed random input (float32, C order)
    NAME.output.npy    PyTorch's output for it, in eval mode
The file stem is NAME, then _bN when the batch N is not 1, then _sS when the input size S is
not 224: resnet50_b8.onnx (batch 8, 224x224), resnet50_s512.onnx (batch 1, 512x512),
resnet50_b8_s512.onnx (batch 8, 512x512). stem() below is the one definition of that rule.

The weights do not depend on --batch or --size: the same seed, and the BatchNorm statistics
are always estimated at 224x224 (so a model at 512x512 is the 224x224 model run on a larger
image; every zoo model ends in adaptive/global pooling, so any size >= 32 or so works).

Nothing is downloaded: the models are built with weights=None from a fixed seed. Random
initial weights alone would make a poor test: BatchNorm's running statistics would be the
defaults (mean 0, var 1), so a deep net's activations would grow or vanish and its output
would say little. So, before exporting, each BatchNorm layer gets a random affine weight and
bias, and its running statistics are re-estimated from a few random batches in train mode
with momentum=None (a cumulative average). The eval-mode net then behaves like a trained one
in scale, and folding BatchNorm into a convolution wrongly shows in the output.

BatchNormalization nodes are kept in the ONNX file (torch's own Conv+BN folding at export is
switched off unless --torch-fold-bn), so that deepfirst's folding pass is what gets tested.

Files that already exist are skipped unless --force. Progress goes to stderr.

Usage: /usr/bin/python3 tools/export_zoo.py [--out DIR] [--models a,b] [--batch N] [--size S]
                                            [--force]
"""
import argparse
import os
import sys
import time
import warnings
import zlib

import numpy as np
import onnx
import torch
import torchvision

MODELS = [
    "resnet18",
    "resnet50",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "squeezenet1_1",
    "shufflenet_v2_x1_0",
    "densenet121",
    "efficientnet_b0",
    "googlenet",
]

OPSET = 13
IMAGE = 224  # the default input size, and the size BatchNorm statistics are estimated at


def stem(name, batch=1, size=IMAGE):
    """File stem of NAME at this batch and input size (see the module docstring)."""
    s = name if batch == 1 else "%s_b%d" % (name, batch)
    return s if size == IMAGE else "%s_s%d" % (s, size)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def seed_for(name):
    # Python's hash() is salted per process; crc32 is stable across runs.
    return zlib.crc32(name.encode())


def build(name):
    ctor = getattr(torchvision.models, name)
    if name == "googlenet":
        return ctor(weights=None, aux_logits=False, init_weights=True)
    return ctor(weights=None)


def calibrate_batchnorm(model, batches=3, batch_size=4):
    """Randomise BN affine parameters, then re-estimate running statistics."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return 0
    with torch.no_grad():
        for bn in bns:
            if bn.affine:
                bn.weight.uniform_(0.5, 1.5)
                bn.bias.normal_(0.0, 0.25)
            bn.reset_running_stats()
            bn.momentum = None  # cumulative moving average over the batches below
        model.train()
        for _ in range(batches):
            model(torch.randn(batch_size, 3, IMAGE, IMAGE))
    model.eval()
    return len(bns)


def export_one(name, out_dir, batch, size, fold_bn):
    stem_ = stem(name, batch, size)
    paths = {k: os.path.join(out_dir, stem_ + ext)
             for k, ext in (("onnx", ".onnx"), ("input", ".input.npy"), ("output", ".output.npy"))}

    t0 = time.time()
    torch.manual_seed(seed_for(name))
    model = build(name)
    nbn = calibrate_batchnorm(model)
    model.eval()

    # The input depends on the batch size (and, through its shape, the size); the weights do not.
    gen = torch.Generator().manual_seed(seed_for(name) + batch)
    x = torch.randn(batch, 3, size, size, generator=gen)
    with torch.no_grad():
        y = model(x)
    if isinstance(y, tuple):  # googlenet and inception may return named tuples
        y = y[0]
    t_torch = time.time() - t0

    # Write to temporary names and rename at the end, so that an interrupted run
    # never leaves a partial file that a later run would skip.
    tmp = {k: p + ".tmp" for k, p in paths.items()}
    training = torch.onnx.TrainingMode.EVAL if fold_bn else torch.onnx.TrainingMode.PRESERVE
    with torch.no_grad():
        torch.onnx.export(model, x, tmp["onnx"], opset_version=OPSET,
                          input_names=["input"], output_names=["output"],
                          training=training, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(tmp["onnx"]))
    with open(tmp["input"], "wb") as f:
        np.save(f, np.ascontiguousarray(x.numpy(), dtype=np.float32))
    with open(tmp["output"], "wb") as f:
        np.save(f, np.ascontiguousarray(y.numpy(), dtype=np.float32))
    for k in paths:
        os.replace(tmp[k], paths[k])

    yv = y.numpy()
    log("  %-22s %6.1f s (torch %.1f s), %d BN layers, output %s, |y| max %.4g mean %.4g, "
        "onnx %.1f MB" % (stem_, time.time() - t0, t_torch, nbn, tuple(yv.shape),
                          np.abs(yv).max(), np.abs(yv).mean(),
                          os.path.getsize(paths["onnx"]) / 1e6))
    return time.time() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="zoo", help="output directory (default: zoo)")
    ap.add_argument("--models", default=",".join(MODELS),
                    help="comma-separated subset of: " + ",".join(MODELS))
    ap.add_argument("--batch", type=int, default=1, help="batch size (default 1)")
    ap.add_argument("--size", type=int, default=IMAGE,
                    help="input height and width (default %d); files NAME[_bN]_sS when not %d"
                    % (IMAGE, IMAGE))
    ap.add_argument("--force", action="store_true", help="overwrite existing files")
    ap.add_argument("--torch-fold-bn", action="store_true",
                    help="let torch fold BatchNorm into Conv at export (default: keep BN nodes)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    args = ap.parse_args()

    names = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in names if m not in MODELS]
    if unknown:
        ap.error("unknown model(s): %s" % ", ".join(unknown))
    if args.batch < 1:
        ap.error("--batch must be >= 1")
    if args.size < 32:
        ap.error("--size must be >= 32")

    torch.set_num_threads(args.threads)
    # PRESERVE on a model in eval mode exports inference BatchNormalization nodes; torch's
    # warning about constant folding concerns models in training mode only.
    warnings.filterwarnings("ignore", message="It is recommended that constant folding")
    os.makedirs(args.out, exist_ok=True)
    log("export_zoo: torch %s, torchvision %s, onnx %s, opset %d, batch %d, %dx%d -> %s"
        % (torch.__version__, torchvision.__version__, onnx.__version__, OPSET, args.batch,
           args.size, args.size, args.out))
    total = time.time()
    failed = []
    for name in names:
        st = stem(name, args.batch, args.size)
        exts = (".onnx", ".input.npy", ".output.npy")
        if not args.force and all(os.path.exists(os.path.join(args.out, st + e)) for e in exts):
            log("  %-22s exists, skipped" % st)
            continue
        try:
            export_one(name, args.out, args.batch, args.size, args.torch_fold_bn)
        except Exception as e:  # report and go on with the other models
            log("  %-22s FAILED: %s: %s" % (st, type(e).__name__, e))
            failed.append(name)
    log("export_zoo: done in %.1f s%s" % (time.time() - total,
                                          ", failed: " + ",".join(failed) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
