#!/bin/sh
# From a fresh Debian 12 clone to a benchmark: installs the packages, builds,
# exports one zoo model (ResNet-18, random weights, nothing downloaded) and runs
# it with deepfirst. Pass another zoo model name as $1 to try that one.
set -e
cd "$(dirname "$0")/.."
MODEL=${1:-resnet18}
tools/install_deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
/usr/bin/python3 tools/export_zoo.py --out build/zoo --models "$MODEL"
build/deepfirst info "build/zoo/$MODEL.onnx"
build/deepfirst run "build/zoo/$MODEL.onnx" -i "build/zoo/$MODEL.input.npy" -o "build/$MODEL.out.npy"
build/deepfirst bench "build/zoo/$MODEL.onnx" -r 20
