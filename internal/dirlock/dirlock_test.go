package dirlock

import (
	"errors"
	"os"
	"testing"
)

func TestAcquire(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to open file descriptions: a second Acquire in this process
	// sees the lock as another process would.
	_, err = Acquire(dir)
	var held *ErrHeld
	if !errors.As(err, &held) || held.PID != os.Getpid() {
		t.Fatalf("second Acquire: %v, want ErrHeld naming pid %d", err, os.Getpid())
	}
	l.Release()
	l2, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	l2.Release()
	if _, err := os.Stat(dir + "/" + FileName); err == nil {
		t.Error("Release left the lock file")
	}
}
