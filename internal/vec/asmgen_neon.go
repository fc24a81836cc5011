//go:build ignore

// asmgen_neon writes vec_arm64.s, the arm64 NEON (ASIMD) kernels of package
// vec. Run it with `go run asmgen_neon.go` here (or `GOARCH=arm64 go
// generate ./internal/vec`: go generate only reads impl_arm64.go's
// directive when GOARCH is arm64) after editing.
//
// The kernels are those of asmgen.go (same names with the suffix NEON, same
// arguments, same operations in the same order, the same two products fused
// into fused multiply-adds) on 4-lane vectors. Each one processes n
// elements, n a multiple of 4 and > 0 (the Go wrappers in impl_arm64.go run
// the remainder through a 4-element buffer, with the same code). Scalar
// parameters come through a pointer p to a [8]float32 and are broadcast
// into V16-V23 before the loop.
//
// Go's assembler has VFMLA, VFMLS, VAND and the loads and stores, but no
// FMUL, FADD, FSUB, FDIV, FSQRT or FCMGE on vectors: those are WORD
// encodings with the instruction in a comment (the encodings were checked
// against llvm-mc).
package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

// Three-register vector instructions on .4S: base | Rm<<16 | Rn<<5 | Rd.
var rrr = map[string]uint32{
	"FADD": 0x4e20d400,
	"FSUB": 0x4ea0d400,
	"FMUL": 0x6e20dc00,
	"FDIV": 0x6e20fc00,
}

// op is one kernel: Go arguments ptrs... (pointers to float32), n int and,
// when len(params) > 0, p *[8]float32. Pointer i is in register Ri, n in
// R(len(ptrs)), p in the next one.
type op struct {
	name   string
	ptrs   []string
	params []string // names of p[0], p[1], ...: broadcast into V16, V17, ...
	// body is one 4-lane step; "FMUL Vd, Vn, Vm" (Vd = Vn op Vm),
	// "FSQRT Vd, Vn" and "FCMGEZ Vd, Vn" (Vd = Vn ≥ 0 ? all ones : 0) are
	// encoded here, anything else is Go assembly.
	body []string
	// ftz: the kernel runs with FPCR's FZ bit set (the caller's FPCR restored
	// before it returns): denormal results and inputs are zero, as in
	// asmgen.go's kernels of the same name (MXCSR's FTZ and DAZ).
	ftz bool
}

var ops = []op{
	{
		name:   "adam",
		ftz:    true,
		ptrs:   []string{"w", "grad", "m", "v"},
		params: []string{"lr", "b1", "1-b1", "b2", "1-b2", "eps", "c1", "c2"},
		// R0=w R1=g R2=m R3=v; V16=lr V17=b1 V18=ob1 V19=b2 V20=ob2 V21=eps V22=c1 V23=c2
		body: []string{
			"VLD1.P 16(R1), [V0.S4]",     // g
			"FMUL V3, V18, V0",           // (1-b1)·g
			"VLD1 (R2), [V1.S4]",         // m
			"VFMLA V1.S4, V17.S4, V3.S4", // m' = fma(b1, m, (1-b1)·g)
			"VST1.P [V3.S4], 16(R2)",     //
			"FMUL V4, V20, V0",           // (1-b2)·g
			"FMUL V4, V4, V0",            // ((1-b2)·g)·g
			"VLD1 (R3), [V2.S4]",         // v
			"VFMLA V2.S4, V19.S4, V4.S4", // v' = fma(b2, v, ((1-b2)·g)·g)
			"VST1.P [V4.S4], 16(R3)",     //
			"FDIV V3, V3, V22",           // m'/c1
			"FMUL V3, V16, V3",           // lr·(m'/c1)
			"FDIV V4, V4, V23",           // v'/c2
			"FSQRT V4, V4",               // sqrt(v'/c2)
			"FADD V4, V4, V21",           // sqrt(v'/c2)+eps
			"FDIV V3, V3, V4",            // lr·(m'/c1)/(sqrt(v'/c2)+eps)
			"VLD1 (R0), [V5.S4]",         // w
			"FSUB V5, V5, V3",            // w - ...
			"VST1.P [V5.S4], 16(R0)",     //
		},
	},
	{
		name: "maskMul",
		ptrs: []string{"dst", "mask", "x"},
		body: []string{
			"VLD1.P 16(R1), [V0.S4]",
			"VLD1.P 16(R2), [V1.S4]",
			"FMUL V0, V0, V1",
			"VST1.P [V0.S4], 16(R0)",
		},
	},
	{
		name:   "geZero",
		ptrs:   []string{"mask", "x"},
		params: []string{"1"},
		body: []string{
			"VLD1.P 16(R1), [V0.S4]",
			"FCMGEZ V1, V0",                // x ≥ 0 (−0 too; NaN not): all ones
			"VAND V16.B16, V1.B16, V1.B16", // 1.0 or +0
			"VST1.P [V1.S4], 16(R0)",
		},
	},
	{
		name: "add",
		ptrs: []string{"dst", "a", "b"},
		body: []string{
			"VLD1.P 16(R1), [V0.S4]",
			"VLD1.P 16(R2), [V1.S4]",
			"FADD V0, V0, V1",
			"VST1.P [V0.S4], 16(R0)",
		},
	},
	{
		name:   "sgd",
		ptrs:   []string{"w", "grad"},
		params: []string{"lr"},
		body: []string{
			"VLD1.P 16(R1), [V0.S4]",
			"FMUL V0, V16, V0", // lr·g, rounded
			"VLD1 (R0), [V1.S4]",
			"FSUB V1, V1, V0", // w - lr·g
			"VST1.P [V1.S4], 16(R0)",
		},
	},
	{
		name:   "momentum",
		ftz:    true,
		ptrs:   []string{"w", "grad", "vel"},
		params: []string{"lr", "mu"},
		body: []string{
			"VLD1.P 16(R1), [V0.S4]",     // g
			"VLD1 (R2), [V1.S4]",         // vel
			"VFMLA V1.S4, V17.S4, V0.S4", // vel' = fma(mu, vel, g)
			"VST1.P [V0.S4], 16(R2)",
			"VLD1 (R0), [V2.S4]",
			"VFMLS V0.S4, V16.S4, V2.S4", // w' = w - lr·vel' fused = fma(-lr, vel', w)
			"VST1.P [V2.S4], 16(R0)",
		},
	},
}

func vreg(s string) uint32 {
	var n uint32
	if _, err := fmt.Sscanf(strings.TrimSpace(s), "V%d", &n); err != nil || n > 31 {
		panic("bad register " + s)
	}
	return n
}

// encode returns the WORD line for an instruction Go's assembler lacks, or
// the line itself.
func encode(line string) string {
	f := strings.SplitN(line, " ", 2)
	if len(f) < 2 {
		return line
	}
	args := strings.Split(f[1], ",")
	comment := fmt.Sprintf("%s %s", f[0], strings.ReplaceAll(strings.ReplaceAll(f[1], ", ", ".4S, "), "  ", " ")+".4S")
	switch {
	case rrr[f[0]] != 0:
		enc := rrr[f[0]] | vreg(args[2])<<16 | vreg(args[1])<<5 | vreg(args[0])
		return fmt.Sprintf("WORD $0x%08x // %s", enc, comment)
	case f[0] == "FSQRT":
		enc := 0x6ea1f800 | vreg(args[1])<<5 | vreg(args[0])
		return fmt.Sprintf("WORD $0x%08x // %s", enc, comment)
	case f[0] == "FCMGEZ":
		enc := 0x6ea0c800 | vreg(args[1])<<5 | vreg(args[0])
		return fmt.Sprintf("WORD $0x%08x // FCMGE %s.4S, %s.4S, #0.0", enc, strings.TrimSpace(args[0]), strings.TrimSpace(args[1]))
	}
	return line
}

func main() {
	var out bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&out, format+"\n", args...) }
	w("// Code generated by asmgen_neon.go; DO NOT EDIT.")
	w("")
	w("#include \"textflag.h\"")
	for _, o := range ops {
		name := o.name + "NEON"
		sig := strings.Join(o.ptrs, ", ") + " *float32, n int"
		nargs := len(o.ptrs) + 1
		if len(o.params) > 0 {
			sig += ", p *[8]float32"
			nargs++
		}
		w("")
		w("// func %s(%s)", name, sig)
		if len(o.params) > 0 {
			w("// p = [%s]", strings.Join(o.params, ", "))
		}
		w("TEXT ·%s(SB), NOSPLIT, $0-%d", name, 8*nargs)
		if o.ftz {
			// FZ is bit 24. An assembly function is never preempted asynchronously,
			// so the goroutine keeps this thread until the RET.
			w("\tMRS FPCR, R9")
			w("\tORR $(1<<24), R9, R10")
			w("\tMSR R10, FPCR")
		}
		for i, p := range o.ptrs {
			w("\tMOVD %s+%d(FP), R%d", p, 8*i, i)
		}
		nr := len(o.ptrs)
		w("\tMOVD n+%d(FP), R%d", 8*nr, nr)
		if len(o.params) > 0 {
			pr := nr + 1
			w("\tMOVD p+%d(FP), R%d", 8*(nr+1), pr)
			w("\tVLD1 (R%d), [V0.S4, V1.S4]", pr)
			for i := range o.params {
				w("\tVDUP V%d.S[%d], V%d.S4 // %s", i/4, i%4, 16+i, o.params[i])
			}
		}
		w("%s_loop:", name)
		for _, l := range o.body {
			w("\t%s", encode(l))
		}
		w("\tSUBS $4, R%d, R%d", nr, nr)
		w("\tBNE %s_loop", name)
		if o.ftz {
			w("\tMSR R9, FPCR")
		}
		w("\tRET")
	}
	if err := os.WriteFile("vec_arm64.s", out.Bytes(), 0o644); err != nil {
		panic(err)
	}
}
