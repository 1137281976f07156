"""A small mirror of NVIDIA's CUDA redist folder, made at test time, and an HTTP server for it.

The layout and the manifest are NVIDIA's (compare ../shared/reference/redistrib_12.8.0.subset.json,
values copied from NVIDIA's manifest): ``redistrib_<release>.json`` and
``<component>/linux-x86_64/<component>-linux-x86_64-<version>-archive.tar.xz``, each archive with one
top folder. The files inside are stand-ins (NVIDIA's binaries are too large for unit tests): ``nvcc``
is a shell script printing what NVIDIA's nvcc 12.4 prints for ``--version``; the rest are empty.
The real 12.4 binaries in the same layout: scripts/mirror/make_cuda_redist_mirror.py.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

NVCC_VERSION = """#!/bin/sh
echo 'nvcc: NVIDIA (R) Cuda compiler driver'
echo 'Copyright (c) 2005-2024 NVIDIA Corporation'
echo 'Built on Thu_Mar_28_02:18:24_PDT_2024'
echo 'Cuda compilation tools, release {minor}, V{nvcc}'
echo 'Build cuda_{minor}.r{minor}/compiler.34097967_0'
"""


def _members(component: str, minor: str, nvcc: str, cudart: str) -> dict[str, tuple[bytes, int] | str]:
    """archive path -> (content, mode) or a link target."""
    major = minor.split(".")[0]
    if component == "cuda_nvcc":
        return {"bin/nvcc": (NVCC_VERSION.format(minor=minor, nvcc=nvcc).encode(), 0o755),
                "bin/cudafe++": (b"", 0o755), "bin/ptxas": (b"", 0o755), "nvvm/bin/cicc": (b"", 0o755),
                "bin/nvcc.profile": (b"TOP = $(_HERE_)/..\n", 0o644),
                "include/crt/host_config.h": (b"", 0o644)}
    if component == "cuda_cudart":
        return {"include/cuda_runtime.h": (b"", 0o644), f"lib/libcudart.so.{cudart}": (b"", 0o644),
                f"lib/libcudart.so.{major}": f"libcudart.so.{cudart}",
                "lib/libcudart.so": f"libcudart.so.{major}"}
    return {"include/thrust/version.h": (b"", 0o644), "include/cub/cub.cuh": (b"", 0o644)}


def pack(members: dict[str, tuple[bytes, int] | str], top: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:xz") as tar:
        folder = tarfile.TarInfo(top)
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(folder)
        for name, what in sorted(members.items()):
            info = tarfile.TarInfo(f"{top}/{name}")
            if isinstance(what, str):
                info.type, info.linkname = tarfile.SYMTYPE, what
                tar.addfile(info)
            else:
                info.size, info.mode = len(what[0]), what[1]
                tar.addfile(info, io.BytesIO(what[0]))
    return buffer.getvalue()


def make_release(root: Path, label: str, nvcc: str, cudart: str) -> dict:
    """Write release ``label`` (manifest and archives) under ``root``; the manifest."""
    minor = ".".join(label.split(".")[:2])
    manifest: dict = {"release_date": "2024-04-11", "release_label": label, "release_product": "cuda"}
    versions = {"cuda_cccl": cudart, "cuda_cudart": cudart, "cuda_nvcc": nvcc}
    for component, version in versions.items():
        top = f"{component}-linux-x86_64-{version}-archive"
        relative = f"{component}/linux-x86_64/{top}.tar.xz"
        data = pack(_members(component, minor, nvcc, cudart), top)
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
        manifest[component] = {"name": component, "license": "CUDA Toolkit", "version": version,
                               "linux-x86_64": {"relative_path": relative,
                                                "sha256": hashlib.sha256(data).hexdigest(),
                                                "md5": hashlib.md5(data).hexdigest(), "size": str(len(data))}}
    write_manifest(root, label, manifest)
    return manifest


def write_manifest(root: Path, label: str, manifest: dict) -> None:
    (root / f"redistrib_{label}.json").write_text(json.dumps(manifest, indent=4), encoding="utf-8")


class MirrorServer:
    """``python -m http.server`` on 127.0.0.1 for a folder; it counts requests, and can break off
    one file's body halfway (the server going away mid-download)."""

    def __init__(self, root: Path) -> None:
        self.root, self.requests, self.break_off = root, [], ""
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(server.root), **kwargs)

            def do_GET(self):  # noqa: N802 - http.server's naming
                server.requests.append(self.path)
                if server.break_off and self.path.endswith(server.break_off):
                    data = (server.root / self.path.lstrip("/")).read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def archive_requests(self) -> list[str]:
        return [r for r in self.requests if r.endswith(".tar.xz")]


@contextmanager
def serve(root: Path) -> Iterator[MirrorServer]:
    server = MirrorServer(root)
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
