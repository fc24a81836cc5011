package cuda

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/ir/ref"
	"github.com/graphtrain/graphtrain/lower/lowertest"
	"github.com/graphtrain/graphtrain/model"
)

// The kernel emulator runs the CUDA C source of kernels/*.cu on the CPU, so that the kernels
// themselves are tested without a GPU: each .cu file is compiled by g++ as it is, with
// emu/emu.h force-included (CUDA's qualifiers, threadIdx and friends, __syncthreads), and
// linked with emu/emu.cc (a block's threads as fibers, a barrier across them, and a driver
// that reads commands on stdin) and a table of typed trampolines generated here from the
// kernel signatures that TestKernelABI checks (x86-64 passes doubles in other registers than
// integers, so a launch needs a call of the kernel's own type). The build is made once per
// test run with AddressSanitizer and UndefinedBehaviorSanitizer, and every device slot is a
// malloc of exactly Program.Slots bytes: a kernel that reads or writes past a buffer, or
// does something undefined, kills the emulator with the sanitizer's report, and the test
// fails with it. The tests below are the CPU twins of device_gpu_test.go's.

var emuBuild struct {
	once sync.Once
	dir  string
	exe  string
	skip string // why the emulator cannot be built here
	err  error
}

// TestMain removes the emulator's build, if a test made one.
func TestMain(m *testing.M) {
	code := m.Run()
	if emuBuild.dir != "" {
		os.RemoveAll(emuBuild.dir)
	}
	os.Exit(code)
}

// emuFlags: -O1 keeps the build short (about 2 s of CPU); -g1 gives the sanitizers' reports
// file and line.
var emuFlags = []string{"-std=c++20", "-O1", "-g1", "-fno-omit-frame-pointer",
	"-fsanitize=address,undefined", "-fno-sanitize-recover=all"}

// emulator returns the path of the emulator executable, building it at the first call with
// $GRAPHTRAIN_EMU_CXX, else g++ (or g++-12, g++-11); it skips the test, saying why, where it
// cannot be built (no g++, not x86-64 Linux).
func emulator(t *testing.T) string {
	t.Helper()
	emuBuild.once.Do(func() {
		if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
			emuBuild.skip = "the kernel emulator switches fibers with x86-64 assembly: linux/amd64 only, this is " + runtime.GOOS + "/" + runtime.GOARCH
			return
		}
		var gxx string
		for _, name := range []string{os.Getenv("GRAPHTRAIN_EMU_CXX"), "g++", "g++-12", "g++-11"} {
			if path, err := exec.LookPath(name); name != "" && err == nil {
				gxx = path
				break
			}
		}
		if gxx == "" {
			emuBuild.skip = "no g++ to build the kernel emulator (Debian: apt-get install g++): the CUDA C kernels are not run on the CPU"
			return
		}
		emuBuild.dir, emuBuild.exe, emuBuild.err = buildEmulator(gxx, cuSignatures(t))
	})
	if emuBuild.skip != "" {
		t.Skip(emuBuild.skip)
	}
	if emuBuild.err != nil {
		t.Fatal(emuBuild.err)
	}
	if emuBuild.exe == "" {
		t.Fatal("the kernel emulator was not built: see the first test that failed")
	}
	return emuBuild.exe
}

// buildEmulator writes the kernel table and compiles the kernels, the runtime and the table
// in parallel, then links them.
func buildEmulator(gxx string, sigs map[string]kernelSig) (dir, exe string, err error) {
	if len(sigs) == 0 {
		return "", "", errors.New("no kernel signatures")
	}
	dir, err = os.MkdirTemp("", "graphtrain-emu-")
	if err != nil {
		return "", "", err
	}
	emuDir, _ := filepath.Abs("emu")
	table := filepath.Join(dir, "table.cc")
	if err := os.WriteFile(table, []byte(kernelTable(sigs)), 0o644); err != nil {
		return dir, "", err
	}
	cus, _ := filepath.Glob("kernels/*.cu")
	type unit struct{ src, obj string }
	units := []unit{{filepath.Join(emuDir, "emu.cc"), "emu.o"}, {table, "table.o"}}
	for _, cu := range cus {
		abs, _ := filepath.Abs(cu)
		units = append(units, unit{abs, strings.TrimSuffix(filepath.Base(cu), ".cu") + ".o"})
	}
	errs := make([]error, len(units))
	sem := make(chan struct{}, max(1, runtime.NumCPU()))
	var wg sync.WaitGroup
	for i, u := range units {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			args := append([]string{}, emuFlags...)
			args = append(args, "-I", emuDir)
			if strings.HasSuffix(u.src, ".cu") {
				args = append(args, "-x", "c++", "-include", "emu.h")
			}
			args = append(args, "-c", u.src, "-o", filepath.Join(dir, u.obj))
			if out, err := exec.Command(gxx, args...).CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("g++ %s: %v\n%s", u.src, err, out)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return dir, "", err
	}
	exe = filepath.Join(dir, "emu")
	args := append([]string{}, emuFlags...)
	for _, u := range units {
		args = append(args, filepath.Join(dir, u.obj))
	}
	if out, err := exec.Command(gxx, append(args, "-o", exe)...).CombinedOutput(); err != nil {
		return dir, "", fmt.Errorf("linking the kernel emulator: %v\n%s", err, out)
	}
	return dir, exe, nil
}

// kernelTable is the C++ source of emu_kernels: for each kernel, a declaration of its own
// type and a trampoline that calls it with the launch's pointers, long longs and doubles.
func kernelTable(sigs map[string]kernelSig) string {
	names := make([]string, 0, len(sigs))
	for k := range sigs {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("// Generated by cuda/emu_test.go from the kernel signatures in cuda/kernels/*.cu.\n#include \"emu.h\"\n\n")
	for _, k := range names {
		var params, args []string
		np, ni, nr := 0, 0, 0
		for _, c := range sigs[k] {
			switch c {
			case 'p':
				params, args = append(params, "void*"), append(args, fmt.Sprintf("p[%d]", np))
				np++
			case 'i':
				params, args = append(params, "long long"), append(args, fmt.Sprintf("i[%d]", ni))
				ni++
			case 'r':
				params, args = append(params, "double"), append(args, fmt.Sprintf("r[%d]", nr))
				nr++
			}
		}
		fmt.Fprintf(&b, "extern \"C\" void %s(%s);\n", k, strings.Join(params, ", "))
		fmt.Fprintf(&b, "static void call_%s(void* const* p, const long long* i, const double* r) { (void)p; (void)i; (void)r; %s(%s); }\n\n", k, k, strings.Join(args, ", "))
	}
	b.WriteString("const emu_kernel emu_kernels[] = {\n")
	for _, k := range names {
		fmt.Fprintf(&b, "    {%q, %q, call_%s},\n", k, string(sigs[k]), k)
	}
	fmt.Fprintf(&b, "};\nconst int emu_nkernels = %d;\n", len(names))
	return b.String()
}

// emuRun is a Program's slots in a running emulator.
type emuRun struct {
	p      *Program
	cmd    *exec.Cmd
	in     io.WriteCloser
	w      *bufio.Writer
	r      *bufio.Reader
	stderr bytes.Buffer
	dead   error
}

// newEmuRun starts an emulator holding p's slots, each of exactly its bytes; the test's
// cleanup stops it.
func newEmuRun(t *testing.T, p *Program) *emuRun {
	t.Helper()
	exe := emulator(t)
	e := &emuRun{p: p, cmd: exec.Command(exe)}
	e.cmd.Env = append(os.Environ(), "ASAN_OPTIONS=detect_leaks=0:halt_on_error=1", "UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1")
	e.cmd.Stderr = &e.stderr
	var err error
	if e.in, err = e.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := e.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e.w, e.r = bufio.NewWriterSize(e.in, 1<<16), bufio.NewReaderSize(out, 1<<16)
	t.Cleanup(e.close)
	sizes := fmt.Sprint(len(p.Slots))
	for _, s := range p.Slots {
		sizes += fmt.Sprint(" ", s)
	}
	if err := e.call("slots "+sizes, nil); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *emuRun) close() {
	if e.dead == nil {
		fmt.Fprintln(e.w, "quit")
		e.w.Flush()
		e.in.Close()
		e.cmd.Wait()
		e.dead = errors.New("closed")
	}
}

// call sends a command line (and data after it) and reads the answer line.
func (e *emuRun) call(line string, data []byte) error {
	if e.dead != nil {
		return e.dead
	}
	e.w.WriteString(line + "\n")
	e.w.Write(data)
	err := e.w.Flush()
	var ans string
	if err == nil {
		ans, err = e.r.ReadString('\n')
	}
	if err != nil {
		// The emulator died: a sanitizer's report or a fault is on its stderr.
		e.in.Close()
		werr := e.cmd.Wait()
		msg := e.stderr.String()
		if len(msg) > 4000 { // the report's head says what and where
			msg = msg[:4000] + "\n..."
		}
		e.dead = fmt.Errorf("kernel emulator died (%v) at %q:\n%s", werr, clip(line), msg)
		return e.dead
	}
	if ans = strings.TrimSuffix(ans, "\n"); ans != "ok" {
		return fmt.Errorf("kernel emulator: %q: %s", clip(line), ans)
	}
	return nil
}

// clip shortens a command line for an error message.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// launch runs l on the emulator: its buffers are their slots' starts, as on the device.
func (e *emuRun) launch(l Launch) error { return e.launchOn(l, kernelFor(l)) }

// launchOn runs l on kernel k (its name, grid and block) rather than kernelFor's.
func (e *emuRun) launchOn(l Launch, k kernel) error {
	var b strings.Builder
	fmt.Fprintf(&b, "launch %s %d %d %d %d %d %d", k.Name, k.Grid[0], k.Grid[1], k.Grid[2], k.Block[0], k.Block[1], k.Block[2])
	for _, id := range l.Args {
		fmt.Fprintf(&b, " %d", e.p.Buffers[id].Slot)
	}
	for _, v := range l.Ints {
		fmt.Fprintf(&b, " %d", v)
	}
	for _, v := range l.Reals {
		fmt.Fprintf(&b, " %x", math.Float64bits(v))
	}
	if err := e.call(b.String(), nil); err != nil {
		return fmt.Errorf("%s: %w", l, err)
	}
	return nil
}

// launchRead runs l on kernel k and reads its output (its last buffer) back.
func (e *emuRun) launchRead(l Launch, k kernel) ([]float64, error) {
	if err := e.launchOn(l, k); err != nil {
		return nil, err
	}
	return e.read(l.Args[len(l.Args)-1])
}

// firstDiff is the first index where a and b differ bit for bit, or -1.
func firstDiff(a, b []float64) int {
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return i
		}
	}
	return -1
}

// run launches the whole program.
func (e *emuRun) run() error {
	for _, l := range e.p.Launches {
		if err := e.launch(l); err != nil {
			return err
		}
	}
	return nil
}

// elemType is how buffer id is stored on the device: 'f' float32, 'd' float64, 'q' long long
// (the training set's order and cursor).
func elemType(p *Program, id int) byte {
	switch {
	case p.Data != nil && (id == p.Data.Order || id == p.Data.Cursor):
		return 'q'
	case p.Buffers[id].Elem == 4:
		return 'f'
	}
	return 'd'
}

func (e *emuRun) write(id int, v []float64) error {
	data := encodeBuf(e.p, id, v)
	return e.call(fmt.Sprintf("write %d %d", e.p.Buffers[id].Slot, len(data)), data)
}

// encodeBuf is buffer id of p's bytes holding v.
func encodeBuf(p *Program, id int, v []float64) []byte {
	b := p.Buffers[id]
	data := make([]byte, b.Bytes())
	typ := elemType(p, id)
	for i := 0; i < b.Elems; i++ {
		switch typ {
		case 'f':
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(float32(v[i])))
		case 'd':
			binary.LittleEndian.PutUint64(data[8*i:], math.Float64bits(v[i]))
		case 'q':
			binary.LittleEndian.PutUint64(data[8*i:], uint64(int64(v[i])))
		}
	}
	return data
}

func (e *emuRun) read(id int) ([]float64, error) {
	b := e.p.Buffers[id]
	if err := e.call(fmt.Sprintf("read %d %d", b.Slot, b.Bytes()), nil); err != nil {
		return nil, err
	}
	data := make([]byte, b.Bytes())
	if _, err := io.ReadFull(e.r, data); err != nil {
		return nil, err
	}
	return decodeBuf(e.p, id, data), nil
}

// decodeBuf is the values of buffer id of p from its bytes.
func decodeBuf(p *Program, id int, data []byte) []float64 {
	out := make([]float64, p.Buffers[id].Elems)
	typ := elemType(p, id)
	for i := range out {
		switch typ {
		case 'f':
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:])))
		case 'd':
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:]))
		case 'q':
			out[i] = float64(int64(binary.LittleEndian.Uint64(data[8*i:])))
		}
	}
	return out
}

// loadFrom uploads every buffer of h that is not a temporary (parameters, solver state,
// constants, the step counter, the loss sum, the inputs, the training set), as a trainer does.
func (e *emuRun) loadFrom(h *ref.Machine) error {
	for id, b := range e.p.Buffers {
		if b.Kind != ir.Temp {
			if err := e.write(id, h.Buf(id)); err != nil {
				return err
			}
		}
	}
	return nil
}

// emuTol is the relative error allowed between the emulator and the host interpreter: in
// float32 the kernels accumulate in float32 where the host rounds a float64 sum once.
func emuTol(p *Program, id int) float64 {
	if elemType(p, id) == 'f' {
		return 1e-4
	}
	return 1e-12
}

// worstErrs records the largest relative error seen per kernel, for the log.
type worstErrs map[string]float64

func (w worstErrs) note(kernel string, e float64) {
	if old, seen := w[kernel]; !seen || e > old || math.IsNaN(e) {
		w[kernel] = e
	}
}

func (w worstErrs) log(t *testing.T) {
	names := make([]string, 0, len(w))
	for k := range w {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		fmt.Fprintf(&b, "\n  %-18s %.2g", k, w[k])
	}
	t.Logf("worst relative error per kernel, emulator against the host interpreter:%s", b.String())
}

// stepLaunches runs p's launches one at a time on the emulator and on the host, compares every
// buffer each launch reads or writes, and copies the emulator's values into the host run, so
// that every launch is compared on the same inputs.
func stepLaunches(t *testing.T, what string, e *emuRun, h *ref.Machine, worst worstErrs) {
	t.Helper()
	p := e.p
	for i, l := range p.Launches {
		if err := e.launch(l); err != nil {
			t.Fatalf("%s launch %d: %v", what, i, err)
		}
		if err := h.Exec(l); err != nil {
			t.Fatalf("%s launch %d (host): %v", what, i, err)
		}
		compareLaunch(t, fmt.Sprintf("%s launch %d", what, i), p, l, e.read, h, worst)
	}
}

// compareLaunch compares every buffer of launch l of p as a kernel left it (read) with the
// host interpreter's h, within emuTol, and then gives h the kernel's values: its outputs (an
// update's parameters and state, both of softmax_xent's results) and its inputs, which must
// come out as they went in.
func compareLaunch(t *testing.T, what string, p *Program, l Launch, read func(int) ([]float64, error), h *ref.Machine, worst worstErrs) {
	t.Helper()
	seen := map[int]bool{}
	for _, b := range l.Args {
		if seen[b] {
			continue
		}
		seen[b] = true
		got, err := read(b)
		if err != nil {
			t.Fatal(err)
		}
		d := lowertest.RelErr(got, h.Buf(b))
		worst.note(kernelFor(l).Name, d)
		if !(d <= emuTol(p, b)) {
			t.Errorf("%s %s (%s), buffer %s: off by %.2g relative", what, kernelFor(l).Name, l.What, p.Buffers[b].Name, d)
		}
		copy(h.Buf(b), got)
	}
}

// ownSlots is p with every buffer in a slot of its own, of exactly the buffer's bytes: where
// the plan puts a buffer in a bigger slot, an access past the buffer still faults.
func ownSlots(p *Program) *Program {
	q := p.Clone()
	q.Slots = make([]int64, len(q.Buffers))
	for i := range q.Buffers {
		q.Buffers[i].Slot = i
		q.Slots[i] = q.Buffers[i].Bytes()
	}
	return q
}

// solverLR is a learning rate for each solver in the tests.
var solverLR = map[string]float64{"sgd": 0.1, "momentum": 0.05, "adam": 1e-3, "adamw": 1e-2}

// TestEmuKernelsMatchHost runs every launch of each model's program (xor in float64, mlp and
// cnn in float32), with each solver, on the emulator and on the host interpreter, and
// compares each launch's output: two steps of the program with its inputs uploaded and each
// buffer in a slot of its own (so that the sanitizer sees a read or write past any buffer),
// then two of the program with a resident training set (WithDataset: gather_rows,
// cursor_add) over the buffer plan as it is.
func TestEmuKernelsMatchHost(t *testing.T) {
	worst := worstErrs{}
	for _, tm := range lowertest.Models(t) {
		for _, solver := range []string{"sgd", "momentum", "adam", "adamw"} {
			base, s := lowerModel(t, tm.M, tm.Batch, solver, solverLR[solver])
			what := tm.M.Spec.Kind + " " + solver
			// Inputs uploaded; every buffer in a slot of exactly its bytes.
			own := ownSlots(base)
			e := newEmuRun(t, own)
			h := ref.New(own, tm.M, s)
			for step := 0; step < 2; step++ {
				x, y := lowertest.Batch(tm.M, tm.Batch, int64(3+step))
				copy(h.Buf(own.X), ref.ToF64(x))
				copy(h.Buf(own.Y), ref.ToF64(y))
				if err := e.loadFrom(h); err != nil {
					t.Fatal(err)
				}
				stepLaunches(t, fmt.Sprintf("%s step %d", what, step), e, h, worst)
			}
			e.close()
			// A resident training set of two batches and three more examples; the buffer plan
			// as the device has it, temporaries sharing slots.
			n := 2*tm.Batch + 3
			p, err := base.WithDataset(n)
			if err != nil {
				t.Fatal(err)
			}
			e = newEmuRun(t, p)
			h = ref.New(p, tm.M, s)
			x, y := lowertest.Batch(tm.M, n, 5)
			copy(h.Buf(p.Data.Examples), ref.ToF64(x))
			copy(h.Buf(p.Data.Targets), ref.ToF64(y))
			order, err := p.OrderValues(rand.New(rand.NewSource(6)).Perm(n))
			if err != nil {
				t.Fatal(err)
			}
			h.SetOrder(order)
			if err := e.loadFrom(h); err != nil {
				t.Fatal(err)
			}
			for step := 0; step < 2; step++ {
				stepLaunches(t, fmt.Sprintf("%s resident step %d", what, step), e, h, worst)
			}
			e.close()
		}
	}
	worst.log(t)
}

// TestEmuTrainingMatchesHost trains on the emulator and on the host interpreter side by side,
// with nothing copied between them: xor in float64 for many steps, the mlp with a resident
// training set over two passes in different orders (the rate halved in the second), with
// adam and with adamw (the weights decayed), the cnn with its batches uploaded. Every step's loss, then the parameters, the solver state, the
// loss sum and the last output agree.
func TestEmuTrainingMatchesHost(t *testing.T) {
	cases := []struct {
		kind, solver string
		resident     bool
		steps        int // steps, or the first pass's steps when resident (the second takes one fewer)
		tol          float64
	}{
		{"xor", "momentum", false, 60, 1e-12}, {"mlp", "adam", true, 4, 1e-4}, {"cnn", "adam", false, 3, 1e-4},
		{"mlp", "adamw", true, 4, 1e-4},
	}
	for _, c := range cases {
		t.Run(c.kind+"_"+c.solver, func(t *testing.T) {
			models := lowertest.Models(t)
			tm := models[0]
			for _, m := range models {
				if m.M.Spec.Kind == c.kind {
					tm = m
				}
			}
			lr := solverLR[c.solver]
			p, s := lowerModel(t, tm.M, tm.Batch, c.solver, lr)
			rng := rand.New(rand.NewSource(8))
			var n int
			if c.resident {
				n = (c.steps + 1) * tm.Batch // a few examples left over each pass
				var err error
				if p, err = p.WithDataset(n); err != nil {
					t.Fatal(err)
				}
			}
			e := newEmuRun(t, p)
			h := ref.New(p, tm.M, s)
			if c.resident {
				x, y := lowertest.Batch(tm.M, n, 5)
				copy(h.Buf(p.Data.Examples), ref.ToF64(x))
				copy(h.Buf(p.Data.Targets), ref.ToF64(y))
			}
			if err := e.loadFrom(h); err != nil {
				t.Fatal(err)
			}
			step := func(i int) {
				if err := e.run(); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if err := h.Run(); err != nil {
					t.Fatalf("step %d (host): %v", i, err)
				}
				got, err := e.read(p.Loss)
				if err != nil {
					t.Fatal(err)
				}
				if d := lowertest.RelErr(got, h.Buf(p.Loss)); !(d <= c.tol) {
					t.Errorf("step %d: loss %v, host %v", i, got[0], h.Buf(p.Loss)[0])
				}
			}
			steps := 0
			if c.resident {
				for pass, k := range []int{c.steps, c.steps - 1} {
					order, err := p.OrderValues(rng.Perm(n))
					if err != nil {
						t.Fatal(err)
					}
					h.SetOrder(order)
					for _, id := range []int{p.Data.Order, p.Data.Cursor} {
						if err := e.write(id, h.Buf(id)); err != nil {
							t.Fatal(err)
						}
					}
					if pass == 1 {
						p.SetLR(lr / 2) // the emulator and the host run the same launches
					}
					for i := 0; i < k; i++ {
						step(steps)
						steps++
					}
				}
			} else {
				for i := 0; i < c.steps; i++ {
					x, y := lowertest.Batch(tm.M, tm.Batch, int64(30+i))
					copy(h.Buf(p.X), ref.ToF64(x))
					copy(h.Buf(p.Y), ref.ToF64(y))
					for _, id := range []int{p.X, p.Y} {
						if err := e.write(id, h.Buf(id)); err != nil {
							t.Fatal(err)
						}
					}
					step(i)
					steps++
				}
			}
			check := map[string]int{"loss sum": p.LossSum, "output": p.Out}
			for i, id := range p.Params {
				check[tm.M.Params[i].Name] = id
			}
			for _, st := range p.State {
				check[st.Key] = st.Buffer
			}
			if p.Step >= 0 {
				check["step"] = p.Step
			}
			if p.Data != nil {
				check["cursor"] = p.Data.Cursor
			}
			worst := 0.0
			for name, id := range check {
				got, err := e.read(id)
				if err != nil {
					t.Fatal(err)
				}
				d := lowertest.RelErr(got, h.Buf(id))
				worst = max(worst, d)
				if !(d <= c.tol) {
					t.Errorf("%s off by %.2g relative after %d steps", name, d, steps)
				}
			}
			t.Logf("%d steps: worst relative error %.2g", steps, worst)
		})
	}
}

// emuOdd starts the emulator on o's program with its blocks' threads resumed in order
// ("forward" or "reverse") and the host interpreter beside it, both holding o's inputs.
func emuOdd(t *testing.T, o *lowertest.Odd, order string) (*emuRun, *ref.Machine) {
	t.Helper()
	e := newEmuRun(t, o.P)
	h := ref.New(o.P, nil, nil)
	if err := e.call("order "+order, nil); err != nil {
		t.Fatal(err)
	}
	for id, v := range o.Inputs {
		copy(h.Buf(id), v)
		if err := e.write(id, v); err != nil {
			t.Fatal(err)
		}
	}
	return e, h
}

// TestEmuOddShapes runs the kernels on shapes the models do not exercise, in both precisions,
// against the host interpreter: GEMMs whose M, N, K are not multiples of the 16x16 tile, with
// every transpose combination, split along K too; sums longer than reduce_sum's 128 threads; softmax rows spread
// over two blocks, the fused softmax cross-entropy too; im2col, col2im and max pooling with padding, strides, dilation and
// overlapping windows; every binary operator with broadcasts and ties; the unary operators
// all unary operators; a 4-D transpose.
func TestEmuOddShapes(t *testing.T) {
	worst := worstErrs{}
	for _, dtype := range []ir.Dtype{ir.Float32, ir.Float64} {
		o := lowertest.NewOdd(dtype)
		o.AddAll()
		// Each block's threads resumed first to last, then last to first: a race that a
		// missing __syncthreads leaves open would give another result in one of the orders.
		for _, order := range []string{"forward", "reverse"} {
			e, h := emuOdd(t, o, order)
			stepLaunches(t, dtype.String()+" "+order, e, h, worst)
		}
	}
	worst.log(t)
}

// TestEmuWideProducts runs the products of lowertest's AddProducts (whole, with a bias, split
// along K; every transpose; sides that are not whole tiles, a C of several 64x64 tiles) on the
// _t64 kernels, which the models' programs take only for a C of many tiles, in both precisions
// and both orders of a block's threads, against the host interpreter; then each launch again
// on the 16x16 kernel, which must give the same bits (the same sums in the same order).
func TestEmuWideProducts(t *testing.T) {
	worst := worstErrs{}
	defer func() { gemmWideAlways = false }()
	for _, dtype := range []ir.Dtype{ir.Float32, ir.Float64} {
		o := lowertest.NewOdd(dtype)
		o.AddProducts()
		for _, order := range []string{"forward", "reverse"} {
			gemmWideAlways = true
			e, h := emuOdd(t, o, order)
			for _, l := range o.P.Launches {
				if name := kernelFor(l).Name; !strings.Contains(name, "_t64_") {
					t.Fatalf("%s: kernel %s, want a _t64 one", l.What, name)
				}
			}
			stepLaunches(t, dtype.String()+" "+order, e, h, worst)
			for _, l := range o.P.Launches {
				wide, err := e.read(l.Args[len(l.Args)-1])
				if err != nil {
					t.Fatal(err)
				}
				gemmWideAlways = false
				tiled, err := e.launchRead(l, kernelFor(l))
				gemmWideAlways = true
				if err != nil {
					t.Fatal(err)
				}
				if j := firstDiff(wide, tiled); j >= 0 {
					t.Errorf("%s %s %s: value %d is %v on the _t64 kernel, %v on the 16x16 one", dtype, order, l.What, j, wide[j], tiled[j])
				}
			}
			e.close()
		}
	}
	worst.log(t)
}

// TestEmuAugmentExact: the augment kernel gives the host interpreter's values bit for bit,
// elastic distortion included, in both precisions, on every row of lowertest.AugmentCases
// (odd sides, several channels, steps beyond 32 bits, margin grids of odd width), over
// images of smooth values with a few zeros and some negative ones, each buffer in a slot of
// its own.
func TestEmuAugmentExact(t *testing.T) {
	for _, dtype := range []ir.Dtype{ir.Float32, ir.Float64} {
		o := lowertest.NewOdd(dtype)
		pixel := func() float64 { return o.Rng.Float64()*1.3 - 0.1 }
		for i, c := range lowertest.AugmentCases {
			p := lowertest.AugmentLaunch(c, int64(3*i)-5)
			n := p.Batch * p.C * p.H * p.W
			o.P.Launches = append(o.P.Launches, ir.Launch{Op: ir.Augment, Dtype: dtype, What: fmt.Sprint("augment ", c), Node: 1,
				Args: []int{o.In(n, pixel), o.Step(float64(c[7])), o.Out(n)}, Ints: p.Ints(), Reals: p.Reals()})
		}
		e := newEmuRun(t, ownSlots(o.P))
		h := ref.New(o.P, nil, nil)
		for id, v := range o.Inputs {
			copy(h.Buf(id), v)
			if err := e.write(id, v); err != nil {
				t.Fatal(err)
			}
		}
		for _, l := range o.P.Launches {
			if err := e.launch(l); err != nil {
				t.Fatalf("%s %s: %v", dtype, l.What, err)
			}
			if err := h.Exec(l); err != nil {
				t.Fatalf("%s %s (host): %v", dtype, l.What, err)
			}
			out := l.Args[2]
			got, err := e.read(out)
			if err != nil {
				t.Fatal(err)
			}
			if want := h.Buf(out); !slices.Equal(got, want) {
				t.Errorf("%s %s: off the host by %.2g relative, want bit for bit", dtype, l.What, lowertest.RelErr(got, want))
			}
		}
	}
}

// TestEmuConvShapes runs the fused convolutions' kernels (implicit GEMMs, no columns) on the
// shapes of lowertest's ConvCases and ConvPoolCases, in both precisions and both orders of a
// block's threads, against the host interpreter: padding, strides, dilation, odd sides, the
// LeNet's layers, batches and channels that are not whole tiles, the filter gradient in
// parts; then the gradients through a pooling. Every launch runs twice on the same inputs
// and must give the same bits (the sums' order is fixed).
func TestEmuConvShapes(t *testing.T) {
	worst := worstErrs{}
	for _, dtype := range []ir.Dtype{ir.Float32, ir.Float64} {
		o := lowertest.NewOdd(dtype)
		o.AddConvs()
		for _, order := range []string{"forward", "reverse"} {
			e, h := emuOdd(t, o, order)
			stepLaunches(t, dtype.String()+" "+order, e, h, worst)
			for i, l := range o.P.Launches {
				first, err := e.read(l.Args[len(l.Args)-1])
				if err != nil {
					t.Fatal(err)
				}
				again, err := e.launchRead(l, kernelFor(l))
				if err != nil {
					t.Fatal(err)
				}
				if j := firstDiff(first, again); j >= 0 {
					t.Errorf("%s %s launch %d %s: value %d is %v, then %v", dtype, order, i, l.What, j, first[j], again[j])
				}
			}
			e.close()
		}
	}
	worst.log(t)
}

// emuSameBits runs every launch of lowertest's AddConvs whose kernel's name holds marker on
// that kernel and on each kernel others gives for it, in both precisions and both orders of a
// block's threads, and fails where their values differ by a bit, or where fewer than least
// launches take such a kernel.
func emuSameBits(t *testing.T, marker string, least int, others func(l Launch, k kernel) []kernel) {
	t.Helper()
	for _, dtype := range []ir.Dtype{ir.Float32, ir.Float64} {
		o := lowertest.NewOdd(dtype)
		o.AddConvs()
		for _, order := range []string{"forward", "reverse"} {
			e, _ := emuOdd(t, o, order)
			n := 0
			for _, l := range o.P.Launches {
				k := kernelFor(l)
				if !strings.Contains(k.Name, marker) {
					continue
				}
				n++
				got, err := e.launchRead(l, k)
				if err != nil {
					t.Fatal(err)
				}
				for _, other := range others(l, k) {
					want, err := e.launchRead(l, other)
					if err != nil {
						t.Fatal(err)
					}
					if j := firstDiff(got, want); j >= 0 {
						t.Errorf("%s %s %s: value %d is %v on %s, %v on %s", dtype, order, l.What, j, got[j], k.Name, want[j], other.Name)
					}
				}
			}
			if n < least {
				t.Errorf("%s: %d launches on a %s kernel, want the cases' %d or more", dtype, n, marker, least)
			}
			e.close()
		}
	}
}

// TestEmuNarrowFilterBits: the filter gradients that take the _c8 kernel (at most 8 channels
// and 32 taps) give the bits of the _k16 kernel they replace and, in parts, those of the _t4
// kernel that takes them over many parts, on every such case of lowertest's AddConvs (routed
// too).
func TestEmuNarrowFilterBits(t *testing.T) {
	defer func() { filtTiledAlways = false }()
	emuSameBits(t, "_c8_", 10, func(l Launch, k kernel) []kernel {
		k16 := k
		k16.Name = strings.Replace(k.Name, "_c8_", "_k16_", 1)
		k16.Grid[0], k16.Grid[1], k16.Block = blocks(k.Grid[0]*2*filtTile, filtTile), blocks(k.Grid[1]*filtNarrow, filtTile), [3]int{filtTile, filtTile, 1}
		if l.Op == ir.ConvFilter { // one part
			return []kernel{k16}
		}
		filtTiledAlways = true
		t4 := kernelFor(l)
		filtTiledAlways = false
		if !strings.Contains(t4.Name, "_t4_") {
			t.Fatalf("%s: kernel %s with filtTiledAlways", l.What, t4.Name)
		}
		return []kernel{k16, t4}
	})
}

// TestEmuSixChannelBits: the convolutions of at most 6 channels (output channels forward,
// the image's for an image gradient) that take the _n6 kernels (3 channels by 2 columns of
// threads) give the bits of the _n8 kernels they replace, on every such case of lowertest's
// AddConvs (ConvCases, ConvPoolCases, the routed image gradients).
func TestEmuSixChannelBits(t *testing.T) {
	defer func() { convN8Always = false }()
	emuSameBits(t, "_n6_", 20, func(l Launch, k kernel) []kernel {
		convN8Always = true
		k8 := kernelFor(l)
		convN8Always = false
		if !strings.Contains(k8.Name, "_n8_") || k8.Block[0] != 128 || k.Block[0] != 64 {
			t.Fatalf("%s: kernels %s (%v) and %s (%v)", l.What, k.Name, k.Block, k8.Name, k8.Block)
		}
		return []kernel{k8}
	})
}

// TestEmuRouteBits: the kernels that read a gradient through a pooling's route give the bits
// of the launches they replace, which read the routed gradient that pool_route_back stores:
// route_filter's first C·kh·kw columns are conv_filter_split's in the same parts, route_data
// is conv_data, on every such case of lowertest's AddConvs, in both precisions.
func TestEmuRouteBits(t *testing.T) {
	for _, dtype := range []ir.Dtype{ir.Float32, ir.Float64} {
		o := lowertest.NewOdd(dtype)
		o.AddConvs()
		type pair struct {
			routed, stored Launch
			k              int // the columns of a filter gradient; 0 for an image gradient
		}
		var pairs []pair
		for _, l := range slices.Clone(o.P.Launches) {
			var cp ir.ConvPoolParams
			images := 0
			switch l.Op {
			case ir.RouteFilter:
				rp, err := l.RouteFilterParams()
				if err != nil {
					t.Fatal(err)
				}
				cp, images = rp.ConvPoolParams, rp.Images
			case ir.RouteData:
				var err error
				if cp, err = l.ConvPoolParams(); err != nil {
					t.Fatal(err)
				}
			default:
				continue
			}
			c := cp.Conv
			dpre := o.Out(c.B * c.Cout * c.OH * c.OW)
			o.Launch(ir.PoolRouteBack, "routed gradient: "+l.What, []int{l.Args[0], l.Args[1], dpre}, cp.Pool.Ints())
			k := 0
			if images == 0 {
				o.Launch(ir.ConvData, "stored: "+l.What, []int{dpre, l.Args[2], o.Out(c.B * c.C * c.H * c.W)}, c.Ints())
			} else {
				sp := ir.ConvSplitParams{Conv: c, Images: images}
				k = c.C * c.KH * c.KW
				o.Launch(ir.ConvFilterSplit, "stored: "+l.What, []int{dpre, l.Args[2], o.Out(sp.Parts() * c.Cout * k)}, sp.Ints())
			}
			pairs = append(pairs, pair{l, o.P.Launches[len(o.P.Launches)-1], k})
		}
		if len(pairs) < 3*len(lowertest.ConvPoolCases) {
			t.Fatalf("%d routed launches, want 4 a case of lowertest.ConvPoolCases", len(pairs))
		}
		e, _ := emuOdd(t, o, "forward")
		if err := e.run(); err != nil {
			t.Fatal(err)
		}
		for _, pr := range pairs {
			got, err := e.read(pr.routed.Args[len(pr.routed.Args)-1])
			if err != nil {
				t.Fatal(err)
			}
			want, err := e.read(pr.stored.Args[len(pr.stored.Args)-1])
			if err != nil {
				t.Fatal(err)
			}
			if pr.k > 0 { // drop each row's last column, the bias
				var cols []float64
				for r := 0; r < len(got); r += pr.k + 1 {
					cols = append(cols, got[r:r+pr.k]...)
				}
				got = cols
			}
			if len(got) != len(want) {
				t.Fatalf("%s: %d values, %d stored", pr.routed.What, len(got), len(want))
			}
			if j := firstDiff(got, want); j >= 0 {
				t.Errorf("%s %s: value %d is %v on %s, %v on %s", dtype, pr.routed.What, j, got[j], kernelFor(pr.routed).Name, want[j], kernelFor(pr.stored).Name)
			}
		}
		e.close()
	}
}

// TestEmuCatchesFaults: the sanitizers are on. A launch that reads one element past its
// buffer, and one whose index arithmetic overflows, kill the emulator with a report that
// names the kernel's source line, and the test sees it.
func TestEmuCatchesFaults(t *testing.T) {
	for _, c := range []struct {
		kernel ir.Op
		ints   []int64
		want   string
	}{
		{ir.Unary, i64s(65, 9), "heap-buffer-overflow"},                                   // n = 65 over 64 elements
		{ir.Gather4, []int64{4, 4, 1, 1, 1, 1 << 62, 0, 0, 0}, "signed integer overflow"}, // i0·s0 = 2⁶³
	} {
		o := lowertest.NewOdd(ir.Float32)
		o.Launch(c.kernel, "fault", []int{o.In(64, o.Normal), o.Out(64)}, c.ints)
		e := newEmuRun(t, o.P)
		err := e.launch(o.P.Launches[0])
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "elementwise.cu") {
			t.Errorf("%s: %v; want the emulator to die with %q in elementwise.cu", c.kernel, err, c.want)
		}
	}
}

// TestEmuDeepMLP runs two steps of a three-hidden-layer mlp's program, each buffer in a slot
// of its own, on the emulator and on the host interpreter, launch by launch, as
// TestEmuKernelsMatchHost does for the standard models: the kernels take any depth.
func TestEmuDeepMLP(t *testing.T) {
	m, err := model.NewDeepMLP([]int{24, 16, 12}, 3)
	if err != nil {
		t.Fatal(err)
	}
	worst := worstErrs{}
	emuSteps(t, "deep mlp adam", lowertest.Case{M: m, Batch: 8, Solver: "adam", LR: solverLR["adam"]}, worst)
	worst.log(t)
}

// emuSteps runs two steps of c's program, each buffer in a slot of its own, on the emulator
// and on the host interpreter, comparing every launch's output.
func emuSteps(t *testing.T, what string, c lowertest.Case, worst worstErrs) {
	t.Helper()
	base, s := lowerModel(t, c.M, c.Batch, c.Solver, c.LR)
	own := ownSlots(base)
	e := newEmuRun(t, own)
	defer e.close()
	h := ref.New(own, c.M, s)
	for step := 0; step < 2; step++ {
		x, y := lowertest.Batch(c.M, c.Batch, int64(3+step))
		copy(h.Buf(own.X), ref.ToF64(x))
		copy(h.Buf(own.Y), ref.ToF64(y))
		if err := e.loadFrom(h); err != nil {
			t.Fatal(err)
		}
		stepLaunches(t, fmt.Sprintf("%s step %d", what, step), e, h, worst)
	}
}
