package dirlock

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// FileName is the lock file's name inside the locked directory.
const FileName = ".graphtrain.lock"

// Lock is a held lock; Release gives it up.
type Lock struct {
	f    *os.File
	path string
}

// ErrHeld says another process holds the lock.
type ErrHeld struct {
	Dir string
	PID int // 0 when the lock file does not say
}

func (e *ErrHeld) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("%s is being written by another graphtrain process (pid %d)", e.Dir, e.PID)
	}
	return fmt.Sprintf("%s is being written by another graphtrain process", e.Dir)
}

// Acquire takes the lock of dir, which must exist, without waiting.
func Acquire(dir string) (*Lock, error) {
	path := filepath.Join(dir, FileName)
	for range 10 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", dir, err)
		}
		held, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", dir, err)
		}
		if held {
			raw := make([]byte, 32)
			n, _ := f.ReadAt(raw, 0)
			f.Close()
			pid, _ := strconv.Atoi(strings.TrimSpace(string(raw[:n])))
			return nil, &ErrHeld{Dir: dir, PID: pid}
		}
		// The holder before us may have removed the file after we opened it: the lock is
		// ours only if the path still leads to the file we locked.
		a, errA := f.Stat()
		b, errB := os.Stat(path)
		if errA != nil || errB != nil || !os.SameFile(a, b) {
			f.Close()
			continue
		}
		if err := f.Truncate(0); err == nil {
			f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		}
		return &Lock{f: f, path: path}, nil
	}
	return nil, fmt.Errorf("lock %s: the lock file keeps being replaced", dir)
}

// Release removes the lock file and gives up the lock. The file goes first, while the lock
// is still held, so that a process that opened it meanwhile sees that it is stale.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	os.Remove(l.path)
	l.f.Close() // closing drops the flock
	l.f = nil
}
