"""Unity units (build/unity.py, build/unity_compile.py): grouping, the tree, and the fallback with the
real g++ on small trees shaped like mmcv's."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pch_wrapper import defined_symbols, needs_gxx, run_wrapper, write_helpers

from mmbuild.build.pch import COMMON, prepare_pch
from mmbuild.build.unity import (
    MEMBER_SUFFIX,
    PYTORCH,
    UnitSource,
    defined_macros,
    defined_names,
    group_units,
    local_includes,
    torch_includes,
    unity_members,
    unity_tree,
)
from mmbuild.build.unity_compile import describe_fallbacks, member_args
from mmbuild.util.argv import option_value

HELPER = "#ifndef PYTORCH_CPP_HELPER\n#define PYTORCH_CPP_HELPER\n#include <vector>\n" \
         "#define CHECK_CPU(x) (void)(x)\n#endif\n"
HEAD = '#include "pytorch_cpp_helper.hpp"\n#include "pytorch_device_registry.hpp"\n'
# The shape of mmcv's cpu/roi_align.cpp and cpu/bezier_align.cpp: the same helper names in both.
ROI_ALIGN = HEAD + """
template <typename T>
struct PreCalc { int pos1; T w1; };
template <typename T>
void bilinear_interpolate_gradient(int height, T y, T& w1) { w1 = y * height; }
#define KERNEL_SCALE 2
void roi_align_forward_cpu(float* out) {
  float w = 0;
  bilinear_interpolate_gradient(KERNEL_SCALE, 1.f, w);
  *out = w;
}
"""
BEZIER_ALIGN = HEAD + """
template <typename T>
struct PreCalc { int pos1; int pos2; T w1; };
template <typename T>
void bilinear_interpolate_gradient(int height, T y, T& w1) { w1 = y + height; }
#define KERNEL_SCALE 3
void bezier_align_forward_cpu(float* out) {
  float w = 0;
  bilinear_interpolate_gradient(KERNEL_SCALE, 1.f, w);
  *out = w;
}
"""
NMS = HEAD + "namespace {\nint keep(int n) { return n; }\n}\n" \
             "int nms_impl(int n) { CHECK_CPU(n); return keep(n); }\n"
PYBIND = "#include <vector>\n#include \"pytorch_cpp_helper.hpp\"\n" \
         "// PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {}\nint module_init() { return 0; }\n"


def _tree(root: Path, units: dict[str, str]) -> Path:
    write_helpers(root, HELPER)
    for name, text in units.items():
        path = root / PYTORCH / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_names_a_unit_defines_at_file_scope_and_its_macros():
    assert defined_names(ROI_ALIGN) == {"PreCalc", "bilinear_interpolate_gradient", "roi_align_forward_cpu"}
    assert defined_names(NMS) == {"keep", "nms_impl"}          # namespaces looked through
    assert defined_macros(ROI_ALIGN) == ("KERNEL_SCALE",)
    assert defined_names("int declared_only(int);\n") == frozenset()


def test_units_that_share_a_name_never_share_a_group_and_groups_stay_small():
    units = [UnitSource(f"u{i:02d}.cpp", frozenset({f"f{i}"}), ()) for i in range(10)]
    units += [UnitSource("cpu/roi_align.cpp", frozenset({"PreCalc", "roi"}), ()),
              UnitSource("cpu/bezier_align.cpp", frozenset({"PreCalc", "bezier"}), ())]
    groups = group_units(units, size=4)
    assert all(len(g) <= 4 for g in groups)
    assert sorted(u.path for g in groups for u in g) == sorted(u.path for u in units)
    for group in groups:
        names = [n for u in group for n in u.names]
        assert len(names) == len(set(names))
    assert group_units(list(reversed(units)), size=4) == groups       # the same groups in any order
    # the units that read one header of mmcv's own share a group of their own, wherever their paths sort
    family = frozenset({"box_iou_rotated_utils.hpp"})
    spread = [UnitSource(f"{p}.cpp", frozenset({p}), (), headers=family if p in "aeim" else frozenset())
              for p in "abcdefghijklm"]
    groups = [sorted(u.path for u in g) for g in group_units(spread, size=8)]
    assert ["a.cpp", "e.cpp", "i.cpp", "m.cpp"] in groups and len(groups) == 3
    assert local_includes('#include "pytorch_cpp_helper.hpp"\n#include "box_iou_rotated_utils.hpp"\n'
                          '#include <vector>\n') == family
    sized = [UnitSource(f"k{i}.cpp", frozenset({f"k{i}"}), (), size=12_000) for i in range(5)]
    assert [len(g) for g in group_units(sized, size=8, budget=32_000)] == [2, 2, 1]


def test_units_that_include_more_of_torch_are_grouped_only_with_units_that_include_the_same(tmp_path):
    # mmcv 2.2.0's cpu/sparse_*.cpp include <torch/script.h>; its helper includes <torch/types.h>
    sparse = "#include <torch/script.h>\n" + HEAD
    types_too = "#include <torch/types.h>\n" + HEAD + "int t() { return 3; }\n"
    root = _tree(tmp_path, {"cpu/nms_rotated.cpp": NMS, "cpu/roi_align.cpp": ROI_ALIGN,
                            "cpu/sparse_indice.cpp": sparse + "int indice() { return 1; }\n",
                            "cpu/sparse_maxpool.cpp": sparse + "int maxpool() { return 2; }\n",
                            "cpu/types_too.cpp": types_too})
    (root / COMMON / "pytorch_cpp_helper.hpp").write_text("#include <torch/types.h>\n" + HELPER)
    assert torch_includes(sparse) == {"torch/script.h"}
    groups = sorted(sorted(Path(u).name for u in units) for units in unity_tree(root).groups.values())
    assert groups == [["nms_rotated.cpp", "roi_align.cpp", "types_too.cpp"],
                      ["sparse_indice.cpp", "sparse_maxpool.cpp"]]


def test_the_tree_gets_unity_units_and_the_module_unit_stays_alone(tmp_path):
    root = _tree(tmp_path, {"nms.cpp": NMS, "pybind.cpp": PYBIND.replace("// ", ""),
                            "cpu/roi_align.cpp": ROI_ALIGN, "cpu/bezier_align.cpp": BEZIER_ALIGN})
    (root / "MANIFEST.in").write_text("recursive-include mmcv/ops/csrc/ *.h *.hpp *.cpp")
    report = unity_tree(root)
    assert (root / "MANIFEST.in").read_text().splitlines()[-1] == "recursive-include mmcv/ops/csrc *.cpp.inc"
    assert report.alone == [f"{PYTORCH}/pybind.cpp"]
    assert sorted(report.groups) == [f"{PYTORCH}/unity_01.cpp", f"{PYTORCH}/unity_02.cpp"]
    assert report.summary() == "3 C++ units in 2 unity units, 1 alone (pybind.cpp)"
    # what setup.py globs now: the module unit and the unity units; the units are beside, renamed
    globbed = sorted(p.name for p in (root / PYTORCH).glob("*.cpp"))
    assert globbed == ["pybind.cpp", "unity_01.cpp", "unity_02.cpp"]
    assert not list((root / PYTORCH / "cpu").glob("*.cpp"))
    assert (root / PYTORCH / f"nms.cpp{MEMBER_SUFFIX}").is_file()
    unity = root / PYTORCH / "unity_01.cpp"
    text = unity.read_text()
    assert text.index('"pytorch_cpp_helper.hpp"') < text.index("bezier_align.cpp.inc")
    assert '#pragma push_macro("KERNEL_SCALE")' in text and '#pragma pop_macro("KERNEL_SCALE")' in text
    assert [p.name for p in unity_members(text, unity)] == ["bezier_align.cpp.inc", "nms.cpp.inc"]
    assert all(p.is_file() for p in unity_members(text, unity))


def test_one_unit_is_left_as_it_is(tmp_path):
    root = _tree(tmp_path, {"nms.cpp": NMS})
    report = unity_tree(root)
    assert not report.groups and report.alone == [f"{PYTORCH}/nms.cpp"]
    assert (root / PYTORCH / "nms.cpp").is_file()


def test_a_members_arguments_keep_the_unity_units_flags():
    args = ["-MMD", "-MF", "/b/u.o.d", "-O3", "-fPIC", "-I/t/common", "-c", "/t/unity_01.cpp",
            "-o", "/b/u.o", "-std=c++20", "-fpch-deps"]
    assert option_value(args, "-o") == "/b/u.o" and option_value(args, "-MF") == "/b/u.o.d"
    member = member_args(args, Path("/t/nms.cpp.inc"), Path("/tmp/0.o"), Path("/tmp/0.d"),
                         ["-include", "h.hpp"])
    assert member == [
        "-O3", "-fPIC", "-I/t/common", "-std=c++20", "-fpch-deps", "-include", "h.hpp", "-c", "-MMD", "-MF",
        "/tmp/0.d", "-o", "/tmp/0.o", "-x", "c++", "/t/nms.cpp.inc"]


def test_the_build_detail_names_the_unity_units_compiled_unit_by_unit():
    log = ("[3/9] g++ ...\nmmbuild: unity_02.cpp does not compile as one unit (x.cpp:3: error: "
           "redefinition); compiling its 8 units one by one\n")
    assert describe_fallbacks(log) == "; unity units compiled unit by unit: unity_02.cpp"
    assert describe_fallbacks("[1/1] g++ ...\n") == ""


def _compile_unity(root: Path, unity: Path, out: str = "u.o") -> subprocess.CompletedProcess:
    return run_wrapper(root, prepare_pch(root), str(unity), out)


@needs_gxx
def test_a_unity_unit_compiles_as_one_with_each_units_macros_kept_to_itself(tmp_path):
    scale = HEAD + "#define KERNEL_SCALE 5\nint scale_impl() { return KERNEL_SCALE; }\n"
    root = _tree(tmp_path, {"nms.cpp": NMS, "cpu/roi_align.cpp": ROI_ALIGN,
                            "cpu/bezier_align.cpp": BEZIER_ALIGN, "cpu/scale.cpp": scale})
    report = unity_tree(root)
    assert any(len(units) == 3 for units in report.groups.values())     # bezier_align, nms and scale
    results = {}
    for unity in sorted((root / PYTORCH).glob("unity_*.cpp")):
        done = _compile_unity(root, unity, f"{unity.stem}.o")
        assert done.returncode == 0, done.stderr
        assert "does not compile as one unit" not in done.stderr and "redefined" not in done.stderr
        results[unity.stem] = defined_symbols(root / f"{unity.stem}.o", "T")
    assert sorted(n for names in results.values() for n in names) == sorted(
        ["_Z24bezier_align_forward_cpuPf", "_Z21roi_align_forward_cpuPf", "_Z8nms_impli", "_Z10scale_implv"])
    assert (root / COMMON / "pytorch_cpp_helper.hpp.gch").is_file()       # the unity units used it


@needs_gxx
def test_a_unity_unit_that_does_not_compile_as_one_compiles_unit_by_unit_into_one_object(tmp_path):
    # A clash the name reader cannot see: a macro defines the same function in both units.
    clash = "#define DEFINE_HELPER(name) static int name() { return 1; }\nDEFINE_HELPER(shared_helper)\n"
    root = _tree(tmp_path, {"a.cpp": HEAD + clash + "int a_impl() { return shared_helper(); }\n",
                            "b.cpp": HEAD + clash + "int b_impl() { return shared_helper() + 1; }\n"})
    report = unity_tree(root)
    assert len(report.groups) == 1
    unity = root / next(iter(report.groups))
    done = _compile_unity(root, unity)
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if "does not compile as one unit" in line]
    assert len(notes) == 1 and "redefinition" in notes[0] and "compiling its 2 units one by one" in notes[0]
    assert defined_symbols(root / "u.o", "T") == ["_Z6a_implv", "_Z6b_implv"]
    deps = (root / "u.o.d").read_text()
    assert deps.startswith("u.o: ") and "a.cpp.inc" in deps and "b.cpp.inc" in deps
    assert "pytorch_cpp_helper.hpp" in deps


@needs_gxx
def test_a_unit_that_does_not_compile_fails_the_unity_unit(tmp_path):
    root = _tree(tmp_path, {"a.cpp": HEAD + "int a_impl() { return 1; }\n",
                            "b.cpp": HEAD + "int b_impl() { return undeclared_name; }\n"})
    unity_tree(root)
    done = _compile_unity(root, next((root / PYTORCH).glob("unity_*.cpp")))
    assert done.returncode != 0
    assert "undeclared_name" in done.stderr and not (root / "u.o").exists()


def _env(name: str):
    from mmbuild.model.environment import load_environment

    return load_environment(Path(__file__).parent.parent / "fixtures" / "envs" / f"{name}.json")


def test_the_plan_turns_unity_units_on_with_the_precompiled_header_and_says_why_not():
    from mmbuild.plan.switch import Switch
    from mmbuild.plan.unity import choose_unity

    assert choose_unity(Switch(True, "gcc"), True).enabled
    assert choose_unity(Switch(True, "gcc"), False).reason == "--no-unity"
    off = choose_unity(Switch(False, "--no-pch"), True)
    assert not off.enabled and "no precompiled header (--no-pch)" in off.reason


def test_the_plan_and_its_fingerprint_say_whether_unity_units_are_used():
    from mmbuild.model.options import BuildOptions
    from mmbuild.plan import make_plan

    env = _env("this-machine-cpu-torch-2.13")
    unity, alone, no_pch = (make_plan(env, BuildOptions(**o)) for o in ({}, {"unity": False}, {"pch": False}))
    assert unity.unity and not alone.unity and not no_pch.unity
    assert unity.fingerprint_inputs["unity"] is True
    assert "unity" not in alone.fingerprint_inputs              # fingerprints from before hold
    assert unity.fingerprint != alone.fingerprint
    assert {d.name: d.value for d in unity.decisions}["unity units"] == "yes"
