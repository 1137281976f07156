#!/usr/bin/env bash
# The GPU check, for one call of a machine with a GPU (torch with CUDA, nvcc, ninja, no network):
# build mmcv's ops for this GPU's arch with mmbuild, install them, run `mmbuild verify --device all`
# and mmcv's own tests of those ops on CUDA, and write a summary. About 6-8 minutes on 16 cores.
#
#   bash scripts/device/gpu_check.sh            # on the GPU machine, from the repository root
#   bash scripts/device/gpu_check.sh --dry-run  # anywhere: checks the carried folder and prints the
#                                                # plan and the tests it would run, building nothing
#
# Needs .device/ from scripts/device/prepare_carry.sh. Results go to $OUT (the device call's output
# folder), else .device/out: install.json, verify.json, mmcv-tests.txt, summary.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
dry=""; [ "${1:-}" = "--dry-run" ] && dry=1
carry=$PWD/.device
out=${OUT:-$carry/out}
mkdir -p "$out"
# The ops built and tested: those mmdet/mmseg models call most, and the ones with the heaviest kernels.
OPS=${GPU_CHECK_OPS:-nms,roi_align,roi_pool,deform_conv,modulated_deform_conv,nms_rotated,box_iou_rotated,roi_align_rotated,sigmoid_focal_loss,multi_scale_deform_attn,psa_mask,carafe}
TESTS="test_nms test_roi_align test_roi_pool test_deform_conv test_modulated_deform_conv test_nms_rotated
       test_box_iou_rotated test_roi_align_rotated test_focal_loss test_ms_deformable_attn test_psa_mask
       test_carafe"

sdist=$(ls "$carry"/sdists/mmcv-*.tar.gz 2>/dev/null | head -n 1 || true)
[ -n "$sdist" ] || { echo "gpu_check: no mmcv sdist in $carry/sdists: run scripts/device/prepare_carry.sh first" >&2; exit 2; }
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}          # mmbuild from this tree, not installed
export MMBUILD_CACHE_DIR=$carry/cache PIP_NO_INDEX=1 PIP_FIND_LINKS=$carry/wheels
python=${PYTHON:-python3}

"$python" - "$out/device.json" <<'PY'
import json, sys, torch
gpus = [torch.cuda.get_device_properties(i) for i in range(torch.cuda.device_count())]
json.dump({"torch": torch.__version__, "cuda": torch.version.cuda,
           "gpus": [{"name": g.name, "capability": f"{g.major}.{g.minor}"} for g in gpus]},
          open(sys.argv[1], "w"), indent=1)
PY
arch=$("$python" -c "import json,sys; g=json.load(open(sys.argv[1]))['gpus']; print(g[0]['capability'] if g else '9.0')" "$out/device.json")
echo "gpu_check: arch $arch, ops $OPS, sdist $(basename "$sdist")"

if [ -n "$dry" ]; then
    "$python" -m mmbuild install --dry-run --source "$sdist" --arch "$arch" --ops "$OPS" > "$out/install.json" --json || true
    for t in $TESTS; do [ -f "$carry/mmcv-tests/tests/test_ops/$t.py" ] || { echo "gpu_check: missing $t.py" >&2; exit 2; }; done
    echo "gpu_check: dry run: plan in $out/install.json; tests: $TESTS"
    exit 0
fi

# Missing runtime dependencies come from the carried wheels (the machine has no network).
"$python" -m pip install -q --no-index --find-links "$carry/wheels" addict yapf termcolor mmengine rich pyyaml \
    opencv-python-headless pillow pytest distro filelock packaging 2>&1 | tail -3 || true
set +e
timeout 420 "$python" -m mmbuild install --json --source "$sdist" --arch "$arch" --ops "$OPS" --no-verify \
    > "$out/install.json" 2> "$out/install.log"
install_rc=$?
timeout 120 "$python" -m mmbuild verify --device all --json > "$out/verify.json" 2> "$out/verify.log"
verify_rc=$?
tests=$(for t in $TESTS; do echo "$carry/mmcv-tests/tests/test_ops/$t.py"; done)
# mmcv's own tests, on CUDA only (their CPU cases ran in verify); ops not built raise and are counted.
timeout 120 "$python" -m pytest -q -p no:cacheprovider -k "cuda" $tests > "$out/mmcv-tests.txt" 2>&1
tests_rc=$?
set -e
"$python" - "$out" "$install_rc" "$verify_rc" "$tests_rc" <<'PY'
import json, sys
from pathlib import Path
out, install_rc, verify_rc, tests_rc = Path(sys.argv[1]), *sys.argv[2:]
def load(name):
    try:
        return json.loads((out / name).read_text())
    except (OSError, ValueError):
        return {}
device, verify = load("device.json"), load("verify.json")
lines = [f"# GPU check: {', '.join(g['name'] for g in device.get('gpus', []))}",
         f"torch {device.get('torch')} (CUDA {device.get('cuda')}); install rc {install_rc}, "
         f"verify rc {verify_rc}, mmcv tests rc {tests_rc}", "",
         "| check | kind | device | status | max error | seconds | message |", "|---|---|---|---|---|---|---|"]
for c in verify.get("checks", []):
    lines.append(f"| {c['name']} | {c['kind']} | {c['device']} | {c['status']} | {c.get('max_error')} | "
                 f"{c.get('seconds')} | {(c.get('message') or '')[:80]} |")
tail = (out / "mmcv-tests.txt").read_text(errors="replace").strip().splitlines()[-1:] if (out / "mmcv-tests.txt").exists() else []
lines += ["", f"mmcv's tests: {' '.join(tail)}"]
(out / "summary.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
PY
