package main

import (
	"bytes"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/graphtrain/graphtrain/checkpoint"
	"github.com/graphtrain/graphtrain/datasets"
	"github.com/graphtrain/graphtrain/internal/atomicfile"
)

// needMNIST skips a test where MNIST is not in the data cache and cannot be fetched.
func needMNIST(t *testing.T) {
	t.Helper()
	dir, err := datasets.DefaultDir()
	if err == nil {
		err = datasets.EnsureMNIST(dir, nil)
	}
	if err != nil {
		t.Skipf("no MNIST: %v", err)
	}
}

// TestCrashSIGKILL kills 'train mnist' with SIGKILL at random moments, saving included, and
// checks after every kill that OUT and OUT/last each load (once they exist): a save swaps
// whole directories, so a kill leaves the old checkpoint or the new one, never a mix. The
// next run cleans what the killed one left. GRAPHTRAIN_SOAK_KILLS sets the number of kills
// (make soak runs many); the default is a short run.
func TestCrashSIGKILL(t *testing.T) {
	needMNIST(t)
	kills := 6
	if v, err := strconv.Atoi(os.Getenv("GRAPHTRAIN_SOAK_KILLS")); err == nil && v > 0 {
		kills = v
	} else if testing.Short() {
		kills = 3
	}
	root := t.TempDir()
	out := filepath.Join(root, "out")
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	// Small epochs, so that saves (two a epoch) are a large part of the time.
	args := []string{"--hidden", "32", "--limit", "1200", "--batch", "100", "--val-split", "0.2", "--quiet"}
	loaded, empty := 0, 0
	saved := map[string]bool{} // a checkpoint once there must stay loadable
	for k := 0; k < kills; k++ {
		run := append([]string{"train", "mnist", "--out", out, "--epochs", "100000", "--force"}, args...)
		if _, err := os.Stat(filepath.Join(checkpoint.LastDir(out), "model.json")); err == nil {
			run = append([]string{"train", "mnist", "--resume", out, "--epochs", "100000"}, args...)
		}
		cmd := exec.Command(binPath, run...)
		cmd.Dir = root
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Start-up (reading MNIST) takes a few tenths of a second; kill anywhere from
		// before the first save to several epochs in.
		time.Sleep(time.Duration(20+rng.Intn(1500)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && !ws.Signaled() {
			t.Fatalf("kill %d: the run ended before the kill: %v\n%s", k, cmd.ProcessState, stderr.String())
		}
		for _, dir := range []string{out, checkpoint.LastDir(out)} {
			if _, err := os.Stat(filepath.Join(dir, "model.json")); err != nil && !saved[dir] {
				empty++
				continue // not saved yet: the old state, which is no checkpoint
			}
			saved[dir] = true
			if _, _, _, err := checkpoint.LoadCheckpoint(dir); err != nil {
				t.Errorf("kill %d: %s does not load: %v", k, dir, err)
			} else {
				loaded++
			}
		}
	}
	t.Logf("%d SIGKILLs: %d checkpoint loads after a kill succeeded, %d not yet saved", kills, loaded, empty)
	// A run that ends normally cleans every leftover of the killed ones.
	if _, err := os.Stat(filepath.Join(checkpoint.LastDir(out), "model.json")); err != nil {
		t.Skip("no kill came after the first save; nothing more to check")
	}
	_, _, ck, err := checkpoint.LoadCheckpoint(checkpoint.LastDir(out))
	if err != nil {
		t.Fatal(err)
	}
	r := runBin(t, root, "", append([]string{"train", "mnist", "--resume", out, "--epochs", strconv.Itoa(ck.Epoch + 1)}, args...)...)
	if r.code != 0 {
		t.Fatalf("resume after the kills: exit %d: %s", r.code, r.stderr)
	}
	for _, dir := range []string{root, out, checkpoint.LastDir(out)} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), atomicfile.TempPrefix) || strings.HasSuffix(e.Name(), ".lock") {
				t.Errorf("%s left in %s", e.Name(), dir)
			}
		}
	}
}

// TestConcurrentOut starts two runs on one --out: the second fails at once, naming the
// first's process, and the first finishes with a model that eval loads.
func TestConcurrentOut(t *testing.T) {
	needMNIST(t)
	root := t.TempDir()
	args := []string{"train", "mnist", "--out", "o", "--hidden", "16", "--limit", "3000", "--epochs", "3", "--quiet"}
	first := exec.Command(binPath, append(args, "--json")...)
	first.Dir = root
	var out1, err1 bytes.Buffer
	first.Stdout, first.Stderr = &out1, &err1
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the first holds the lock.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(root, "o", ".graphtrain.lock")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			first.Process.Kill()
			t.Fatal("the first run took no lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	r := runBin(t, root, "", append(args, "--force")...)
	want := "pid " + strconv.Itoa(first.Process.Pid)
	if r.code != 1 || !strings.Contains(r.stderr, "being written by another graphtrain process") || !strings.Contains(r.stderr, want) {
		t.Errorf("second run: exit %d, %q; want exit 1 naming %s", r.code, r.stderr, want)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("first run: %v\n%s", err, err1.String())
	}
	var res trainJSON
	lastJSON(t, out1.String(), &res)
	r = runBin(t, root, "", "eval", "mnist", "--weights", "o", "--json")
	var ev struct {
		TestAccuracy float64 `json:"test_accuracy"`
	}
	lastJSON(t, r.stdout, &ev)
	if ev.TestAccuracy != res.TestAccuracy {
		t.Errorf("eval says %v, the run said %v: the model in o is not the run's", ev.TestAccuracy, res.TestAccuracy)
	}
}
