// Package lower turns a Gorgonia graph built with its symbolic gradients (model.Net) and a
// solver (model.Solver) into an ir.Program for a Target.
//
// A Target says which of several equivalent programs to make. Both fuse the softmax
// cross-entropy and its gradient into one launch, a product and its bias (GemmBias) and
// each convolution with what follows it (Conv, ConvReLU, ConvReLUPool; fuse_conv.go). The
// CPU also fuses a convolution's whole backward pass (ConvReLUPoolBack), which it runs image
// by image; CUDA keeps its parts, each reading the pooled gradient through the route
// (RouteFilter with the bias as a tap, FilterSum, RouteData: FuseRoutes), splits products of
// few tiles over a long K (GemmSplit) and filter gradients over a large batch
// (ConvFilterSplit, RouteFilter's parts), each followed by a sum in a fixed order, and fuses
// only the convolutions its 32-bit kernels can index (ConvIndexLimit).
//
// Start reading at Lower (lower.go), then the lowering functions of each Gorgonia op type
// (lower_ops.go) and the plan (plan.go). Gorgonia's op types are unexported: gorgonia.go reads
// their parameters by reflection, for the pinned version.
package lower
