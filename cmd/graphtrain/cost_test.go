package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestGraphCost: graph --cost prints each launch of the step's Program and its totals; both
// targets fuse the convolutions (no column matrix: no im2col launch), and the CPU target's,
// whose backward pass is one launch a convolution, moves fewer bytes than CUDA's, whose
// backward pass is several.
func TestGraphCost(t *testing.T) {
	dir := t.TempDir()
	var bytes [2]int64
	for i, target := range []string{"cpu", "cuda"} {
		r := runBin(t, dir, "", "graph", "cnn", "--cost", "--batch", "64", "--target", target, "--json")
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s", target, r.code, r.stderr)
		}
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		var j struct {
			Launches  int   `json:"launches"`
			FLOPs     int64 `json:"flops"`
			Read      int64 `json:"bytes_read"`
			Written   int64 `json:"bytes_written"`
			PerLaunch []struct {
				Op string `json:"op"`
			} `json:"per_launch"`
		}
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &j); err != nil {
			t.Fatalf("%s: %v\n%s", target, err, r.stdout)
		}
		if j.Launches < 30 || len(j.PerLaunch) != j.Launches || j.FLOPs < 64*2*(6*784*25+16*100*150) || !strings.Contains(r.stdout, "conv") {
			t.Errorf("%s: %+v\n%s", target, j, r.stdout)
		}
		for _, l := range j.PerLaunch {
			if l.Op == "im2col" || l.Op == "col2im" {
				t.Errorf("%s: a %s launch: the convolutions are not fused", target, l.Op)
			}
		}
		bytes[i] = j.Read + j.Written
	}
	if bytes[0] >= bytes[1] || bytes[1] > 3*bytes[0] {
		t.Errorf("cpu moves %d bytes a step, cuda %d: want cuda's more, but less than 3x", bytes[0], bytes[1])
	}
	if r := runBin(t, dir, "", "graph", "cnn", "--cost", "--target", "tpu"); r.code != 2 {
		t.Errorf("--target tpu: exit %d", r.code)
	}
}
