package main

import (
	"strings"
	"testing"

	"github.com/graphtrain/graphtrain/cuda"
)

// TestBenchTimesTheDevicesThatRun: bench --devices vm,cuda in a build without the gpu tag
// times vm and says why cuda is not timed; cuda alone is an error.
func TestBenchTimesTheDevicesThatRun(t *testing.T) {
	if cuda.Compiled {
		t.Skip("this build has the gpu tag: cuda may run here")
	}
	dir := t.TempDir()
	r := runBin(t, dir, "", "bench", "--model", "xor", "--steps", "5", "--devices", "vm,cuda")
	if r.code != 0 || !strings.Contains(r.stderr, "cuda not timed") || !strings.Contains(r.stdout, "xor   vm") {
		t.Errorf("vm,cuda: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runBin(t, dir, "", "bench", "--model", "xor", "--steps", "5", "--devices", "cuda"); r.code == 0 {
		t.Errorf("cuda alone: exit 0\n%s", r.stdout)
	}
}
