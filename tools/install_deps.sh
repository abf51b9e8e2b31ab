#!/bin/sh
# Installs what deepfirst needs to build and test on Debian 12 (run as root or
# with sudo available). Each package and why it is here: README, "Dependencies".
# With --bench, also what bench/run.py needs (Node.js for ONNX Runtime's npm
# package, matplotlib for the plot).
set -e
PKGS="build-essential cmake pkg-config clang libclang-rt-14-dev
      libprotobuf-c-dev protobuf-c-compiler libonnx-dev libonnx-testdata
      libcpuinfo-dev libpthreadpool-dev libxgboost-dev
      python3 python3-torch python3-torchvision python3-onnx python3-numpy"
if [ "$1" = "--bench" ]; then
    PKGS="$PKGS python3-matplotlib"
    # a machine may already have Node.js with npm from elsewhere; keep it
    command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
fi
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    echo "installing:$missing" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >&2
fi
