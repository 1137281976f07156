// Preflight probe for CUDA targets: preprocessed (nvcc -E) with the build's exact nvcc flags and
// torch's include dirs. It includes what mmcv's .cu units include through pytorch_cuda_helper.hpp,
// so a CUDA header that torch needs and no include dir provides (cusparse.h, cublas_v2.h, ...) or a
// flag nvcc rejects stops the build in seconds instead of at the first .cu unit.
#include <ATen/ATen.h>
#include <ATen/cuda/Atomic.cuh>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/types.h>

__global__ void mmbuild_torch_cuda_probe(float* out) { gpuAtomicAdd(out, 1.0f); }
