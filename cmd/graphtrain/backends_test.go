package main

import (
	"strings"
	"testing"

	"github.com/graphtrain/graphtrain/backend"
)

// TestSelectBackend: vm and cpu are always there; auto takes the GPU when this build has one
// that works, else the compiled CPU executor, saying why when a GPU backend is compiled in;
// cuda without a usable GPU is an error that says what to do; anything else names the flag.
func TestSelectBackend(t *testing.T) {
	for _, name := range []string{"vm", "cpu"} {
		b, note, err := selectBackend(name)
		if err != nil || b == nil || b.Name() != name || note != "" {
			t.Errorf("--device %s: %v, %q, %v", name, b, note, err)
		}
	}
	gpu := backend.Lookup("cuda")
	usable := gpu != nil && gpu.Available() == nil
	b, note, err := selectBackend("auto")
	switch {
	case err != nil:
		t.Fatal(err)
	case usable && b.Name() != "cuda":
		t.Errorf("auto chose %s with a usable GPU", b.Name())
	case !usable && b.Name() != "cpu":
		t.Errorf("auto chose %s without a usable GPU", b.Name())
	case gpu != nil && !usable && note == "":
		t.Errorf("auto fell back to the CPU without saying why")
	}
	_, _, err = selectBackend("cuda")
	if (err == nil) != usable || (err != nil && !strings.Contains(err.Error(), "--device cuda")) {
		t.Errorf("--device cuda: %v (usable GPU: %v)", err, usable)
	}
	if _, _, err := selectBackend("tpu"); err == nil || !strings.Contains(err.Error(), `--device "tpu"`) {
		t.Errorf("--device tpu: %v", err)
	}
}
