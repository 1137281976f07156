#!/usr/bin/env bash
# Debian's own CUDA 11.8 toolkit for the CUDA 11 tier (tests/integration/test_cuda11_real.py), on the
# Debian 12 CI machine, as root. .ci/run would call it before the tests:
#
#     bash scripts/ci/install_cuda11.sh
#
# Why each step:
# - Debian packages NVIDIA's CUDA as nvidia-cuda-toolkit in its non-free component (the licence is
#   not free), which a stock Debian 12 apt source leaves out: the component is added to Debian's own
#   archive entries (deb.debian.org, and the snapshot/security ones beside it), nothing else.
# - nvidia-cuda-toolkit 11.8.89~11.8.0-5~deb12u1 gives /usr/bin/nvcc (a wrapper for
#   /usr/lib/nvidia-cuda-toolkit/bin/nvcc), the headers in /usr/include and the libraries in
#   /usr/lib/x86_64-linux-gnu: the toolkit torch and mmbuild see with CUDA_HOME=/usr. 1.6 GB download,
#   5.5 GB installed, a few minutes.
# - g++-11: nvcc 11.8 accepts GCC 11 at most and Debian 12's default g++ is 12 (mmbuild picks g++-11
#   itself when both are there). --no-install-recommends skips the docs, nsight and the visual profiler.
# - Run once per machine; a second run finds everything installed and changes nothing.
set -euo pipefail

sources=/etc/apt/sources.list.d/debian.sources
if [ -f "$sources" ]; then
    # deb822 format (Debian 12's default): every "Components: main" line of Debian's archive.
    sed -i -E '/^Components:/ { /non-free( |$)/! s/^Components: main( contrib)?$/Components: main contrib non-free non-free-firmware/ }' "$sources"
elif [ -f /etc/apt/sources.list ]; then
    # one-line format: add the components to Debian's own "deb ... main" lines.
    sed -i -E '/debian/ { /non-free( |$)/! s/^(deb .* )main( contrib)?$/\1main contrib non-free non-free-firmware/ }' /etc/apt/sources.list
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends nvidia-cuda-toolkit g++-11
/usr/bin/nvcc --version | tail -2
