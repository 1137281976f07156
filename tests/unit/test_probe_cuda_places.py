"""Every toolkit of a machine, found where users have them: trees laid out from captured real installs.

Each tree under tests/fixtures/probe/layouts/ is the file list of a real install (Debian 12's
nvidia-cuda-toolkit 11.8, NVIDIA's /usr/local/cuda-13.0, the nvidia-cuda-nvcc 13.0.88 wheel), laid
out here with empty files; its nvcc answers with that install's captured outputs. Conda's tree
and the HPC module's are stand-ins (neither is here): the layout of NVIDIA's conda packages (bin/nvcc,
headers under targets/x86_64-linux/include) and of NVIDIA's runfile (bin/nvcc, include/).
"""

from __future__ import annotations

import os
from pathlib import Path

from mmbuild.probe import cuda, cuda_places

LAYOUTS = Path(__file__).resolve().parents[1] / "fixtures" / "probe" / "layouts"
DEBIAN = LAYOUTS / "debian12-nvidia-cuda-toolkit-11.8"
USR_LOCAL = LAYOUTS / "usr-local-cuda-13.0"
PIP = LAYOUTS / "pip-nvidia-cuda-nvcc-13.0"


def _fake_nvcc(path: Path, captured: Path, root: Path) -> None:
    """An nvcc that answers --version, --list-gpu-arch and --dryrun with ``captured``'s outputs."""
    dryrun = captured / "nvcc-dryrun.txt"
    top = dryrun.read_text().replace("=/usr", f"={root}/usr") if dryrun.is_file() else ""
    path.write_text(f"""#!/bin/sh
case "$1" in
  --version) cat '{captured / "nvcc-version.txt"}' ;;
  --list-gpu-arch) cat '{captured / "nvcc-list-gpu-arch.txt"}' ;;
  --dryrun) cat >&2 <<'EOF'
{top}EOF
  ;;
esac
""")
    path.chmod(0o755)


def lay_out(root: Path, captured: Path, into: Path | None = None) -> None:
    """``captured``'s files.txt under ``root`` (``into``: its relative paths go there instead); each
    real nvcc (not a wrapper) answers with the captured outputs, wrappers exec the re-rooted nvcc."""
    base = into or root
    for line in (captured / "files.txt").read_text().splitlines():
        name, _, target = line.partition(" -> ")
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if target:
            os.symlink(f"{root}{target}" if target.startswith("/") else target, path)
        elif path.name == "nvcc" and not (captured / _wrapper_name(name)).is_file():
            _fake_nvcc(path, captured, root)
        elif path.name == "nvcc":
            path.write_text((captured / _wrapper_name(name)).read_text().replace(" /usr/", f" {root}/usr/"))
            path.chmod(0o755)
        else:
            path.write_text("")


def _wrapper_name(name: str) -> str:
    """The fixture holding a wrapper's captured text: usr/bin/nvcc -> usr-bin-nvcc.sh."""
    return name.replace("/", "-") + ".sh"


def _found(environ: dict[str, str], root: Path, site_dirs: list[str] | None = None):
    toolkits, findings = cuda.probe_cuda_toolkits(environ, root=str(root), site_dirs=site_dirs or [])
    assert findings == []
    return {os.path.relpath(t.home, root) if t.home.startswith(str(root)) else t.home: t for t in toolkits}


def test_debian_package_beside_nvidias_installer_both_found_with_where_from(tmp_path):
    lay_out(tmp_path, DEBIAN)
    lay_out(tmp_path, USR_LOCAL)
    path = f"{tmp_path}/usr/local/bin:{tmp_path}/usr/bin"
    found = _found({"PATH": path}, tmp_path)
    assert list(found) == ["usr/local/cuda-13.0", "usr"]
    cuda13, debian = found["usr/local/cuda-13.0"], found["usr"]
    assert (cuda13.version, cuda13.found_by) == ("13.0", ["PATH", "/usr/local"])
    assert (debian.version, debian.found_by) == ("11.8", ["PATH", "distro"])
    assert debian.nvcc == f"{tmp_path}/usr/bin/nvcc" and debian.arches[0] == "sm_35"
    assert set(debian.library_headers.values()) == {f"{tmp_path}/usr/include"}
    assert "cusparse.h" in debian.library_headers


def test_every_nvcc_on_path_counts_not_only_the_first(tmp_path):
    """Both trees found through PATH alone (the fixed places looked at under an empty root): the
    wrapper /usr/local/bin/nvcc leads to its toolkit through ``nvcc --dryrun``'s TOP line."""
    lay_out(tmp_path, DEBIAN)
    lay_out(tmp_path, USR_LOCAL)
    environ = {"PATH": f"{tmp_path}/usr/local/bin:{tmp_path}/usr/bin"}
    found = cuda.discover_toolkits(environ, root=str(tmp_path / "empty"), site_dirs=[])
    assert [(home, nvcc, found_by) for home, nvcc, found_by in found] == [
        (f"{tmp_path}/usr/local/cuda-13.0", f"{tmp_path}/usr/local/cuda-13.0/bin/nvcc", ["PATH"]),
        (f"{tmp_path}/usr", f"{tmp_path}/usr/bin/nvcc", ["PATH"])]


def test_the_distro_package_is_found_without_path(tmp_path):
    lay_out(tmp_path, DEBIAN)
    found = _found({"PATH": ""}, tmp_path)
    assert list(found) == ["usr"] and found["usr"].found_by == ["distro"] and found["usr"].version == "11.8"


def test_a_toolkit_pip_installed_into_the_environment(tmp_path):
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    lay_out(tmp_path, PIP, into=site)
    found = _found({"PATH": ""}, tmp_path, site_dirs=[str(site)])
    [(home, toolkit)] = found.items()
    assert home == "venv/lib/python3.11/site-packages/nvidia/cu13"
    assert (toolkit.version, toolkit.found_by, toolkit.arches[0]) == ("13.0", ["pip"], "sm_75")


def test_conda_and_the_hpc_module_variables(tmp_path):
    conda = tmp_path / "envs" / "cu128"
    (conda / "bin").mkdir(parents=True)
    _fake_nvcc(conda / "bin" / "nvcc", USR_LOCAL, tmp_path)
    include = conda / "targets" / "x86_64-linux" / "include"
    include.mkdir(parents=True)
    (include / "cuda_runtime.h").write_text("")
    (include / "cusparse.h").write_text("")
    module = tmp_path / "apps" / "cuda" / "11.8"          # a module's toolkit: NVIDIA's runfile layout
    (module / "bin").mkdir(parents=True)
    (module / "include").mkdir()
    (module / "include" / "cuda_runtime.h").write_text("")
    _fake_nvcc(module / "bin" / "nvcc", DEBIAN, tmp_path)
    environ = {"PATH": "", "CONDA_PREFIX": str(conda), "CUDA_ROOT": str(module),
               "CUDAToolkit_ROOT": str(module), "CUDA_TOOLKIT_ROOT_DIR": str(tmp_path / "missing")}
    found = _found(environ, tmp_path / "no-fixed-places")
    assert [(t.home, t.found_by, t.version) for t in found.values()] == [
        (str(module), ["CUDA_ROOT", "CUDAToolkit_ROOT"], "11.8"), (str(conda), ["conda"], "13.0")]
    assert found[str(conda)].library_headers["cusparse.h"] == str(include)


def test_labels_name_every_place_and_the_variables_in_order():
    environ = {"CUDA_HOME": "/a", "CUDA_PATH": "/b", "CUDA_PATH_V12_4": "/c", "CUDA_PATH_V11_8": "/d",
               "CUDA_ROOT": "/e", "CUDA_TOOLKIT_ROOT_DIR": "/f", "CUDAToolkit_ROOT": "/g",
               "CONDA_PREFIX": "/h"}
    linux = cuda_places.all_places(environ, "nvcc", root="/nonexistent", platform="linux")
    assert [(p.found_by, p.home) for p in linux] == [
        ("CUDA_HOME", "/a"), ("CUDA_PATH", "/b"), ("CUDA_ROOT", "/e"), ("CUDA_TOOLKIT_ROOT_DIR", "/f"),
        ("CUDAToolkit_ROOT", "/g"), ("/opt/cuda", "/nonexistent/opt/cuda"), ("conda", "/h")]
    windows = cuda_places.all_places(environ, "nvcc.exe", platform="win32")
    assert [p.home for p in windows] == ["/a", "/b", "/c", "/d", "/e", "/f", "/g", "/h/Library"]
    assert set(cuda_places.DESCRIPTIONS) >= {p.found_by for p in linux if not p.found_by.startswith("CUDA")}
