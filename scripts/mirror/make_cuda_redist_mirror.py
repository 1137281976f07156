"""Make a local mirror of NVIDIA's CUDA redistributables from Debian's CUDA packages.

NVIDIA's server (https://developer.download.nvidia.com/compute/cuda/redist/) holds one manifest per
release, ``redistrib_<release>.json``, and one archive per component and platform,
``<component>/linux-x86_64/<component>-linux-x86_64-<version>-archive.tar.xz``, each with one top
folder ``<component>-linux-x86_64-<version>-archive/`` (bin/, include/, lib/, nvvm/ ...). This script
lays out the same tree from NVIDIA's own binaries as Debian packs them, so mmbuild's redist fetch
(mmbuild/toolkits/redist.py) can be tried end to end without NVIDIA's server.

Getting the packages (Debian 13's non-free component carries CUDA 12.4.1; about 1 GB)::

    # a private apt configuration with a `trixie` source pinned at priority 50: nothing is upgraded
    APT_CONFIG=/work/cuda-apt/apt.conf apt-get update
    APT_CONFIG=/work/cuda-apt/apt.conf apt-get download nvidia-cuda-toolkit nvidia-cuda-dev \
        libcudart12 libnvvm4 libthrust-dev libcub-dev libcu++-dev
    for d in *.deb; do dpkg -x "$d" /work/cuda-debs-12.4; done

Then::

    python scripts/mirror/make_cuda_redist_mirror.py /work/cuda-debs-12.4 /work/cuda-mirror

and serve it with ``python -m http.server -b 127.0.0.1 -d /work/cuda-mirror PORT``.

The component versions default to those of NVIDIA's 12.4.1 manifest (cuda_nvcc 12.4.131, cuda_cudart
and cuda_cccl 12.4.127), which are the versions Debian's 12.4.1 packages carry. What goes into each
archive follows NVIDIA's split: the compiler driver, its tools, crt/ and nvvm/ in cuda_nvcc; the
runtime headers and libcudart in cuda_cudart; thrust, cub and libcu++ in cuda_cccl. The other
libraries' headers (cuBLAS, cuSPARSE ...) are left out, as in NVIDIA's three archives.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tarfile
import tempfile
from pathlib import Path

PLATFORM = "linux-x86_64"
LIB = "usr/lib/x86_64-linux-gnu"
TOOLKIT = "usr/lib/nvidia-cuda-toolkit"

# NVIDIA's nvcc.profile of the redist archives: paths relative to nvcc's own folder.
NVCC_PROFILE = """
TOP              = $(_HERE_)/..

CICC_PATH        = $(TOP)/nvvm/bin
NVVMIR_LIBRARY_DIR = $(TOP)/nvvm/libdevice

LD_LIBRARY_PATH += $(TOP)/lib:
PATH            += $(CICC_PATH):$(_HERE_):

INCLUDES        +=  "-I$(TOP)/$(_TARGET_DIR_)/include" $(_SPACE_)

LIBRARIES        =+ $(_SPACE_) "-L$(TOP)/$(_TARGET_DIR_)/lib$(_TARGET_SIZE_)/stubs" \
"-L$(TOP)/$(_TARGET_DIR_)/lib$(_TARGET_SIZE_)"

CUDAFE_FLAGS    +=
PTXAS_FLAGS     +=
"""

# Headers of /usr/include that belong to other components than the three fetched.
OTHER_LIBRARIES = ("cublas", "cufft", "curand", "cusolver", "cusparse", "npp", "nvjpeg", "nvrtc", "nvJitLink",
                   "nvFatbin", "nvblas", "nv_decode", "cudalibxt", "nvToolsExt", "nvtx3", "cuda-gdb")
NVCC_HEADERS = ("crt", "fatbinary_section.h", "nvPTXCompiler.h")
CCCL_HEADERS = ("cub", "thrust", "cuda", "nv")
NAMES = {"cuda_nvcc": "CUDA NVCC", "cuda_cudart": "CUDA Runtime (cudart)",
         "cuda_cccl": "CXX Core Compute Libraries"}


def nvcc_members(debs: Path) -> dict[str, Path | str]:
    """archive path -> the Debian file (or the text) of cuda_nvcc."""
    tk, members = debs / TOOLKIT, {}
    for tool in ("bin2c", "cudafe++", "fatbinary", "nvlink", "ptxas", "__nvcc_device_query"):
        members[f"bin/{tool}"] = debs / "usr/bin" / tool
    members["bin/nvcc"] = tk / "bin/nvcc"                     # usr/bin/nvcc is Debian's wrapper script
    members["bin/crt"] = tk / "bin/crt"
    members["bin/nvcc.profile"] = NVCC_PROFILE
    members["nvvm/bin/cicc"] = tk / "bin/cicc"
    members["nvvm/libdevice"] = tk / "libdevice"
    members["nvvm/include/nvvm.h"] = debs / "usr/include/nvvm.h"
    for lib in sorted((debs / LIB).glob("libnvvm.so*")):
        members[f"nvvm/lib64/{lib.name}"] = lib
    for name in NVCC_HEADERS:
        members[f"include/{name}"] = debs / "usr/include" / name
    members["lib/libnvptxcompiler_static.a"] = debs / LIB / "libnvptxcompiler_static.a"
    return members


def cudart_members(debs: Path) -> dict[str, Path | str]:
    members: dict[str, Path | str] = {}
    for header in sorted((debs / "usr/include").iterdir()):
        name = header.name
        if name in (*NVCC_HEADERS, *CCCL_HEADERS, "nvvm.h") or name.startswith(OTHER_LIBRARIES):
            continue
        members[f"include/{name}"] = header
    for lib in sorted((debs / LIB).glob("libcudart*")):
        members[f"lib/{lib.name}"] = lib
    members["lib/stubs/libcuda.so"] = debs / LIB / "stubs/libcuda.so"
    return members


def cccl_members(debs: Path) -> dict[str, Path | str]:
    members: dict[str, Path | str] = {f"include/{n}": debs / "usr/include" / n for n in CCCL_HEADERS}
    for package in ("cccl", "cub", "libcudacxx", "thrust"):
        members[f"lib/cmake/{package}"] = debs / "usr/share/cmake" / package
    return members


def pack(members: dict[str, Path | str], top: str, archive: Path) -> None:
    """One .tar.xz with the single top folder ``top``, links kept as links."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(archive.name + ".partial")
    with tarfile.open(partial, "w:xz") as tar:
        for name, source in sorted(members.items()):
            if isinstance(source, str):
                with tempfile.NamedTemporaryFile("w", delete=False) as f:
                    f.write(source)
                tar.add(f.name, arcname=f"{top}/{name}")
                os.unlink(f.name)
            elif source.exists() or source.is_symlink():
                tar.add(source, arcname=f"{top}/{name}")
            else:
                raise SystemExit(f"missing in the unpacked packages: {source}")
    os.replace(partial, archive)


def entry(archive: Path, relative: str) -> dict:
    data = archive.read_bytes()
    return {"relative_path": relative, "sha256": hashlib.sha256(data).hexdigest(),
            "md5": hashlib.md5(data).hexdigest(), "size": str(len(data))}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("debs", type=Path, help="the folder the Debian packages were unpacked into (dpkg -x)")
    p.add_argument("out", type=Path, help="the mirror's folder (made or updated)")
    p.add_argument("--release", default="12.4.1")
    p.add_argument("--release-date", default="2024-04-11")
    p.add_argument("--nvcc-version", default="12.4.131")
    p.add_argument("--cudart-version", default="12.4.127")
    p.add_argument("--cccl-version", default="12.4.127")
    args = p.parse_args(argv)
    components = {"cuda_cccl": (args.cccl_version, cccl_members),
                  "cuda_cudart": (args.cudart_version, cudart_members),
                  "cuda_nvcc": (args.nvcc_version, nvcc_members)}
    manifest: dict = {"release_date": args.release_date, "release_label": args.release,
                      "release_product": "cuda"}
    for component, (version, members) in components.items():
        top = f"{component}-{PLATFORM}-{version}-archive"
        relative = f"{component}/{PLATFORM}/{top}.tar.xz"
        archive = args.out / relative
        if not archive.is_file():
            print(f"packing {relative}", flush=True)
            pack(members(args.debs), top, archive)
        manifest[component] = {"name": NAMES[component], "license": "CUDA Toolkit",
                               "license_path": f"{component}/LICENSE.txt", "version": version,
                               PLATFORM: entry(archive, relative)}
        print(f"{relative}: {int(manifest[component][PLATFORM]['size']) / 2**20:.1f} MiB", flush=True)
    target = args.out / f"redistrib_{args.release}.json"
    target.write_text(json.dumps(manifest, indent=4) + "\n", encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
