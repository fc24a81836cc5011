package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graphtrain/graphtrain/datasets"
)

// dataRun runs the CLI in-process and returns its exit status, stdout and stderr.
func dataRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(&env{stdout: &o, stderr: &e, stdin: strings.NewReader("")}, args)
	return code, o.String(), e.String()
}

// dataLastJSON decodes the last line of stdout into v.
func dataLastJSON(t *testing.T, stdout string, v any) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), v); err != nil {
		t.Fatalf("last line of stdout is not JSON: %v\n%s", err, stdout)
	}
}

// dataOneLineError checks a failure: its exit status and one line on stderr naming want.
func dataOneLineError(t *testing.T, args []string, code int, want ...string) {
	t.Helper()
	c, _, stderr := dataRun(t, args...)
	if c != code {
		t.Errorf("%v: exit %d, want %d; stderr %q", args, c, code, stderr)
	}
	if !strings.HasPrefix(stderr, "graphtrain: ") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("%v: stderr %q, want one line starting graphtrain:", args, stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("%v: stderr %q lacks %q", args, stderr, w)
		}
	}
}

func TestDataInspect(t *testing.T) {
	dir := t.TempDir()
	a := &datasets.IDX{Type: datasets.Int16, Shape: []int{2, 3}, Data: []int16{-4, 0, 2, 6, 8, 12}}
	for _, name := range []string{"a.idx", "a.idx.gz"} {
		path := filepath.Join(dir, name)
		if err := datasets.WriteIDXFile(path, a); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := dataRun(t, "data", "inspect", path)
		if code != 0 || stderr != "" {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		for _, want := range []string{"dtype  int16\n", "shape  [2 3]\n", "count  6\n", "min    -4\n", "max    12\n", "mean   4\n", path} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s: output lacks %q:\n%s", name, want, stdout)
			}
		}

		code, stdout, _ = dataRun(t, "data", "inspect", "--json", path)
		var got struct {
			File           string
			DType          string
			Shape          []int
			Count          int
			Min, Max, Mean float64
		}
		dataLastJSON(t, stdout, &got)
		if code != 0 || got.File != path || got.DType != "int16" || len(got.Shape) != 2 || got.Shape[0] != 2 || got.Shape[1] != 3 ||
			got.Count != 6 || got.Min != -4 || got.Max != 12 || got.Mean != 4 {
			t.Errorf("--json: exit %d, %+v", code, got)
		}
		last := stdout[strings.LastIndex(strings.TrimRight(stdout, "\n"), "\n")+1:]
		if !strings.HasPrefix(last, `{"file":`) || !strings.Contains(last, `"dtype":"int16","shape":[2,3],"count":6,"min":-4,"max":12,"mean":4}`) {
			t.Errorf("--json line %q", last)
		}
	}

	// Global flags before the command words, and --quiet leaving only the JSON.
	code, stdout, _ := dataRun(t, "--json", "-q", "data", "inspect", filepath.Join(dir, "a.idx"))
	if code != 0 || strings.Count(stdout, "\n") != 1 || !strings.HasPrefix(stdout, "{") {
		t.Errorf("--json -q: exit %d, %q", code, stdout)
	}

	// No elements, or a NaN: the statistics are null.
	empty := filepath.Join(dir, "empty.idx")
	datasets.WriteIDXFile(empty, &datasets.IDX{Type: datasets.Float32, Shape: []int{0, 4}, Data: []float32{}})
	nan := filepath.Join(dir, "nan.idx")
	datasets.WriteIDXFile(nan, &datasets.IDX{Type: datasets.Float64, Shape: []int{2}, Data: []float64{1, math.NaN()}})
	for _, path := range []string{empty, nan} {
		code, stdout, stderr := dataRun(t, "data", "inspect", "--json", path)
		var got map[string]any
		dataLastJSON(t, stdout, &got)
		if code != 0 || got["min"] != nil || got["max"] != nil || got["mean"] != nil || !strings.Contains(stdout, `"min":null`) {
			t.Errorf("%s: exit %d, %v, stderr %q", path, code, got, stderr)
		}
	}
}

func TestDataInspectErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("hello world\n"), 0o644)
	short := filepath.Join(dir, "short.idx")
	os.WriteFile(short, []byte{0, 0, 8, 1, 0, 0, 0, 10, 1, 2, 3}, 0o644)
	badType := filepath.Join(dir, "type.idx")
	os.WriteFile(badType, []byte{0, 0, 7, 1, 0, 0, 0, 1, 1}, 0o644)
	missing := filepath.Join(dir, "missing.idx")

	dataOneLineError(t, []string{"data", "inspect"}, 2, "needs a FILE")
	dataOneLineError(t, []string{"data", "inspect", text, short}, 2, "one FILE", "got 2")
	dataOneLineError(t, []string{"data", "inspect", "--bogus", text}, 2, "bogus")
	dataOneLineError(t, []string{"data", "inspect", missing}, 1, missing, "does not exist")
	dataOneLineError(t, []string{"data", "inspect", dir}, 1, dir, "directory")
	dataOneLineError(t, []string{"data", "inspect", text}, 1, text, "bad IDX magic", "is not an IDX file")
	dataOneLineError(t, []string{"data", "inspect", short}, 1, short, "truncated", "needs 10 bytes", "holds 3")
	dataOneLineError(t, []string{"data", "inspect", badType}, 1, badType, "unknown IDX element type", "0x07")
	dataOneLineError(t, []string{"data", "fetch", "somewhere"}, 2, "no arguments", "--dir")
	dataOneLineError(t, []string{"data", "nothing"}, 2, "unknown command")

	code, stdout, _ := dataRun(t, "data", "inspect", "--help")
	if code != 0 || !strings.Contains(stdout, "graphtrain data inspect [flags] FILE") {
		t.Errorf("data inspect --help: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = dataRun(t, "data", "--help")
	if code != 0 || !strings.Contains(stdout, "data fetch") || !strings.Contains(stdout, "data inspect") {
		t.Errorf("data --help: exit %d\n%s", code, stdout)
	}
}

// TestDataFetch fetches MNIST through the Go module proxy (the go command must work; the module
// cache makes it fast after the first time) into $GRAPHTRAIN_DATA, then inspects a file.
func TestDataFetch(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mnist")
	t.Setenv("GRAPHTRAIN_DATA", dir)
	code, stdout, stderr := dataRun(t, "data", "fetch", "--json")
	if code != 0 {
		t.Fatalf("data fetch: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "fetching MNIST, 4 files (11.6 MB), into "+dir) || !strings.Contains(stderr, "Go module proxy") {
		t.Errorf("stderr does not say what is fetched from where:\n%s", stderr)
	}
	var got struct {
		Dir   string
		Files []struct{ Name, MD5, Source string }
	}
	dataLastJSON(t, stdout, &got)
	if got.Dir != dir || len(got.Files) != 4 {
		t.Fatalf("--json: %+v", got)
	}
	for i, f := range got.Files {
		if f.Name != datasets.MNISTFiles[i].Name || f.MD5 != datasets.MNISTFiles[i].MD5 || !strings.Contains(f.Source, "Go module proxy") {
			t.Errorf("file %d: %+v", i, f)
		}
	}

	// Again, with --dir: nothing to fetch.
	code, stdout, stderr = dataRun(t, "data", "fetch", "--dir", dir)
	if code != 0 || stderr != "" || strings.Count(stdout, "already there") != 4 {
		t.Errorf("second fetch: exit %d\n%s%s", code, stdout, stderr)
	}

	code, stdout, _ = dataRun(t, "data", "inspect", "--json", filepath.Join(dir, datasets.MNISTTestLabels+".gz"))
	var info struct {
		DType          string
		Shape          []int
		Count          int
		Min, Max, Mean float64
	}
	dataLastJSON(t, stdout, &info)
	if code != 0 || info.DType != "uint8" || info.Count != 10000 || info.Min != 0 || info.Max != 9 || info.Mean < 4 || info.Mean > 5 {
		t.Errorf("inspect test labels: exit %d, %+v", code, info)
	}
}
