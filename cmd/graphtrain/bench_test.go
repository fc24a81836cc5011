package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/graphtrain/graphtrain/train"
)

// TestBenchLists checks --batch and --threads: comma lists of whole numbers in range, none
// twice, and the one-line usage error (exit 2) naming the flag otherwise.
func TestBenchLists(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []int
		err  string
	}{
		{"128", []int{128}, ""},
		{"128,1024,8192", []int{128, 1024, 8192}, ""},
		{" 1, 2 ,4", []int{1, 2, 4}, ""},
		{"0", nil, "--batch 0: 0 is out of range; give batch sizes from 1 to 1048576"},
		{"128,16777217", nil, "16777217 is out of range"},
		{"99999999999999999999", nil, "is out of range"},
		{"-1", nil, "-1 is out of range"},
		{"128,x", nil, `--batch "128,x": "x" is not a whole number; give batch sizes, comma-separated (--batch 128,1024,8192)`},
		{"128,,1024", nil, `"" is not a whole number`},
		{"", nil, `"" is not a whole number`},
		{"1.5", nil, `"1.5" is not a whole number`},
		{"128,1024,128", nil, "--batch 128,1024,128: 128 is given twice; give each once"},
	} {
		got, err := benchList("batch", c.in, maxBenchBatch, "batch sizes", "128,1024,8192")
		switch {
		case c.err == "" && (err != nil || !slices.Equal(got, c.want)):
			t.Errorf("--batch %q: %v, %v; want %v", c.in, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("--batch %q: error %v; want one with %q", c.in, err, c.err)
		}
	}
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--batch", "64,64"},
		{"--threads", "1,0"},
		{"--threads", "2,300"},
		{"--threads", "two"},
	} {
		r := runBin(t, dir, "", append([]string{"bench", "--model", "xor"}, args...)...)
		flag := strings.TrimPrefix(args[0], "--")
		if r.code != 2 || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "graphtrain: --"+flag+" ") || r.stdout != "" {
			t.Errorf("bench %v: exit %d, stderr %q, stdout %q; want exit 2 and one line naming --%s", args, r.code, r.stderr, r.stdout, flag)
		}
	}
}

// benchRowLine is a row of bench's table: model, device, batch, threads, steps, samples/s,
// GFLOP/s and GB/s.
var benchRowLine = regexp.MustCompile(`^(\w+) +(vm|cpu|cuda) +(\d+) +(\d+|-) +(\d+) +\d+ +(\d+\.\d\d) +(\d+\.\d\d) `)

// TestBenchRowPerCombination: bench with lists prints one row for each model, device, batch
// and thread count, in that order, in the table, under -q, and in --json's results, with the
// cost model's FLOP/s and bytes/s.
func TestBenchRowPerCombination(t *testing.T) {
	dir := t.TempDir()
	args := []string{"bench", "--model", "mlp", "--devices", "vm,cpu", "--batch", "8,16", "--threads", "1,2", "--steps", "2"}
	var want []string
	for _, d := range []string{"vm", "cpu"} {
		for _, b := range []string{"8", "16"} {
			for _, th := range []string{"1", "2"} {
				want = append(want, fmt.Sprintf("mlp %s %s %s 2", d, b, th))
			}
		}
	}
	for _, quiet := range []bool{false, true} {
		r := runBin(t, dir, "", append(args, fmt.Sprintf("--quiet=%v", quiet))...)
		var got []string
		for _, line := range strings.Split(r.stdout, "\n") {
			if m := benchRowLine.FindStringSubmatch(line); m != nil {
				got = append(got, strings.Join(m[1:6], " "))
				if m[6] == "0.00" || m[7] == "0.00" {
					t.Errorf("no FLOP/s or bytes/s in %q", line)
				}
			}
		}
		if r.code != 0 || !slices.Equal(got, want) {
			t.Errorf("quiet %v: exit %d, rows %q, want %q\n%s%s", quiet, r.code, got, want, r.stdout, r.stderr)
		}
	}
	r := runBin(t, dir, "", append(args, "--json", "-q")...)
	var out struct{ Results []map[string]any }
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("--json -q: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	var got []string
	for _, res := range out.Results {
		got = append(got, fmt.Sprintf("%s %s %v %v %v", res["model"], res["device"], res["batch"], res["threads"], res["steps"]))
		if res["flops_per_second"].(float64) <= 0 || res["moved_bytes_per_second"].(float64) <= 0 || res["flops_per_step"].(float64) <= 0 {
			t.Errorf("--json: no cost model figures in %v", res)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("--json results %q, want %q", got, want)
	}
}

// TestBenchRestoresGOMAXPROCS: each row runs with GOMAXPROCS at its --threads (the row says
// the GOMAXPROCS it ran with), and GOMAXPROCS is as before afterwards.
func TestBenchRestoresGOMAXPROCS(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	threads := []int{1, before + 1}
	var o, e bytes.Buffer
	code := run(&env{stdout: &o, stderr: &e, stdin: strings.NewReader("")},
		[]string{"bench", "--model", "xor", "--devices", "cpu,vm", "--steps", "2", "--threads", fmt.Sprintf("%d,%d", threads[0], threads[1]), "--json", "-q"})
	if after := runtime.GOMAXPROCS(0); after != before {
		t.Errorf("GOMAXPROCS %d after bench, %d before", after, before)
	}
	var out struct{ Results []struct{ Threads int } }
	if err := json.Unmarshal(o.Bytes(), &out); code != 0 || err != nil {
		t.Fatalf("exit %d, %v\n%s%s", code, err, o.String(), e.String())
	}
	var got []int
	for _, r := range out.Results {
		got = append(got, r.Threads)
	}
	if want := append(slices.Clone(threads), threads...); !slices.Equal(got, want) {
		t.Errorf("rows ran with GOMAXPROCS %v, want %v", got, want)
	}
}

// TestBenchCUDARowHasNoThreads: a cuda row (threads nil) prints "-" for its threads, and is
// compared with vm's row of the most threads at its batch.
func TestBenchCUDARowHasNoThreads(t *testing.T) {
	var o bytes.Buffer
	e := &env{stdout: &o}
	vm := map[[2]int]float64{{128, 1}: 100, {128, 2}: 200, {256, 4}: 1000}
	r := &benchRow{BenchResult: &train.BenchResult{Model: "mlp", Device: "cuda", Batch: 128, Steps: 10, SamplesPerSec: 4000}}
	printBenchRow(e, r, vmRate(vm, r), "")
	if f := strings.Fields(o.String()); f[3] != "-" || f[len(f)-1] != "20.0x" {
		t.Errorf("cuda row %q: want threads - and 20.0x vm's speed at 2 threads", o.String())
	}
	two := 2
	r.Device, r.Threads = "cpu", &two
	if got := vmRate(vm, r); got != 200 {
		t.Errorf("cpu row at 128, 2 threads: vm rate %v, want 200", got)
	}
}

// TestBenchByLaunch: --by-launch adds, under each cpu row and in its --json result, a line
// and an entry per launch of the step, in the program's order, whose cost model figures add
// up to the row's (flops_per_step, moved_bytes_per_step) and whose times to more than 0; vm's
// rows have none.
func TestBenchByLaunch(t *testing.T) {
	dir := t.TempDir()
	args := []string{"bench", "--model", "mlp,cnn", "--devices", "vm,cpu", "--batch", "8", "--steps", "2", "--by-launch"}
	r := runBin(t, dir, "", args...)
	if r.code != 0 || strings.Count(r.stdout, "launches timed one by one over 2 steps") != 2 {
		t.Fatalf("exit %d, want a launch table under each cpu row:\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runBin(t, dir, "", append(args, "--json", "-q")...)
	var out struct {
		Results []struct {
			Model, Device     string
			FLOPsPerStep      int64 `json:"flops_per_step"`
			MovedBytesPerStep int64 `json:"moved_bytes_per_step"`
			Launches          []train.LaunchTime
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); r.code != 0 || err != nil {
		t.Fatalf("--json: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if len(out.Results) != 4 {
		t.Fatalf("%d results, want 4", len(out.Results))
	}
	for _, res := range out.Results {
		if res.Device == "vm" {
			if len(res.Launches) != 0 {
				t.Errorf("%s on vm: %d launches timed", res.Model, len(res.Launches))
			}
			continue
		}
		var flops, bytes int64
		var us float64
		ops := map[string]bool{}
		for i, l := range res.Launches {
			if l.Index != i || l.Micros < 0 || l.Op == "" || l.What == "" {
				t.Errorf("%s launch %d: %+v", res.Model, i, l)
			}
			flops, bytes, us, ops[l.Op] = flops+l.FLOPs, bytes+l.Bytes, us+l.Micros, true
		}
		if len(res.Launches) < 10 || flops != res.FLOPsPerStep || bytes != res.MovedBytesPerStep || us <= 0 || !ops["adam"] {
			t.Errorf("%s on cpu: %d launches, %d FLOPs and %d bytes (row: %d, %d), %.1f µs, ops %v", res.Model, len(res.Launches), flops, bytes, res.FLOPsPerStep, res.MovedBytesPerStep, us, ops)
		}
	}
}
