package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graphtrain/graphtrain/model"
)

// TestAugmentFlagRefused: a malformed --augment list, a negative or unknown key, a key twice,
// a fractional shift, sigma without elastic and values out of range are refused before
// anything is read, with one line that names the flag, the key and what to do, exit 2.
func TestAugmentFlagRefused(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ arg, want string }{
		{"shift=-1", `--augment "shift=-1": shift=-1 is negative; give 0 or more`},
		{"rotate=-5", `--augment "rotate=-5": rotate=-5 is negative`},
		{"zoom=2", `--augment "zoom=2": unknown key "zoom"; the keys are shift, rotate, scale, elastic and sigma`},
		{"elastic=-34", `--augment "elastic=-34": elastic=-34 is negative; give 0 or more`},
		{"sigma=4", `--augment "sigma=4": sigma=4 without elastic: sigma smooths the elastic field; give elastic=A too, or leave sigma out`},
		{"elastic=0,sigma=4", "sigma=4 without elastic"},
		{"elastic=34,sigma=0.2", "sigma 0.2: must be 0.5 to 10 pixels; give sigma=0.5 to 10"},
		{"elastic=34,sigma=11", "sigma 11: must be 0.5 to 10 pixels; give sigma=0.5 to 10"},
		{"elastic=34,sigma=-1", "sigma=-1 is negative"},
		{"elastic=34,elastic=8", "elastic given twice"},
		{"elastic=113", "elastic 113: must be 0 to 112 pixels (4 times the image's side); give a smaller value"},
		{"shift", `--augment "shift": "shift" is not key=number`},
		{"shift=2,", `--augment "shift=2,": "" is not key=number`},
		{"shift=two", `"shift=two" is not key=number`},
		{"shift=NaN", `"shift=NaN" is not key=number`},
		{"shift=1,shift=2", "shift given twice; give each key once"},
		{"shift=1.5", "shift=1.5 is not a whole number of pixels; give shift=N"},
		{"rotate=91", "rotate 91: must be 0 to 90 degrees; give a smaller value"},
		{"scale=1", "scale 1: must be in [0, 1); give a smaller value"},
		{"shift=29", "shift 29: must be 0 to 28 pixels (the image's side); give a smaller value"},
	} {
		r := runBin(t, dir, "", "train", "mnist", "--out", "o", "--augment", c.arg)
		line := strings.TrimSpace(r.stderr)
		if r.code != 2 || strings.Contains(line, "\n") || !strings.HasPrefix(line, "graphtrain: ") || !strings.Contains(line, c.want) {
			t.Errorf("--augment %s: exit %d, %q; want exit 2 and one line with %q", c.arg, r.code, r.stderr, c.want)
		}
	}
}

// TestAugmentResumesExactly: a cnn augmented with elastic distortion too, trained 2 epochs
// in one run and 1 + 1 with --resume (which takes the augmentation from the checkpoint),
// gives the same parameters and solver state, bit for bit, and differs from the run without;
// model.json records the augmentation, the default sigma and the seed; a different --augment
// on resume is refused without --force.
func TestAugmentResumesExactly(t *testing.T) {
	dir := t.TempDir()
	// A constant rate: a schedule spans --epochs, 1 in the first run here and 2 in the straight one.
	common := []string{"train", "mnist", "--model", "cnn", "--limit", "700", "--batch", "64", "-q", "--device", "cpu", "--seed", "3", "--lr-schedule", "constant"}
	with := func(more ...string) []string { return append(append([]string(nil), common...), more...) }
	const aug = "shift=2,rotate=10,scale=0.1,elastic=34"
	for _, run := range [][]string{
		with("--augment", aug, "--epochs", "2", "--out", "a"),
		with("--augment", aug, "--epochs", "1", "--out", "b"),
		{"train", "mnist", "--resume", "b", "--epochs", "2", "-q", "--device", "cpu"},
		with("--epochs", "2", "--out", "c"),
	} {
		if r := runBin(t, dir, "", run...); r.code != 0 {
			t.Fatalf("%v: exit %d\n%s", run, r.code, r.stderr)
		}
	}
	sameLastFiles(t, dir, "a", "b", 30) // 10 parameters, Adam's m and v for each
	a0, _ := os.ReadFile(filepath.Join(dir, "a", "last", "conv0.npy"))
	c0, _ := os.ReadFile(filepath.Join(dir, "c", "last", "conv0.npy"))
	if bytes.Equal(a0, c0) {
		t.Errorf("--augment changed nothing")
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "b", "last", "model.json"))
	var ck struct {
		Model struct {
			Augment map[string]any `json:"augment"`
		} `json:"model"`
	}
	if err := json.Unmarshal(raw, &ck); err != nil {
		t.Fatal(err)
	}
	if a := ck.Model.Augment; a["shift"] != 2.0 || a["rotate"] != 10.0 || a["scale"] != 0.1 || a["elastic"] != 34.0 || a["sigma"] != 4.0 || a["seed"] != 3.0 {
		t.Errorf("model.json records augment %v", a)
	}
	r := runBin(t, dir, "", "train", "mnist", "--resume", "b", "--epochs", "3", "--augment", "shift=1")
	if r.code != 2 || !strings.Contains(r.stderr, `--augment "shift=1": the checkpoint in --resume b was trained with --augment shift=2,rotate=10,scale=0.1,elastic=34,sigma=4`) {
		t.Errorf("resume with another --augment: exit %d, %s", r.code, r.stderr)
	}
}

// TestAugmentFlagParsed: --augment's keys land in model.Augment, an elastic distortion
// without sigma takes the default 4, and the augmentation's String is a flag that parses back
// to it.
func TestAugmentFlagParsed(t *testing.T) {
	for _, c := range []struct {
		arg  string
		want model.Augment
	}{
		{"shift=2,rotate=10,scale=0.1", model.Augment{Shift: 2, Rotate: 10, Scale: 0.1}},
		{"elastic=34", model.Augment{Elastic: 34, Sigma: 4}},
		{" sigma = 6 , elastic=20,shift=1", model.Augment{Shift: 1, Elastic: 20, Sigma: 6}},
		{"elastic=0", model.Augment{}},
	} {
		a, err := parseAugment(c.arg)
		if err != nil || *a != c.want {
			t.Errorf("--augment %q: %+v, %v; want %+v", c.arg, a, err, c.want)
			continue
		}
		if back, err := parseAugment(a.String()); err != nil || *back != *a {
			t.Errorf("--augment %q: %q parses back as %+v, %v", c.arg, a.String(), back, err)
		}
	}
}
