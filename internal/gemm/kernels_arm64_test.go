package gemm

import "testing"

// NEON (ASIMD) is mandatory on arm64, so its kernels are always offered,
// first, with the portable one last.
func TestARM64KernelsOffered(t *testing.T) {
	ks := Kernels()
	if len(ks) != 2 || ks[0] != "neon" || ks[1] != "go" || Kernel() != "neon" {
		t.Errorf("kernels %v (default %s), want [neon go] (default neon)", ks, Kernel())
	}
}
