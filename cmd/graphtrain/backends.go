package main

import (
	"errors"
	"fmt"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/cpu"
	"github.com/graphtrain/graphtrain/cuda"
)

// The backends this program offers: vm.VM (Gorgonia's TapeMachine, always there), the
// compiled CPU executor, and the CUDA backend, which registers itself only in builds with
// the gpu tag.
var (
	_ = cpu.Backend{}
	_ = cuda.Compiled
)

// devices are the names --device takes.
const devices = "auto, vm, cpu or cuda"

// selectBackend picks the backend for --device (backend.Select): "vm", "cpu", "cuda", or
// "auto" (the GPU when one is compiled in and usable, else the compiled CPU executor). For
// auto falling back to the CPU, note says why.
func selectBackend(device string) (b backend.Backend, note string, err error) {
	b, note, err = backend.Select(device)
	switch {
	case errors.Is(err, backend.ErrDevice):
		return nil, "", usagef("--device %q: must be %s", device, devices)
	case errors.Is(err, backend.ErrNoGPU) && backend.Lookup("cuda") == nil:
		return nil, "", fmt.Errorf("--device cuda: this graphtrain was built without GPU support; build it with 'make gpu', or use --device cpu")
	case errors.Is(err, backend.ErrNoGPU):
		return nil, "", fmt.Errorf("--device cuda: %v; use --device cpu or --device auto", err)
	}
	return b, note, err
}

// trainingBackend is the backend training runs on, for --device; under auto falling back to
// the CPU, it says why on stderr.
func trainingBackend(e *env) (backend.Backend, error) {
	b, note, err := selectBackend(e.g.Device)
	if err == nil && note != "" {
		fmt.Fprintf(e.stderr, "graphtrain: %s\n", note)
	}
	return b, err
}

// forwardBackend is the backend a command's forward pass (eval, predict) runs on: --device's
// (every backend runs a forward-only pass of its own, backend.Predictor).
func forwardBackend(e *env) (backend.Backend, error) {
	b, _, err := selectBackend(e.g.Device)
	return b, err
}

// autoFallback is the backend training falls back to, saying why, when the one chosen cannot
// take the graph (backend.Fallback): the compiled CPU executor under --device auto, none
// when a device was named.
func autoFallback(e *env) backend.Backend { return backend.Fallback(e.g.Device) }

// deviceAdvice adds what to do to an error a backend returned.
func deviceAdvice(err error) error {
	var le *cuda.LaunchLimitError
	if errors.As(err, &le) {
		return fmt.Errorf("%w; use a smaller --batch", err)
	}
	return err
}
