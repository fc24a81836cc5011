package cuda

//go:generate go run ./internal/genopcodes -o kernels/opcodes.h

import "regexp"

// The kernels are CUDA C in kernels/*.cu, one file per family (elementwise, gemm, reduce,
// conv, optim, data). make ptx compiles them with nvcc for compute_60 into kernels/*.ptx,
// which are committed and embedded in gpu builds; the driver JIT-compiles the PTX for the GPU
// it runs on. make ptx-check fails when the committed PTX is stale.

var entryRE = regexp.MustCompile(`(?m)^\.visible \.entry ([A-Za-z0-9_]+)\(`)

// kernelNames lists the kernels (entry points) a PTX file defines.
func kernelNames(ptx string) []string {
	var out []string
	for _, m := range entryRE.FindAllStringSubmatch(ptx, -1) {
		out = append(out, m[1])
	}
	return out
}
