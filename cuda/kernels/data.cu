// The device-resident training set (Program.WithDataset): gathering a step's batch from it,
// and advancing the batch cursor, so that a step uploads nothing.
#include "common.cuh"

// dst[r,c] = src[order[*cursor + r], c] for r < rows, c < cols: one thread per element of dst.
template <typename T>
__device__ void gather_rows(const T* src, const ll* order, const ll* cursor, T* dst, ll rows, ll cols) {
    ll i = gid();
    if (i >= rows * cols) return;
    ll r = i / cols, c = i % cols;
    dst[i] = src[order[*cursor + r] * cols + c];
}
#define GR(T) gather_rows<T>((const T*)src, (const ll*)order, (const ll*)cursor, (T*)dst, rows, cols)
KERNELS2(gather_rows, (const void* src, const void* order, const void* cursor, void* dst, ll rows, ll cols), GR)

// The batch cursor moves on by one batch at the end of a step.
extern "C" __global__ void cursor_add(ll* cursor, ll by) { *cursor += by; }
