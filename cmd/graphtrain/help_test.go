package main

import (
	"bytes"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/train"
)

// commandFlags is the FlagSet a command parses, built as run builds it.
func commandFlags(c *command) *pflag.FlagSet {
	fs := pflag.NewFlagSet("graphtrain "+c.path, pflag.ContinueOnError)
	fs.SortFlags = false
	if c.flags != nil {
		c.flags(fs)
	}
	addGlobalFlags(fs, &globals{})
	return fs
}

// commandHelp is what 'graphtrain PATH --help' prints.
func commandHelp(c *command) string {
	var b bytes.Buffer
	printCommandUsage(&b, c, commandFlags(c))
	return b.String()
}

func sortedPaths() []string {
	var paths []string
	for p := range commands {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}

// quoted is a command line quoted in a help text ('graphtrain train mnist --metrics FILE'),
// whose flags are another command's.
var quoted = regexp.MustCompile(`(^|[\s(])'[^']*'(\W|$)`)

var flagName = regexp.MustCompile(`(^|[^\w-])--([a-z][a-z0-9-]*)`)

// TestEveryFlagExplained checks every command's help: each flag has a usage text and is
// listed, and each --flag the help mentions (outside a quoted command line) is one the command
// takes.
func TestEveryFlagExplained(t *testing.T) {
	for _, p := range sortedPaths() {
		c := commands[p]
		fs := commandFlags(c)
		help := commandHelp(c)
		fs.VisitAll(func(f *pflag.Flag) {
			if strings.TrimSpace(f.Usage) == "" {
				t.Errorf("%s --%s has no help text", p, f.Name)
			}
			if !strings.Contains(help, "--"+f.Name+" ") {
				t.Errorf("%s --help does not list --%s", p, f.Name)
			}
		})
		for _, m := range flagName.FindAllStringSubmatch(quoted.ReplaceAllString(help, ""), -1) {
			if fs.Lookup(m[2]) == nil && m[2] != "help" {
				t.Errorf("%s --help mentions --%s, which %s does not take", p, m[2], p)
			}
		}
	}
}

// TestHelpNamesWhatFlagsTake checks that a flag's help names every value the code accepts
// and the defaults the code uses.
func TestHelpNamesWhatFlagsTake(t *testing.T) {
	var top bytes.Buffer
	printTopUsage(&top, "")
	usage := func(path, flag string) string {
		f := commandFlags(commands[path]).Lookup(flag)
		if f == nil {
			t.Fatalf("%s has no --%s", path, flag)
		}
		return f.Usage
	}
	keys := func(m any) []string {
		var k []string
		for _, v := range reflect.ValueOf(m).MapKeys() {
			k = append(k, v.String())
		}
		return k
	}
	for _, c := range []struct {
		what, text string
		want       []string
	}{
		{"graphtrain --help", top.String(), []string{"auto", "cpu", "vm", "cuda"}},
		{"--device", usage("train xor", "device"), []string{"auto", "cpu", "vm", "cuda"}},
		{"bench --devices", usage("bench", "devices"), []string{"vm", "cpu", "cuda"}},
		{"bench --model", usage("bench", "model"), keys(defaultBenchSteps)},
		{"bench --steps", usage("bench", "steps"), []string{"xor 2000", "mlp 100", "cnn 30"}},
		{"train mnist --model", usage("train mnist", "model"), mnistKinds()},
		{"train mnist --arch", usage("train mnist", "arch"), model.LayerNames()},
		{"train mnist --solver", usage("train mnist", "solver"), keys(defaultLR)},
		{"train mnist --epochs", usage("train mnist", "epochs"), []string{"recipe"}},
		{"train mnist --lr", usage("train mnist", "lr"), []string{defaultsText(defaultLR, model.Solvers...)}},
		{"train mnist --metrics", usage("train mnist", "metrics"), jsonFields(train.EpochStats{})},
	} {
		for _, w := range c.want {
			if !strings.Contains(c.text, w) {
				t.Errorf("%s: the help does not name %q:\n%s", c.what, w, c.text)
			}
		}
	}
	for p, ks := range map[string][]string{"train mnist": {"mnist", "fashion"}, "data fetch": {"mnist", "fashion"}} {
		for _, k := range ks {
			if u := usage(p, "dataset"); !strings.Contains(u, k) {
				t.Errorf("%s --dataset: the help does not name %s: %s", p, k, u)
			}
		}
	}
}

// jsonFields are the JSON names of v's fields.
func jsonFields(v any) []string {
	t := reflect.TypeOf(v)
	var names []string
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// TestHelpClaims checks claims the help texts once made that the code contradicted.
func TestHelpClaims(t *testing.T) {
	for _, p := range sortedPaths() {
		help := commandHelp(commands[p])
		for _, bad := range []string{"whatever --device", "runs on the CPU.", "relative to the CPU"} {
			if strings.Contains(strings.Join(strings.Fields(help), " "), bad) {
				t.Errorf("%s --help says %q:\n%s", p, bad, help)
			}
		}
	}
	for _, p := range []string{"eval mnist", "predict mnist", "predict xor"} {
		if help := strings.Join(strings.Fields(commandHelp(commands[p])), " "); !strings.Contains(help, "runs on --device's backend") {
			t.Errorf("%s --help does not say which backend runs the forward pass", p)
		}
	}
	if help := commandHelp(commands["bench"]); !strings.Contains(help, `"vs vm" column`) {
		t.Errorf("bench --help does not say what its ratio is relative to:\n%s", help)
	}
	// The numpy snippet feeds the ONNX model what graphtrain reads: bytes divided by 255.
	if help := commandHelp(commands["export onnx"]); !strings.Contains(help, "/ 255") {
		t.Errorf("export onnx --help: the Python snippet does not divide the pixels by 255:\n%s", help)
	}
}

// TestREADMEListsTheMetricsFields checks README's list of a --metrics line's fields against
// train.EpochStats.
func TestREADMEListsTheMetricsFields(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := strings.Join(strings.Fields(string(raw)), " ")
	_, list, ok := strings.Cut(readme, "`--metrics FILE` (one JSON line per epoch:")
	list, _, _ = strings.Cut(list, ")")
	var got []string
	for _, m := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(list, -1) {
		got = append(got, m[1])
	}
	if want := jsonFields(train.EpochStats{}); !ok || !slices.Equal(got, want) {
		t.Errorf("README lists the fields of a metrics line as %v, train.EpochStats has %v", got, want)
	}
}
