// Package ir is graphtrain's device-neutral form of a training step, the Program: a list of
// launches, each an Op (a matrix product, an elementwise operator, a softmax cross-entropy, an
// Adam update, ...) over numbered buffers, with typed parameters, and a plan that places the
// buffers in a few slots of memory. Package lower makes Programs from Gorgonia graphs; the
// executors run them: the CUDA backend (package cuda) maps each op to a kernel and decides its
// grid and block, the CPU executor (package cpu) maps each op to a Go kernel. Package ref is
// the meaning of every op, in plain Go, that both are tested against.
//
// Start reading at Program (program.go), then the Op constants (ops.go).
package ir
