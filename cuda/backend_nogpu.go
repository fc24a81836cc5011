//go:build !gpu

package cuda

import "errors"

// ErrNotCompiled says that this binary was built without GPU support.
var ErrNotCompiled = errors.New("not compiled in: build with make gpu")

// Compiled reports whether this build has the GPU backend.
const Compiled = false

// Device describes one GPU.
type Device struct {
	Index             int    `json:"index"`
	Name              string `json:"name"`
	ComputeCapability string `json:"compute_capability"`
	MemoryBytes       int64  `json:"memory_bytes"`
}

// Devices lists the usable GPUs, or says why there are none. Without the gpu build tag it
// always returns ErrNotCompiled.
func Devices() (devs []Device, driver string, err error) { return nil, "", ErrNotCompiled }
