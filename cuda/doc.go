// Package cuda is graphtrain's GPU backend: it lowers the Gorgonia graphs of package graph to
// launches of its own CUDA kernels through gorgonia.org/cu, and registers itself as the
// "cuda" backend.
//
// The lowering (Lower: graph -> Program, a list of kernel launches over a buffer plan with
// liveness-based slot reuse) is pure Go and builds without any tag, so it is tested with no
// CUDA at all: against the TapeMachine through a host interpreter of the program. The driver
// layer (the cuInit guard, the driver thread, launching) and the kernels' embedded PTX are
// compiled in only with the build tag gpu (make gpu). Without the tag the package holds the
// lowering and the answer that the build has no GPU support and how to get it, so callers
// never need a build tag of their own.
//
// A program's launches run as one CUDA graph (a kernel node per launch, each after the one
// before), built at the first run and replayed; GRAPHTRAIN_CUDA_GRAPH=0 launches them one by
// one instead.
package cuda
