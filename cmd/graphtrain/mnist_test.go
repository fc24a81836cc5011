package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests train on the real MNIST, from the data cache ($GRAPHTRAIN_DATA or the user
// cache directory), fetched through the Go module proxy when it is not there yet.

type trainJSON struct {
	TestAccuracy  float64 `json:"test_accuracy"`
	ValAccuracy   float64 `json:"val_accuracy"`
	Epochs        int     `json:"epochs"`
	BestEpoch     int     `json:"best_epoch"`
	Seconds       float64 `json:"seconds"`
	SamplesPerSec float64 `json:"samples_per_second"`
	Device        string  `json:"device"`
	Model         string  `json:"model"`
}

func TestTrainEvalPredictMNIST(t *testing.T) {
	dir := t.TempDir()
	// A short run on a subset: 9000 training images, 3 epochs of a small MLP.
	r := runBin(t, dir, "", "train", "mnist", "--model", "mlp", "--hidden", "64", "--limit", "10000", "--epochs", "3",
		"--out", "mlp", "--metrics", "m.jsonl", "--json")
	if r.code != 0 {
		t.Fatalf("train mnist: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var res trainJSON
	lastJSON(t, r.stdout, &res)
	t.Logf("mlp, 9000 images, 3 epochs: test accuracy %.4f, %.0f samples/s", res.TestAccuracy, res.SamplesPerSec)
	if res.TestAccuracy < 0.88 || res.Epochs != 3 || res.Model != "mlp" || res.Device != "cpu" || !(res.SamplesPerSec > 0) {
		t.Errorf("short run: %+v, want test accuracy >= 0.88 after 3 epochs", res)
	}
	metrics, _ := os.ReadFile(filepath.Join(dir, "m.jsonl"))
	if lines := strings.Split(strings.TrimSpace(string(metrics)), "\n"); len(lines) != 3 || !strings.Contains(lines[2], `"epoch":3`) || !strings.Contains(lines[2], `"val_accuracy"`) {
		t.Errorf("metrics file:\n%s", metrics)
	}
	for _, f := range []string{"mlp/model.json", "mlp/weights0.npy", "mlp/last/model.json", "mlp/last/solver.m.weights0.npy"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("checkpoint: %v", err)
		}
	}

	// eval prints the same test accuracy for the saved model.
	r = runBin(t, dir, "", "eval", "mnist", "--weights", "mlp", "--confusion", "--json")
	var ev struct {
		TestAccuracy float64     `json:"test_accuracy"`
		PerClass     []float64   `json:"per_class_accuracy"`
		Confusion    [10][10]int `json:"confusion"`
	}
	lastJSON(t, r.stdout, &ev)
	if r.code != 0 || ev.TestAccuracy != res.TestAccuracy || len(ev.PerClass) != 10 {
		t.Errorf("eval: exit %d, accuracy %v, train reported %v", r.code, ev.TestAccuracy, res.TestAccuracy)
	}
	total := 0
	for _, row := range ev.Confusion {
		for _, c := range row {
			total += c
		}
	}
	if total != 10000 || !strings.Contains(r.stdout, "confusion matrix") {
		t.Errorf("confusion matrix counts %d images, want 10000", total)
	}

	// predict a test image and a picture file.
	r = runBin(t, dir, "", "predict", "mnist", "--weights", "mlp", "--index", "0", "--json")
	var p struct {
		Digit int       `json:"digit"`
		Probs []float64 `json:"probabilities"`
		Label int       `json:"label"`
	}
	lastJSON(t, r.stdout, &p)
	sum := 0.0
	for _, v := range p.Probs {
		sum += v
	}
	if r.code != 0 || p.Label != 7 || p.Digit != 7 || len(p.Probs) != 10 || math.Abs(sum-1) > 1e-6 {
		t.Errorf("predict --index 0: exit %d %+v (sum %v), want 7", r.code, p, sum)
	}
	if !strings.Contains(r.stdout, "@") || strings.Count(r.stdout, "\n") < 30 {
		t.Errorf("predict shows no text art of the input:\n%s", r.stdout)
	}
	img, _ := filepath.Abs(filepath.Join("..", "..", "datasets", "testdata", "images", "seven.png"))
	r = runBin(t, dir, "", "predict", "mnist", "--weights", "mlp", img, "--json")
	lastJSON(t, r.stdout, &p)
	if r.code != 0 || len(p.Probs) != 10 {
		t.Errorf("predict %s: exit %d %s", img, r.code, r.stderr)
	}
	t.Logf("seven.png read as %d", p.Digit)

	// Bad input: one line, the right exit status, nothing overwritten.
	before, _ := os.ReadFile(filepath.Join(dir, "mlp", "weights0.npy"))
	os.WriteFile(filepath.Join(dir, "notimage.png"), []byte("hello"), 0o644)
	runBin(t, dir, "", "train", "xor", "--epochs", "10", "--out", "xor", "-q")
	os.MkdirAll(filepath.Join(dir, "corrupt"), 0o755)
	os.WriteFile(filepath.Join(dir, "corrupt", "model.json"), []byte(`{"format": "graphtrain-checkpoint-1", "model": {"kind": `), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing data", []string{"train", "mnist", "--data-dir", "nodata", "--out", "mlp-new"}, 1, "--data-dir nodata: no such directory"},
		{"data dir without MNIST", []string{"eval", "mnist", "--weights", "mlp", "--data-dir", "xor"}, 1, "xor"},
		{"wrong model", []string{"train", "mnist", "--model", "resnet", "--out", "mlp"}, 2, `--model "resnet": must be mlp or cnn`},
		{"batch 0", []string{"train", "mnist", "--batch", "0", "--out", "mlp"}, 2, "--batch 0: must be between 1 and 60000"},
		{"batch too big", []string{"train", "mnist", "--batch", "5000", "--limit", "1000", "--out", "mlp-new"}, 2, "larger than the 900 training images"},
		{"bad solver", []string{"train", "mnist", "--solver", "rmsprop", "--out", "mlp"}, 2, `--solver "rmsprop"`},
		{"bad val split", []string{"train", "mnist", "--val-split", "1", "--out", "mlp"}, 2, "--val-split 1: must be in [0, 1)"},
		{"lr NaN", []string{"train", "mnist", "--lr", "NaN", "--out", "mlp"}, 2, "--lr NaN"},
		{"resume done", []string{"train", "mnist", "--resume", "mlp", "--epochs", "3"}, 2, "has done 3 epochs already"},
		{"resume xor", []string{"train", "mnist", "--resume", "xor"}, 1, "holds a xor model, not an MNIST model"},
		{"eval xor checkpoint", []string{"eval", "mnist", "--weights", "xor"}, 1, "--weights xor: holds a xor model, not an MNIST model"},
		{"eval corrupt model.json", []string{"eval", "mnist", "--weights", "corrupt"}, 1, "not a graphtrain model.json"},
		{"eval no weights", []string{"eval", "mnist"}, 2, "--weights DIR is required"},
		{"predict xor with mnist weights", []string{"predict", "xor", "--weights", "mlp", "1", "0"}, 1, "holds a mlp model, not an XOR net"},
		{"unreadable image", []string{"predict", "mnist", "--weights", "mlp", "notimage.png"}, 1, "notimage.png"},
		{"missing image", []string{"predict", "mnist", "--weights", "mlp", "nope.png"}, 1, "nope.png"},
		{"index out of range", []string{"predict", "mnist", "--weights", "mlp", "--index", "10000"}, 2, "--index 10000: must be between 0 and 9999"},
		{"image and index", []string{"predict", "mnist", "--weights", "mlp", "--index", "3", "x.png"}, 2, "not both"},
		{"neither image nor index", []string{"predict", "mnist", "--weights", "mlp"}, 2, "give an IMAGE file or --index N"},
		{"bench bad model", []string{"bench", "--model", "vgg"}, 2, `--model "vgg"`},
		{"bench bad steps", []string{"bench", "--steps", "-1"}, 2, "--steps -1"},
	} {
		r := runBin(t, dir, "", tc.args...)
		lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
		if r.code != tc.code || len(lines) != 1 || !strings.HasPrefix(lines[0], "graphtrain: ") || !strings.Contains(lines[0], tc.want) {
			t.Errorf("%s: exit %d (want %d), stderr %q, want one line containing %q", tc.name, r.code, tc.code, r.stderr, tc.want)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "mlp", "weights0.npy")); !bytes.Equal(before, after) {
		t.Errorf("a failed command changed mlp/weights0.npy")
	}
}

// TestResumeMatchesStraightRun: 2 epochs in one run and 1 + 1 with --resume give the same
// parameters and solver state, bit for bit; and differ from a constant-rate run.
func TestResumeMatchesStraightRun(t *testing.T) {
	dir := t.TempDir()
	// The cosine schedule depends on the epoch: the resumed run must pick it up from the
	// checkpoint, as it must the other hyperparameters.
	common := []string{"train", "mnist", "--model", "mlp", "--hidden", "16", "--limit", "1500", "--lr-schedule", "cosine", "-q"}
	if r := runBin(t, dir, "", append(common, "--epochs", "2", "--out", "a")...); r.code != 0 {
		t.Fatalf("straight run: %s", r.stderr)
	}
	if r := runBin(t, dir, "", append(common, "--epochs", "1", "--out", "b")...); r.code != 0 {
		t.Fatalf("first half: %s", r.stderr)
	}
	if r := runBin(t, dir, "", "train", "mnist", "--resume", "b", "--epochs", "2", "-q"); r.code != 0 {
		t.Fatalf("resume: %s", r.stderr)
	}
	if r := runBin(t, dir, "", "train", "mnist", "--model", "mlp", "--hidden", "16", "--limit", "1500", "-q", "--epochs", "2", "--out", "c"); r.code != 0 {
		t.Fatalf("constant-rate run: %s", r.stderr)
	}
	a0, _ := os.ReadFile(filepath.Join(dir, "a", "last", "weights0.npy"))
	c0, _ := os.ReadFile(filepath.Join(dir, "c", "last", "weights0.npy"))
	if bytes.Equal(a0, c0) {
		t.Errorf("--lr-schedule cosine changed nothing")
	}
	sameLastFiles(t, dir, "a", "b", 12) // 4 parameters, Adam's m and v for each
}

// TestInterruptSavesAndExits sends SIGINT, then SIGTERM, during training: each saves the
// state and exits 128 plus the signal's number, as shells report it.
func TestInterruptSavesAndExits(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		t.Run(tc.sig.String(), func(t *testing.T) { interruptTraining(t, tc.sig, tc.code) })
	}
}

func interruptTraining(t *testing.T, sig syscall.Signal, want int) {
	dir := t.TempDir()
	cmd := exec.Command(binPath, "train", "mnist", "--model", "mlp", "--hidden", "32", "--epochs", "1000", "--limit", "6000", "--out", "o")
	cmd.Dir = dir
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "epoch   1 ") { // one epoch done and saved
			break
		}
	}
	time.Sleep(200 * time.Millisecond)
	cmd.Process.Signal(sig)
	go func() {
		for sc.Scan() {
		}
	}()
	err := cmd.Wait()
	code := 0
	if x, ok := err.(*exec.ExitError); ok {
		code = x.ExitCode()
	}
	if code != want || !strings.Contains(stderr.String(), "interrupted: the state is saved in o/last") || !strings.Contains(stderr.String(), "--resume o") {
		t.Fatalf("exit %d, stderr %q: want %d and where the checkpoint is", code, stderr.String(), want)
	}
	if _, err := os.Stat(filepath.Join(dir, "o", "last", "solver.v.weights1.npy")); err != nil {
		t.Errorf("no resumable state after the interrupt: %v", err)
	}
	r := runBin(t, dir, "", "eval", "mnist", "--weights", "o", "-q", "--json")
	if r.code != 0 {
		t.Errorf("the best model saved before the interrupt does not evaluate: %s", r.stderr)
	}
}

// TestDivergenceStopsAndKeepsCheckpoint: a learning rate far too large makes the loss NaN or
// Inf; training stops with a clear message and the last good checkpoint is left alone.
func TestDivergenceStopsAndKeepsCheckpoint(t *testing.T) {
	dir := t.TempDir()
	if r := runBin(t, dir, "", "train", "mnist", "--hidden", "16", "--limit", "1500", "--epochs", "1", "--solver", "sgd", "--out", "o", "-q"); r.code != 0 {
		t.Fatalf("first epoch: %s", r.stderr)
	}
	good, _ := os.ReadFile(filepath.Join(dir, "o", "last", "weights0.npy"))
	r := runBin(t, dir, "", "train", "mnist", "--resume", "o", "--epochs", "3", "--lr", "1e30", "-q")
	if r.code != 1 || !strings.Contains(r.stderr, "training diverged: the loss became") || !strings.Contains(r.stderr, "lower --lr") {
		t.Fatalf("exit %d, stderr %q: want 1 and a divergence message", r.code, r.stderr)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, "o", "last", "weights0.npy")); !bytes.Equal(good, now) {
		t.Errorf("the last good checkpoint was overwritten")
	}
}

func TestTrainCNNShortRun(t *testing.T) {
	dir := t.TempDir()
	r := runBin(t, dir, "", "train", "mnist", "--model", "cnn", "--limit", "3000", "--batch", "32", "--epochs", "2", "--out", "cnn", "--json", "-q")
	if r.code != 0 {
		t.Fatalf("train cnn: %s", r.stderr)
	}
	var res trainJSON
	lastJSON(t, r.stdout, &res)
	t.Logf("cnn, 2700 images, 2 epochs, batch 32: test accuracy %.4f, %.0f samples/s", res.TestAccuracy, res.SamplesPerSec)
	if res.TestAccuracy < 0.85 {
		t.Errorf("cnn test accuracy %.4f after two short epochs, want >= 0.85", res.TestAccuracy)
	}
}

// TestCheckpointsMoveBetweenDevices: a run started on the compiled CPU executor resumes on
// the TapeMachine (and the other way round), and the second epoch's loss is the one a run
// that stayed on one device reaches, within float32 rounding.
func TestCheckpointsMoveBetweenDevices(t *testing.T) {
	dir := t.TempDir()
	// A constant rate: a schedule spans --epochs, 1 in the first runs here and 2 in the straight one.
	common := []string{"train", "mnist", "--model", "mlp", "--hidden", "16", "--limit", "1500", "-q", "--lr-schedule", "constant"}
	epochLoss := func(metrics string, epoch int) float64 {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(dir, metrics))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var m struct {
				Epoch     int     `json:"epoch"`
				TrainLoss float64 `json:"train_loss"`
			}
			if err := json.Unmarshal([]byte(line), &m); err == nil && m.Epoch == epoch {
				return m.TrainLoss
			}
		}
		t.Fatalf("%s has no epoch %d", metrics, epoch)
		return 0
	}
	if r := runBin(t, dir, "", append(common, "--device", "cpu", "--epochs", "2", "--out", "straight", "--metrics", "straight.jsonl")...); r.code != 0 {
		t.Fatalf("straight run: %s", r.stderr)
	}
	want := epochLoss("straight.jsonl", 2)
	for _, c := range []struct{ first, then string }{{"cpu", "vm"}, {"vm", "cpu"}} {
		out := c.first + "-" + c.then
		if r := runBin(t, dir, "", append(common, "--device", c.first, "--epochs", "1", "--out", out)...); r.code != 0 {
			t.Fatalf("first epoch on %s: %s", c.first, r.stderr)
		}
		if r := runBin(t, dir, "", "train", "mnist", "--resume", out, "--epochs", "2", "--device", c.then, "-q", "--metrics", out+".jsonl"); r.code != 0 {
			t.Fatalf("second epoch on %s: %s", c.then, r.stderr)
		}
		if got := epochLoss(out+".jsonl", 2); math.Abs(got-want) > 1e-3*math.Abs(want) {
			t.Errorf("%s then %s: epoch 2 loss %v, all on cpu %v", c.first, c.then, got, want)
		}
	}
}

// TestDeepMLPPast98 trains a two-hidden-layer mlp, 784-512-256-10, on the real MNIST past
// 98% test accuracy (8 epochs of Adam with a cosine schedule, the default batch: about 15 s
// of training on two cores), then evaluates, inspects (one picture per layer) and resumes
// it: every command takes the deeper net.
func TestDeepMLPPast98(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	r := runBin(t, dir, "", "train", "mnist", "--hidden", "512,256", "--epochs", "8", "--lr-schedule", "cosine",
		"--device", "cpu", "--out", "deep", "--json")
	if r.code != 0 {
		t.Fatalf("train mnist --hidden 512,256: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var res trainJSON
	lastJSON(t, r.stdout, &res)
	t.Logf("784-512-256-10, 8 epochs: test accuracy %.4f, %.1f s of training, %.1f s in all", res.TestAccuracy, res.Seconds, time.Since(start).Seconds())
	if !strings.Contains(r.stdout, "training mlp 784-512-256-10") {
		t.Errorf("train's first line does not name the layers:\n%s", r.stdout)
	}
	if res.TestAccuracy <= 0.98 {
		t.Errorf("784-512-256-10: test accuracy %.4f after 8 epochs, want above 0.98", res.TestAccuracy)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "deep", "model.json"))
	if err != nil || !strings.Contains(string(raw), `"layers": [`) {
		t.Errorf("model.json does not record the layers (%v):\n%.600s", err, raw)
	}

	r = runBin(t, dir, "", "eval", "mnist", "--weights", "deep", "--json")
	var ev struct {
		TestAccuracy float64 `json:"test_accuracy"`
	}
	lastJSON(t, r.stdout, &ev)
	if r.code != 0 || ev.TestAccuracy != res.TestAccuracy {
		t.Errorf("eval: exit %d, accuracy %v, train reported %v", r.code, ev.TestAccuracy, res.TestAccuracy)
	}

	r = runBin(t, dir, "", "inspect", "mnist", "--weights", "deep", "--out", "look", "--json")
	var in struct {
		Files []string `json:"files"`
	}
	lastJSON(t, r.stdout, &in)
	if r.code != 0 || len(in.Files) != 3 {
		t.Fatalf("inspect mnist: exit %d, files %v\n%s", r.code, in.Files, r.stderr)
	}
	checkPNG(t, filepath.Join(dir, "look", "weights0.png"), 0, 0)
	checkPNG(t, filepath.Join(dir, "look", "weights1.png"), 0, 0) // 256 units x 512 inputs
	checkPNG(t, filepath.Join(dir, "look", "weights2.png"), 0, 0) // 10 digits x 256 inputs

	// --resume takes the layers from the checkpoint, and refuses others.
	r = runBin(t, dir, "", "train", "mnist", "--resume", "deep", "--hidden", "512", "--epochs", "9")
	if r.code != 2 || !strings.Contains(r.stderr, "--hidden 512: the checkpoint in --resume deep has 512,256") {
		t.Errorf("resume with other layers: exit %d: %s", r.code, r.stderr)
	}
}

// TestFashionMNIST trains a small mlp on Fashion-MNIST from Debian's package (no network),
// then: eval and predict find the data set in the checkpoint and name the classes; a wrong
// --dataset, and Fashion-MNIST's files given for MNIST, are refused; --resume keeps it.
func TestFashionMNIST(t *testing.T) {
	if _, err := os.Stat("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"); err != nil {
		t.Skipf("Debian's package dataset-fashion-mnist is not installed (%v); make fashion-deps installs it", err)
	}
	dir := t.TempDir()
	r := runBin(t, dir, "", "data", "fetch", "--dataset", "fashion", "--dir", "fm")
	if r.code != 0 || !strings.Contains(r.stdout, "Fashion-MNIST is in fm") || !strings.Contains(r.stdout, "Debian package dataset-fashion-mnist") {
		t.Fatalf("data fetch --dataset fashion: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runBin(t, dir, "", "train", "mnist", "--dataset", "fashion", "--data-dir", "fm", "--hidden", "32", "--limit", "6000",
		"--epochs", "2", "--out", "f", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, "training mlp 784-32-10 (Fashion-MNIST)") {
		t.Fatalf("train --dataset fashion: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var res trainJSON
	lastJSON(t, r.stdout, &res)
	if res.TestAccuracy < 0.6 {
		t.Errorf("fashion, 6000 images, 2 epochs: test accuracy %.4f, want >= 0.6", res.TestAccuracy)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "f", "model.json"))
	if !strings.Contains(string(raw), `"dataset": "fashion"`) {
		t.Errorf("model.json does not name the data set:\n%.800s", raw)
	}

	r = runBin(t, dir, "", "eval", "mnist", "--weights", "f", "--data-dir", "fm", "--json")
	var ev struct {
		TestAccuracy float64  `json:"test_accuracy"`
		Dataset      string   `json:"dataset"`
		Classes      []string `json:"classes"`
	}
	lastJSON(t, r.stdout, &ev)
	if r.code != 0 || ev.TestAccuracy != res.TestAccuracy || ev.Dataset != "fashion" || len(ev.Classes) != 10 ||
		!strings.Contains(r.stdout, "test accuracy on Fashion-MNIST") || !strings.Contains(r.stdout, "9 Ankle boot:") {
		t.Errorf("eval: exit %d, %+v, train said %v\n%s", r.code, ev, res.TestAccuracy, r.stdout)
	}
	r = runBin(t, dir, "", "predict", "mnist", "--weights", "f", "--data-dir", "fm", "--index", "0")
	if r.code != 0 || !strings.Contains(r.stdout, "label: 9 Ankle boot") || !strings.Contains(r.stdout, "class: ") {
		t.Errorf("predict: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// The wrong data set, said or given, is refused: nothing is measured.
	r = runBin(t, dir, "", "eval", "mnist", "--weights", "f", "--dataset", "mnist")
	if r.code != 2 || !strings.Contains(r.stderr, "--dataset mnist: the mlp model in --weights f was trained on Fashion-MNIST") || r.stdout != "" {
		t.Errorf("eval --dataset mnist of a fashion model: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runBin(t, dir, "", "train", "mnist", "--hidden", "8", "--limit", "1000", "--epochs", "1", "--out", "m", "-q")
	if r.code != 0 {
		t.Fatalf("train mnist: %s", r.stderr)
	}
	r = runBin(t, dir, "", "eval", "mnist", "--weights", "m", "--data-dir", "fm")
	if r.code != 1 || !strings.Contains(r.stderr, "--data-dir fm: holds Fashion-MNIST, not MNIST") {
		t.Errorf("eval of an MNIST model on Fashion-MNIST's files: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runBin(t, dir, "", "train", "mnist", "--resume", "f", "--dataset", "mnist", "--epochs", "3")
	if r.code != 2 || !strings.Contains(r.stderr, "was trained on fashion") {
		t.Errorf("resume with another data set: exit %d: %s", r.code, r.stderr)
	}
}

// TestSameOnAnyCoreCount: on the compiled CPU executor a run's checkpoint is the same bit for
// bit whatever GOMAXPROCS is (fixed pieces of work, no sum split across them), for the mlp and
// the cnn.
func TestSameOnAnyCoreCount(t *testing.T) {
	dir := t.TempDir()
	for _, model := range []string{"mlp", "cnn"} {
		for _, procs := range []string{"1", "3"} {
			out := model + "-" + procs
			r := runBinWith(t, dir, "", []string{"GOMAXPROCS=" + procs}, "train", "mnist", "--model", model, "--device", "cpu",
				"--limit", "1200", "--epochs", "1", "--batch", "64", "--out", out, "-q")
			if r.code != 0 {
				t.Fatalf("%s on GOMAXPROCS=%s: %s", model, procs, r.stderr)
			}
		}
		files, _ := filepath.Glob(filepath.Join(dir, model+"-1", "*.npy"))
		if len(files) == 0 {
			t.Fatalf("%s: no arrays saved", model)
		}
		for _, f := range files {
			a, _ := os.ReadFile(f)
			b, err := os.ReadFile(filepath.Join(dir, model+"-3", filepath.Base(f)))
			if err != nil || !bytes.Equal(a, b) {
				t.Errorf("%s: %s differs between GOMAXPROCS=1 and 3 (%v)", model, filepath.Base(f), err)
			}
		}
	}
}

// TestResumeWithLayersMatchesStraightRun: a description with dropout and batch normalisation
// trains 2 epochs in one run and 1 + 1 with --resume to the same parameters, running
// statistics and solver state, bit for bit: the masks are keyed by the step, and the
// running statistics are saved.
func TestResumeWithLayersMatchesStraightRun(t *testing.T) {
	dir := t.TempDir()
	common := []string{"train", "mnist", "--arch", "conv(4,5) batchnorm relu avgpool(2) dense(32) batchnorm relu dropout(0.5) dense(10)", "--limit", "1200", "-q"}
	if r := runBin(t, dir, "", append(common, "--epochs", "2", "--out", "a")...); r.code != 0 {
		t.Fatalf("straight run: %s", r.stderr)
	}
	if r := runBin(t, dir, "", append(common, "--epochs", "1", "--out", "b")...); r.code != 0 {
		t.Fatalf("first half: %s", r.stderr)
	}
	if r := runBin(t, dir, "", "train", "mnist", "--resume", "b", "--epochs", "2", "-q"); r.code != 0 {
		t.Fatalf("resume: %s", r.stderr)
	}
	sameLastFiles(t, dir, "a", "b", 36) // conv0, weights0, weights1, bias1, two batch norms of 4: 12 parameters, Adam's m and v
	if r := runBin(t, dir, "", "eval", "mnist", "--weights", "a", "-q"); r.code != 0 || !strings.Contains(r.stdout, "accuracy") {
		t.Errorf("eval of the model: exit %d, %s%s", r.code, r.stdout, r.stderr)
	}
}

// sameLastFiles checks that OUT a's last checkpoint holds want .npy files and that OUT b's
// holds the same, bit for bit: a straight run and a resumed one.
func sameLastFiles(t *testing.T, dir, a, b string, want int) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, a, "last", "*.npy"))
	if len(files) != want {
		t.Fatalf("%d .npy files in %s/last, want %d", len(files), a, want)
	}
	for _, f := range files {
		x, _ := os.ReadFile(f)
		y, err := os.ReadFile(filepath.Join(dir, b, "last", filepath.Base(f)))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between the straight and the resumed run (%v)", filepath.Base(f), err)
		}
	}
}
