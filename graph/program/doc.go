// Package program is graphtrain's device-neutral form of a training step. Lower turns a
// Gorgonia graph built with its symbolic gradients (graph.Net) and a solver (graph.Solver)
// into a Program: a list of launches, each an Op (a matrix product, an elementwise operator,
// a softmax cross-entropy, an Adam update, ...) over numbered buffers, with typed parameters,
// and a plan that places the buffers in a few slots of memory, reusing a temporary's slot once
// its last reader has run. Executors run programs: the CUDA backend (package cuda) maps each
// op to a kernel and decides its grid and block; the CPU executor (package cpu) maps each op
// to a Go kernel. Package ref is the meaning of every op, in plain Go, that both are tested
// against.
//
// A Target says which of several equivalent programs to make: CUDA splits products of few
// tiles over a long K (GemmSplit and a sum in a fixed order), the CPU fuses a product and its
// bias (GemmBias) and each convolution with what follows it (Conv, ConvReLU, ConvReLUPool)
// and its whole backward pass (ConvReLUPoolBack; fuse_conv.go). Both fuse the softmax
// cross-entropy and its gradient into one launch.
//
// Start reading at Lower (lower.go), then the Op constants (ops.go), the lowering functions
// of each Gorgonia op type (lower_ops.go) and the plan (plan.go). Gorgonia's op types are
// unexported: gorgonia.go reads their parameters by reflection, for the pinned version.
package program
