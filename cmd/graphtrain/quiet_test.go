package main

import (
	"regexp"
	"strings"
	"testing"
)

// checkQuiet runs args with -q and checks that stdout is exactly lines matching want, in
// order, and that -q --json leaves the JSON line alone.
func checkQuiet(t *testing.T, dir string, args []string, want ...string) {
	t.Helper()
	r := runBin(t, dir, "", append(args, "-q")...)
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	if r.code != 0 || len(lines) != len(want) {
		t.Fatalf("%v -q: exit %d, %d lines, want %d:\n%s%s", args, r.code, len(lines), len(want), r.stdout, r.stderr)
	}
	for i, w := range want {
		if !regexp.MustCompile(w).MatchString(lines[i]) {
			t.Errorf("%v -q: line %d is %q, want %s", args, i+1, lines[i], w)
		}
	}
}

// TestQuietPrintsResults checks that --quiet keeps the results: train mnist's final line,
// eval mnist's accuracy, bench's table.
func TestQuietPrintsResults(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	checkQuiet(t, dir, []string{"train", "mnist", "--hidden", "16", "--limit", "2000", "--epochs", "1", "--out", "q"},
		`^test accuracy \d+\.\d\d% \(the epoch 1 model, saved in q\); \d+\.\d s of training, \d+ samples/s$`)
	checkQuiet(t, dir, []string{"eval", "mnist", "--weights", "q"}, `^mlp model in q: test accuracy \d+\.\d\d% \(\d+ of 10000\)$`)
	checkQuiet(t, dir, []string{"bench", "--model", "xor", "--devices", "vm,cpu", "--steps", "20"},
		`^model +device +batch +threads +steps +samples/s +GFLOP/s +GB/s +p50 ms +p95 ms +allocs/step +vs vm$`,
		`^xor +vm +4 +\d+ +20 `, `^xor +cpu +4 +\d+ +20 .* \d+\.\dx$`, `^ +cpu steps launched: \d+ compiled launches`, `^peak RSS \d+ MiB$`)
	checkQuiet(t, dir, []string{"train", "xor", "--epochs", "100", "--out", "x"},
		`^input  raw output   answer`, `^0 0 `, `^0 1 `, `^1 0 `, `^1 1 `)
	for _, args := range [][]string{
		{"train", "mnist", "--hidden", "16", "--limit", "2000", "--epochs", "1", "--out", "q", "--force"},
		{"eval", "mnist", "--weights", "q"},
		{"bench", "--model", "xor", "--devices", "cpu", "--steps", "20"},
	} {
		checkQuiet(t, dir, append(args, "--json"), `^\{.*\}$`)
	}
}
