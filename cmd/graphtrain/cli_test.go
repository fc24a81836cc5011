package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graphtrain/graphtrain/internal/npy"
)

// binPath is the graphtrain binary TestMain builds as make build does (netgo), so that the
// CLI is tested as users run it.
var binPath string

func TestMain(m *testing.M) {
	if os.Getenv(rssWrapEnv) != "" {
		os.Exit(rssWrap())
	}
	dir, err := os.MkdirTemp("", "graphtrain-cli-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "graphtrain")
	if out, err := exec.Command("go", "build", "-tags", "netgo", "-o", binPath, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build graphtrain: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

// runBin runs the built binary with args and stdin in dir.
func runBin(t *testing.T, dir, stdin string, args ...string) result {
	t.Helper()
	return runBinWith(t, dir, stdin, nil, args...)
}

// runBinEnv is runBin with extra environment variables (e.g. PATH=...) and no input.
func runBinEnv(t *testing.T, dir string, envVars []string, args ...string) result {
	t.Helper()
	return runBinWith(t, dir, "", envVars, args...)
}

func runBinWith(t *testing.T, dir, stdin string, envVars []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	if envVars != nil {
		cmd.Env = append(os.Environ(), envVars...)
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	r := result{stdout: o.String(), stderr: e.String()}
	if x, ok := err.(*exec.ExitError); ok {
		r.code = x.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return r
}

// lastJSON decodes the last line of stdout.
func lastJSON(t *testing.T, stdout string, v any) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), v); err != nil {
		t.Fatalf("last line of stdout is not JSON: %v\n%s", err, stdout)
	}
}

func TestTrainAndPredictXOR(t *testing.T) {
	dir := t.TempDir()
	r := runBin(t, dir, "", "train", "xor", "--json", "--out", "w")
	if r.code != 0 {
		t.Fatalf("train xor: exit %d: %s", r.code, r.stderr)
	}
	var res struct {
		Loss        float64   `json:"loss"`
		Predictions []float64 `json:"predictions"`
		Answers     []int     `json:"answers"`
		Epochs      int       `json:"epochs"`
		Seconds     float64   `json:"seconds"`
		Device      string    `json:"device"`
	}
	lastJSON(t, r.stdout, &res)
	want := []float64{0.10125271, 0.92688325, 0.92005246, 0.05933504}
	for i := range want {
		if len(res.Predictions) != 4 || math.Abs(res.Predictions[i]-want[i]) > 1e-5 {
			t.Fatalf("predictions %v, the original printed %v", res.Predictions, want)
		}
	}
	if fmt.Sprint(res.Answers) != "[0 1 1 0]" || res.Epochs != 10000 || res.Device != "cpu" || !(res.Seconds > 0) {
		t.Errorf("result %+v", res)
	}
	for _, f := range []string{"weights0.npy", "weights1.npy", "model.json"} {
		if _, err := os.Stat(filepath.Join(dir, "w", f)); err != nil {
			t.Errorf("checkpoint: %v", err)
		}
	}
	if !strings.Contains(r.stdout, "epoch   1000  loss") {
		t.Errorf("no loss line every 1000 epochs:\n%s", r.stdout)
	}

	for _, in := range [][2]string{{"0", "0"}, {"0", "1"}, {"1", "0"}, {"1", "1"}} {
		r := runBin(t, dir, "", "predict", "xor", "--weights", "w", in[0], in[1])
		wantAns := 0
		if in[0] != in[1] {
			wantAns = 1
		}
		wantLine := fmt.Sprintf("Final Prediction (%s XOR %s): %d", in[0], in[1], wantAns)
		if r.code != 0 || !strings.Contains(r.stdout, "Input: ["+in[0]+" "+in[1]+"]") || !strings.Contains(r.stdout, wantLine) {
			t.Errorf("predict %v: exit %d\n%s%s", in, r.code, r.stdout, r.stderr)
		}
	}
	r = runBin(t, dir, "", "predict", "xor", "--weights", "w", "--json", "1", "1")
	var p struct {
		Input  []int   `json:"input"`
		Raw    float64 `json:"raw"`
		Answer int     `json:"answer"`
	}
	lastJSON(t, r.stdout, &p)
	if fmt.Sprint(p.Input) != "[1 1]" || p.Answer != 0 || math.Abs(p.Raw-0.0593) > 1e-3 {
		t.Errorf("predict --json: %+v", p)
	}
	if !strings.Contains(r.stdout, "Raw Prediction Output: 0.0593") {
		t.Errorf("raw output line missing:\n%s", r.stdout)
	}

	// Prompts, as the original inference.py asked.
	r = runBin(t, dir, "1\n0\n", "predict", "xor", "--weights", "w")
	if r.code != 0 || !strings.Contains(r.stdout, "enter left operand\nenter right operand\n") || !strings.Contains(r.stdout, "Final Prediction (1 XOR 0): 1") {
		t.Errorf("prompted predict: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// End of input: a clean exit.
	r = runBin(t, dir, "", "predict", "xor", "--weights", "w")
	if r.code != 0 || r.stderr != "" || strings.Contains(r.stdout, "Final") {
		t.Errorf("predict at end of input: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runBin(t, dir, "1\n", "predict", "xor", "--weights", "w")
	if r.code != 0 || strings.Contains(r.stdout, "Final") {
		t.Errorf("predict with end of input after one operand: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// --init continues from a checkpoint: 1 more epoch from the saved weights.
	r = runBin(t, dir, "", "train", "xor", "--init", "w", "--epochs", "1", "--out", "w2", "--json", "-q")
	if r.code != 0 {
		t.Fatalf("train --init: %s", r.stderr)
	}
	lastJSON(t, r.stdout, &res)
	if math.Abs(res.Predictions[3]-0.05932789) > 1e-6 {
		t.Errorf("one epoch from the saved weights predicted %v for 11, want numpy's post-update 0.05932789", res.Predictions[3])
	}
	if lines := strings.Count(strings.TrimSpace(r.stdout), "\n"); lines != 0 {
		t.Errorf("--quiet --json printed %d lines before the JSON", lines)
	}
}

// TestBadInput checks every bad input of the XOR commands: one line on stderr naming the
// problem, exit 2 for usage and 1 for the rest, no stack trace, and nothing overwritten.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	if r := runBin(t, dir, "", "train", "xor", "--epochs", "50", "--out", "good", "-q"); r.code != 0 {
		t.Fatalf("setup: %s", r.stderr)
	}
	os.WriteFile(filepath.Join(dir, "afile"), []byte("not a directory"), 0o644)
	os.MkdirAll(filepath.Join(dir, "wrongshape"), 0o755)
	npy.Save(filepath.Join(dir, "wrongshape", "weights0.npy"), &npy.Array{Shape: []int{2, 4}, Data: make([]float64, 8)})
	npy.Save(filepath.Join(dir, "wrongshape", "weights1.npy"), &npy.Array{Shape: []int{3, 1}, Data: make([]float64, 3)})
	os.MkdirAll(filepath.Join(dir, "garbage"), 0o755)
	os.WriteFile(filepath.Join(dir, "garbage", "weights0.npy"), []byte("hello"), 0o644)
	os.WriteFile(filepath.Join(dir, "garbage", "weights1.npy"), []byte("hello"), 0o644)
	snapshot := func() string {
		var b strings.Builder
		filepath.Walk(filepath.Join(dir, "good"), func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				raw, _ := os.ReadFile(p)
				fmt.Fprintf(&b, "%s %x\n", p, raw)
			}
			return nil
		})
		return b.String()
	}
	before := snapshot()

	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"missing weights dir", "", []string{"predict", "xor", "--weights", "nope", "1", "1"}, 1, "nope does not exist"},
		{"weights dir is a file", "", []string{"predict", "xor", "--weights", "afile", "1", "1"}, 1, "afile is a file"},
		{"unreadable weights", "", []string{"predict", "xor", "--weights", "garbage", "1", "1"}, 1, "garbage/weights0.npy: too short for the .npy preamble"},
		{"weights of the wrong shape", "", []string{"predict", "xor", "--weights", "wrongshape", "0", "1"}, 1, "weights1.npy holds shape (3, 1), the model needs (4, 1)"},
		{"no --weights", "", []string{"predict", "xor", "1", "1"}, 2, "--weights DIR is required"},
		{"operand 2", "", []string{"predict", "xor", "--weights", "good", "2", "1"}, 2, `left operand "2": must be 0 or 1`},
		{"operand x", "", []string{"predict", "xor", "--weights", "good", "1", "x"}, 2, `right operand "x": must be 0 or 1`},
		{"operand empty", "", []string{"predict", "xor", "--weights", "good", "", "1"}, 2, "left operand is empty"},
		{"one operand", "", []string{"predict", "xor", "--weights", "good", "1"}, 2, "give both operands"},
		{"prompted 2", "2\n", []string{"predict", "xor", "--weights", "good"}, 2, `left operand "2": must be 0 or 1`},
		{"prompted x", "1\nx\n", []string{"predict", "xor", "--weights", "good"}, 2, `right operand "x": must be 0 or 1`},
		{"prompted empty", "\n", []string{"predict", "xor", "--weights", "good"}, 2, "left operand is empty"},
		{"unknown flag", "", []string{"train", "xor", "--epoch", "5", "--out", "good"}, 2, "unknown flag: --epoch"},
		{"unknown command", "", []string{"trian", "xor"}, 2, `unknown command "trian"`},
		{"unknown subcommand", "", []string{"train", "xorr"}, 2, `unknown command "train xorr"`},
		{"epochs 0", "", []string{"train", "xor", "--epochs", "0", "--out", "good"}, 2, "--epochs 0: must be between 1 and 10000000"},
		{"epochs negative", "", []string{"train", "xor", "--epochs", "-3", "--out", "good"}, 2, "--epochs -3: must be between 1 and 10000000"},
		{"epochs not a number", "", []string{"train", "xor", "--epochs", "ten", "--out", "good"}, 2, "--epochs"},
		{"lr NaN", "", []string{"train", "xor", "--lr", "NaN", "--out", "good"}, 2, "--lr NaN: must be a positive number"},
		{"lr negative", "", []string{"train", "xor", "--lr", "-0.1", "--out", "good"}, 2, "--lr -0.1: must be a positive number"},
		{"lr zero", "", []string{"train", "xor", "--lr", "0", "--out", "good"}, 2, "--lr 0: must be a positive number"},
		{"lr inf", "", []string{"train", "xor", "--lr", "Inf", "--out", "good"}, 2, "--lr +Inf: must be a positive number"},
		{"hidden 0", "", []string{"train", "xor", "--hidden", "0", "--out", "good"}, 2, "--hidden 0: must be between 1 and"},
		{"seed too big", "", []string{"train", "xor", "--seed", "4294967296", "--out", "good"}, 2, "--seed 4294967296"},
		{"out is a file", "", []string{"train", "xor", "--out", "afile"}, 1, "--out afile: is a file"},
		{"init missing", "", []string{"train", "xor", "--init", "nope", "--out", "good"}, 1, "--init nope does not exist"},
		{"init wrong hidden", "", []string{"train", "xor", "--init", "good", "--hidden", "3", "--out", "good"}, 2, "--hidden 3: the weights in --init good have 4 hidden units"},
		{"bad device", "", []string{"train", "xor", "--device", "tpu", "--out", "good"}, 2, `--device "tpu": must be auto, vm, cpu or cuda`},
		{"cuda without gpu build", "", []string{"train", "xor", "--device", "cuda", "--out", "good"}, 1, "--device cuda: this graphtrain was built without GPU support; build it with 'make gpu'"},
		{"extra argument", "", []string{"train", "xor", "extra", "--out", "good"}, 2, "takes no arguments"},
	} {
		r := runBin(t, dir, tc.stdin, tc.args...)
		if r.code != tc.code {
			t.Errorf("%s: exit %d, want %d (stderr %q)", tc.name, r.code, tc.code, r.stderr)
		}
		lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "graphtrain: ") || !strings.Contains(lines[0], tc.want) {
			t.Errorf("%s: stderr %q, want one line starting 'graphtrain: ' containing %q", tc.name, r.stderr, tc.want)
		}
		if strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "panic") {
			t.Errorf("%s: stack trace on stderr: %s", tc.name, r.stderr)
		}
	}
	if after := snapshot(); after != before {
		t.Errorf("a failed command changed the checkpoint in good/")
	}
}

func TestHelpExplainsEveryFlag(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"train", "--help"}, {"train", "xor", "--help"}, {"predict", "xor", "-h"}, {"devices", "--help"}, {"help"}} {
		r := runBin(t, t.TempDir(), "", args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
			t.Errorf("%v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
	}
	r := runBin(t, t.TempDir(), "", "train", "xor", "--help")
	for _, flag := range []string{"--hidden", "--epochs", "--lr", "--seed", "--bias", "--init", "--out", "--log-every", "--json", "--quiet", "--device"} {
		if !strings.Contains(r.stdout, flag) {
			t.Errorf("train xor --help does not explain %s", flag)
		}
	}
	for p, c := range commands {
		if c.short == "" {
			t.Errorf("command %q has no description", p)
		}
	}
}

func TestDevicesAndVersion(t *testing.T) {
	r := runBin(t, t.TempDir(), "", "devices", "--json")
	var d struct {
		Backends []string `json:"backends"`
		CUDA     struct {
			Compiled bool   `json:"compiled"`
			Reason   string `json:"reason"`
		} `json:"cuda"`
	}
	lastJSON(t, r.stdout, &d)
	if r.code != 0 || len(d.Backends) < 2 || d.Backends[0] != "vm" || d.Backends[1] != "cpu" {
		t.Errorf("devices: exit %d %+v", r.code, d)
	}
	if !d.CUDA.Compiled && !strings.Contains(d.CUDA.Reason, "build with make gpu") {
		t.Errorf("CPU-only build: cuda reason %q does not say how to get GPU support", d.CUDA.Reason)
	}
	r = runBin(t, t.TempDir(), "", "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "graphtrain ") || !strings.Contains(r.stdout, "gorgonia v0.9.18") {
		t.Errorf("version: %q", r.stdout)
	}
}
