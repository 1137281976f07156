// Preflight probe: compiled by `mmbuild install` before the long build, with the plan's host
// compiler, C++ standard, ABI flag and torch's include directories. If this file does not
// compile, none of mmcv's ops will: the failure is reported within a minute with its catalogue id.
#include <torch/extension.h>

at::Tensor mmbuild_probe_add_one(const at::Tensor& input) {
  return input + 1;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("add_one", &mmbuild_probe_add_one, "add one (preflight probe)");
}
