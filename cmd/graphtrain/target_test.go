package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestTargetAccuracy: train mnist --target-accuracy stops at the first epoch whose validation
// accuracy reaches it and reports the training time to it; a target out of (0, 1] or without
// a validation set is a usage error.
func TestTargetAccuracy(t *testing.T) {
	dir := t.TempDir()
	r := runBin(t, dir, "", "train", "mnist", "--limit", "3000", "--target-accuracy", "0.85", "--epochs", "10", "--device", "cpu", "--out", "t", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var j struct {
		Epochs  int      `json:"epochs"`
		Val     float64  `json:"val_accuracy"`
		Seconds *float64 `json:"seconds_to_target"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &j); err != nil {
		t.Fatal(err)
	}
	if j.Seconds == nil || *j.Seconds <= 0 || j.Epochs >= 10 || j.Val < 0.85 || !strings.Contains(r.stdout, "reached --target-accuracy 0.85") {
		t.Errorf("%+v\n%s", j, r.stdout)
	}
	for _, args := range [][]string{{"--target-accuracy", "1.5"}, {"--target-accuracy", "-0.1"}, {"--target-accuracy", "0.9", "--val-split", "0"}} {
		if r := runBin(t, dir, "", append([]string{"train", "mnist", "--out", "bad"}, args...)...); r.code != 2 {
			t.Errorf("%v: exit %d, %s", args, r.code, r.stderr)
		}
	}
}
