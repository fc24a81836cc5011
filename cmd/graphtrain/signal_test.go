package main

import (
	"bytes"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignalStopsAnyCommand: outside a training loop (which saves its state first), SIGINT
// and SIGTERM stop a command within a second, exiting 130 and 143: a long bench, and a
// gradient check.
func TestSignalStopsAnyCommand(t *testing.T) {
	for _, c := range []struct {
		args []string
		sig  syscall.Signal
		code int
	}{
		{[]string{"bench", "--model", "cnn", "--devices", "vm", "--steps", "100000", "-q"}, syscall.SIGINT, 130},
		{[]string{"bench", "--model", "mlp", "--devices", "cpu", "--steps", "100000", "--batch", "4096", "-q"}, syscall.SIGTERM, 143},
		{[]string{"gradcheck", "cnn", "--batch", "64", "--samples", "0"}, syscall.SIGINT, 130},
	} {
		cmd := exec.Command(binPath, c.args...)
		cmd.Dir = t.TempDir()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond) // past the start: timing, checking
		sent := time.Now()
		cmd.Process.Signal(c.sig)
		err := cmd.Wait()
		took := time.Since(sent)
		code := 0
		if x, ok := err.(*exec.ExitError); ok {
			code = x.ExitCode()
		}
		if code != c.code || took > 2*time.Second || !strings.Contains(stderr.String(), "interrupted") {
			t.Errorf("%v: %v after %v: exit %d, %q; want exit %d within a second", c.args, c.sig, took.Round(time.Millisecond), code, stderr.String(), c.code)
		}
	}
}
