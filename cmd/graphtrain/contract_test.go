package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestCLIContract: a command group alone and unexpected arguments are usage errors (exit 2),
// version --json is JSON, and output that cannot be written is an error (exit 1).
func TestCLIContract(t *testing.T) {
	dir := t.TempDir()
	if r := runBin(t, dir, "", "train"); r.code != 2 || !strings.Contains(r.stderr, "no command given; give one of those listed above") {
		t.Errorf("train alone: exit %d, %s", r.code, r.stderr)
	}
	if r := runBin(t, dir, "", "train", "--help"); r.code != 0 || !strings.Contains(r.stdout, "train mnist") {
		t.Errorf("train --help: exit %d, %s", r.code, r.stdout)
	}
	if r := runBin(t, dir, "", "version", "extra"); r.code != 2 {
		t.Errorf("version extra: exit %d", r.code)
	}
	r := runBin(t, dir, "", "version", "--json")
	var v map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &v); err != nil || r.code != 0 || v["version"] == nil {
		t.Errorf("version --json: exit %d, %q (%v)", r.code, r.stdout, err)
	}
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full here (%v): the failed write is not tested", err)
	}
	defer full.Close()
	cmd := exec.Command(binPath, "version")
	cmd.Stdout = full
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "writing to standard output") {
		t.Errorf("version >/dev/full: %v, %s", err, stderr.String())
	}
}
