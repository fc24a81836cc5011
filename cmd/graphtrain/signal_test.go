package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
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

// TestSignalNeverSwallowedInTraining sends SIGTERM to 'train mnist' at moments spread over the
// last third of a run, the end of training and the test pass included: the run stops with 143 every
// time it is still running (a signal that came as the last epoch was being saved let the
// test pass run and the command exit 0). A run that had printed its result before the signal
// came had done its work: its exit 0 is right.
func TestSignalNeverSwallowedInTraining(t *testing.T) {
	needMNIST(t)
	args := []string{"train", "mnist", "--hidden", "8", "--limit", "3000", "--epochs", "2", "--out", "o", "--force", "-q"}
	dir := t.TempDir()
	start := time.Now()
	if r := runBin(t, dir, "", args...); r.code != 0 {
		t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
	}
	whole := time.Since(start)
	stopped := 0
	for i := range 8 {
		cmd := exec.Command(binPath, args...)
		cmd.Dir = dir
		var stderr bytes.Buffer
		var out timedWriter
		cmd.Stderr, cmd.Stdout = &stderr, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(whole * time.Duration(70+5*i) / 100)
		stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
		if f := strings.Fields(string(stat)); len(f) > 2 && f[2] == "Z" {
			cmd.Wait() // it had finished
			continue
		}
		sent := time.Now()
		cmd.Process.Signal(syscall.SIGTERM)
		err := cmd.Wait()
		took := time.Since(sent)
		code := 0
		if x, ok := err.(*exec.ExitError); ok {
			code = x.ExitCode()
		}
		if code == 0 && out.doneBefore(sent) {
			continue // it had printed its result, its work done, when the signal came
		}
		if code != 143 || took > 2*time.Second || !strings.HasPrefix(stderr.String(), "graphtrain: interrupted") {
			t.Errorf("SIGTERM at %d%% of the run: exit %d after %v: %q; want 143 within a second", 70+5*i, code, took.Round(time.Millisecond), stderr.String())
		}
		stopped++
	}
	t.Logf("a run takes %v; %d of 8 signals stopped one", whole.Round(time.Millisecond), stopped)
}

// timedWriter keeps what a command prints on stdout and when its last write came.
type timedWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	last time.Time
}

func (w *timedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last = time.Now()
	return w.buf.Write(p)
}

// doneBefore reports whether the command had printed its result line ("test accuracy ...")
// before t.
func (w *timedWriter) doneBefore(t time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Contains(w.buf.String(), "test accuracy") && w.last.Before(t)
}
