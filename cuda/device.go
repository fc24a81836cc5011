package cuda

import "errors"

// ErrNoGPU is what every reason the GPU cannot be used is (errors.Is): a build without GPU
// support, no driver, no device, a context, the kernels or memory that the driver refuses.
var ErrNoGPU = errors.New("no usable GPU")

// noGPU is a reason there is no usable GPU.
type noGPU struct{ err error }

func (e *noGPU) Error() string        { return e.err.Error() }
func (e *noGPU) Unwrap() error        { return e.err }
func (e *noGPU) Is(target error) bool { return target == ErrNoGPU }

// ErrNotCompiled says that this binary was built without GPU support.
var ErrNotCompiled error = &noGPU{errors.New("not compiled in: build with make gpu")}

// Device describes one GPU.
type Device struct {
	Index             int    `json:"index"`
	Name              string `json:"name"`
	ComputeCapability string `json:"compute_capability"`
	MemoryBytes       int64  `json:"memory_bytes"`
}
