"""CUDA toolkits from NVIDIA's redistributable archives: a mirror laid out like NVIDIA's, served on
127.0.0.1 (tests/redist_mirror.py), and every way a fetch can fail leaving nothing half-made."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from redist_mirror import make_release, serve, write_manifest

from mmbuild.errors import EXIT_USAGE
from mmbuild.knowledge.cuda_redist import base_url, manifest_archives, redist_release
from mmbuild.toolkits import store
from mmbuild.toolkits.provision import provision_toolkit
from mmbuild.toolkits.redist import RedistFetchError, as_url, runtime_version

REFERENCE = Path("/work/shared/reference/redistrib_12.8.0.subset.json")
REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="NVIDIA's Linux archives")


@pytest.fixture
def mirror(tmp_path):
    """Releases 12.4.0 (cudart 12.4.99) and 12.4.1 (cudart 12.4.127), as NVIDIA's folder holds them."""
    root = tmp_path / "mirror"
    make_release(root, "12.4.0", nvcc="12.4.99", cudart="12.4.99")
    make_release(root, "12.4.1", nvcc="12.4.131", cudart="12.4.127")
    return root


def _site(tmp_path: Path, runtime: str) -> Path:
    """A site-packages holding torch's runtime wheel nvidia-cuda-runtime-cu12 ``runtime``."""
    info = tmp_path / "site" / f"nvidia_cuda_runtime_cu12-{runtime}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: nvidia-cuda-runtime-cu12\nVersion: {runtime}\n")
    return info.parent


def _provision(url: str, store_dir: Path, site: Path | None = None) -> Path:
    return provision_toolkit("12.4", sys.executable, store_dir, source="redist",
                             site_dir=str(site) if site else None, environ={"MMBUILD_CUDA_REDIST_URL": url})


def _left(store_dir: Path) -> list[str]:
    return sorted(p.name for p in store_dir.iterdir())


def test_the_real_manifest_sample_lists_the_archives_a_toolkit_needs():
    if not REFERENCE.is_file():
        pytest.skip("the reference sample is not on this machine")
    manifest = json.loads(REFERENCE.read_text())
    archives = manifest_archives(manifest, redist_release("12.8").components, "linux-x86_64")
    assert [(a.component, a.version) for a in archives] == [
        ("cuda_nvcc", "12.8.61"), ("cuda_cudart", "12.8.57"), ("cuda_cccl", "12.8.55")]
    assert archives[1].size == 1343152 and archives[1].top == "cuda_cudart-linux-x86_64-12.8.57-archive"
    with pytest.raises(ValueError, match="no libnvvm"):
        manifest_archives(manifest, redist_release("13.0").components, "linux-x86_64")


def test_the_table_knows_each_minors_releases_newest_first_and_the_default_url():
    assert redist_release("12.4").releases == ["12.4.1", "12.4.0"]
    assert redist_release("13.0").components[-2:] == ["libnvvm", "cuda_crt"]
    assert redist_release("10.2") is None and redist_release("12.7").releases == []
    assert base_url({}) == "https://developer.download.nvidia.com/compute/cuda/redist/"
    assert base_url({"MMBUILD_CUDA_REDIST_URL": "http://mirror.site/cuda"}) == "http://mirror.site/cuda/"


def test_a_fetch_over_http_builds_a_cuda_home_and_a_second_one_reuses_it(mirror, tmp_path, capsys):
    store_dir = tmp_path / "toolkits"
    with serve(mirror) as server:
        home = _provision(server.url, store_dir)
        assert len(server.archive_requests()) == 3
        assert _provision(server.url, store_dir) == home and len(server.archive_requests()) == 3
    assert home == store_dir / "cuda-12.4" / "home" and store.missing_parts(home.parent) == []
    record = store.read_record(home.parent)
    assert record["source"] == "redist" and record["release"] == "12.4.1" and record["url"] == server.url
    assert record["components"]["cuda_nvcc"]["version"] == "12.4.131"
    assert (home / "lib64" / "libcudart.so").resolve().name == "libcudart.so.12.4.127"
    assert (home / "targets/x86_64-linux/include/cuda_runtime.h").is_file()
    assert (home / "include" / "crt").is_dir() and (home / "include" / "thrust").is_dir()
    assert os.access(home / "bin" / "nvcc", os.X_OK)
    assert _left(store_dir) == ["cuda-12.4", "cuda-12.4.lock"]
    assert "CUDA 12.4.1 from http://127.0.0.1:" in capsys.readouterr().err


def test_the_release_is_the_one_whose_cudart_is_torchs_runtime(mirror, tmp_path):
    assert runtime_version(_site(tmp_path, "12.4.99"), 12) == "12.4.99"
    home = _provision(str(mirror), tmp_path / "toolkits", _site(tmp_path / "b", "12.4.99"))
    record = store.read_record(home.parent)
    assert record["release"] == "12.4.0" and "torch's CUDA runtime" in record["release_choice"]


def test_a_runtime_no_release_matches_takes_the_newest_and_says_so(mirror, tmp_path):
    home = _provision(as_url(str(mirror)), tmp_path / "toolkits", _site(tmp_path, "12.4.5"))
    record = store.read_record(home.parent)
    assert record["release"] == "12.4.1" and "12.4.5" in record["release_choice"]


def test_a_release_missing_on_the_mirror_is_skipped(mirror, tmp_path):
    (mirror / "redistrib_12.4.1.json").unlink()
    with serve(mirror) as server:
        home = _provision(server.url, tmp_path / "toolkits")
    assert store.read_record(home.parent)["release"] == "12.4.0"


def _fails(url: str, store_dir: Path, match: str) -> RedistFetchError:
    with pytest.raises(RedistFetchError, match=match) as failed:
        _provision(url, store_dir)
    error = failed.value
    assert error.exit_code == EXIT_USAGE and "\n" not in error.one_line()
    assert "MMBUILD_CUDA_REDIST_URL" in error.fix
    assert _left(store_dir) == ["cuda-12.4.lock"]      # no toolkit, no partial folder
    return error


def _corrupt(mirror: Path, component: str, how) -> None:
    manifest = json.loads((mirror / "redistrib_12.4.1.json").read_text())
    how(mirror / manifest[component]["linux-x86_64"]["relative_path"], manifest[component]["linux-x86_64"])
    write_manifest(mirror, "12.4.1", manifest)


def test_a_wrong_sha256_is_refused(mirror, tmp_path):
    _corrupt(mirror, "cuda_cudart", lambda path, entry: entry.update(sha256="0" * 64))
    with serve(mirror) as server:
        _fails(server.url, tmp_path / "toolkits", "sha256 .* is not the manifest's 0000")


def test_a_truncated_archive_is_refused_by_its_size(mirror, tmp_path):
    _corrupt(mirror, "cuda_nvcc", lambda path, entry: path.write_bytes(path.read_bytes()[:100]))
    with serve(mirror) as server:
        _fails(server.url, tmp_path / "toolkits", "100 bytes, the manifest says .*truncated")


def test_an_archive_broken_at_the_source_is_refused_when_unpacked(mirror, tmp_path):
    def truncate_both(path: Path, entry: dict) -> None:
        import hashlib

        data = path.read_bytes()[:200]
        path.write_bytes(data)
        entry.update(sha256=hashlib.sha256(data).hexdigest(), size=str(len(data)))
    _corrupt(mirror, "cuda_nvcc", truncate_both)
    _fails(str(mirror), tmp_path / "toolkits", "could not be unpacked")


@pytest.mark.parametrize("data_filter", [True, False], ids=["tarfile-filter", "older-python"])
def test_an_archive_with_files_outside_its_folder_is_refused(mirror, tmp_path, monkeypatch, data_filter):
    if not data_filter:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    def stray(path: Path, entry: dict) -> None:
        import hashlib

        from redist_mirror import pack
        data = pack({"../../evil": (b"x", 0o644)}, path.name.removesuffix(".tar.xz"))
        path.write_bytes(data)
        entry.update(sha256=hashlib.sha256(data).hexdigest(), size=str(len(data)))
    _corrupt(mirror, "cuda_cccl", stray)
    _fails(str(mirror), tmp_path / "toolkits", "could not be unpacked|outside (its|the toolkit.s) folder")


def test_a_404_names_the_url(mirror, tmp_path):
    _corrupt(mirror, "cuda_cccl", lambda path, entry: path.unlink())
    with serve(mirror) as server:
        _fails(server.url, tmp_path / "toolkits", "cuda_cccl-linux-x86_64-12.4.127-archive.tar.xz: HTTP 404")


def test_a_server_gone_mid_download_leaves_nothing_and_a_later_fetch_succeeds(mirror, tmp_path):
    store_dir = tmp_path / "toolkits"
    with serve(mirror) as server:
        server.break_off = "cuda_nvcc-linux-x86_64-12.4.131-archive.tar.xz"
        _fails(server.url, store_dir, "broke off|bytes, the manifest says")
        server.break_off = ""
        assert store.missing_parts(_provision(server.url, store_dir).parent) == []


def test_no_server_at_all_is_one_line(tmp_path):
    error = _fails("http://127.0.0.1:9/redist", tmp_path / "toolkits", "could not reach http://127.0.0.1:9/")
    assert "redistrib_12.4.1.json" in error.message


def test_a_mirror_without_the_minor_says_which_manifests_it_looked_for(tmp_path):
    (tmp_path / "empty").mkdir()
    _fails(str(tmp_path / "empty"), tmp_path / "toolkits",
           "holds no CUDA 12.4 release .*redistrib_12.4.1.json")


def test_pythons_without_tarfiles_filter_unpack_the_same_toolkit(mirror, tmp_path, monkeypatch):
    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    home = _provision(str(mirror), tmp_path / "toolkits")
    assert store.missing_parts(home.parent) == [] and (home / "lib" / "libcudart.so").is_symlink()


def test_a_broken_toolkit_in_the_store_is_fetched_again(mirror, tmp_path):
    store_dir = tmp_path / "toolkits"
    home = _provision(str(mirror), store_dir)
    (home / "nvvm" / "bin" / "cicc").unlink()
    assert store.missing_parts(home.parent) == ["nvvm/bin/cicc"]
    assert store.missing_parts(_provision(str(mirror), store_dir).parent) == []


def test_two_processes_at_once_fetch_once_and_both_get_the_toolkit(mirror, tmp_path):
    store_dir = tmp_path / "toolkits"
    code = ("import sys; from mmbuild.toolkits.provision import provision_toolkit; "
            "print(provision_toolkit('12.4', sys.executable, __import__('pathlib').Path(sys.argv[1]), "
            "source='redist', environ={'MMBUILD_CUDA_REDIST_URL': sys.argv[2]}))")
    with serve(mirror) as server:
        runs = [subprocess.Popen([sys.executable, "-c", code, str(store_dir), server.url], cwd=REPO,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outputs = [run.communicate(timeout=120) for run in runs]
        assert [run.returncode for run in runs] == [0, 0], outputs
        assert len(server.archive_requests()) == 3
    homes = {out.strip().splitlines()[-1] for out, _ in outputs}
    assert homes == {str(store_dir / "cuda-12.4" / "home")}
    assert _left(store_dir) == ["cuda-12.4", "cuda-12.4.lock"]


def test_the_probe_names_a_fetched_toolkits_source(mirror, tmp_path):
    from mmbuild.probe.cuda import probe_cuda_toolkits

    store_dir = tmp_path / "toolkits"
    _provision(str(mirror), store_dir)
    toolkits, _ = probe_cuda_toolkits({"PATH": "/nonexistent"}, store=store_dir)
    fetched = [t for t in toolkits if t.home.startswith(str(store_dir))]
    assert [(t.version, t.origin) for t in fetched] == [("12.4", "redist")]

