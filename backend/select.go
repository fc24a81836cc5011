package backend

import (
	"errors"
	"fmt"
)

// ErrNoGPU reports that the cuda backend was asked for and cannot run: not compiled in (a
// build without the gpu tag) or no usable GPU.
var ErrNoGPU = errors.New("no usable GPU")

// ErrDevice reports a device name Select does not know.
var ErrDevice = errors.New("unknown device")

// Select is the backend a device name picks: "vm", "cpu", "cuda", or "auto" ("": auto), the
// GPU when one is compiled in and usable, else the compiled CPU executor; for that fallback
// note says why. The backends must be registered (the program imports them).
func Select(device string) (b Backend, note string, err error) {
	gpu := Lookup("cuda")
	switch device {
	case "vm", "cpu":
		if b = Lookup(device); b == nil {
			return nil, "", fmt.Errorf("graph: the %s backend is not compiled into this program", device)
		}
		return b, "", nil
	case "cuda":
		if gpu == nil {
			return nil, "", fmt.Errorf("%w: this graphtrain was built without GPU support", ErrNoGPU)
		}
		if err := gpu.Available(); err != nil {
			return nil, "", fmt.Errorf("%w: %v", ErrNoGPU, err)
		}
		return gpu, "", nil
	case "auto", "":
		cpu := Lookup("cpu")
		if cpu == nil {
			cpu = Lookup("vm")
		}
		if gpu == nil {
			return cpu, "", nil
		}
		if err := gpu.Available(); err != nil {
			return cpu, fmt.Sprintf("no usable GPU (%v): running on the CPU", err), nil
		}
		return gpu, "", nil
	}
	return nil, "", fmt.Errorf("%w %q: want auto, vm, cpu or cuda", ErrDevice, device)
}

// Fallback is the backend training falls back to, saying why, when the one a device name
// picked cannot take the net: the compiled CPU executor for "auto", none when a device was
// named.
func Fallback(device string) Backend {
	if device == "auto" || device == "" {
		return Lookup("cpu")
	}
	return nil
}
