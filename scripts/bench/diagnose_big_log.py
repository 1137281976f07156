"""Time `mmbuild diagnose` on a generated build log of a given size (default 100 MB).

The log repeats realistic compile lines (with ANSI colours, CRLF, Chinese text and binary junk
mixed in) and ends with a real nvcc failure, so every signature's keywords are searched to the end.

    python scripts/bench/diagnose_big_log.py [--mb 100] [--keep PATH]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from mmbuild.diagnose import diagnose_file

FILLER = [
    b"[12/77] ccache /usr/lib/ccache/g++ -MMD -MF build/temp/mmcv/ops/csrc/pytorch/nms.o.d -Wsign-compare"
    b" -DNDEBUG -g -fwrapv -O3 -Wall -fPIC -I/work/src/mmcv/ops/csrc/common -c nms.cpp -o nms.o -std=c++17\n",
    b"\x1b[01m\x1b[Kbox_iou_rotated_utils.hpp:276:\x1b[m\x1b[K \x1b[01;35m\x1b[Kwarning: "
    b"\x1b[m\x1b[Kignoring"
    b" '#pragma unroll ' [\x1b[01;35m\x1b[K-Wunknown-pragmas\x1b[m\x1b[K]\r\n",
    "  正在编译 mmcv 的算子，请稍候 (building ops)\n".encode(),
    b"      |  ^~~~~ \xff\xfe\x00 binary junk \x80\x81\n",
    b"2024-01-15 08:00:35,112 - mmdet - INFO - Epoch [1][50/7330] lr: 1.998e-03, loss: 2.1283\n",
]
TAIL = (b"FAILED: build/temp/mmcv/ops/csrc/pytorch/cuda/nms_cuda.o\n"
        b"nvcc fatal   : Unsupported gpu architecture 'compute_86'\n"
        b"ninja: build stopped: subcommand failed.\n")


def write_log(path: str, megabytes: int) -> None:
    block = b"".join(FILLER) * 2000
    target = megabytes * 1_000_000
    with open(path, "wb") as out:
        written = 0
        while written < target:
            out.write(block)
            written += len(block)
        out.write(TAIL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--keep", metavar="PATH", help="write the log here and keep it")
    args = parser.parse_args()
    path = args.keep or os.path.join(tempfile.mkdtemp(prefix="mmbuild-bench-"), "big.log")
    write_log(path, args.mb)
    size = os.path.getsize(path)
    start = time.perf_counter()
    diagnosis = diagnose_file(path)
    seconds = time.perf_counter() - start
    print(f"{size / 1e6:.0f} MB, {diagnosis.lines} lines: {seconds:.2f} s ({size / 1e6 / seconds:.0f} MB/s)")
    for match in diagnosis.problems:
        print(f"  {match.id} ({match.severity}) line {match.line}: {match.excerpt}")
    if not args.keep:
        os.remove(path)


if __name__ == "__main__":
    main()
