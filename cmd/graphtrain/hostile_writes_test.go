package main

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/graphtrain/graphtrain/checkpoint"
	"github.com/graphtrain/graphtrain/internal/atomicfile"
	"github.com/graphtrain/graphtrain/model"
)

// TestHostileWriteFailures checks outputs that cannot be written in full (a full disk, here
// the file size limit, ulimit -f): the message names the file the user gave, never the
// temporary name it was written under, says what to do, and nothing half-written is left.
func TestHostileWriteFailures(t *testing.T) {
	root := modelDirs(t)
	os.WriteFile(filepath.Join(root, "m.jsonl"), []byte(`{"epoch":1,"train_loss":0.3,"val_accuracy":0.9,"seconds":1,"samples_per_second":100,"best":true}`+"\n"), 0o644)
	cases := []struct {
		name string
		args []string
		want string // the output named
		left string // what must not exist after
	}{
		{"train xor --out", []string{"train", "xor", "--out", "x", "-q"}, "--out x: cannot be written (file too large)", "x/model.json"},
		{"export onnx --out", []string{"export", "onnx", "--weights", "mlp", "--out", "m.onnx"}, "--out m.onnx: cannot be written (file too large)", "m.onnx"},
		{"plot --out", []string{"plot", "--metrics", "m.jsonl", "--out", "p.png"}, "--out p.png: cannot be written (file too large)", "p.png"},
		{"graph --dot", []string{"graph", "cnn", "--grad", "--dot", "g.dot"}, "--dot g.dot: cannot be written (file too large)", "g.dot"},
		{"inspect xor --out", []string{"inspect", "xor", "--weights", "xor", "--out", "ix"}, "--out ix: cannot be written (file too large)", "ix"},
	}
	for _, tc := range cases {
		cmd := exec.Command("sh", append([]string{"-c", `ulimit -f 1 && exec "$0" "$@"`, binPath}, tc.args...)...)
		cmd.Dir = root
		var e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &bytes.Buffer{}, &e
		cmd.Run()
		checkRefused(t, tc.name, result{code: cmd.ProcessState.ExitCode(), stderr: e.String()}, 0, tc.want)
		if strings.Contains(e.String(), atomicfile.TempPrefix) {
			t.Errorf("%s: the message names a temporary file: %s", tc.name, e.String())
		}
		if !strings.Contains(e.String(), "raise the limit on file sizes (ulimit -f), or choose another") {
			t.Errorf("%s: no advice for the limit: %s", tc.name, e.String())
		}
		if _, err := os.Stat(filepath.Join(root, tc.left)); err == nil {
			t.Errorf("%s: a failed write left %s", tc.name, tc.left)
		}
	}
	if entries, _ := os.ReadDir(root); len(entries) != 3 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("left in the directory: %v", names)
	}
}

// TestWriteFailedAdvice checks the advice for each reason a write fails.
func TestWriteFailedAdvice(t *testing.T) {
	tmp := "/d/" + atomicfile.TempPrefix + "p.png-123"
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&atomicfile.Error{Path: "/d/p.png", Err: &fs.PathError{Op: "write", Path: tmp, Err: syscall.ENOSPC}}, "--plot /d/p.png: cannot be written (no space left on device); free some space there, or choose another --plot"},
		{&atomicfile.Error{Path: "/d/p.png", Err: &fs.PathError{Op: "open", Path: tmp, Err: syscall.EACCES}}, "--plot /d/p.png: cannot be written (permission denied); check its permissions, or choose another --plot"},
		{&atomicfile.Error{Path: "/d/p.png", Err: &fs.PathError{Op: "open", Path: tmp, Err: syscall.EROFS}}, "(read-only file system); check its permissions"},
		{&atomicfile.Error{Path: "/d/p.png", Err: &fs.PathError{Op: "open", Path: tmp, Err: syscall.EIO}}, "(input/output error); choose another --plot"},
	} {
		got := writeFailed("--plot", "/d/p.png", tc.err).Error()
		if !strings.Contains(got, tc.want) || strings.Contains(got, "tmp") {
			t.Errorf("%v: %q, want %q", tc.err, got, tc.want)
		}
	}
}

// TestHostileInspectOut checks inspect's --out, a directory of pictures, against the outputs'
// policy before any work: never through a link, never a file, never a checkpoint's directory.
func TestHostileInspectOut(t *testing.T) {
	root := t.TempDir()
	x, _ := model.NewXOR(4, false, 42)
	checkpoint.SaveCheckpoint(filepath.Join(root, "xor"), x, nil, checkpoint.Checkpoint{})
	os.Mkdir(filepath.Join(root, "elsewhere"), 0o755)
	os.Symlink(filepath.Join(root, "elsewhere"), filepath.Join(root, "link"))
	os.WriteFile(filepath.Join(root, "afile"), []byte("keep\n"), 0o644)
	cases := []struct {
		out, want string
	}{
		{"link", "--out link: is a symbolic link; graphtrain does not write through links"},
		{"afile", "--out afile: is a file, not a directory"},
		{"afile/x", "--out afile/x: the directory afile does not exist"},
		{"xor", "--out xor: holds a checkpoint; give a directory of its own"},
		{"none/x", "--out none/x: the directory none does not exist"},
	}
	for _, tc := range cases {
		r, rss := hostileRun(t, root, "inspect", "xor", "--weights", "xor", "--out", tc.out)
		checkRefused(t, "inspect xor --out "+tc.out, r, rss, tc.want)
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "elsewhere")); len(entries) != 0 {
		t.Errorf("pictures written through the link: %d files", len(entries))
	}
}

// TestHostileKernelFiles checks outputs named in /proc: such a file opens for writing (as
// root) but takes nothing, so it is refused before any work, not after training.
func TestHostileKernelFiles(t *testing.T) {
	if _, err := os.Stat("/proc/version"); err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "m.jsonl"), []byte(`{"epoch":1,"train_loss":0.3,"val_accuracy":0.9,"seconds":1,"samples_per_second":100,"best":true}`+"\n"), 0o644)
	for _, args := range [][]string{
		{"plot", "--metrics", "m.jsonl", "--out", "/proc/version"},
		{"graph", "mlp", "--dot", "/proc/version"},
		{"train", "mnist", "--hidden", "8", "--limit", "500", "--epochs", "1", "--out", "o", "--metrics", "/proc/version"},
	} {
		r, rss := hostileRun(t, root, args...)
		checkRefused(t, strings.Join(args, " "), r, rss, "/proc/version: is a file of the kernel's procfs (/proc), not a place for output")
	}
	if _, err := os.Stat(filepath.Join(root, "o")); err == nil {
		t.Error("a refused run left its --out")
	}
}
