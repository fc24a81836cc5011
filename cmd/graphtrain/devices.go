package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/pflag"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/cpu"
	"github.com/graphtrain/graphtrain/cuda"
	"github.com/graphtrain/graphtrain/internal/gemm"
	"github.com/graphtrain/graphtrain/vm"
)

func init() {
	register(&command{
		path:  "devices",
		short: "list the backends compiled in and the GPUs found (or why none is usable)",
		run:   runDevices,
	})
	register(&command{
		path:  "version",
		short: "print graphtrain's version and what it was built with",
		run:   runVersion,
	})
}

func runDevices(e *env, fs *pflag.FlagSet, _ any) error {
	if fs.NArg() > 0 {
		return usagef("devices takes no arguments, got %q", fs.Args())
	}
	var names []string
	for _, b := range backend.Backends() {
		names = append(names, b.Name())
	}
	fmt.Fprintf(e.stdout, "backends compiled in: %v\n", names)
	fmt.Fprintf(e.stdout, "vm: %s\n", vm.VM{}.Describe())
	fmt.Fprintf(e.stdout, "cpu: %s\n", cpu.Backend{}.Describe())
	devs, driver, err := cuda.Devices()
	gpu := map[string]any{"compiled": cuda.Compiled}
	if err != nil {
		fmt.Fprintf(e.stdout, "cuda: %s\n", strings.TrimPrefix(err.Error(), "cuda: "))
		gpu["reason"] = err.Error()
	} else {
		fmt.Fprintf(e.stdout, "cuda: driver supports CUDA %s, %d GPU(s)\n", driver, len(devs))
		for _, d := range devs {
			fmt.Fprintf(e.stdout, "  gpu %d: %s, compute capability %s, %.1f GiB\n", d.Index, d.Name, d.ComputeCapability, float64(d.MemoryBytes)/(1<<30))
		}
		gpu["driver_cuda"], gpu["gpus"] = driver, devs
	}
	if e.g.JSON {
		return e.emitJSON(map[string]any{
			"backends": names,
			"cpu":      map[string]any{"gomaxprocs": runtime.GOMAXPROCS(0), "num_cpu": runtime.NumCPU(), "arch": runtime.GOARCH, "gemm_kernel": gemm.Kernel()},
			"cuda":     gpu,
		})
	}
	return nil
}

// buildInfo is what graphtrain was built with.
type buildInfo struct {
	version, goVersion, gorgonia, os, arch string
	gpu                                    bool
}

// versionInfo is what this binary was built with.
func versionInfo() buildInfo {
	gorgonia := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "gorgonia.org/gorgonia" {
				gorgonia = d.Version
			}
		}
	}
	return buildInfo{version, runtime.Version(), gorgonia, runtime.GOOS, runtime.GOARCH, cuda.Compiled}
}

// versionString is the version line: graphtrain dev (go1.26.8, gorgonia v0.9.18, linux/amd64, cpu only).
func versionString() string {
	v := versionInfo()
	gpu := "cpu only"
	if v.gpu {
		gpu = "with gpu"
	}
	return fmt.Sprintf("graphtrain %s (%s, gorgonia %s, %s/%s, %s)", v.version, v.goVersion, v.gorgonia, v.os, v.arch, gpu)
}

// runVersion prints the version line, or with --json the same as JSON.
func runVersion(e *env, fs *pflag.FlagSet, _ any) error {
	if fs.NArg() > 0 {
		return usagef("version takes no arguments, got %q", fs.Args())
	}
	if e.g.JSON {
		v := versionInfo()
		return e.emitJSON(map[string]any{"version": v.version, "go": v.goVersion, "gorgonia": v.gorgonia, "os": v.os, "arch": v.arch, "gpu": v.gpu})
	}
	fmt.Fprintln(e.stdout, versionString())
	return nil
}
