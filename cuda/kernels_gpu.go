//go:build gpu

package cuda

import (
	"embed"
	"path"
)

//go:embed kernels/*.ptx
var ptxFS embed.FS

// ptxFiles returns the embedded PTX by file name.
func ptxFiles() map[string]string {
	out := map[string]string{}
	entries, _ := ptxFS.ReadDir("kernels")
	for _, e := range entries {
		b, err := ptxFS.ReadFile(path.Join("kernels", e.Name()))
		if err == nil {
			out[e.Name()] = string(b)
		}
	}
	return out
}
