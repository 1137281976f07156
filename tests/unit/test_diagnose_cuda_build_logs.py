"""Two look-alike nvcc and header failures are told apart: glued MMCV_CUDA_ARGS vs. an unknown
arch, and missing CUDA library headers vs. the removed THC headers (on the captured logs)."""

from pathlib import Path

import pytest

from mmbuild.diagnose import diagnose_file, diagnose_text

LOGS = Path(__file__).resolve().parent.parent / "fixtures" / "logs"
JOINED = sorted((LOGS / "nvcc-args-joined").glob("captured-*.log"))
ARCH = sorted((LOGS / "nvcc-arch-unsupported").glob("captured-*.log"))
HEADERS = sorted((LOGS / "cuda-header-missing").glob("captured-*.log"))


def test_the_captured_logs_are_there():
    assert len(JOINED) >= 4 and len(ARCH) >= 2 and len(HEADERS) >= 4


@pytest.mark.parametrize("log", ARCH, ids=lambda p: p.name)
def test_a_real_unknown_arch_stays_nvcc_arch_unsupported(log):
    diagnosis = diagnose_file(log)
    assert diagnosis.ids() == ["nvcc-arch-unsupported"]
    arch = diagnosis.problems[0].extracted["arch"]
    assert arch in {"compute_60", "sm_52"} and arch in diagnosis.problems[0].cause


@pytest.mark.parametrize("log", JOINED, ids=lambda p: p.name)
def test_glued_flags_are_nvcc_args_joined_and_never_an_unknown_arch(log):
    diagnosis = diagnose_file(log)
    assert diagnosis.ids()[0] == "nvcc-args-joined"
    assert "nvcc-arch-unsupported" not in diagnosis.ids()
    match = diagnosis.problems[0]
    assert match.excerpt.startswith("nvcc fatal")
    assert match.remedy == "mmbuild install" and "mmcv-setup-cuda-args" in match.fix


def test_the_glued_value_is_extracted():
    by_name = {p.name: diagnose_file(p).problems[0].extracted for p in JOINED}
    assert by_name["captured-nvcc-gencode-define.log"] == {"value": "sm_90 -DTHREADS_PER_BLOCK=512"}
    assert by_name["captured-ninja-gencode-define.log"] == {"value": "sm_90 -DTHREADS_PER_BLOCK=512"}
    assert by_name["captured-nvcc-two-gencodes.log"] == {"keyword": "code"}
    assert by_name["captured-nvcc-xcompiler-fpic.log"] == {"value": "-Xcompiler -fPIC"}


def test_ninja_log_points_at_the_nvcc_line_not_the_echoed_command():
    log = LOGS / "nvcc-args-joined" / "captured-ninja-gencode-define.log"
    lines = log.read_text(encoding="utf-8").splitlines()
    match = diagnose_file(log).problems[0]
    assert lines[match.line - 1].startswith("nvcc fatal   : Unsupported gpu architecture 'sm_90 -D")


@pytest.mark.parametrize(("line", "problem_id", "extracted"), [
    ("nvcc fatal   : Unsupported gpu architecture 'sm_90 -DTHREADS_PER_BLOCK=512'",
     "nvcc-args-joined", {"value": "sm_90 -DTHREADS_PER_BLOCK=512"}),
    ("nvcc fatal   : Unsupported gpu architecture 'native -lineinfo'", "nvcc-args-joined",
     {"value": "native -lineinfo"}),
    ("nvcc fatal   : Unsupported gpu architecture 'sm_90'", "nvcc-arch-unsupported", {"arch": "sm_90"}),
    ("nvcc fatal   : Value 'sm_90 -lineinfo' is not defined for option 'gpu-code'", "nvcc-args-joined",
     {"value": "sm_90 -lineinfo", "option": "gpu-code"}),
    ("nvcc fatal   : Value 'sm_95' is not defined for option 'gpu-architecture'", "nvcc-arch-unsupported",
     {"arch": "sm_95"}),
    ("nvcc fatal   : redefinition of keyword 'arch' ", "nvcc-args-joined", {"keyword": "arch"}),
])
def test_whitespace_in_the_quoted_value_decides(line, problem_id, extracted):
    diagnosis = diagnose_text(line)
    assert [(m.id, m.extracted) for m in diagnosis.problems] == [(problem_id, extracted)]


def test_a_single_unknown_option_is_not_a_joined_argument():
    assert "nvcc-args-joined" not in diagnose_text("nvcc fatal   : Unknown option '-fPIC'\n").ids()


@pytest.mark.parametrize("log", HEADERS, ids=lambda p: p.name)
def test_missing_library_header_is_named(log):
    diagnosis = diagnose_file(log)
    assert diagnosis.ids() == ["cuda-header-missing"]
    match = diagnosis.problems[0]
    header = match.extracted["header"]
    assert header in {"cusparse.h", "cublas_v2.h", "cuda_runtime_api.h"}
    assert f"{header} is on no include path" in match.cause
    assert match.excerpt.endswith(f"fatal error: {header}: No such file or directory")
    assert "nvidia/cu13/include" in match.fix and match.remedy == "mmbuild install"


@pytest.mark.parametrize(("line", "header"), [
    ("ctx.cu(1): fatal error C1083: Cannot open include file: 'cublasLt.h': No such file or directory",
     "cublasLt.h"),
    ("CUDAContextLight.h:16:10: fatal error: 'cusolverDn.h' file not found", "cusolverDn.h"),
    ("CUDAContextLight.h:16:10: fatal error: cusolver_common.h: No such file or directory",
     "cusolver_common.h"),
])
def test_other_compilers_and_headers(line, header):
    match = diagnose_text(line).problems[0]
    assert (match.id, match.extracted) == ("cuda-header-missing", {"header": header})


def test_thc_and_library_headers_do_not_overlap():
    thc = diagnose_file(LOGS / "thc-header-missing" / "captured-nvcc-thcatomics.log")
    assert thc.ids() == ["thc-header-missing"]
    cusparse = diagnose_file(LOGS / "cuda-header-missing" / "captured-nvcc-cusparse.log")
    assert "thc-header-missing" not in cusparse.ids()


def test_libraries_on_a_link_line_are_not_missing_headers():
    line = "g++ -shared x.o -L/usr/local/cuda/lib64 -lcusparse -lcublas -lcudart -o _ext.so\n"
    assert diagnose_text(line).problems == []
