// Preflight probe: compiled by `mmbuild install` before the long build, with the plan's host
// compiler, C++ standard, ABI flag and torch's include directories. It includes what mmcv's op
// units include (<torch/types.h>, through pytorch_cpp_helper.hpp) plus the Python and pybind11
// headers of the binding unit: if this file does not compile, none of mmcv's ops will, and the
// failure is reported within a minute with its catalogue id. (<torch/extension.h> would also
// pull in torch's whole C++ frontend, which only pybind.cpp uses: twice the compile time.)
#include <Python.h>
#include <pybind11/pybind11.h>
#include <torch/types.h>

at::Tensor mmbuild_probe_add_one(const at::Tensor& input) {
  return input + 1;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("add_one", [](int value) { return value + 1; }, "add one (preflight probe)");
}
