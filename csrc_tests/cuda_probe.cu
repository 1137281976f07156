// Preflight probe for CUDA targets: built with the plan's -gencode list, C++ standard, host
// compiler and -DTHREADS_PER_BLOCK; run when a GPU is present. It launches one kernel with
// THREADS_PER_BLOCK threads per block (the launch shape mmcv's kernels use) and checks the result.
#include <cstdio>
#include <cuda_runtime.h>

#ifndef THREADS_PER_BLOCK
#error "THREADS_PER_BLOCK must be defined by the build (-DTHREADS_PER_BLOCK=N)"
#endif

__global__ void mmbuild_probe_fill(int* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = i;
}

int main() {
  const int blocks = 2;
  const int n = blocks * THREADS_PER_BLOCK;
  int* device_out = nullptr;
  cudaError_t err = cudaMalloc(&device_out, n * sizeof(int));
  if (err != cudaSuccess) {
    std::printf("mmbuild probe: cudaMalloc failed: %s\n", cudaGetErrorString(err));
    return 1;
  }
  mmbuild_probe_fill<<<blocks, THREADS_PER_BLOCK>>>(device_out, n);
  err = cudaGetLastError();
  if (err == cudaSuccess) err = cudaDeviceSynchronize();
  if (err != cudaSuccess) {
    std::printf("mmbuild probe: kernel launch failed: %s\n", cudaGetErrorString(err));
    cudaFree(device_out);
    return 1;
  }
  int* host_out = new int[n];
  cudaMemcpy(host_out, device_out, n * sizeof(int), cudaMemcpyDeviceToHost);
  int wrong = 0;
  for (int i = 0; i < n; ++i) wrong += host_out[i] != i;
  delete[] host_out;
  cudaFree(device_out);
  if (wrong) {
    std::printf("mmbuild probe: %d wrong results\n", wrong);
    return 1;
  }
  std::printf("mmbuild probe: ok (THREADS_PER_BLOCK=%d)\n", THREADS_PER_BLOCK);
  return 0;
}
