// Shared by graphtrain's kernels. Parameter convention (cuda/kernelmap.go): buffer pointers
// first, then integers as long long, then reals as double: every parameter is 8 bytes.
#pragma once
typedef long long ll;

// The global index of this thread in a 1-D launch.
__device__ __forceinline__ ll gid() { return blockIdx.x * (ll)blockDim.x + threadIdx.x; }

// KERNELS2 instantiates a templated kernel body for float (_f32) and double (_f64).
#define KERNELS2(name, params, call)                                   \
    extern "C" __global__ void name##_f32 params { call(float); }      \
    extern "C" __global__ void name##_f64 params { call(double); }
