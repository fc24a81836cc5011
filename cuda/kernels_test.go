package cuda

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/graphtrain/graphtrain/lower/lowertest"
)

// kernelSig is a kernel's parameter list by kind: 'p' pointer, 'i' long long, 'r' double.
type kernelSig string

var (
	kernels2RE = regexp.MustCompile(`(?m)^KERNELS2\((\w+), \(([^)]*)\)`)
	externRE   = regexp.MustCompile(`(?m)^extern "C" __global__ void (\w+)\(([^)]*)\)`)
)

// cuSignatures reads the kernel signatures from kernels/*.cu.
func cuSignatures(t *testing.T) map[string]kernelSig {
	files, err := filepath.Glob("kernels/*.cu")
	if err != nil || len(files) == 0 {
		t.Fatalf("no kernels/*.cu: %v", err)
	}
	sigs := map[string]kernelSig{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		add := func(name, params string) {
			var sig strings.Builder
			for _, p := range strings.Split(params, ",") {
				p = strings.TrimSpace(p)
				switch {
				case strings.Contains(p, "*"):
					sig.WriteByte('p')
				case strings.HasPrefix(p, "ll ") || strings.HasPrefix(p, "long long "):
					sig.WriteByte('i')
				case strings.HasPrefix(p, "double "):
					sig.WriteByte('r')
				case p == "CONV_PARAMS":
					sig.WriteString(strings.Repeat("i", 14))
				case p == "POOL_PARAMS" || p == "POOL2_PARAMS":
					sig.WriteString(strings.Repeat("i", 12))
				default:
					t.Errorf("%s: kernel %s has parameter %q, not 8 bytes (pointer, ll or double)", f, name, p)
				}
			}
			sigs[name] = kernelSig(sig.String())
		}
		for _, m := range kernels2RE.FindAllStringSubmatch(string(src), -1) {
			add(m[1]+"_f32", m[2])
			add(m[1]+"_f64", m[2])
		}
		for _, m := range externRE.FindAllStringSubmatch(string(src), -1) {
			add(m[1], m[2])
		}
	}
	return sigs
}

// TestKernelABI checks every launch the lowering makes, for every model and solver (with a
// resident training set, so the data launches too), against
// the kernel's signature in kernels/*.cu (pointers, then long longs, then doubles), and that
// the committed PTX defines the kernel.
func TestKernelABI(t *testing.T) {
	sigs := cuSignatures(t)
	inPTX := map[string]bool{}
	ptxs, _ := filepath.Glob("kernels/*.ptx")
	for _, f := range ptxs {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range kernelNames(string(b)) {
			inPTX[k] = true
		}
	}
	for name := range sigs {
		if !inPTX[name] {
			t.Errorf("kernel %s is in kernels/*.cu but not in the PTX: run make ptx", name)
		}
	}
	for _, tm := range lowertest.Models(t) {
		for _, solver := range []string{"sgd", "momentum", "adam", "adamw"} {
			base, _ := lowerModel(t, tm.M, tm.Batch, solver, 0.01)
			p, err := base.WithDataset(3 * tm.Batch) // every launch of base and the data launches
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range p.Launches {
				want, ok := sigs[kernelFor(l).Name]
				if !ok {
					t.Errorf("%s: kernel %s (for %s) is not in kernels/*.cu", p.Kind, kernelFor(l).Name, l.What)
					continue
				}
				got := kernelSig(strings.Repeat("p", len(l.Args)) + strings.Repeat("i", len(l.Ints)) + strings.Repeat("r", len(l.Reals)))
				if got != want {
					t.Errorf("%s: launch of %s passes %s, the kernel takes %s", p.Kind, kernelFor(l).Name, got, want)
				}
				for _, b := range l.Args {
					if b < 0 || b >= len(p.Buffers) {
						t.Errorf("%s: launch of %s uses buffer %d of %d", p.Kind, kernelFor(l).Name, b, len(p.Buffers))
					}
				}
				if kernelFor(l).Grid[0] < 1 || kernelFor(l).Block[0] < 1 || kernelFor(l).Block[0]*kernelFor(l).Block[1]*kernelFor(l).Block[2] > 1024 {
					t.Errorf("%s: launch of %s has grid %v block %v", p.Kind, kernelFor(l).Name, kernelFor(l).Grid, kernelFor(l).Block)
				}
			}
		}
	}
}

// TestNoGPUIsTyped: whatever keeps the GPU from being used is an ErrNoGPU (errors.Is), a
// build without GPU support included, so that the CLI can tell it from other failures.
func TestNoGPUIsTyped(t *testing.T) {
	if !errors.Is(ErrNotCompiled, ErrNoGPU) {
		t.Error("ErrNotCompiled is not an ErrNoGPU")
	}
	if _, _, err := Devices(); !Compiled && !errors.Is(err, ErrNoGPU) {
		t.Errorf("Devices in a build without the gpu tag: %v, not an ErrNoGPU", err)
	}
}
