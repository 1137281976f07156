#!/usr/bin/env bash
# Install mmcv on this node from a shared wheelhouse without compiling, then verify it.
#
#   node-install.sh --wheelhouse DIR [--python PY] [--report FILE] [--save-env DIR] [--no-verify]
#
# Picks the newest wheel whose build metadata fits this node (platform, Python, torch,
# torch CUDA, C++ ABI, and arches covering every GPU), installs it with torch pinned and
# the previous mmcv restored on failure, and runs `mmbuild verify`. Prints one JSON report
# on stdout (also written to --report FILE). --save-env DIR saves this node's
# `mmbuild env --json` as DIR/<hostname>.json, input for a fleet build (`--from-env`).
# Exit codes: 0 ok, 1 install failed or unexpected, 2 bad input, 3 no wheel fits, 5 verify failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHON=${MMBUILD_PYTHON:-python3}
ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --python)
            [ $# -ge 2 ] || { echo "node-install.sh: error: --python needs a value" >&2; exit 2; }
            PYTHON=$2; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) ARGS+=("$1"); shift ;;
    esac
done
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "node-install.sh: error: python interpreter '$PYTHON' not found (use --python)" >&2
    exit 2
fi
exec "$PYTHON" "$here/node_install.py" ${ARGS[@]+"${ARGS[@]}"}
