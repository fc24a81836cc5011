package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// ErrNotRegular is wrapped by errors about a path that is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is wrapped by errors about a file larger than its limit.
var ErrTooLarge = errors.New("file too large")

// Error says what is wrong with the file at Path. Its text names the file and the problem,
// without a package prefix, so that it can reach the user as it is.
type Error struct {
	Path    string
	Problem string // "is a named pipe (FIFO), not a regular file", ...
	Err     error  // ErrNotRegular, ErrTooLarge or the error of the system call
}

func (e *Error) Error() string { return e.Path + " " + e.Problem }
func (e *Error) Unwrap() error { return e.Err }

// Open opens path for reading when it is a regular file of at most max bytes (max <= 0: any
// size). A symbolic link is followed; what it leads to must be a regular file.
func Open(path string, max int64) (*os.File, error) {
	// O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever. It has no
	// effect on the regular files that pass the check below.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, opError(path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, opError(path, err)
	}
	if err := Check(path, st, max); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Check is Open's test of a file's kind and size, for a FileInfo already at hand.
func Check(path string, st fs.FileInfo, max int64) error {
	m := st.Mode()
	switch {
	case m.IsRegular():
	case m.IsDir():
		return &Error{path, "is a directory, not a file", ErrNotRegular}
	case m&fs.ModeNamedPipe != 0:
		return &Error{path, "is a named pipe (FIFO), not a regular file", ErrNotRegular}
	case m&fs.ModeDevice != 0 || m&fs.ModeCharDevice != 0:
		return &Error{path, "is a device, not a regular file", ErrNotRegular}
	case m&fs.ModeSocket != 0:
		return &Error{path, "is a socket, not a regular file", ErrNotRegular}
	default:
		return &Error{path, "is not a regular file", ErrNotRegular}
	}
	if max > 0 && st.Size() > max {
		return &Error{path, fmt.Sprintf("is %s, more than the %s such a file can sensibly be", Size(st.Size()), Size(max)), ErrTooLarge}
	}
	return nil
}

// ReadFile reads the whole of path when it is a regular file of at most max bytes. A file
// that grows past max while it is read is refused too.
func ReadFile(path string, max int64) ([]byte, error) {
	f, err := Open(path, max)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, _ := f.Stat()
	b := make([]byte, 0, st.Size()+1)
	r := io.Reader(f)
	if max > 0 {
		r = io.LimitReader(f, max+1)
	}
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, opError(path, err)
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
	if max > 0 && int64(len(b)) > max {
		return nil, &Error{path, fmt.Sprintf("grew past %s while it was read", Size(max)), ErrTooLarge}
	}
	return b, nil
}

// opError turns an error of the file system into an *Error with a plain problem.
func opError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	problem := err.Error()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		problem = "does not exist"
	case errors.Is(err, fs.ErrPermission):
		problem = "cannot be read (permission denied)"
	case errors.Is(err, syscall.EISDIR):
		problem = "is a directory, not a file"
	}
	return &Error{path, problem, err}
}

// Size writes a byte count for people: 512 B, 3.2 KiB, 37 GiB.
func Size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), 0
	for v >= unit && i < 5 {
		v /= unit
		i++
	}
	suffix := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}[i]
	if v < 10 {
		return fmt.Sprintf("%.1f %s", v, suffix)
	}
	return fmt.Sprintf("%.0f %s", v, suffix)
}

// Excerpt quotes at most n bytes of s for an error message, marking a cut.
func Excerpt(s string, n int) string {
	if len(s) <= n {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q... (%d bytes)", s[:n], len(s))
}
