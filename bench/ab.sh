#!/bin/sh
# A/B of two deepfirst builds on one zoo model, alternating in one run: each
# round runs `deepfirst bench` once with the old binary, then once with the
# new, each in its own process. Prints the median over rounds of each
# binary's median latency, the lowest min of each, their ratios (new / old:
# below 1 = the new build is faster), and the ratio of every round, which
# shows how noisy the machine is (a VM's second core is often shared).
#
# usage: bench/ab.sh OLD_DEEPFIRST NEW_DEEPFIRST MODEL [THREADS [SCHEDULE [ROUNDS [RUNS]]]]
#   MODEL: a path to an .onnx file, or a zoo name looked up in build/zoo
#   defaults: 1 thread, schedule layer, 7 rounds, 30 timed runs per bench
# An old build: git worktree add /tmp/old REV && cmake -S /tmp/old -B /tmp/old/b
#   -DCMAKE_BUILD_TYPE=Release && cmake --build /tmp/old/b --target deepfirst_cli
set -e
if [ $# -lt 3 ]; then
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
OLD=$1 NEW=$2 MODEL=$3 THREADS=${4:-1} SCHEDULE=${5:-layer} ROUNDS=${6:-7} RUNS=${7:-30}
case $MODEL in
*.onnx) ;;
*) MODEL="$(dirname "$0")/../build/zoo/$MODEL.onnx" ;;
esac
[ -f "$MODEL" ] || { echo "ab.sh: no model $MODEL" >&2; exit 2; }

once() {
    "$1" bench "$MODEL" -t "$THREADS" --schedule "$SCHEDULE" -r "$RUNS" -w 5 --json 2>/dev/null |
        python3 -c 'import json, sys; d = json.load(sys.stdin); print(d["median_ms"], d["min_ms"])'
}

i=0
while [ $i -lt "$ROUNDS" ]; do
    echo "$(once "$OLD") $(once "$NEW")"
    i=$((i + 1))
done | python3 -c '
import statistics as st, sys
rows = [tuple(map(float, line.split())) for line in sys.stdin]
old, new = st.median(r[0] for r in rows), st.median(r[2] for r in rows)
old_min, new_min = min(r[1] for r in rows), min(r[3] for r in rows)
print("%s, %s threads, %s, %d rounds" % (sys.argv[1], sys.argv[2], sys.argv[3], len(rows)))
print("median ms  old %.3f  new %.3f  new/old %.3f" % (old, new, new / old))
print("min ms     old %.3f  new %.3f  new/old %.3f" % (old_min, new_min, new_min / old_min))
print("per round  " + " ".join("%.3f" % (r[2] / r[0]) for r in rows))
' "$(basename "$MODEL" .onnx)" "$THREADS" "$SCHEDULE"
