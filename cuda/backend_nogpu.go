//go:build !gpu

package cuda

// Built without the gpu tag, the package registers no backend: the CLI then answers
// --device cuda with "built without GPU support; build it with 'make gpu'".

// Compiled reports whether this build has the GPU backend.
const Compiled = false

// Devices lists the usable GPUs, or says why there are none. Without the gpu build tag it
// always returns ErrNotCompiled.
func Devices() (devs []Device, driver string, err error) { return nil, "", ErrNotCompiled }
