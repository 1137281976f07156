"""The C++ reader behind subset builds: literals, preprocessor branches, top-level chunks."""

from __future__ import annotations

import pytest

from mmbuild.subset.cxx import preprocess, split_top_level, strip_comments_and_literals


def chunks_of(source: str, defined: frozenset[str] = frozenset()):
    clean = preprocess(source, defined)
    return [(c.kind, c.name, c.provides) for c in split_top_level(clean.code)]


def test_comments_and_literals_are_blanked_keeping_offsets():
    source = 'int f() { return g("a;{b}"); } // h();\n/* k(); */ char c = \'}\';\n'
    clean = strip_comments_and_literals(source)
    assert len(clean) == len(source)
    assert "h()" not in clean and "k()" not in clean and "a;{b}" not in clean
    assert clean.count("\n") == source.count("\n")
    assert "g(" in clean


def test_raw_string_literal_is_blanked():
    clean = strip_comments_and_literals('auto s = R"x(void f() { })x"; void g();')
    assert "f()" not in clean and "g()" in clean


@pytest.mark.parametrize(("defined", "visible", "hidden"), [
    (frozenset(), {"cpu_only", "both_else"}, {"cuda_fn", "mlu_fn"}),
    (frozenset({"MMCV_WITH_CUDA"}), {"cuda_fn"}, {"cpu_only", "mlu_fn"}),
])
def test_mmcv_macros_decide_branches(defined, visible, hidden):
    source = (
        "#ifdef MMCV_WITH_CUDA\nvoid cuda_fn();\n#else\nvoid cpu_only();\n#endif\n"
        "#if defined(MMCV_WITH_MLU) && defined(MMCV_WITH_CUDA)\nvoid mlu_fn();\n#endif\n"
        "#ifndef MMCV_WITH_CUDA\nvoid both_else();\n#endif\n"
    )
    names = {name for _, name, _ in chunks_of(source, defined)}
    assert visible <= names
    assert not hidden & names


def test_undecidable_conditions_keep_every_branch():
    source = "#if __GNUC__ < 6\nvoid old_gcc();\n#else\nvoid new_gcc();\n#endif\n"
    names = {name for _, name, _ in chunks_of(source)}
    assert names == {"old_gcc", "new_gcc"}


def test_define_bodies_are_collected_as_uses():
    source = "#define SPECS(T) \\\n  template struct functor::Gather<tv::CPU, T>;\nSPECS(float);\n"
    clean = preprocess(source)
    assert {"Gather", "functor", "CPU"} <= clean.macro_tokens
    assert "template" not in clean.code


def test_chunks_functions_declarations_and_linkage():
    source = """
    #include "x.h"
    Tensor nms_impl(Tensor boxes, float thr);
    std::vector<std::vector<int> > nms_match_impl(Tensor dets, float thr) {
      return DISPATCH_DEVICE_IMPL(nms_match_impl, dets, thr);
    }
    static int helper(int a) { return a; }
    template <typename T>
    __global__ void __launch_bounds__(256) kernel(T* x) { x[0] = 0; }
    template <unsigned NDim>
    std::vector<torch::Tensor> launcher(torch::Tensor t) { return {}; };
    typedef enum { SUM = 0, MEAN = 1 } reduce_t;
    int table[] = {1, 2, 3};
    REGISTER_DEVICE_IMPL(nms_impl, CPU, nms_cpu);
    """
    chunks = chunks_of(source)
    assert ("declaration", "nms_impl", None) in chunks
    assert ("function", "nms_match_impl", "nms_match_impl") in chunks
    assert ("function", "helper", None) in chunks          # static: not visible to other files
    assert ("function", "kernel", None) in chunks          # __global__: not linkable without -rdc
    assert ("function", "launcher", "launcher") in chunks
    assert sum(1 for kind, _, _ in chunks if kind == "other") == 3   # typedef, table, registration
    registration = split_top_level(preprocess(source).code)[-1]
    assert registration.registrations == [("nms_impl", "CPU", "nms_cpu")]


def test_namespaces_are_looked_through_and_specialisations_provided():
    source = """
    namespace functor {
    template <typename Index, unsigned NDim>
    struct CreateConvIndicePairFunctor<tv::CPU, Index, NDim> {
      Index operator()(const tv::CPU& d) { return 0; }
    };
    struct LocalHelper { int x; };
    }  // namespace functor
    namespace {
    void hidden() {}
    }
    void visible() {}
    """
    chunks = chunks_of(source)
    assert ("type", "CreateConvIndicePairFunctor", "CreateConvIndicePairFunctor") in chunks
    assert ("type", "LocalHelper", None) in chunks
    assert ("function", "hidden", None) in chunks
    assert ("function", "visible", "visible") in chunks


@pytest.mark.parametrize(("defined", "expected"), [
    (frozenset(), {"other"}),
    (frozenset({"MMCV_WITH_CUDA"}), {"cuda_elif"}),
])
def test_if_zero_elif_else(defined, expected):
    source = ("#if 0\nvoid dead();\n#elif defined(MMCV_WITH_CUDA) || defined(MMCV_WITH_HIP)\n"
              "void cuda_elif();\n#else\nvoid other();\n#endif\n")
    assert {name for _, name, _ in chunks_of(source, defined)} == expected
