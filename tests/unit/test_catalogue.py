"""The catalogue of known problems: every required id, complete entries, sound signatures."""

import pytest

from mmbuild.knowledge.problems import CatalogueError, get_problem, load_catalogue, parse_catalogue

BUILD_IDS = [
    "mmcv-version-incompatible", "mmcv-ops-missing", "mmcv-dual-install", "nvcc-arch-unsupported",
    "no-kernel-image", "cuda-version-mismatch", "undefined-symbol", "libtorch-cuda-cu-missing",
    "setuptools-cython-mismatch", "gcc-unsupported", "segfault", "invalid-configuration-argument",
    "not-compiled-with-gpu", "msvc-unsupported", "torch15-all-slots", "torch16-in-class-initializer",
    "torch17-profile-kind", "pkg-resources-missing", "build-isolation-no-torch", "cxx-standard",
    "compiler-oom", "no-gpu-arch-list", "cuda-home-missing", "thc-header-missing", "bdist-wheel-missing",
    "driver-too-old", "msvc-preprocessor", "torch-cuda-unavailable", "torchvision-missing",
    "nvcc-args-joined", "cuda-header-missing", "checkpoint-weights-only", "downstream-module-missing",
]
USAGE_IDS = [
    "registry-key-error", "ddp-unused-parameters", "backward-twice", "loss-nan", "cuda-oom",
    "coco-ap-minus-one", "inplace-modified", "moviepy-imagemagick", "frame-start-index",
    "total-frames-keyerror", "batchnorm-single-sample", "onnx-tensorrt-unsupported",
]
COMMANDS = ("mmbuild install", "mmbuild verify", "mmbuild patch-torch")


def test_every_required_id_is_present_with_its_scope():
    catalogue = load_catalogue()
    assert set(BUILD_IDS + USAGE_IDS) <= set(catalogue)
    assert {pid for pid, p in catalogue.items() if p.scope == "usage"} == set(USAGE_IDS)


@pytest.mark.parametrize("problem_id", BUILD_IDS + USAGE_IDS)
def test_entry_is_complete(problem_id):
    problem = get_problem(problem_id)
    assert problem.title and problem.cause and problem.fix
    assert problem.signatures
    assert problem.remedy == "" or problem.remedy.startswith(COMMANDS)
    if problem.scope == "usage":
        assert problem.remedy == ""


@pytest.mark.parametrize("problem_id", BUILD_IDS + USAGE_IDS)
def test_placeholders_are_always_filled(problem_id):
    problem = get_problem(problem_id)
    for sig in problem.signatures:
        groups = {name.rstrip("0123456789") for name in sig.regex.groupindex}
        missing = problem.placeholders() - groups - set(problem.defaults)
        assert not missing, f"{sig.regex.pattern!r} leaves {missing} unfilled"


def test_patch_torch_remedies_are_the_windows_header_problems():
    with_patch = {pid for pid, p in load_catalogue().items() if "patch-torch" in p.remedy}
    assert with_patch == {"torch15-all-slots", "torch16-in-class-initializer", "torch17-profile-kind"}


def test_unknown_id_is_a_key_error_naming_it():
    with pytest.raises(KeyError, match="no-such-problem"):
        get_problem("no-such-problem")


def test_malformed_catalogues_are_rejected():
    entry = '[[problem]]\nid = "x"\ntitle = "t"\ncause = "c"\nfix = "f"\nremedy = ""\nseverity = "error"\n'
    with pytest.raises(CatalogueError, match="duplicate"):
        parse_catalogue(entry + entry)
    with pytest.raises(CatalogueError, match="bad pattern"):
        parse_catalogue(entry + '[[problem.signature]]\nkeywords = ["a"]\npattern = "(unclosed"\n')
    with pytest.raises(CatalogueError, match="keywords"):
        parse_catalogue(entry + '[[problem.signature]]\nkeywords = []\npattern = "a"\n')
    with pytest.raises(CatalogueError, match="lacks"):
        parse_catalogue('[[problem]]\nid = "y"\nseverity = "error"\n')
    with pytest.raises(CatalogueError, match="messages"):
        parse_catalogue(entry + '[problem.messages]\ndefault = 1\n')
    texts = parse_catalogue(entry + '[problem.messages]\ndefault = "m {a}"\n'
                            '[problem.finding_fixes]\ndefault = ""\n')
    assert texts["x"].messages == {"default": "m {a}"} and texts["x"].finding_fixes == {"default": ""}
