package main

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/jpeg"
	"maps"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/image/tiff"

	"github.com/graphtrain/graphtrain/checkpoint"
	"github.com/graphtrain/graphtrain/datasets"
	"github.com/graphtrain/graphtrain/internal/npy"
	"github.com/graphtrain/graphtrain/model"
)

// Hostile inputs, as a new user with bad luck (or bad intent) would give them: every case
// must end in one line of error (or work), at once, in bounded memory, with no Go runtime
// crash, no hang and no package prefix or Go type name in the message.

// maxRefusedRSS is the most memory a refused input may make graphtrain take.
const maxRefusedRSS = 200 << 20

// A process's peak RSS as wait4 reports it (ru_maxrss) starts from its parent's RSS at the
// fork: a child of this test process, which holds MNIST after some tests, would report
// hundreds of MiB before running a line. So the binary is run by a copy of the test binary
// started afresh (rssWrap, small), which reports its own child's figure in a file.
const (
	rssWrapEnv = "GRAPHTRAIN_TEST_RSS_WRAP" // the file the wrapper writes the peak RSS to
)

// rssWrap runs os.Args[1:], passing stdin, stdout, stderr and the exit status through, and
// writes the child's peak RSS in bytes to the file named by rssWrapEnv.
func rssWrap() int {
	c := exec.Command(os.Args[1], os.Args[2:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err := c.Run()
	if c.ProcessState == nil {
		fmt.Fprintln(os.Stderr, "rss wrapper:", err)
		return 125
	}
	if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
		os.WriteFile(os.Getenv(rssWrapEnv), []byte(strconv.FormatInt(ru.Maxrss*1024, 10)), 0o644)
	}
	return c.ProcessState.ExitCode()
}

// measured is a command that runs args of the binary through rssWrap; peak reads its figure
// after it ran.
func measured(ctx context.Context, t *testing.T, args ...string) (cmd *exec.Cmd, peak func() int64) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "rss")
	cmd = exec.CommandContext(ctx, os.Args[0], append([]string{binPath}, args...)...)
	cmd.Env = append(os.Environ(), rssWrapEnv+"="+file)
	return cmd, func() int64 {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v: no peak RSS from the wrapper: %v", args, err)
		}
		n, _ := strconv.ParseInt(string(b), 10, 64)
		return n
	}
}

// hostileRun runs the binary with a deadline and returns its result and peak RSS in bytes.
func hostileRun(t *testing.T, dir string, args ...string) (result, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd, peak := measured(ctx, t, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader("")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%v: still running after 60 s (a hang?)", args)
	}
	r := result{stdout: o.String(), stderr: e.String()}
	if x, ok := err.(*exec.ExitError); ok {
		r.code = x.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return r, peak()
}

// rawGoText finds what must not reach the user: a Go crash, a package's prefix, Go's own
// error texts.
var rawGoText = regexp.MustCompile(`goroutine|panic|(^|[\s(])(graph|datasets|npy|json|gzip|flate|cuda|program): |strconv\.|Go value|bufio\.`)

// checkRefused checks that a run failed the way the CLI promises: one line, "graphtrain:
// <what>: <why>; <what to do>", no raw Go text, bounded memory.
func checkRefused(t *testing.T, name string, r result, rss int64, want string) {
	t.Helper()
	msg := strings.TrimSuffix(r.stderr, "\n")
	switch {
	case r.code != 1 && r.code != 2:
		t.Errorf("%s: exit %d, want 1 or 2\n%s", name, r.code, r.stderr)
	case strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(msg, "graphtrain: "):
		t.Errorf("%s: stderr is not one line starting 'graphtrain: ':\n%s", name, r.stderr)
	case !strings.Contains(msg, want):
		t.Errorf("%s: %q lacks %q", name, msg, want)
	case !strings.Contains(msg, "; "):
		t.Errorf("%s: %q does not say what to do (no '; ')", name, msg)
	case len(msg) > 600:
		t.Errorf("%s: a message of %d bytes", name, len(msg))
	}
	if bad := rawGoText.FindString(msg); bad != "" {
		t.Errorf("%s: the message shows %q: %s", name, bad, msg)
	}
	if rss > maxRefusedRSS {
		t.Errorf("%s: peak RSS %d MiB, want under %d", name, rss>>20, maxRefusedRSS>>20)
	}
}

// rssReport collects the peak RSS of refused runs for the test log.
type rssReport struct {
	n   int
	max int64
	at  string
}

func (r *rssReport) add(name string, rss int64) {
	r.n++
	if rss > r.max {
		r.max, r.at = rss, name
	}
}

func (r *rssReport) log(t *testing.T, class string) {
	t.Logf("%s: %d hostile cases, peak RSS at most %.1f MiB (%s)", class, r.n, float64(r.max)/(1<<20), r.at)
}

// editJSON rewrites model.json in dir through f.
func editJSON(t *testing.T, dir string, f func(m map[string]any)) {
	path := filepath.Join(dir, "model.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// param returns model.json's entry of a parameter.
func param(m map[string]any, name string) map[string]any {
	for _, p := range m["params"].([]any) {
		if pm := p.(map[string]any); pm["name"] == name {
			return pm
		}
	}
	return nil
}

// rewriteArray replaces a parameter's file with a, updating its checksum in model.json.
func rewriteArray(t *testing.T, dir, name string, a *npy.Array) {
	path := filepath.Join(dir, name+".npy")
	if err := npy.Save(path, a); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	editJSON(t, dir, func(m map[string]any) { param(m, name)["sha256"] = sha256Hex(raw) })
}

func copyDir(t *testing.T, src, dst string) {
	os.MkdirAll(dst, 0o755)
	entries, _ := os.ReadDir(src)
	for _, e := range entries {
		if e.IsDir() {
			copyDir(t, filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()))
			continue
		}
		raw, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dst, e.Name()), raw, 0o644)
	}
}

func replaceWith(t *testing.T, path string, how string) {
	os.Remove(path)
	var err error
	switch how {
	case "zero":
		err = os.Symlink("/dev/zero", path)
	case "fifo":
		err = syscall.Mkfifo(path, 0o644)
	case "dir":
		err = os.Mkdir(path, 0o755)
	}
	if err != nil {
		t.Skipf("cannot make a %s here: %v", how, err)
	}
}

// goodCheckpoint saves, in root/good, the checkpoint of an mlp 784-16-10 after one epoch of
// Adam, the hyperparameters of a train mnist run: what the checkpoint cases edit.
func goodCheckpoint(t *testing.T, root string) string {
	t.Helper()
	m, _ := model.NewMLP(16, 1)
	s, _ := model.NewSolver("adam", 1e-3)
	s.Init(m)
	good := filepath.Join(root, "good")
	if err := checkpoint.SaveCheckpoint(good, m, s, checkpoint.Checkpoint{Epoch: 1, Seed: 1,
		Hyper: &checkpoint.Hyperparameters{Model: "mlp", Batch: 128, Solver: "adam", LR: 1e-3, ValSplit: 0.1, Seed: 1, Epochs: 2}}); err != nil {
		t.Fatal(err)
	}
	return good
}

// modelDirs is a temporary directory holding the checkpoints of an mlp 784-8-10 (mlp/) and of
// the XOR net (xor/), as the hostile cases read them.
func modelDirs(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	m, _ := model.NewMLP(8, 1)
	x, _ := model.NewXOR(4, false, 42)
	for name, net := range map[string]*model.Model{"mlp": m, "xor": x} {
		if err := checkpoint.SaveCheckpoint(filepath.Join(root, name), net, nil, checkpoint.Checkpoint{}); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestHostileCheckpoints(t *testing.T) {
	root := t.TempDir()
	good := goodCheckpoint(t, root)
	nanW := make([]float32, 784*16)
	nanW[5] = float32(math.NaN())
	infB := make([]float32, 10)
	infB[3] = float32(math.Inf(1))
	hugeHeader := append([]byte("\x93NUMPY\x02\x00"), binary.LittleEndian.AppendUint32(nil, 90000)...)
	hugeHeader = append(hugeHeader, []byte("{'descr': '<f4', 'fortran_order': False, 'shape': (784, 16), "+strings.Repeat(" ", 90000-70)+"}\n")...)

	cases := []struct {
		name  string
		setup func(dir string)
		want  string
	}{
		{"hidden 4000000000", func(d string) {
			editJSON(t, d, func(m map[string]any) { m["model"].(map[string]any)["hidden"] = 4000000000 })
		}, "hidden units"},
		{"hidden 1e11", func(d string) {
			editJSON(t, d, func(m map[string]any) { m["model"].(map[string]any)["hidden"] = 100000000000 })
		}, "hidden units"},
		{"hidden -5", func(d string) { editJSON(t, d, func(m map[string]any) { m["model"].(map[string]any)["hidden"] = -5 }) }, "hidden units"},
		{"hidden 1000000, shapes to match", func(d string) {
			editJSON(t, d, func(m map[string]any) {
				m["model"].(map[string]any)["hidden"] = 1000000
				param(m, "weights0")["shape"] = []int{784, 1000000}
				param(m, "bias0")["shape"] = []int{1, 1000000}
				param(m, "weights1")["shape"] = []int{1000000, 10}
			})
		}, "weights0.npy"},
		{"layers of 10000000, shapes to match", func(d string) {
			editJSON(t, d, func(m map[string]any) {
				m["model"].(map[string]any)["hidden"] = 16
				m["model"].(map[string]any)["layers"] = []int{16, 10000000, 10000000}
			})
		}, "gives weights1 the shape (16, 10), a mlp model has (16, 10000000)"},
		{"one layer listed", func(d string) {
			editJSON(t, d, func(m map[string]any) { m["model"].(map[string]any)["layers"] = []int{16} })
		}, "one layer is given by hidden alone"},
		{"layers not starting with hidden", func(d string) {
			editJSON(t, d, func(m map[string]any) { m["model"].(map[string]any)["layers"] = []int{17, 8} })
		}, "the first of Hidden units"},
		{"100 layers", func(d string) {
			editJSON(t, d, func(m map[string]any) {
				l := make([]int, 100)
				for i := range l {
					l[i] = 16
				}
				m["model"].(map[string]any)["layers"] = l
			})
		}, "100 hidden layers"},
		{"unknown data set", func(d string) {
			editJSON(t, d, func(m map[string]any) { m["hyperparameters"].(map[string]any)["dataset"] = "cifar" })
		}, "data set \"cifar\""},
		{"shape in model.json", func(d string) {
			editJSON(t, d, func(m map[string]any) { param(m, "weights0")["shape"] = []int{784, 17} })
		}, "gives weights0 the shape (784, 17)"},
		{"no sha256", func(d string) { editJSON(t, d, func(m map[string]any) { delete(param(m, "weights0"), "sha256") }) }, "no SHA-256"},
		{"wrong sha256", func(d string) {
			editJSON(t, d, func(m map[string]any) { param(m, "weights1")["sha256"] = strings.Repeat("ab", 32) })
		}, "does not match the checksum"},
		{"NaN weights", func(d string) { rewriteArray(t, d, "weights0", &npy.Array{Shape: []int{784, 16}, Data: nanW}) }, "NaN or infinite"},
		{"infinite bias", func(d string) { rewriteArray(t, d, "bias1", &npy.Array{Shape: []int{1, 10}, Data: infB}) }, "NaN or infinite"},
		{"header shape differs", func(d string) {
			rewriteArray(t, d, "weights0", &npy.Array{Shape: []int{784, 15}, Data: make([]float32, 784*15)})
		}, "holds shape (784, 15), the model needs (784, 16)"},
		{"model.json is /dev/zero", func(d string) { replaceWith(t, filepath.Join(d, "model.json"), "zero") }, "is a device"},
		{"model.json is a FIFO", func(d string) { replaceWith(t, filepath.Join(d, "model.json"), "fifo") }, "named pipe"},
		{"model.json is a directory", func(d string) { replaceWith(t, filepath.Join(d, "model.json"), "dir") }, "directory"},
		{"weights0.npy is /dev/zero", func(d string) { replaceWith(t, filepath.Join(d, "weights0.npy"), "zero") }, "is a device"},
		{"weights0.npy is a FIFO", func(d string) { replaceWith(t, filepath.Join(d, "weights0.npy"), "fifo") }, "named pipe"},
		{"weights0.npy sparse 4 GiB", func(d string) { os.Truncate(filepath.Join(d, "weights0.npy"), 4<<30) }, "more than the"},
		{"weights0.npy grown by a byte", func(d string) {
			f, _ := os.OpenFile(filepath.Join(d, "weights0.npy"), os.O_APPEND|os.O_WRONLY, 0)
			f.Write([]byte{0})
			f.Close()
		}, "its header announces"},
		{"weights0.npy cut short", func(d string) { os.Truncate(filepath.Join(d, "weights0.npy"), 1000) }, "its header announces"},
		{"weights0.npy one byte", func(d string) { os.WriteFile(filepath.Join(d, "weights0.npy"), []byte{1}, 0o644) }, "too short"},
		{"weights0.npy 90 KB header", func(d string) { os.WriteFile(filepath.Join(d, "weights0.npy"), hugeHeader, 0o644) }, "too long"},
		{"weights0.npy missing", func(d string) { os.Remove(filepath.Join(d, "weights0.npy")) }, "is missing"},
		{"model.json 2 MiB", func(d string) {
			os.WriteFile(filepath.Join(d, "model.json"), append(bytes.Repeat([]byte(" "), 2<<20), "{}"...), 0o644)
		}, "more than the"},
		{"model.json a list", func(d string) { os.WriteFile(filepath.Join(d, "model.json"), []byte("[]"), 0o644) }, "not a graphtrain model.json"},
		{"model.json empty", func(d string) { os.WriteFile(filepath.Join(d, "model.json"), nil, 0o644) }, "not a graphtrain model.json"},
		{"model.json two values", func(d string) {
			raw, _ := os.ReadFile(filepath.Join(d, "model.json"))
			os.WriteFile(filepath.Join(d, "model.json"), append(raw, "{}"...), 0o644)
		}, "more than one JSON value"},
		{"model.json wrong types", func(d string) { editJSON(t, d, func(m map[string]any) { m["epoch"] = "three" }) }, "holds a JSON string"},
		{"model.json unknown field", func(d string) { editJSON(t, d, func(m map[string]any) { m["extra"] = 1 }) }, "unknown field"},
		{"file name escapes", func(d string) {
			editJSON(t, d, func(m map[string]any) { param(m, "weights0")["file"] = "../good/weights0.npy" })
		}, "not a plain .npy file name"},
		{"same file twice", func(d string) { editJSON(t, d, func(m map[string]any) { param(m, "bias0")["file"] = "weights0.npy" }) }, "twice"},
		{"unknown kind", func(d string) {
			editJSON(t, d, func(m map[string]any) { m["model"].(map[string]any)["kind"] = "resnet" })
		}, "unknown model kind"},
		{"float64 mlp", func(d string) {
			editJSON(t, d, func(m map[string]any) { m["model"].(map[string]any)["dtype"] = "float64" })
		}, "not a model graphtrain builds"},
		{"negative epoch", func(d string) { editJSON(t, d, func(m map[string]any) { m["epoch"] = -3 }) }, "negative"},
		{"solver NaN rate", func(d string) { editJSON(t, d, func(m map[string]any) { m["solver"].(map[string]any)["lr"] = -1 }) }, "solver"},
		{"unknown solver", func(d string) {
			editJSON(t, d, func(m map[string]any) { m["solver"].(map[string]any)["kind"] = "lbfgs" })
		}, "must be adam, adamw, sgd or momentum"},
		{"no model.json", func(d string) { os.Remove(filepath.Join(d, "model.json")) }, "not the original numpy XOR net"},
		{"empty directory", func(d string) { os.RemoveAll(d); os.Mkdir(d, 0o755) }, "not a checkpoint"},
		{"a FIFO for the directory", func(d string) { os.RemoveAll(d); syscall.Mkfifo(d, 0o644) }, "not a checkpoint directory"},
	}
	var rep rssReport
	for i, tc := range cases {
		dir := filepath.Join(root, fmt.Sprintf("c%02d", i))
		copyDir(t, good, dir)
		tc.setup(dir)
		r, rss := hostileRun(t, root, "eval", "mnist", "--weights", dir)
		checkRefused(t, tc.name, r, rss, tc.want)
		rep.add(tc.name, rss)
	}
	// Resume needs the solver's state: a stateful solver without it is refused.
	dir := filepath.Join(root, "nostate")
	copyDir(t, good, dir)
	editJSON(t, dir, func(m map[string]any) { m["solver_state"] = m["solver_state"].([]any)[:3] })
	r, rss := hostileRun(t, root, "train", "mnist", "--resume", dir, "--epochs", "3", "--out", filepath.Join(root, "o"))
	checkRefused(t, "missing solver state", r, rss, "has no solver state")
	rep.add("missing solver state", rss)
	rep.log(t, "checkpoints")
}

func TestHostileMetrics(t *testing.T) {
	root := t.TempDir()
	line := `{"epoch":1,"train_loss":0.3,"val_accuracy":0.9,"seconds":1,"samples_per_second":100,"best":true}` + "\n"
	write := func(name, content string) func(string) {
		return func(p string) { os.WriteFile(p, []byte(content), 0o644) }
	}
	cases := []struct {
		name  string
		setup func(path string)
		want  string
	}{
		{"epoch 100000000", write("", line+`{"epoch":100000000,"train_loss":0.2,"val_accuracy":0.95}`+"\n"), "epoch 100000000 is not between"},
		{"negative epoch", write("", `{"epoch":-1,"train_loss":0.2,"val_accuracy":0.95}`), "epoch -1"},
		{"fractional epoch", write("", `{"epoch":1.5,"train_loss":0.2,"val_accuracy":0.95}`), "wrong kind of value"},
		{"loss 1e999", write("", `{"epoch":1,"train_loss":1e999,"val_accuracy":0.95}`), "line 1"},
		{"accuracy 5", write("", `{"epoch":1,"train_loss":0.2,"val_accuracy":5}`), "val_accuracy 5"},
		{"a list", write("", `[1, 2]`), "not a JSON object"},
		{"missing field", write("", `{"epoch":1,"train_loss":0.2}`), `no "val_accuracy" field`},
		{"empty", write("", ""), "no epochs"},
		{"binary", write("", "\x00\x01\xff\xfe garbage"), "line 1"},
		{"1 MB line", write("", `{"epoch":1,"train_loss":0.2,"val_accuracy":0.9,"x":"`+strings.Repeat("a", 1<<20)+`"}`), "bytes long"},
		{"200000 lines", write("", strings.Repeat(line, 200000)), "more than 100000 epochs"},
		{"70 MB", func(p string) { os.WriteFile(p, nil, 0o644); os.Truncate(p, 70<<20) }, "more than the"},
		{"/dev/zero", func(p string) { replaceWith(t, p, "zero") }, "is a device"},
		{"FIFO", func(p string) { replaceWith(t, p, "fifo") }, "named pipe"},
		{"directory", func(p string) { replaceWith(t, p, "dir") }, "directory"},
		{"missing", func(p string) {}, "does not exist"},
	}
	var rep rssReport
	for i, tc := range cases {
		path := filepath.Join(root, fmt.Sprintf("m%02d.jsonl", i))
		tc.setup(path)
		r, rss := hostileRun(t, root, "plot", "--metrics", path, "--out", filepath.Join(root, "p.png"))
		checkRefused(t, tc.name, r, rss, tc.want)
		rep.add(tc.name, rss)
		if _, err := os.Stat(filepath.Join(root, "p.png")); err == nil {
			t.Errorf("%s: a refused metrics file wrote the plot", tc.name)
		}
	}
	rep.log(t, "metrics files")
}

// idxBytes is an IDX file of uint8 with the header's shape and the data given.
func idxBytes(shape []int, data []byte) []byte {
	b := []byte{0, 0, 0x08, byte(len(shape))}
	for _, d := range shape {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	return append(b, data...)
}

func gzipped(raw []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(raw)
	w.Close()
	return buf.Bytes()
}

func TestHostileDataDirs(t *testing.T) {
	cache, err := datasets.DefaultDir()
	if err != nil {
		t.Skip(err)
	}
	if err := datasets.EnsureMNIST(cache, nil); err != nil {
		t.Skipf("no MNIST here: %v", err)
	}
	root := t.TempDir()
	images := make([]byte, 2000*784)
	for i := range images {
		images[i] = byte(i * 7)
	}
	labels := make([]byte, 2000)
	for i := range labels {
		labels[i] = byte(i % 10)
	}
	// A gzip whose IDX header claims 2.7 million images and whose trailer agrees (ISIZE),
	// holding 2000: it must not allocate for 2.7 million.
	liar := gzipped(idxBytes([]int{2700000, 28, 28}, images))
	binary.LittleEndian.PutUint32(liar[len(liar)-4:], uint32(16+2700000*784))
	liarLabels := gzipped(idxBytes([]int{2700000}, labels))
	binary.LittleEndian.PutUint32(liarLabels[len(liarLabels)-4:], uint32(8+2700000))
	tI, tL := datasets.MNISTTrainImages, datasets.MNISTTrainLabels
	// 600000 blank images, 470 MB unpacked, in a gzip of under 500 KB.
	zeros600k := gzipped(idxBytes([]int{600000, 28, 28}, make([]byte, 600000*784)))
	cases := []struct {
		name  string
		files map[string][]byte // file name → content; nil content: special (see how)
		how   map[string]string
		args  []string
		want  string // "" : the run must work
	}{
		{"header claims 2.7M images, --limit 2000", map[string][]byte{tI + ".gz": liar, tL + ".gz": liarLabels}, nil, []string{"--limit", "2000"}, ""},
		{"header claims 2.7M images", map[string][]byte{tI + ".gz": liar, tL + ".gz": liarLabels}, nil, nil, "corrupt gzip"},
		{"header claims 2.7M images, 2000 labels", map[string][]byte{tI + ".gz": liar, tL: idxBytes([]int{2000}, labels)}, nil, []string{"--limit", "2000"}, "2700000 images"},
		{"plain file claims more than it holds", map[string][]byte{tI: idxBytes([]int{60000, 28, 28}, images), tL: idxBytes([]int{2000}, labels)}, nil, nil, "needs 47040000 bytes"},
		{"images are a FIFO", map[string][]byte{tL: idxBytes([]int{2000}, labels)}, map[string]string{tI: "fifo"}, nil, "named pipe"},
		{"images are /dev/zero", map[string][]byte{tL: idxBytes([]int{2000}, labels)}, map[string]string{tI: "zero"}, nil, "device"},
		{"labels 0-255", map[string][]byte{tI: idxBytes([]int{2000, 28, 28}, images), tL: idxBytes([]int{2000}, bytes.Repeat([]byte{200}, 2000))}, nil, nil, "label 200"},
		{"counts disagree", map[string][]byte{tI: idxBytes([]int{2000, 28, 28}, images), tL: idxBytes([]int{1000}, labels[:1000])}, nil, nil, "1000 labels"},
		{"images 27x27", map[string][]byte{tI: idxBytes([]int{2000, 27, 28}, images[:2000*27*28]), tL: idxBytes([]int{2000}, labels)}, nil, nil, "MNIST images are uint8"},
		{"corrupt gzip", map[string][]byte{tI + ".gz": append(gzipped(idxBytes([]int{2000, 28, 28}, images))[:500], 1, 2, 3), tL: idxBytes([]int{2000}, labels)}, nil, nil, "gzip"},
		{"0 images", map[string][]byte{tI: idxBytes([]int{0, 28, 28}, nil), tL: idxBytes([]int{0}, nil)}, nil, nil, tI + ": not an MNIST file: it holds 0 images"},
		{"gzip headers say 600000 images, 600001 labels", map[string][]byte{tI + ".gz": zeros600k, tL + ".gz": gzipped(idxBytes([]int{600001}, make([]byte, 600001)))}, nil, nil, "holds 600000 images but"},
		{"no test files", map[string][]byte{tI: idxBytes([]int{2000, 28, 28}, images), tL: idxBytes([]int{2000}, labels)}, map[string]string{"notest": ""}, nil, "t10k-images"},
	}
	var rep rssReport
	for i, tc := range cases {
		dir := filepath.Join(root, fmt.Sprintf("d%02d", i))
		os.MkdirAll(dir, 0o755)
		if _, skip := tc.how["notest"]; !skip {
			for _, f := range []string{datasets.MNISTTestImages + ".gz", datasets.MNISTTestLabels + ".gz"} {
				os.Symlink(filepath.Join(cache, f), filepath.Join(dir, f))
			}
		}
		for name, content := range tc.files {
			os.WriteFile(filepath.Join(dir, name), content, 0o644)
		}
		for name, how := range tc.how {
			if name != "notest" {
				replaceWith(t, filepath.Join(dir, name), how)
			}
		}
		args := append([]string{"train", "mnist", "--data-dir", dir, "--hidden", "8", "--epochs", "1", "--val-split", "0.5", "--out", filepath.Join(root, fmt.Sprintf("o%02d", i))}, tc.args...)
		r, rss := hostileRun(t, root, args...)
		if tc.want == "" {
			if r.code != 0 {
				t.Errorf("%s: exit %d: %s", tc.name, r.code, r.stderr)
			}
			if rss > 400<<20 {
				t.Errorf("%s: peak RSS %d MiB", tc.name, rss>>20)
			}
			t.Logf("%s: works, peak RSS %.1f MiB", tc.name, float64(rss)/(1<<20))
			continue
		}
		checkRefused(t, tc.name, r, rss, tc.want)
		rep.add(tc.name, rss)
		if _, err := os.Stat(filepath.Join(root, fmt.Sprintf("o%02d", i))); err == nil {
			t.Errorf("%s: a failed run left its --out behind", tc.name)
		}
	}
	rep.log(t, "data directories")

	// eval and predict --index read the test files only: a FIFO in place of the training
	// images would hang a command that opened it.
	dir := filepath.Join(root, "testonly")
	os.MkdirAll(dir, 0o755)
	for _, f := range []string{datasets.MNISTTestImages + ".gz", datasets.MNISTTestLabels + ".gz"} {
		os.Symlink(filepath.Join(cache, f), filepath.Join(dir, f))
	}
	syscall.Mkfifo(filepath.Join(dir, datasets.MNISTTrainImages), 0o644)
	m, _ := model.NewMLP(8, 1)
	checkpoint.SaveCheckpoint(filepath.Join(root, "mlp"), m, nil, checkpoint.Checkpoint{})
	for _, args := range [][]string{
		{"eval", "mnist", "--weights", "mlp", "--data-dir", dir},
		{"predict", "mnist", "--weights", "mlp", "--data-dir", dir, "--index", "3"},
	} {
		if r, _ := hostileRun(t, root, args...); r.code != 0 {
			t.Errorf("%v: exit %d: %s", args, r.code, r.stderr)
		}
	}
}

func TestHostileFlags(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "keep.jsonl"), []byte("keep\n"), 0o644)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"mlp hidden 10000000", []string{"train", "mnist", "--hidden", "10000000", "--out", "h"}, "lower --hidden or --batch"},
		{"mlp hidden 100000000", []string{"train", "mnist", "--hidden", "100000000", "--out", "h"}, "--hidden 100000000"},
		{"xor hidden 100000000", []string{"train", "xor", "--hidden", "100000000", "--out", "h"}, "--hidden 100000000: must be between 1 and"},
		{"bench batch 10000000", []string{"bench", "--model", "mlp", "--batch", "10000000"}, "give batch sizes from 1 to 1048576"},
		{"bench cnn batch 200000", []string{"bench", "--model", "cnn", "--batch", "200000"}, "lower --batch"},
		{"plot into a missing directory", []string{"train", "mnist", "--limit", "1000", "--out", "ow", "--plot", "/nonexistent/p.png", "--metrics", "keep.jsonl"}, "--plot /nonexistent/p.png"},
		{"metrics into a missing directory", []string{"train", "mnist", "--limit", "1000", "--out", "ow", "--metrics", "/nonexistent/m.jsonl"}, "--metrics /nonexistent/m.jsonl"},
		{"out under a file", []string{"train", "mnist", "--limit", "1000", "--out", "keep.jsonl/o"}, "--out keep.jsonl/o"},
		{"resume with another seed", []string{"train", "mnist", "--resume", "nothere", "--seed", "3"}, "--resume nothere: no such directory"},
		{"epochs 1e9", []string{"train", "mnist", "--epochs", "1000000000"}, "--epochs 1000000000"},
		{"lr in hex", []string{"train", "mnist", "--lr", "0x10"}, `--lr "0x10": must be a number`},
		{"epochs a word", []string{"train", "mnist", "--epochs", "abc"}, `--epochs "abc": must be a whole number`},
		{"hidden beyond int64", []string{"train", "mnist", "--hidden", "99999999999999999999"}, "--hidden 99999999999999999999: out of range"},
		{"val split 0.9999", []string{"train", "mnist", "--val-split", "0.9999", "--out", "ow"}, "--val-split 0.9999: leaves 6 training images"},
	}
	var rep rssReport
	for _, tc := range cases {
		r, rss := hostileRun(t, root, tc.args...)
		checkRefused(t, tc.name, r, rss, tc.want)
		rep.add(tc.name, rss)
	}
	if raw, _ := os.ReadFile(filepath.Join(root, "keep.jsonl")); string(raw) != "keep\n" {
		t.Errorf("a refused run changed keep.jsonl: %q", raw)
	}
	for _, name := range []string{"ow", "h"} {
		if _, err := os.Stat(filepath.Join(root, name)); err == nil {
			t.Errorf("a refused run left %s behind", name)
		}
	}
	// predict xor from an endless line on a pipe: refused after a short read, not echoed.
	m, _ := model.NewXOR(4, false, 42)
	checkpoint.SaveCheckpoint(filepath.Join(root, "xor"), m, nil, checkpoint.Checkpoint{})
	cmd, peak := measured(context.Background(), t, "predict", "xor", "--weights", "xor")
	cmd.Dir = root
	cmd.Stdin = bytes.NewReader(bytes.Repeat([]byte("1"), 10<<20))
	var e bytes.Buffer
	cmd.Stderr = &e
	cmd.Run()
	if rss := peak(); rss > 0 {
		rep.add("endless operand line", rss)
	}
	checkRefused(t, "endless operand line", result{code: cmd.ProcessState.ExitCode(), stderr: e.String()}, 0, "more than 256 bytes")
	rep.log(t, "flags and input")
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestHostileSizeFlags checks that every size-like flag is bounded where it appears: a value
// far beyond any useful run is refused at once, naming the flag and its bound, in little
// memory, instead of running for days or exhausting memory.
func TestHostileSizeFlags(t *testing.T) {
	root := t.TempDir()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"xor epochs 1e12", []string{"train", "xor", "--epochs", "1000000000000", "--out", "x"}, "--epochs 1000000000000: must be between 1 and 10000000"},
		{"bench steps 1e9", []string{"bench", "--model", "xor", "--steps", "1000000000"}, "--steps 1000000000: must be between 1 and 100000"},
		{"bench batch 1e9", []string{"bench", "--model", "mlp", "--batch", "1000000000"}, "--batch 1000000000: 1000000000 is out of range; give batch sizes from 1 to 1048576"},
		{"graph batch 1e9", []string{"graph", "mlp", "--batch", "1000000000", "--dot", "g.dot"}, "--batch 1000000000: must be between 1 and 1048576"},
		{"graph cost batch 1e9", []string{"graph", "cnn", "--batch", "1000000000", "--cost"}, "--batch 1000000000: must be between 1 and 1048576"},
		{"graph hidden 16777216", []string{"graph", "mlp", "--hidden", "16777216", "--dot", "g.dot"}, "lower --hidden or --batch"},
		{"graph custom dense 16777216", []string{"graph", "custom", "--arch", "dense(16777216) relu dense(10)", "--dot", "g.dot"}, "give --arch smaller layers"},
		{"gradcheck batch 1e6", []string{"gradcheck", "mlp", "--batch", "1000000"}, "--batch 1000000: must be between 1 and 1000"},
		{"gradcheck hidden 16777216", []string{"gradcheck", "mlp", "--hidden", "16777216"}, "lower --hidden or --batch"},
		{"gradcheck xor hidden 16777216", []string{"gradcheck", "xor", "--hidden", "16777216", "--batch", "1000"}, "lower --hidden or --batch"},
	}
	var rep rssReport
	for _, tc := range cases {
		r, rss := hostileRun(t, root, tc.args...)
		checkRefused(t, tc.name, r, rss, tc.want)
		rep.add(tc.name, rss)
	}
	for _, name := range []string{"x", "g.dot"} {
		if _, err := os.Stat(filepath.Join(root, name)); err == nil {
			t.Errorf("a refused run wrote %s", name)
		}
	}
	rep.log(t, "size-like flags")
}

// npyHeader is a version 1.0 .npy preamble and header for shape, float32.
func npyHeader(shape string) []byte {
	h := "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }"
	h += strings.Repeat(" ", 63-(10+len(h))%64) + "\n"
	return append([]byte{0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, byte(len(h)), byte(len(h) >> 8)}, h...)
}

// TestHostileNumpyXOR checks the loader of a directory without model.json (the original
// numpy XOR net's weights0.npy and weights1.npy): the headers are checked against the net
// before any data is read, and a file that is not .npy never has its bytes shown.
func TestHostileNumpyXOR(t *testing.T) {
	root := t.TempDir()
	secret := filepath.Join(root, "secret")
	os.WriteFile(secret, []byte("root:*:20000:0:99999:7:::\n"), 0o600)
	cases := []struct {
		name  string
		setup func(dir string)
		want  string
	}{
		{"weights0.npy of 1 GB, shape (16000, 16000)", func(d string) {
			p, h := filepath.Join(d, "weights0.npy"), npyHeader("(16000, 16000)")
			os.WriteFile(p, h, 0o644)
			os.Truncate(p, int64(len(h))+16000*16000*4)
		}, "is not the original numpy XOR net's (2, H)"},
		{"weights1.npy of 1 GB, shape (16000, 16000)", func(d string) {
			p, h := filepath.Join(d, "weights1.npy"), npyHeader("(16000, 16000)")
			os.WriteFile(p, h, 0o644)
			os.Truncate(p, int64(len(h))+16000*16000*4)
		}, "holds shape (16000, 16000), the model needs (4, 1)"},
		{"weights0.npy links to a secret", func(d string) {
			os.Remove(filepath.Join(d, "weights0.npy"))
			os.Symlink(secret, filepath.Join(d, "weights0.npy"))
		}, "not a .npy file"},
	}
	var rep rssReport
	for i, tc := range cases {
		dir := filepath.Join(root, fmt.Sprintf("x%02d", i))
		os.MkdirAll(dir, 0o755)
		w0 := append(npyHeader("(2, 4)"), make([]byte, 2*4*4)...)
		w1 := append(npyHeader("(4, 1)"), make([]byte, 4*4)...)
		os.WriteFile(filepath.Join(dir, "weights0.npy"), w0, 0o644)
		os.WriteFile(filepath.Join(dir, "weights1.npy"), w1, 0o644)
		tc.setup(dir)
		r, rss := hostileRun(t, root, "predict", "xor", "--weights", dir, "1", "1")
		checkRefused(t, tc.name, r, rss, tc.want)
		if strings.Contains(r.stderr, "root") {
			t.Errorf("%s: the message shows the file's contents: %s", tc.name, r.stderr)
		}
		rep.add(tc.name, rss)
	}
	// The same files, well formed, load.
	dir := filepath.Join(root, "good")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "weights0.npy"), append(npyHeader("(2, 4)"), make([]byte, 2*4*4)...), 0o644)
	os.WriteFile(filepath.Join(dir, "weights1.npy"), append(npyHeader("(4, 1)"), make([]byte, 4*4)...), 0o644)
	if r, _ := hostileRun(t, root, "predict", "xor", "--weights", dir, "1", "1"); r.code != 0 {
		t.Errorf("well-formed numpy weights: exit %d: %s", r.code, r.stderr)
	}
	rep.log(t, "numpy XOR directories")
}

// blankPNG is a PNG of w x h blank pixels (all bytes zero: black, or transparent), of the
// bit depth and colour type given, written row by row so that the test holds no image.
func blankPNG(w, h int, depth, colorType byte) []byte {
	channels := map[byte]int{0: 1, 2: 3, 4: 2, 6: 4}[colorType]
	row := make([]byte, 1+w*channels*int(depth)/8)
	var idat bytes.Buffer
	z, _ := zlib.NewWriterLevel(&idat, zlib.BestSpeed)
	for range h {
		z.Write(row)
	}
	z.Close()
	return pngOf(w, h, depth, colorType, idat.Bytes())
}

// pngOf is a PNG of w x h pixels of the bit depth and colour type given whose IDAT chunk
// holds idat as it is.
func pngOf(w, h int, depth, colorType byte, idat []byte) []byte {
	chunk := func(b []byte, typ string, data []byte) []byte {
		b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
		c := append([]byte(typ), data...)
		b = append(b, c...)
		return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(c))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, depth, colorType, 0, 0, 0)
	b := chunk([]byte("\x89PNG\r\n\x1a\n"), "IHDR", ihdr)
	b = chunk(b, "IDAT", idat)
	return chunk(b, "IEND", nil)
}

// TestHostilePictures checks predict's pictures: their size is checked from the header
// against what decoding them takes, so that a blank picture (refused only once decoded)
// keeps the process under 200 MiB; TIFF, which README does not name, is refused; a
// decoder's failure is one line saying what to do.
func TestHostilePictures(t *testing.T) {
	root := t.TempDir()
	m, _ := model.NewMLP(8, 1)
	checkpoint.SaveCheckpoint(filepath.Join(root, "mlp"), m, nil, checkpoint.Checkpoint{})
	var tif, jpg bytes.Buffer
	tiff.Encode(&tif, image.NewGray(image.Rect(0, 0, 64, 64)), nil)
	jpeg.Encode(&jpg, image.NewYCbCr(image.Rect(0, 0, 3780, 3780), image.YCbCrSubsampleRatio420), nil)
	good := blankPNG(40, 40, 8, 0)
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"blank 16-bit RGBA PNG of 49 megapixels", blankPNG(7000, 7000, 16, 6), "image too large (7000x7000): decoding it would take about"},
		{"blank 16-bit RGBA PNG at the limit", blankPNG(2896, 2896, 16, 6), "no digit found"},
		{"blank 8-bit grey PNG at the limit", blankPNG(4480, 4480, 8, 0), "no digit found"},
		{"blank JPEG at the limit", jpg.Bytes(), "no digit found"},
		{"TIFF", tif.Bytes(), "a TIFF picture: graphtrain reads PNG, JPEG and GIF only; save it as PNG"},
		{"PNG cut short", good[:len(good)-20], "the PNG picture ends early (cut short?); save it again"},
		{"PNG of width 0", blankPNG(0, 5, 8, 0), "a damaged or unusual PNG picture (non-positive dimension); save it again as PNG"},
		{"text", []byte("hello\n"), "not a PNG, JPEG or GIF image; give a picture in one of those formats"},
	}
	var rep rssReport
	for i, tc := range cases {
		path := filepath.Join(root, fmt.Sprintf("p%02d", i))
		os.WriteFile(path, tc.file, 0o644)
		r, rss := hostileRun(t, root, "predict", "mnist", "--weights", "mlp", path)
		checkRefused(t, tc.name, r, rss, tc.want)
		rep.add(tc.name, rss)
	}
	rep.log(t, "pictures")
}

// TestHostileOutputs checks the outputs' policy: an output file is a regular file or a new
// name, never a device, a socket, a FIFO or a link; never a file of a checkpoint, nor another
// output of the same run; --out . is refused before training; train xor, as train mnist,
// replaces a checkpoint only with --force. Nothing is written by a refused run.
func TestHostileOutputs(t *testing.T) {
	root := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(content), 0o644)
		return p
	}
	write("m.jsonl", `{"epoch":1,"train_loss":0.3,"val_accuracy":0.9,"seconds":1,"samples_per_second":100,"best":true}`+"\n")
	write("outside.txt", "keep\n")
	os.Symlink(filepath.Join(root, "outside.txt"), filepath.Join(root, "link.jsonl"))
	syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644)
	if l, err := net.Listen("unix", filepath.Join(root, "sock")); err == nil {
		defer l.Close()
	}
	if err := syscall.Mknod(filepath.Join(root, "null"), syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		os.Symlink("/dev/null", filepath.Join(root, "null")) // not root: a link to a device
	}
	m, _ := model.NewMLP(8, 1)
	checkpoint.SaveCheckpoint(filepath.Join(root, "ck"), m, nil, checkpoint.Checkpoint{})
	x, _ := model.NewXOR(4, false, 42)
	checkpoint.SaveCheckpoint(filepath.Join(root, "xor"), x, nil, checkpoint.Checkpoint{})
	os.Mkdir(filepath.Join(root, "here"), 0o755)
	os.Symlink(filepath.Join(root, "here"), filepath.Join(root, "linkdir"))
	os.Mkdir(filepath.Join(root, "withlast"), 0o755)
	os.Symlink(filepath.Join(root, "here"), filepath.Join(root, "withlast", "last"))
	tm := []string{"train", "mnist", "--hidden", "8", "--limit", "1000", "--epochs", "1"}
	cases := []struct {
		name string
		dir  string // where it runs, under root
		args []string
		want string
	}{
		{"plot into a FIFO", "", []string{"plot", "--metrics", "m.jsonl", "--out", "fifo"}, "--out fifo: is not a regular file but a named pipe (FIFO)"},
		{"plot into a socket", "", []string{"plot", "--metrics", "m.jsonl", "--out", "sock"}, "--out sock: is not a regular file but a socket"},
		{"metrics into a socket", "", append(tm, "--out", "o1", "--metrics", "sock"), "--metrics sock: is not a regular file but a socket"},
		{"plot into a device", "", []string{"plot", "--metrics", "m.jsonl", "--out", "null"}, "--out null: is"},
		{"plot onto its metrics", "", []string{"plot", "--metrics", "m.jsonl", "--out", "m.jsonl"}, "--out m.jsonl: is the metrics file itself"},
		{"plot into a checkpoint's model.json", "", []string{"plot", "--metrics", "m.jsonl", "--out", "ck/model.json"}, "is a file of the checkpoint in ck"},
		{"graph into a FIFO", "", []string{"graph", "mlp", "--dot", "fifo"}, "--dot fifo: is not a regular file but a named pipe (FIFO)"},
		{"export onnx into a FIFO", "", []string{"export", "onnx", "--weights", "ck", "--out", "fifo"}, "--out fifo: is not a regular file"},
		{"export onnx into a device", "", []string{"export", "onnx", "--weights", "ck", "--out", "null"}, "--out null: is"},
		{"export onnx into its checkpoint", "", []string{"export", "onnx", "--weights", "ck", "--out", "ck/model.onnx"}, "lies inside --weights ck"},
		{"metrics over --out's model.json", "", append(tm, "--out", "ck", "--force", "--metrics", "ck/model.json"), "is a file of the checkpoint in ck"},
		{"metrics inside --out", "", append(tm, "--out", "ck", "--force", "--metrics", "ck/m.jsonl"), "lies inside --out ck"},
		{"plot inside --out/last", "", append(tm, "--out", "o2", "--plot", "o2/last/p.png"), "the directory o2/last does not exist"},
		{"metrics through a link", "", append(tm, "--out", "o1", "--metrics", "link.jsonl"), "is a symbolic link"},
		{"metrics into a FIFO", "", append(tm, "--out", "o1", "--metrics", "fifo"), "is not a regular file"},
		{"plot and metrics one file", "", append(tm, "--out", "o1", "--metrics", "p.out", "--plot", "p.out"), "--plot p.out: is also --metrics's file"},
		{"plot and metrics one file by two names", "", append(tm, "--out", "o1", "--metrics", "m.jsonl", "--plot", "./here/../m.jsonl"), "is also --metrics's file"},
		{"mnist --out .", "here", append(tm, "--out", "."), "--out .: a checkpoint is saved by replacing its directory as a whole"},
		{"xor --out .", "here", []string{"train", "xor", "--out", "."}, "--out .: a checkpoint is saved by replacing its directory as a whole"},
		{"mnist --out a link to a directory", "", append(tm, "--out", "linkdir"), "--out linkdir: linkdir is a symbolic link"},
		{"mnist --out whose last is a link", "", append(tm, "--out", "withlast", "--force"), "withlast/last is a symbolic link"},
		{"xor --out a link to a directory", "", []string{"train", "xor", "--out", "linkdir"}, "--out linkdir: linkdir is a symbolic link"},
		{"xor over an xor checkpoint", "", []string{"train", "xor", "--out", "xor"}, "--out xor: already holds a checkpoint; add --force to replace it"},
		{"xor over an mnist checkpoint", "", []string{"train", "xor", "--out", "ck"}, "--out ck: already holds a checkpoint; add --force to replace it"},
	}
	snapshot := func() map[string]string {
		files := map[string]string{}
		filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if err == nil && info.Mode().IsRegular() {
				raw, _ := os.ReadFile(p)
				files[p] = sha256Hex(raw)
			}
			return nil
		})
		return files
	}
	var rep rssReport
	for _, tc := range cases {
		before := snapshot()
		r, rss := hostileRun(t, filepath.Join(root, tc.dir), tc.args...)
		checkRefused(t, tc.name, r, rss, tc.want)
		rep.add(tc.name, rss)
		if after := snapshot(); !maps.Equal(before, after) {
			t.Errorf("%s: a refused run changed the files: %d before, %d after", tc.name, len(before), len(after))
		}
		if st, err := os.Lstat(filepath.Join(root, "fifo")); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
			t.Fatalf("%s: the FIFO was replaced", tc.name)
		}
	}
	rep.log(t, "outputs")
	// With --force, train xor replaces its checkpoint; from --init in its own --out it trains on.
	for _, args := range [][]string{{"train", "xor", "--out", "xor", "--force", "-q"}, {"train", "xor", "--init", "xor", "--out", "xor", "--epochs", "10", "-q"}} {
		if r, _ := hostileRun(t, root, args...); r.code != 0 {
			t.Errorf("%v: exit %d: %s", args, r.code, r.stderr)
		}
	}
}

// TestHostileControlCharacters checks that control characters from file names and model.json
// reach the terminal escaped, never raw.
func TestHostileControlCharacters(t *testing.T) {
	root := t.TempDir()
	m, _ := model.NewMLP(8, 1)
	good := filepath.Join(root, "good")
	checkpoint.SaveCheckpoint(good, m, nil, checkpoint.Checkpoint{})
	esc := "\x1b[2J\x1b]0;owned\x07\r"
	named := filepath.Join(root, "ck"+esc)
	copyDir(t, good, named)
	os.Remove(filepath.Join(named, "weights0.npy"))
	edited := filepath.Join(root, "edited")
	copyDir(t, good, edited)
	editJSON(t, edited, func(m map[string]any) { param(m, "weights0")["file"] = "w" + esc + ".npy" })
	kind := filepath.Join(root, "kind")
	copyDir(t, good, kind)
	editJSON(t, kind, func(m map[string]any) { m["model"].(map[string]any)["kind"] = esc })
	os.WriteFile(filepath.Join(root, "pic"+esc+".png"), []byte("not a picture"), 0o644)
	cases := []struct {
		name string
		args []string
	}{
		{"checkpoint directory named with escapes", []string{"eval", "mnist", "--weights", named}},
		{"missing directory named with escapes", []string{"eval", "mnist", "--weights", filepath.Join(root, "no"+esc)}},
		{"model.json file name with escapes", []string{"eval", "mnist", "--weights", edited}},
		{"model.json kind with escapes", []string{"eval", "mnist", "--weights", kind}},
		{"picture named with escapes", []string{"predict", "mnist", "--weights", good, filepath.Join(root, "pic"+esc+".png")}},
		{"metrics named with escapes", []string{"plot", "--metrics", filepath.Join(root, "m"+esc)}},
	}
	for _, tc := range cases {
		r, rss := hostileRun(t, root, tc.args...)
		checkRefused(t, tc.name, r, rss, "graphtrain: ")
		msg := strings.TrimSuffix(r.stderr, "\n")
		if i := strings.IndexFunc(msg, func(r rune) bool { return r < 0x20 || r == 0x7f }); i >= 0 {
			t.Errorf("%s: a raw control character %q in %q", tc.name, msg[i], msg)
		}
		if !strings.Contains(msg, `\x1b`) && !strings.Contains(msg, `\u001b`) {
			t.Errorf("%s: the escape is not shown escaped: %q", tc.name, msg)
		}
	}
}

// TestHostileAddressSpaceLimit checks that the memory estimate takes the address-space limit
// (ulimit -v) into account: a job that fits the machine but not the limit is refused at once,
// instead of dying in the Go runtime.
func TestHostileAddressSpaceLimit(t *testing.T) {
	root := t.TempDir()
	cmd := exec.Command("sh", "-c", `ulimit -v 2500000 && exec "$0" "$@"`, binPath,
		"train", "mnist", "--hidden", "100000", "--limit", "1000", "--epochs", "1", "--out", "o")
	cmd.Dir = root
	var e bytes.Buffer
	cmd.Stderr = &e
	cmd.Run()
	if cmd.ProcessState == nil {
		t.Fatal("did not run")
	}
	checkRefused(t, "ulimit -v 2500000", result{code: cmd.ProcessState.ExitCode(), stderr: e.String()}, 0, "lower --hidden or --batch")
	if _, err := os.Stat(filepath.Join(root, "o")); err == nil {
		t.Error("a refused run left its --out")
	}
}
