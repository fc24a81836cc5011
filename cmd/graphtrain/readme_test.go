package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/graphtrain/graphtrain/datasets"
	"github.com/graphtrain/graphtrain/internal/gemm"
)

// README.md's examples are run here, in order, in a fresh directory, as a reader following
// README would run them; what a command prints is compared with what README shows.
//
// README's code blocks hold commands, "bin/graphtrain ..." or "graphtrain ...", one a line
// with an optional "# comment", and transcripts: "$ bin/graphtrain ..." and the lines it
// prints, "..." standing for lines left out (at the end: the rest). make lines and blocks
// in another language (```python) are not run. A transcript is compared line by line:
// numbers from the same seed exactly where README's figures were measured (AVX-512
// products: readmeKernel; other SIMD kernels round differently, so there every number is
// compared in form only), times, speeds, sizes and the machine's core count in form only. A
// train mnist command whose output README does not show runs for one epoch on the first
// 2000 images (README says so), so that the test stays short.

// readmeKernel is the SIMD product kernel of the machine README's figures come from.
const readmeKernel = "avx512"

// readmeHome is the home directory README's transcripts show; the test puts the data
// cache's own path in its place.
const readmeHome = "/home/you"

// readmeCommand is one command of README.md.
type readmeCommand struct {
	line   int      // in README.md
	block  int      // the code block it is in, counted from 0
	args   []string // after bin/graphtrain
	shown  bool     // a transcript: output holds what README shows it printing
	output []string // README's lines, right-trimmed, without trailing blank lines
}

// readmeCommands parses README.md's code blocks.
func readmeCommands(text string) ([]readmeCommand, error) {
	var cmds []readmeCommand
	inBlock, skip, block := false, false, -1
	var cur *readmeCommand
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, " \t\r")
		if strings.HasPrefix(line, "```") {
			inBlock, skip, cur = !inBlock, line != "```", nil
			if inBlock {
				block++
			}
			continue
		}
		if !inBlock || skip {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "$ "); ok {
			args := shellWords(rest)
			if len(args) == 0 || args[0] != "bin/graphtrain" {
				return nil, fmt.Errorf("README.md:%d: a transcript of something other than bin/graphtrain: %s", i+1, line)
			}
			cmds = append(cmds, readmeCommand{line: i + 1, block: block, args: args[1:], shown: true})
			cur = &cmds[len(cmds)-1]
			continue
		}
		if cur != nil {
			cur.output = append(cur.output, line)
			continue
		}
		code, _, _ := strings.Cut(line, "#")
		args := shellWords(code)
		switch {
		case len(args) == 0 || args[0] == "make":
		case args[0] == "bin/graphtrain" || args[0] == "graphtrain":
			cmds = append(cmds, readmeCommand{line: i + 1, block: block, args: args[1:]})
		default:
			return nil, fmt.Errorf("README.md:%d: neither a command nor a transcript: %s", i+1, line)
		}
	}
	for i := range cmds {
		for len(cmds[i].output) > 0 && cmds[i].output[len(cmds[i].output)-1] == "" {
			cmds[i].output = cmds[i].output[:len(cmds[i].output)-1]
		}
	}
	return cmds, nil
}

// Placeholders for what is compared in form only.
var readmeForm = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`^(\w+\s+(?:vm|cpu|cuda)\s+\d+)\s+(?:\d+|-)\s+(\d+)\s+\d+\s+(?:\d+\.\d+|-)\s+(?:\d+\.\d+|-)\s+\d+\.\d+\s+\d+\.\d+\s+(\d+)(?:\s+\d+\.\dx)?$`), "$1 THREADS $2 SPEED FLOPS BYTES P50 P95 $3 RATIO"}, // bench's rows
	{regexp.MustCompile(`^(\w+\s+vm\s+\d+ THREADS \d+ SPEED FLOPS BYTES P50 P95) \d+ RATIO$`), "$1 ALLOCS"},                                                                                                               // vm allocates, by a few more or fewer
	{regexp.MustCompile(`^(\w+\s+(?:cpu|cuda)\s+\d+ THREADS \d+ SPEED FLOPS BYTES P50 P95) [01] RATIO$`), "$1 NONE RATIO"},                                                                                                // 0 a step (TestStepAllocatesNothing); a run's average on a loaded machine can round to 1 from a runtime allocation
	{regexp.MustCompile(`\b\d+(\.\d+)? s\b`), "TIME s"},
	{regexp.MustCompile(`\b\d+ samples/s\b`), "SPEED samples/s"},
	{regexp.MustCompile(`\b\d+ (MiB|bytes)\b`), "SIZE $1"},
	{regexp.MustCompile(`GOMAXPROCS=\d+ \(of \d+ CPUs\)`), "GOMAXPROCS=N (of N CPUs)"},
	{regexp.MustCompile(`\b\d+ workers\b`), "N workers"},
	{regexp.MustCompile(`\b(avx512|avx2|neon|go) products\b`), "KERNEL products"},
	{regexp.MustCompile(`\b(linux|darwin)/(amd64|arm64)\b`), "OS/ARCH"},
}

// anyNumber is every number, for machines whose figures README does not show.
var anyNumber = regexp.MustCompile(`\d+(\.\d+)?`)

// readmeLine is a line as compared: what is compared in form only replaced, spaces collapsed.
func readmeLine(s string, exact bool) string {
	s = strings.Join(strings.Fields(s), " ")
	for _, f := range readmeForm {
		s = f.re.ReplaceAllString(s, f.repl)
	}
	if !exact {
		s = anyNumber.ReplaceAllString(s, "#")
	}
	return s
}

// matchREADME compares what a command printed with README's lines ("..." skips lines; at
// the end, the rest). It returns "" when they match, else what differs.
func matchREADME(want, got []string, exact bool) string {
	j := 0
	for i := 0; i < len(want); i++ {
		if want[i] == "..." {
			if i == len(want)-1 {
				return ""
			}
			next := readmeLine(want[i+1], exact)
			for j < len(got) && readmeLine(got[j], exact) != next {
				j++
			}
			continue
		}
		if j >= len(got) {
			return fmt.Sprintf("README shows %q; the output ended before it", want[i])
		}
		if readmeLine(want[i], exact) != readmeLine(got[j], exact) {
			return fmt.Sprintf("README shows %q, the command printed %q", want[i], got[j])
		}
		j++
	}
	if j < len(got) {
		return fmt.Sprintf("the command printed %q after what README shows", got[j])
	}
	return ""
}

// quickArgs are the flags that shorten a train mnist run whose output README does not show.
func quickArgs(args []string) []string {
	if len(args) < 2 || args[0] != "train" || args[1] != "mnist" {
		return args
	}
	if !slices.Contains(args, "--epochs") {
		args = append(args, "--epochs", "1")
	}
	if !slices.Contains(args, "--limit") {
		args = append(args, "--limit", "2000")
	}
	return args
}

// missingFor says what this machine lacks for a command ("" when nothing): Fashion-MNIST
// comes from Debian's package without a network.
func missingFor(args []string) string {
	if i := slices.Index(args, "--dataset"); i >= 0 && i+1 < len(args) && args[i+1] == "fashion" {
		if _, err := os.Stat(filepath.Join(datasets.FashionDebianDir, "t10k-labels-idx1-ubyte.gz")); err != nil {
			return "Debian's dataset-fashion-mnist (make fashion-deps)"
		}
	}
	return ""
}

// writeDigitPNG writes test image index, dark on white and four times larger, as a reader's
// photo of a digit (README's my-digit.png).
func writeDigitPNG(t *testing.T, path, dataDir string, index int) {
	t.Helper()
	test, err := datasets.LoadMNISTTest(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewGray(image.Rect(0, 0, 112, 112))
	for y := range 112 {
		for x := range 112 {
			v := test.Images[index*784+(y/4)*28+x/4]
			img.SetGray(x, y, color.Gray{Y: uint8(255 - 255*v)})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

func TestREADMEExamples(t *testing.T) {
	needMNIST(t)
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := readmeCommands(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	mnistDir, err := datasets.DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeDigitPNG(t, filepath.Join(dir, "my-digit.png"), mnistDir, 0)
	// The data cache is the reader's: MNIST where it is already, Fashion-MNIST in dir.
	env := []string{"GRAPHTRAIN_DATA=" + mnistDir, "GRAPHTRAIN_FASHION_DATA=" + filepath.Join(dir, "fashion-cache")}
	paths := strings.NewReplacer("~/.cache/graphtrain/mnist", mnistDir, readmeHome+"/.cache/graphtrain/mnist", mnistDir)
	exact := gemm.Kernel() == readmeKernel
	if !exact {
		t.Logf("%s products here, not README's %s: numbers compared in form only", gemm.Kernel(), readmeKernel)
	}
	skipBlock := -1
	for _, c := range cmds {
		name := fmt.Sprintf("README.md:%d: graphtrain %s", c.line, strings.Join(c.args, " "))
		if c.block == skipBlock {
			t.Logf("%s: not run (the block's earlier command was not)", name)
			continue
		}
		if why := missingFor(c.args); why != "" {
			t.Logf("%s: not run, nor the rest of its block: this machine lacks %s", name, why)
			skipBlock = c.block
			continue
		}
		args := make([]string, len(c.args))
		for i, a := range c.args {
			args[i] = paths.Replace(a)
		}
		if len(c.output) == 0 {
			args = quickArgs(args)
		}
		start := time.Now()
		r := runBinEnv(t, dir, env, args...)
		t.Logf("%s: %.1f s", name, time.Since(start).Seconds())
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", name, r.code, r.stdout, r.stderr)
		}
		if len(c.output) == 0 {
			continue
		}
		want := make([]string, len(c.output))
		for i, l := range c.output {
			want[i] = paths.Replace(l)
		}
		if diff := matchREADME(want, strings.Split(strings.TrimRight(r.stdout, "\n"), "\n"), exact); diff != "" {
			t.Errorf("%s: %s\nit printed:\n%s", name, diff, r.stdout)
		}
	}
}

// TestREADMEMatching checks the comparison itself: what must match, and what only in form.
func TestREADMEMatching(t *testing.T) {
	for _, c := range []struct {
		want, got []string
		ok        bool
	}{
		{[]string{"epoch   1  loss 0.3809  val acc  93.23%     0.4 s   121743 samples/s  (best, saved)"},
			[]string{"epoch   1  loss 0.3809  val acc  93.23%    12.4 s     1743 samples/s  (best, saved)"}, true},
		{[]string{"epoch   1  loss 0.3809  val acc  93.23%     0.4 s   121743 samples/s"},
			[]string{"epoch   1  loss 0.3809  val acc  93.24%     0.4 s   121743 samples/s"}, false},
		{[]string{"cnn   cpu       128       2     30           8074     18.34     0.69     15.421     17.250            0     2.9x",
			"      cpu steps launched: 60 compiled launches, avx512 products"},
			[]string{"cnn   cpu       128      16     30          34887     79.25     3.02      3.421      3.550            0    11.4x",
				"      cpu steps launched: 60 compiled launches, avx2 products"}, true},
		{[]string{"      cpu steps launched: 60 compiled launches, avx512 products"},
			[]string{"      cpu steps launched: 36 compiled launches, avx512 products"}, false},
		{[]string{"mlp   vm        128       2    100           8288      6.95     0.69     15.633     17.336         1178"},
			[]string{"mlp   vm        128       2    100           8145      6.83     0.68     16.222     17.625         1179"}, true},
		{[]string{"mlp   cpu       128       2    100         139689    117.12    10.93      0.908      0.990            0    16.9x"},
			[]string{"mlp   cpu       128       2    100         139689    117.12    10.93      0.908      0.990           12    16.9x"}, false},
		{[]string{"mlp   cpu       128       2    100         139689    117.12    10.93      0.908      0.990            0    16.9x"},
			[]string{"mlp   cpu       128       2    200         139689    117.12    10.93      0.908      0.990            0    16.9x"}, false},
		{[]string{"cnn   cpu      1024       2     30          23968     54.30     1.57     45.840     73.104            0"},
			[]string{"cnn   cpu      1024       2     30          23068     52.30     1.51     46.840     75.104            1"}, true},
		{[]string{"mlp   cuda      128       -    100        1310000   1098.30   102.44      0.102      0.110            0   158.2x"},
			[]string{"mlp   cuda      128       -    100        1290000   1081.53   100.88      0.104      0.113            0   155.8x"}, true},
		{[]string{"a", "...", "d"}, []string{"a", "b", "c", "d"}, true},
		{[]string{"a", "..."}, []string{"a", "b"}, true},
		{[]string{"a", "b"}, []string{"a", "b", "c"}, false},
		{[]string{"a", "b", "c"}, []string{"a", "b"}, false},
	} {
		if got := matchREADME(c.want, c.got, true) == ""; got != c.ok {
			t.Errorf("%q against %q: match %v, want %v", c.want, c.got, got, c.ok)
		}
	}
	cmds, err := readmeCommands("```\nmake run   # x\nbin/graphtrain a b  # c\n$ bin/graphtrain d\nout\n...\n\n```\n```python\nx\n```\n")
	if err != nil || len(cmds) != 2 || !slices.Equal(cmds[0].args, []string{"a", "b"}) || cmds[0].shown ||
		!cmds[1].shown || !slices.Equal(cmds[1].output, []string{"out", "..."}) {
		t.Errorf("parsed %+v, %v", cmds, err)
	}
}

// shellWords splits a command line as a shell does for README's commands: on spaces, but
// not inside single or double quotes, which are removed.
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	quote, in := rune(0), false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words, cur, in = append(words, cur.String()), strings.Builder{}, false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}
