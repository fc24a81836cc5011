// Package cuda is graphtrain's GPU backend: it runs the device-neutral programs of
// package ir (lowered for lower.CUDA) as launches of its own CUDA kernels through
// gorgonia.org/cu, and registers itself as the "cuda" backend.
//
// kernelmap.go maps each launch's op code and dtype to a kernel ("gemm_f32"; a fused
// convolution's name also says its tile, chosen by the shape: "conv_relu_pool_n8_f32"), its
// grid and its block, and checks them against a device's limits (LaunchLimitError). That part, like the
// lowering, is pure Go and builds without any tag, so it is tested with no CUDA at all: golden
// programs, and the kernels' own CUDA C source on a CPU emulator (cuda/emu) against the
// reference interpreter (ir/ref), which is tested against the TapeMachine. The driver
// layer (the cuInit guard, the driver thread, launching) and the kernels' embedded PTX are
// compiled in only with the build tag gpu (make gpu). Without the tag the package holds the
// lowering and the answer that the build has no GPU support and how to get it, so callers
// never need a build tag of their own.
//
// The trainer and the predictor are package runner's: runner_gpu.go is the GPU as the
// runner's Device (device memory, launch records, every driver call on the driver thread).
//
// A program's launches run as one CUDA graph (a kernel node per launch, each after the one
// before), built at the first run and replayed; GRAPHTRAIN_CUDA_GRAPH=0 launches them one by
// one instead.
package cuda
