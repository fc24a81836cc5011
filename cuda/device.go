package cuda

import "errors"

// ErrNotCompiled says that this binary was built without GPU support.
var ErrNotCompiled = errors.New("not compiled in: build with make gpu")

// Device describes one GPU.
type Device struct {
	Index             int    `json:"index"`
	Name              string `json:"name"`
	ComputeCapability string `json:"compute_capability"`
	MemoryBytes       int64  `json:"memory_bytes"`
}
