package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestErrorNamesTheTarget checks that a failed write names the file or directory asked for,
// never the temporary name it was written under, and keeps the system's error for errors.Is.
func TestErrorNamesTheTarget(t *testing.T) {
	dir := t.TempDir()
	full := func(w io.Writer) error {
		f := w.(*os.File)
		return &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	path := filepath.Join(dir, "p.png")
	err := WriteFile(path, full)
	checkTargetError(t, "WriteFile", err, path)

	out := filepath.Join(dir, "ck")
	err = ReplaceDir(out, func(tmp string) error {
		return SyncFile(filepath.Join(tmp, "weights0.npy"), full)
	}, nil)
	checkTargetError(t, "ReplaceDir", err, filepath.Join(out, "weights0.npy"))
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

func checkTargetError(t *testing.T, what string, err error, path string) {
	t.Helper()
	var ae *Error
	if !errors.As(err, &ae) || ae.Path != path {
		t.Fatalf("%s: %v, want an *Error for %s", what, err, path)
	}
	if want := "write " + path + ": no space left on device"; err.Error() != want {
		t.Errorf("%s: %q, want %q", what, err, want)
	}
	if strings.Contains(err.Error(), TempPrefix) {
		t.Errorf("%s: names a temporary file: %v", what, err)
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("%s: %v is not ENOSPC", what, err)
	}
}

// TestRemovePending checks that the temporary file of a write in progress is removed by
// RemovePending (a process stopped by a signal), and that the file it replaces stays.
func TestRemovePending(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "g.dot")
	os.WriteFile(path, []byte("old\n"), 0o644)
	writing, stop := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- WriteFile(path, func(w io.Writer) error {
			w.Write([]byte("half"))
			close(writing)
			<-stop
			return errors.New("stopped")
		})
	}()
	<-writing
	RemovePending()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "g.dot" {
		t.Errorf("after RemovePending: %v, want g.dot alone", entries)
	}
	close(stop)
	<-done
	if raw, _ := os.ReadFile(path); string(raw) != "old\n" {
		t.Errorf("g.dot is %q, want the old content", raw)
	}
}
