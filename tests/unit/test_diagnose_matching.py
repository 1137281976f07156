"""The matcher: extraction, ranking, line numbers and robustness against messy or hostile input."""

import io
import time

from mmbuild.diagnose import diagnose_stream, diagnose_text

NVCC_ARCH = "nvcc fatal   : Unsupported gpu architecture 'compute_86'"


def test_extracts_arch_op_versions_and_symbol():
    cases = {
        NVCC_ARCH: ("nvcc-arch-unsupported", {"arch": "compute_86"}),
        "RuntimeError: nms is not compiled with GPU support": ("not-compiled-with-gpu", {"op": "nms"}),
        "AssertionError: MMCV==1.2.0 is used but incompatible. Please install mmcv>=1.3.17, <=1.8.0.":
            ("mmcv-version-incompatible", {"found": "1.2.0", "min": "1.3.17", "max": "1.8.0"}),
        "ImportError: _ext.so: undefined symbol: _ZN2at6detail":
            ("undefined-symbol", {"symbol": "_ZN2at6detail"}),
    }
    for text, (problem_id, extracted) in cases.items():
        match = diagnose_text(text).problems[0]
        assert (match.id, match.extracted) == (problem_id, extracted)


def test_extracted_values_fill_cause_and_fix():
    text = "MMCV==2.2.0 is used but incompatible. Please install mmcv>=2.0.0rc4, <2.2.0."
    match = diagnose_text(text).problems[0]
    assert "2.0.0rc4 to 2.2.0" in match.fix
    assert "compute_86" in diagnose_text(NVCC_ARCH).problems[0].cause


def test_first_hard_error_beats_warnings_before_and_fallout_after():
    log = "\n".join([
        "nms.cpp:4: warning: designated initializers only available with '-std=c++20'",
        "[3/77] /usr/local/cuda/bin/nvcc -c nms_cuda.cu",
        NVCC_ARCH,
        "ImportError: _ext.so: undefined symbol: _ZN3c10",
        "ninja: build stopped: subcommand failed.",
        "error: command '/usr/local/cuda/bin/nvcc' failed with exit code 1",
    ])
    diagnosis = diagnose_text(log)
    assert diagnosis.ids() == ["nvcc-arch-unsupported", "undefined-symbol", "cxx-standard"]
    assert diagnosis.problems[0].line == 3
    assert diagnosis.problems[-1].severity == "warning"
    assert diagnosis.first_error_line == 3


def test_info_hint_alone_reports_nothing():
    diagnosis = diagnose_text("No CUDA runtime is found, using CUDA_HOME='/usr/local/cuda'\n")
    assert diagnosis.problems == []


def test_companion_line_is_required():
    assert diagnose_text("mmcv-full                1.7.2\n").problems == []
    both = diagnose_text("mmcv                     2.1.0\nmmcv-full                1.7.2\n")
    assert both.ids() == ["mmcv-dual-install"]


def test_nothing_recognised_points_at_first_error_like_line():
    diagnosis = diagnose_text("building\nall fine\nValueError: something odd\nerror: more\n")
    assert diagnosis.problems == []
    assert diagnosis.first_error_line == 3
    assert diagnosis.first_error_excerpt == "ValueError: something odd"
    assert diagnose_text("-Werror=format-security compiled\n0 warnings\n").first_error_line is None


def test_ansi_crlf_chinese_binary_and_pip_blocks():
    raw = (b"\x1b[01;31m\x1b[Kerror: \x1b[m\x1b[Kbuild failed\r\n"
           + "编译失败，请检查日志\r\n".encode()
           + b"\xff\xfe\x00\x80 junk \xc3\r\n"
           b"  \xe2\x95\xb0\xe2\x94\x80> [6 lines of output]\n"
           b"      ModuleNotFoundError: No module named 'pkg_resources'\n"
           b"      [end of output]\n")
    diagnosis = diagnose_stream(io.BytesIO(raw))
    match = diagnosis.problems[0]
    assert (match.id, match.line) == ("pkg-resources-missing", 5)
    assert match.excerpt == "ModuleNotFoundError: No module named 'pkg_resources'"
    assert diagnosis.first_error_line == 1
    assert "\x1b" not in diagnosis.first_error_excerpt


def test_chinese_segfault_message():
    assert diagnose_text("段错误 (核心已转储)\n").ids() == ["segfault"]


def test_line_numbers_hold_across_small_blocks():
    lines = [f"[{i}/900] g++ -c op{i}.cpp -o op{i}.o  正在编译" for i in range(900)]
    lines.insert(777, NVCC_ARCH)
    text = "\n".join(lines)
    for block_bytes in (64, 1000, 1 << 20):
        assert diagnose_stream(text, block_bytes=block_bytes).problems[0].line == 778
        assert diagnose_stream(io.BytesIO(text.encode()), block_bytes=block_bytes).problems[0].line == 778
    assert diagnose_stream(io.StringIO(text), block_bytes=100).problems[0].line == 778
    assert diagnose_stream(text.splitlines(keepends=True)).problems[0].line == 778


def test_overlong_line_is_scanned_in_a_window():
    text = "x" * 300_000 + " " + NVCC_ARCH + " " + "y" * 300_000 + "\nnext line\n"
    match = diagnose_stream(text, block_bytes=4096).problems[0]
    assert (match.id, match.line) == ("nvcc-arch-unsupported", 1)
    assert len(match.excerpt) < 400


def test_adversarial_input_finishes_quickly():
    hostile = "".join([
        "MMCV==" + "1." * 20000 + "x is used but incompatible. Please install mmcv>=" + "9." * 20000 + "\n",
        ("Average Precision  (AP) @[ IoU=" + "0.5:" * 5000 + " = -1.00\n") * 20,
        ("undefined symbol:" + " " * 5000 + "\n") * 200,
        ("rror " * 20000 + "\n") * 5,
        "No module named '" + "mmcv." * 20000 + "\n",
    ])
    start = time.perf_counter()
    diagnose_text(hostile)
    assert time.perf_counter() - start < 5.0


def test_throughput_on_a_generated_log():
    line = (b"[12/77] ccache g++ -MMD -MF nms.o.d -O3 -Wall -fPIC -I/work/src/mmcv/ops/csrc/common -c nms.cpp"
            b" -o nms.o -std=c++17 \x1b[01;35mwarning:\x1b[m ignoring '#pragma unroll'\n")
    data = line * (4_000_000 // len(line)) + NVCC_ARCH.encode() + b"\n"
    start = time.perf_counter()
    diagnosis = diagnose_stream(io.BytesIO(data))
    assert diagnosis.ids() == ["nvcc-arch-unsupported"]
    assert time.perf_counter() - start < 5.0
