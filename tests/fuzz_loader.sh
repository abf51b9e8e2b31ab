#!/bin/sh
# Runs the loader fuzzer for a bounded time over a corpus seeded with Debian's
# ONNX node test models, small exported CNNs (EXTRA_SEEDS_DIR: the pass-test
# models, real PyTorch exports under 1 MiB) and the saved regressions. A crashing input is written
# next to the corpus as fuzz_loader_crash-*: copy it into tests/fuzz_regressions/
# so that test_loader replays it on every run.
# usage: fuzz_loader.sh FUZZER CORPUS_DIR REGRESSIONS_DIR [SECONDS [EXTRA_SEEDS_DIR]]
set -eu
fuzzer=$1
corpus=$2
regressions=$3
seconds=${4:-30}
extra=${5:-}

mkdir -p "$corpus"
for f in /usr/share/libonnx-testdata/data/node/*/model.onnx; do
    [ -f "$f" ] || continue
    cp "$f" "$corpus/$(basename "$(dirname "$f")").onnx"
done
if [ -n "$extra" ] && [ -d "$extra" ]; then
    for f in "$extra"/*.onnx; do
        [ -f "$f" ] && [ "$(wc -c < "$f")" -lt 1048576 ] && cp "$f" "$corpus/seed_$(basename "$f")"
    done
fi
if [ -d "$regressions" ]; then
    for f in "$regressions"/*; do
        [ -f "$f" ] && cp "$f" "$corpus/"
    done
fi
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$(dirname "$corpus")/fuzz_loader_crash-" "$corpus"
