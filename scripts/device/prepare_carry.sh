#!/usr/bin/env bash
# Fill .device/ (git-ignored) with what scripts/device/gpu_check.sh needs on a GPU machine that has
# torch, nvcc and ninja but no network: the mmcv sdist, mmcv's own op tests for that release, and
# wheels of mmcv's runtime dependencies the GPU machine may lack, for its Python.
#
#   bash scripts/device/prepare_carry.sh MMCV_REPO [PYTHON_VERSION] [MMCV_VERSION]
#
# MMCV_REPO: a git clone of https://github.com/open-mmlab/mmcv (its sdist ships no tests; the tests of
# the release's tag are taken). PYTHON_VERSION (default 3.11) is the GPU machine's Python: the
# compiled wheels (PyYAML, opencv-python-headless) are downloaded for it. The folder is sent with the
# device call (`carry: [".device"]`, 64 MiB at most): the script prints its size.
set -euo pipefail
repo=${1:?usage: prepare_carry.sh MMCV_REPO [PYTHON_VERSION] [MMCV_VERSION]}
py=${2:-3.11}
mmcv=${3:-2.2.0}
root=$(cd "$(dirname "$0")/../.." && pwd)
carry="$root/.device"
rm -rf "$carry" && mkdir -p "$carry/sdists" "$carry/wheels" "$carry/mmcv-tests"

# mmbuild's own download (pip's runs mmcv's setup.py, which needs pkg_resources).
python -c "import sys; from pathlib import Path; from mmbuild.source.sdist import download_sdist
print(download_sdist('mmcv', sys.argv[1], folder=Path(sys.argv[2])).path)" "$mmcv" "$carry/sdists"
git -C "$repo" archive "v$mmcv" tests/test_ops | tar -x -C "$carry/mmcv-tests"
rm -f "$carry/mmcv-tests/tests/test_ops/output.pkl"   # the ONNX test's data: not run on the device
# mmcv and mmengine's pure-Python dependencies, and the compiled ones for the device's Python.
# opencv-python-headless stands in for opencv-python (same cv2 module, no GUI libraries).
pip download -q --no-deps -d "$carry/wheels" --only-binary :all: --python-version "$py" \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
    addict yapf termcolor "mmengine==0.10.7" "rich" "markdown-it-py" "mdurl" "pygments" "pyyaml" \
    "opencv-python-headless<4.13" "platformdirs" "tomli" "pytest" "iniconfig" "pluggy" "packaging" \
    "distro" "filelock" "pillow"
du -sh "$carry"
size=$(du -sm "$carry" | cut -f1)
if [ "$size" -gt 64 ]; then
    echo "warning: .device is ${size} MiB, over the 64 MiB a device call carries: drop pytest or pillow if the GPU machine has them" >&2
fi
