package gemm

import (
	"slices"
	"testing"

	"golang.org/x/sys/cpu"
)

// The assembly kernels must be offered (and so tested by forEachKernel)
// wherever the CPU supports them.
func TestAMD64KernelsOffered(t *testing.T) {
	ks := Kernels()
	if cpu.X86.HasAVX512F && !slices.Contains(ks, "avx512") {
		t.Errorf("AVX-512 CPU but kernels %v", ks)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA && !slices.Contains(ks, "avx2") {
		t.Errorf("AVX2+FMA CPU but kernels %v", ks)
	}
	if ks[len(ks)-1] != "go" {
		t.Errorf("portable kernel missing: %v", ks)
	}
	t.Logf("kernels: %v (default %s)", ks, Kernel())
}
