// emu.h makes graphtrain's CUDA C kernels (cuda/kernels/*.cu) compile as C++20 with g++, so
// that a test runs the kernels' own source on the CPU (cuda/emu_test.go). Each .cu file is
// compiled as it is, with this header force-included (g++ -x c++ -include emu.h).
//
// Execution model (emu.cc): a launch runs its blocks one after another; a block's threads are
// fibers on one OS thread, each with its own stack. A fiber runs until it returns or reaches
// __syncthreads(); when every thread of the block that has not returned waits at the
// barrier, all of them go on. So __shared__ can be a static variable (one block at a time),
// threads that return early never hold up the others, and a run is deterministic.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

// CUDA's device code calls max, min, exp, log, sqrt, pow... unqualified, overloaded for
// float, double and long long: the std overloads do the same.
using namespace std;

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __restrict__ __restrict
#define __shared__ static

// CUDA's double intrinsics that round each operation on its own (never fused into a
// multiply-add): the host's operators, which g++ does not fuse for x86-64 without -mfma.
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }

struct uint3 {
    unsigned x, y, z;
};

struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned x = 1, unsigned y = 1, unsigned z = 1) : x(x), y(y), z(z) {}
};

// The running fiber's indices and the launch's shape, set by the scheduler before it resumes
// a fiber. Kernels read them after every __syncthreads (an opaque call), never a stale copy.
extern uint3 threadIdx, blockIdx;
extern dim3 blockDim, gridDim;

// emu_syncthreads parks the calling thread until every live thread of its block reaches a
// barrier; site names the call, and threads waiting at different call sites are an error.
void emu_syncthreads(const char* site);

#define EMU_STR2(x) #x
#define EMU_STR(x) EMU_STR2(x)
#define __syncthreads() emu_syncthreads(__FILE__ ":" EMU_STR(__LINE__))

// emu_kernel is one entry of the kernel table the test generates (cuda/emu_test.go): the
// kernel's name, its signature ('p' pointer, 'i' long long, 'r' double, in order) and a
// trampoline that calls it with typed arguments.
struct emu_kernel {
    const char* name;
    const char* sig;
    void (*call)(void* const* p, const long long* i, const double* r);
};
extern const emu_kernel emu_kernels[];
extern const int emu_nkernels;
