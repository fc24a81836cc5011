package graphtrain_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestRequirableFromAnotherModule: a module of a user's own requires graphtrain by its module
// path, with a replace line pointing at this checkout (README, "From Go"), and builds a
// program that trains a network through the API, offline, from the module cache.
func TestRequirableFromAnotherModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module of its own: not with -short")
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	goMod := "module example.com/mine\n\ngo 1.26\n\nrequire github.com/graphtrain/graphtrain v0.0.0\n\nreplace github.com/graphtrain/graphtrain => " + root + "\n"
	main := `package main

import (
	"fmt"

	"github.com/graphtrain/graphtrain"
)

func main() {
	m, err := graphtrain.New("dense(8) tanh dense(3)", graphtrain.Vector(5), 1)
	fmt.Println(m != nil, err)
}
`
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"go.mod": goMod, "main.go": main, "go.sum": string(sum)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "run", "-mod=mod", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "true <nil>" {
		t.Fatalf("go run in a module that requires github.com/graphtrain/graphtrain: %v\n%s", err, out)
	}
}
