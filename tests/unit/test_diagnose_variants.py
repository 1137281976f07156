"""Wording variants from real logs: each widened signature recognises its real log and stays quiet
on a near miss (a line that looks alike but states another problem, or none).

The real logs are fixtures under tests/fixtures/logs/ (origins in its README); the near misses are
real lines too where the README or the comment says so.
"""


from __future__ import annotations

from pathlib import Path

import pytest

from mmbuild.diagnose import diagnose_file, diagnose_text

LOGS = Path(__file__).resolve().parent.parent / "fixtures" / "logs"

# (problem id, fixture only the widened signature recognises, near miss, what the near miss is instead)
VARIANTS = [
    # Windows console width cuts "may not be initialized"; machine-translated spacing.
    ("torch15-all-slots", "torch15-all-slots/issue-pytorch3d-10.log",
     # torch 1.4's argument_spec.h error (facebookresearch/pytorch3d#57): another member, another fix
     'C:/python37/lib/site-packages/torch/include\\torch/csrc/jit/argument_spec.h(190): error: member '
     '"torch::jit::ArgumentSpecCreator::DEPTH_LIMIT" may not be initialized', None),
    ("torch15-all-slots", "torch15-all-slots/issue-vision-2270.log",
     "  static constexpr bool all_slots = false;", None),
    # ir.h's Kind written with CONSTEXPR_EXCEPT_WIN_CUDA.
    ("torch17-profile-kind", "torch17-profile-kind/issue-pytorch-48835.log",
     'C:/Anaconda3/lib/site-packages/torch/include\\torch/csrc/jit/api/module.h(483): error: '
     'a member with an in-class initializer must be const', "torch16-in-class-initializer"),
    ("torch17-profile-kind", "torch17-profile-kind/issue-vision-3051.log",
     '// a member of type "const std::string" cannot have an in-class initializerC/C++(1591)', None),
    # Python 2's ImportError without quotes.
    ("torchvision-missing", "torchvision-missing/issue-pytorch-1052.log",
     # a local torchvision.py shadowing the package (pytorch/pytorch#1376)
     "ImportError: No module named transforms", None),
    ("torchvision-missing", "torchvision-missing/issue-speech-driven-animation-46.log",
     "I get ImportError: No module named torchvision when I run it, although it is installed", None),
    # mmcv 1.x modules under mmcv 2.x.
    ("mmcv-version-incompatible", "mmcv-version-incompatible/issue-monocular-depth-estimation-toolbox-90.log",
     # a broken mmcv 1.0.5 install (mmdetection3d FAQ): mmcv 2.x still has mmcv.utils
     "ModuleNotFoundError: No module named 'mmcv.utils'", None),
    ("mmcv-version-incompatible", "mmcv-version-incompatible/issue-maskclip-14.log",
     "ModuleNotFoundError: No module named 'mmcv._ext'", "mmcv-ops-missing"),
    ("mmcv-version-incompatible", "mmcv-version-incompatible/issue-mmcv-3045.log",
     "ModuleNotFoundError: No module named 'mmcv'", None),
    # Other projects' extensions built without CUDA.
    ("not-compiled-with-gpu", "not-compiled-with-gpu/issue-remote-sensing-object-detection-2019-14.log",
     "AssertionError: Torch not compiled with CUDA enabled", "torch-cuda-unavailable"),
    ("not-compiled-with-gpu", "not-compiled-with-gpu/issue-detectron2-267.log",
     "MMCV Compiler: GCC 9.3; MMCV CUDA Compiler: not available", None),
]

# New ids: their real logs and a near miss each.
NEW_IDS = [
    ("th-header-missing", "th-header-missing/issue-dcnv2-136.log",
     "thc.cpp:1:10: fatal error: THC/THCAtomics.cuh: No such file or directory", "thc-header-missing"),
    ("numpy2-abi", "numpy2-abi/issue-pyfda-253.log",
     "UserWarning: Failed to initialize NumPy: No module named 'numpy'", None),
    ("python-flags-gcc-rejects", "python-flags-gcc-rejects/issue-uv-11707.log",
     "g++: error: unrecognized command-line option '-std=c++23'; did you mean '-std=c++2b'?", None),
    ("pip-resolver-keyerror", "pip-resolver-keyerror/issue-mmcv-1352.log",
     # a KeyError outside pip's resolver is not this problem
     "KeyError: 'mmcv-full'", None),
]


def _first(text: str) -> str | None:
    problems = diagnose_text(text).problems
    return problems[0].id if problems else None


@pytest.mark.parametrize(("problem_id", "log", "near_miss", "instead"), VARIANTS + NEW_IDS,
                         ids=lambda v: v if isinstance(v, str) and v.endswith(".log") else "")
def test_real_log_is_recognised_and_near_miss_is_not(problem_id, log, near_miss, instead):
    assert diagnose_file(LOGS / log).ids()[0] == problem_id
    assert problem_id not in diagnose_text(near_miss).ids()
    assert _first(near_miss) == instead


def test_extracted_values_of_the_variants():
    cases = {
        "torchvision-missing/issue-pytorch-1052.log": {"module": "torchvision"},
        "mmcv-version-incompatible/issue-maskclip-14.log": {"module": "mmcv.parallel"},
        "mmcv-version-incompatible/issue-mmcv-3045.log": {"module": "mmcv.cnn.utils.weight_init"},
        "not-compiled-with-gpu/issue-remote-sensing-object-detection-2019-14.log":
            {"op": "RROIAlign_forward"},
        "th-header-missing/issue-dcnv2-latest-55.log": {"header": "TH/TH.h"},
        "numpy2-abi/issue-pvapy-91.log": {},
        "python-flags-gcc-rejects/issue-uv-12613.log": {"flag": "-fdebug-default-version=4"},
        "pip-resolver-keyerror/issue-mmdetection-4331.log": {"package": "mmcv-full"},
    }
    for log, extracted in cases.items():
        first = diagnose_file(LOGS / log).problems[0]
        assert first.extracted == extracted, log
    fixed = diagnose_file(LOGS / "not-compiled-with-gpu/issue-detectron2-267.log").problems[0]
    assert "ROIAlign_forward has no CUDA implementation" in fixed.cause
    flags = diagnose_file(LOGS / "python-flags-gcc-rejects/issue-uv-11707.log").problems[0]
    assert "without -fdebug-default-version=4" in flags.fix


def test_numpy_message_split_over_lines_is_one_problem_on_its_first_line():
    diagnosis = diagnose_file(LOGS / "numpy2-abi/issue-pvapy-91.log")
    assert diagnosis.ids() == ["numpy2-abi"]
    assert diagnosis.problems[0].line == 3 and diagnosis.problems[0].kind == "root"
