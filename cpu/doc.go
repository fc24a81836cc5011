// Package cpu is graphtrain's compiled CPU executor, the "cpu" backend (--device cpu, and
// --device auto where no GPU is usable). It lowers a training graph for the CPU target
// (lower.Lower with lower.CPU: products fused with their biases, a dense layer's ReLU and
// the gradient through it, each convolution with its ReLU and pooling, and its backward
// pass, fused into launches run image by image, nothing split) and compiles each launch of
// the Program once into a Go call over views of memory planned once, so that a training
// step is a loop over those calls and allocates nothing; the solver's updates of every
// parameter are one call.
//
// The products run on internal/gemm (packed, cache-blocked, AVX-512 or AVX2+FMA micro-kernels
// chosen from the CPU's features), Adam, SGD, momentum and the ReLU's passes on internal/vec,
// everything else in plain Go generic over float32 and float64 (the XOR net is float64).
// Kernels cut their work into pieces of a fixed size, run on a persistent pool of GOMAXPROCS
// workers (internal/parallel); no sum is split across pieces, so a run gives the same numbers
// bit for bit on any number of cores.
//
// The trainer and the predictor are package runner's, over the CPU's memory and executors
// (runner.go: the runner's Device). Start reading at Backend.NewTrainer (backend.go), then
// runner.go, executor.compile (exec.go) and the kernels (kernels.go; the fused convolutions
// in conv.go). The tests run every launch against the reference interpreter
// (package ref), one step's gradients against Gorgonia's TapeMachine, and training on 1, 2
// and 3 workers against each other.
package cpu
