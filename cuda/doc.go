// Package cuda is graphtrain's GPU backend: it lowers the Gorgonia graphs of package graph to
// launches of its own CUDA kernels through gorgonia.org/cu, and registers itself as the
// "cuda" backend.
//
// It is compiled in only with the build tag gpu (make gpu). Without the tag the package holds
// nothing but the answer that the build has no GPU support and how to get it, so callers never
// need a build tag of their own.
package cuda
