package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// TempPrefix starts the name of every temporary file and directory this package makes, so
// that leftovers of a killed process can be recognised and removed (see Clean).
const TempPrefix = ".graphtrain-tmp-"

// Error is a failed write of Path, the file or directory the caller asked for: never the
// temporary name the write went through, so that a message names what the user knows.
// Err is the cause; Error gives only the system's reason of it ("no space left on device").
type Error struct {
	Path string
	Err  error
}

func (e *Error) Error() string { return "write " + e.Path + ": " + Reason(e.Err) }

func (e *Error) Unwrap() error { return e.Err }

// Reason is the system's reason for a failed file operation ("permission denied", "no
// space left on device"), without the names of the files it was tried on.
func Reason(err error) string {
	for err != nil {
		var pe *fs.PathError
		var le *os.LinkError
		var se *os.SyscallError
		var ae *Error
		switch {
		case errors.As(err, &ae):
			err = ae.Err
		case errors.As(err, &pe):
			err = pe.Err
		case errors.As(err, &le):
			err = le.Err
		case errors.As(err, &se):
			err = se.Err
		default:
			return err.Error()
		}
	}
	return "unknown error"
}

// pending are the temporary files and directories being written now, by path.
var pending sync.Map

// Track marks path, a temporary file or directory, as being written until done is called,
// so that RemovePending removes it.
func Track(path string) (done func()) {
	pending.Store(path, struct{}{})
	return func() { pending.Delete(path) }
}

// RemovePending removes the temporary files and directories being written: for a process
// about to exit at a signal, whose deferred clean-ups do not run. What a write was replacing
// stays as it was.
func RemovePending() {
	pending.Range(func(path, _ any) bool {
		os.RemoveAll(path.(string))
		return true
	})
}

// WriteFile writes a file through write into a temporary file in the same directory, syncs
// it and renames it over path, so that a crash leaves either the old file or the new one,
// never half of one.
func WriteFile(path string, write func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, TempPrefix+filepath.Base(path)+"-*")
	if err != nil {
		return &Error{path, err}
	}
	tmp := f.Name()
	defer Track(tmp)()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = write(f); err != nil {
		return &Error{path, err}
	}
	if err = f.Sync(); err != nil {
		return &Error{path, err}
	}
	if err = f.Close(); err != nil {
		return &Error{path, err}
	}
	if err = os.Chmod(tmp, 0o644); err != nil {
		return &Error{path, err}
	}
	if err = os.Rename(tmp, path); err != nil {
		return &Error{path, err}
	}
	return SyncDir(dir)
}

// SyncDir flushes a directory's entries (a rename into it, say) to disk.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return &Error{dir, err}
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return &Error{dir, err}
	}
	return nil
}

// errNoExchange says the system cannot swap two directories in one step.
var errNoExchange = errors.New("atomic exchange of directories not supported")
