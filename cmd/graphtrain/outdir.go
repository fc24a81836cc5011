package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/graphtrain/graphtrain/checkpoint"
	"github.com/graphtrain/graphtrain/internal/atomicfile"
	"github.com/graphtrain/graphtrain/internal/dirlock"
	"github.com/graphtrain/graphtrain/train"
)

// outDir is a checkpoint directory claimed by this process: created when missing, locked
// against other writers, cleaned of what a killed run left.
type outDir struct {
	path    string
	lock    *dirlock.Lock
	created bool // the directory did not exist before this run
}

// claimOut takes --out for this run, before any work: it creates the directory when
// missing (which shows that it can be written), locks it, cleans the leftovers of a killed
// save, and refuses to replace a checkpoint already there unless replace is set.
func claimOut(flag, dir string, replace bool, advice string) (*outDir, error) {
	if err := checkOutDirName(flag, dir); err != nil {
		return nil, err
	}
	st, err := os.Stat(dir)
	switch {
	case err == nil && !st.IsDir():
		return nil, fmt.Errorf("%s %s: is a file, not a directory; give a directory (it is created if missing)", flag, dir)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s %s: cannot be used (%s); choose another %s", flag, dir, plainError(err), flag)
	}
	o := &outDir{path: dir, created: err != nil}
	if o.created {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("%s %s: cannot be created (%s); choose another %s", flag, dir, plainError(err), flag)
		}
	}
	if o.lock, err = dirlock.Acquire(dir); err != nil {
		o.remove()
		var held *dirlock.ErrHeld
		if errors.As(err, &held) {
			return nil, fmt.Errorf("%s %s: %v; wait for it to finish or choose another %s", flag, dir, held, flag)
		}
		return nil, fmt.Errorf("%s %s: cannot be written (%s); choose another %s", flag, dir, plainError(errors.Unwrap(err)), flag)
	}
	if err := atomicfile.Clean(dir); err != nil {
		o.release(false)
		return nil, fmt.Errorf("%s %s: cannot remove what an interrupted save left there (%s); remove the .graphtrain-tmp-* entries by hand, or choose another %s", flag, dir, plainError(err), flag)
	}
	if !replace {
		for _, d := range []string{dir, checkpoint.LastDir(dir)} {
			if _, err := os.Lstat(filepath.Join(d, "model.json")); err == nil {
				o.release(false)
				return nil, fmt.Errorf("%s %s: already holds a checkpoint; %s", flag, dir, advice)
			}
		}
	}
	return o, nil
}

// release unlocks the directory; after a run that saved nothing, a directory this run
// created is removed again, so that a failed run leaves nothing behind.
func (o *outDir) release(saved bool) {
	if o == nil {
		return
	}
	o.lock.Release()
	o.lock = nil
	if !saved {
		o.remove()
	}
}

// remove deletes the directory if this run created it and it is empty.
func (o *outDir) remove() {
	if o.created {
		os.Remove(o.path)
	}
}

// checkWritable checks, before any work, that a file can be written at path: an existing
// regular file that opens for writing (it is not changed), or a new name in a directory that
// takes a new file (tried and removed).
func checkWritable(flag, path string) error {
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		return fmt.Errorf("%s %s: is a directory; give a file name", flag, path)
	case err == nil && !st.Mode().IsRegular():
		return fmt.Errorf("%s %s: is not a regular file but %s; give the name of a file to write", flag, path, fileKind(st.Mode()))
	case err == nil && pseudoFS(path) != "":
		return fmt.Errorf("%s %s: is a file of the kernel's %s, not a place for output; give the name of a file to write", flag, path, pseudoFS(path))
	case err == nil:
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("%s %s: cannot be written (%s); choose another file", flag, path, plainError(err))
		}
		return f.Close()
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s: cannot be used (%s); choose another file", flag, path, plainError(err))
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("%s %s: the directory %s does not exist; create it or choose another file", flag, path, dir)
	}
	f, err := os.CreateTemp(dir, atomicfile.TempPrefix+"probe-*")
	if err != nil {
		return fmt.Errorf("%s %s: the directory %s cannot be written (%s); choose another file", flag, path, dir, plainError(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// fileKind names what a file that is not a regular file is, for a message.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "a special file"
}

// checkMemory refuses a job whose estimate, need bytes, is more than the machine has
// available, before anything is allocated. advice says which flags lower it.
func checkMemory(need int64, advice string) error {
	if err := train.CheckMemory(need); err != nil {
		return fmt.Errorf("%w; %s", err, advice)
	}
	return nil
}

// plainError is the system's reason for a failed file operation, without Go's wrapping and
// without the names (temporary ones included) it was tried on.
func plainError(err error) string { return atomicfile.Reason(err) }

// isWriteError reports whether err is a failed write of a file or directory (a checkpoint's
// save, say), which writeFailed words.
func isWriteError(err error) bool {
	var we *atomicfile.Error
	return errors.As(err, &we)
}

// writeFailed is the message for an output that could not be written: the flag, the file or
// directory the user gave (never a temporary name), the system's reason and what to do.
func writeFailed(flag, path string, err error) error {
	advice := "choose another " + flag
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		advice = "free some space there, or choose another " + flag
	case errors.Is(err, syscall.EFBIG):
		advice = "raise the limit on file sizes (ulimit -f), or choose another " + flag
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS):
		advice = "check its permissions, or choose another " + flag
	}
	return fmt.Errorf("%s %s: cannot be written (%s); %s", flag, path, plainError(err), advice)
}

// checkpointError is the message for a checkpoint that does not load: the flag, the file
// and what is wrong with it, and advice.
func checkpointError(flag string, err error, advice string) error {
	var ce *checkpoint.CheckpointError
	if errors.As(err, &ce) {
		return fmt.Errorf("%s %v; %s", flag, ce, advice)
	}
	return fmt.Errorf("%s: %v", flag, err)
}
