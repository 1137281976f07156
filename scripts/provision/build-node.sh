#!/usr/bin/env bash
# Build mmcv once for a fleet and add the wheel to a shared wheelhouse.
#
#   build-node.sh --wheelhouse DIR [--python PY] [--report FILE] [MMBUILD BUILD OPTIONS...]
#
# Every option it does not know goes to `mmbuild build`, e.g. the fleet's arches
# (`--arch 8.0,8.6,9.0`) or the saved reports of its nodes (`--from-env a.json --from-env b.json`),
# `--mmcv 2.1.0`, `--ops nms,roi_align`. Non-interactive. Prints one JSON report on stdout
# (also written to --report FILE); progress goes to stderr. Exits with mmbuild's code:
# 0 ok, 1 unexpected, 2 bad input, 3 blocked by the plan, 4 build failed, 6 patch conflict.
set -euo pipefail

usage() {
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
}

fail_usage() {
    echo "build-node.sh: error: $1" >&2
    exit 2
}

PYTHON=${MMBUILD_PYTHON:-python3}
WHEELHOUSE=${MMBUILD_WHEELHOUSE:-}
REPORT=""
BUILD_ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --wheelhouse|--python|--report)
            [ $# -ge 2 ] || fail_usage "$1 needs a value"
            case "$1" in
                --wheelhouse) WHEELHOUSE=$2 ;;
                --python) PYTHON=$2 ;;
                --report) REPORT=$2 ;;
            esac
            shift 2 ;;
        -h|--help) usage; exit 0 ;;
        --) shift; BUILD_ARGS+=("$@"); break ;;
        *) BUILD_ARGS+=("$1"); shift ;;
    esac
done
[ -n "$WHEELHOUSE" ] || fail_usage "--wheelhouse DIR is required (or set MMBUILD_WHEELHOUSE)"
command -v "$PYTHON" >/dev/null 2>&1 || fail_usage "python interpreter '$PYTHON' not found (use --python)"
mkdir -p "$WHEELHOUSE" || fail_usage "cannot create the wheelhouse $WHEELHOUSE"

work=$(mktemp -d "${TMPDIR:-/tmp}/mmbuild-build-node.XXXXXX")
trap 'rm -rf "$work"' EXIT
started=$(date +%s)
rc=0
"$PYTHON" -m mmbuild build --out "$WHEELHOUSE" --json ${BUILD_ARGS[@]+"${BUILD_ARGS[@]}"} \
    >"$work/mmbuild.json" 2> >(tee "$work/mmbuild.log" >&2) || rc=$?
wait

MMBUILD_RC=$rc MMBUILD_SECONDS=$(( $(date +%s) - started )) MMBUILD_WHEELHOUSE=$WHEELHOUSE \
MMBUILD_REPORT=$REPORT "$PYTHON" - "$work/mmbuild.json" "$work/mmbuild.log" <<'PY'
import json, os, socket, sys

rc = int(os.environ["MMBUILD_RC"])
try:
    with open(sys.argv[1], encoding="utf-8") as f:
        document = json.load(f)
except ValueError:
    document = None
with open(sys.argv[2], encoding="utf-8", errors="replace") as f:
    log_tail = f.read()[-2000:]
report = {
    "script": "build-node", "ok": rc == 0, "exit_code": rc, "host": socket.gethostname(),
    "wheelhouse": os.path.abspath(os.environ["MMBUILD_WHEELHOUSE"]),
    "seconds": int(os.environ["MMBUILD_SECONDS"]),
    "wheel": (document or {}).get("wheel"),
    "fingerprint": ((document or {}).get("plan") or {}).get("fingerprint"),
    "arch_list": ((document or {}).get("plan") or {}).get("arch_list"),
    "mmbuild": document,
    "stderr_tail": None if rc == 0 else log_tail,
}
text = json.dumps(report, indent=2)
print(text)
if os.environ["MMBUILD_REPORT"]:
    with open(os.environ["MMBUILD_REPORT"], "w", encoding="utf-8") as f:
        f.write(text + "\n")
PY
exit "$rc"
