// Package lower turns a Gorgonia graph built with its symbolic gradients (model.Net) and a
// solver (model.Solver) into an ir.Program for a Target.
//
// A Target says which of several equivalent programs to make: CUDA splits products of few
// tiles over a long K (GemmSplit and a sum in a fixed order), the CPU fuses a product and its
// bias (GemmBias) and each convolution with what follows it (Conv, ConvReLU, ConvReLUPool)
// and its whole backward pass (ConvReLUPoolBack; fuse_conv.go). Both fuse the softmax
// cross-entropy and its gradient into one launch.
//
// Start reading at Lower (lower.go), then the lowering functions of each Gorgonia op type
// (lower_ops.go) and the plan (plan.go). Gorgonia's op types are unexported: gorgonia.go reads
// their parameters by reflection, for the pinned version.
package lower
