package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"regexp"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/pflag"

	"github.com/graphtrain/graphtrain/internal/atomicfile"
	"github.com/graphtrain/graphtrain/model"
)

// version is set at link time by the Makefile (-X main.version=...).
var version = "dev"

// globals are the flags every command accepts.
type globals struct {
	Device string
	JSON   bool
	Quiet  bool
}

// env is what a command runs with: its output streams, the global flags and the
// interrupt channel (closed on the first SIGINT or SIGTERM).
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	g              globals
	interrupted    <-chan struct{}
	signal         *atomic.Int32 // the number of the signal that interrupted, once one has
	// graceful is true while a training loop runs that stops at a signal by saving its
	// state (train xor, train mnist); at any other time a signal stops the command at once.
	graceful *atomic.Bool
}

// command is one leaf of the command tree, such as "train xor".
type command struct {
	path  string // words after "graphtrain", e.g. "train xor"
	short string // one line for the command list
	args  string // positional arguments, for the usage line
	long  string // more help, printed above the flags
	flags func(fs *pflag.FlagSet) any
	run   func(e *env, fs *pflag.FlagSet, opts any) error
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.path]; dup {
		panic("graphtrain: command registered twice: " + c.path)
	}
	commands[c.path] = c
}

// usageError marks errors in how the command was called; they exit with status 2.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// exitError carries an explicit exit status (e.g. 130 after an interrupt) with its message.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

func addGlobalFlags(fs *pflag.FlagSet, g *globals) {
	fs.StringVar(&g.Device, "device", "auto", "backend to run on: auto (the GPU when this build has one and it works, else cpu), cpu (graphtrain's compiled CPU executor), vm (Gorgonia's TapeMachine, the reference) or cuda")
	fs.BoolVar(&g.JSON, "json", false, "print one JSON object with the results as the last line on stdout")
	fs.BoolVarP(&g.Quiet, "quiet", "q", false, "print nothing but results and errors (with --json, the JSON line only)")
}

func main() {
	interrupted := make(chan struct{})
	var got atomic.Int32
	var graceful atomic.Bool
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		if n, ok := s.(syscall.Signal); ok {
			got.Store(int32(n))
		}
		if !graceful.Load() { // evaluation, export, bench...: nothing to save, stop now
			atomicfile.RemovePending()
			fmt.Fprintln(os.Stderr, "graphtrain: interrupted: stopping; what the command was writing is not written")
			os.Exit(128 + int(got.Load()))
		}
		close(interrupted)
		s = <-sig // a second signal stops at once
		atomicfile.RemovePending()
		fmt.Fprintln(os.Stderr, "graphtrain: interrupted twice: stopping now")
		if n, ok := s.(syscall.Signal); ok {
			os.Exit(128 + int(n))
		}
		os.Exit(130)
	}()
	out := &checkedWriter{w: os.Stdout}
	e := &env{stdout: out, stderr: os.Stderr, stdin: os.Stdin, interrupted: interrupted, signal: &got, graceful: &graceful}
	code := run(e, os.Args[1:])
	if out.err != nil && code == 0 {
		fmt.Fprintf(os.Stderr, "graphtrain: writing to standard output: %v; what was printed is incomplete\n", plainWriteErr(out.err))
		code = 1
	}
	os.Exit(code)
}

// checkedWriter remembers the first error of the writes to it, so that a command whose output
// could not be written (a full disk, a closed pipe) does not exit 0.
type checkedWriter struct {
	w   io.Writer
	err error
}

func (c *checkedWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// plainWriteErr is a write error without the file's name (the user knows it is stdout).
func plainWriteErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// run executes the command line args and returns the exit status.
func run(e *env, args []string) (code int) {
	defer reportPanic(e, &code)
	lead, err := parseLead(args)
	if err != nil {
		return fail(e, err)
	}
	if lead.version {
		fmt.Fprintln(e.stdout, versionString())
		return 0
	}
	c, n, err := findCommand(lead.rest)
	if err != nil || c == nil {
		asked := lead.help || slices.Contains(lead.rest, "help") || slices.Contains(lead.rest, "--help") || slices.Contains(lead.rest, "-h")
		if err == nil && len(lead.rest) > 0 && !asked {
			// A command group alone ("graphtrain train"): its list, and a usage error.
			printTopUsage(e.stderr, lead.group)
			return fail(e, usagef("%s: no command given; give one of those listed above", lead.rest[0]))
		}
		if err == nil || (lead.help && hasGroup(lead.rest[0])) {
			printTopUsage(e.stdout, lead.group)
			return 0
		}
		return fail(e, err)
	}
	rest := lead.rest
	if lead.help {
		rest = append(rest, "--help")
	}
	fs := pflag.NewFlagSet("graphtrain "+c.path, pflag.ContinueOnError)
	fs.SortFlags = false
	var opts any
	if c.flags != nil {
		opts = c.flags(fs)
	}
	addGlobalFlags(fs, &e.g)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err = fs.Parse(append(lead.args, rest[n:]...))
	if errors.Is(err, pflag.ErrHelp) {
		printCommandUsage(e.stdout, c, fs)
		return 0
	}
	if err != nil {
		return fail(e, usagef("%s; run 'graphtrain %s --help'", flagProblem(err), c.path))
	}
	switch e.g.Device {
	case "auto", "vm", "cpu", "cuda":
	default:
		return fail(e, usagef("--device %q: must be %s; run 'graphtrain devices' to see which work here", e.g.Device, devices))
	}
	return fail(e, helpAdvice(c.run(e, fs, opts), c.path))
}

// helpAdvice gives a usage error that says what is wrong but not what to do (a flag's value
// out of its range, a missing argument) the advice to read the command's help, which
// describes every flag and argument; other errors are returned as they are.
func helpAdvice(err error, path string) error {
	if u, ok := err.(usageError); ok && !strings.Contains(u.msg, "; ") {
		return usageError{fmt.Sprintf("%s; run 'graphtrain %s --help'", u.msg, path)}
	}
	return err
}

// reportPanic, deferred, turns a panic into the exit status 1 with one line for the user. A
// panic here is a bug (Gorgonia panics are recovered closer to their source); its stack is
// printed only with GRAPHTRAIN_DEBUG set.
func reportPanic(e *env, code *int) {
	if r := recover(); r != nil {
		fmt.Fprintf(e.stderr, "graphtrain: internal error: %v; please report it with the command line\n", r)
		if os.Getenv("GRAPHTRAIN_DEBUG") != "" {
			e.stderr.Write(debug.Stack())
		}
		*code = 1
	}
}

// leadingFlags are the global flags given before the command words, and those words.
type leadingFlags struct {
	help, version bool
	args          []string // the global flags given, as --name=value for the command's flags
	rest          []string // the command words and what follows them
	group         string   // the command group whose list to print ("" for all), for help
}

// parseLead parses the global flags that may come before the command words.
func parseLead(args []string) (*leadingFlags, error) {
	lead := pflag.NewFlagSet("graphtrain", pflag.ContinueOnError)
	lead.SetInterspersed(false)
	lead.SetOutput(io.Discard)
	var g globals
	addGlobalFlags(lead, &g)
	l := &leadingFlags{}
	lead.BoolVarP(&l.help, "help", "h", false, "show help")
	lead.BoolVar(&l.version, "version", false, "print the version")
	if err := lead.Parse(args); err != nil {
		return nil, usagef("%v; run 'graphtrain --help'", err)
	}
	l.rest = lead.Args()
	lead.Visit(func(f *pflag.Flag) {
		if f.Name != "help" && f.Name != "version" {
			l.args = append(l.args, "--"+f.Name+"="+f.Value.String())
		}
	})
	if len(l.rest) > 0 && l.rest[0] != "help" && hasGroup(l.rest[0]) {
		l.group = l.rest[0]
	}
	return l, nil
}

// findCommand finds the longest registered command path among the leading words of rest and
// returns it with the number of words it took. With neither a command nor an error, the
// caller prints the list of commands (no words, "help", or a group's name and --help).
func findCommand(rest []string) (*command, int, error) {
	var c *command
	n := 0
	for i := 1; i <= len(rest) && i <= 2; i++ {
		if strings.HasPrefix(rest[i-1], "-") {
			break
		}
		if cc, ok := commands[strings.Join(rest[:i], " ")]; ok {
			c, n = cc, i
		}
	}
	switch {
	case c != nil:
		return c, n, nil
	case len(rest) == 0 || rest[0] == "help":
		return nil, 0, nil
	case !hasGroup(rest[0]):
		return nil, 0, usagef("unknown command %q; run 'graphtrain --help' for the list", rest[0])
	case len(rest) == 1 || rest[1] == "--help" || rest[1] == "-h":
		return nil, 0, nil
	}
	return nil, 0, usagef("unknown command %q; run 'graphtrain %s --help' for the list", rest[0]+" "+rest[1], rest[0])
}

// packagePrefix matches the name of a graphtrain package starting a message or a part of one.
var packagePrefix = regexp.MustCompile(`(^|[\s(])(?:graph|datasets|npy|cuda|program): `)

// stripPackagePrefixes removes the package names that start a message or a part of one,
// but not a flag's value: "--device cuda: ..." keeps its cuda.
func stripPackagePrefixes(msg string) string {
	var b strings.Builder
	last := 0
	for _, m := range packagePrefix.FindAllStringSubmatchIndex(msg, -1) {
		before := strings.Fields(msg[:m[2]])
		if len(before) > 0 && strings.HasPrefix(before[len(before)-1], "--") {
			continue // the name is the value of the flag before it
		}
		b.WriteString(msg[last:m[0]])
		b.WriteString(msg[m[2]:m[3]]) // the space or bracket before the name
		last = m[1]
	}
	b.WriteString(msg[last:])
	return b.String()
}

// pflagValue matches pflag's message about a flag value that does not parse, which ends in
// Go's strconv error.
var pflagValue = regexp.MustCompile(`^invalid argument "(.*)" for "(?:-\w, )?(--[\w-]+)" flag: strconv\.Parse(\w+): parsing ".*": (.*)$`)

// pflagOther matches pflag's message about a value that a flag of graphtrain's own type
// (--hidden's list) refused, with the flag's own reason.
var pflagOther = regexp.MustCompile(`^invalid argument "(.*)" for "(?:-\w, )?(--[\w-]+)" flag: (.*)$`)

// flagProblem says what is wrong with a flag in the CLI's words, without Go's strconv text.
func flagProblem(err error) string {
	m := pflagValue.FindStringSubmatch(err.Error())
	if m == nil {
		if m := pflagOther.FindStringSubmatch(err.Error()); m != nil {
			value := m[1]
			if len(value) > 40 {
				value = value[:40] + "..."
			}
			return fmt.Sprintf("%s %s: %s", m[2], value, m[3])
		}
		return err.Error()
	}
	value, flag, kind, why := m[1], m[2], m[3], m[4]
	if len(value) > 40 {
		value = value[:40] + "..."
	}
	want := map[string]string{"Float": "a number", "Int": "a whole number", "Uint": "a whole number, 0 or more", "Bool": "true or false"}[kind]
	if want == "" {
		want = "a valid value"
	}
	if strings.Contains(why, "out of range") {
		return fmt.Sprintf("%s %s: out of range; must be %s of sensible size", flag, value, want)
	}
	return fmt.Sprintf("%s %q: must be %s", flag, value, want)
}

// fail prints err as the one-line message of the CLI contract and returns the exit status.
func fail(e *env, err error) int {
	if err == nil {
		return 0
	}
	code := 1
	var u usageError
	var x exitError
	switch {
	case errors.As(err, &x):
		code = x.code
	case errors.As(err, &u):
		code = 2
	}
	msg := strings.ReplaceAll(escapeControl(deviceAdvice(err).Error()), "\n", " ")
	// Library packages start their messages with their name, for Go callers; the user
	// needs the file or flag and the problem, not where in graphtrain it was found.
	msg = stripPackagePrefixes(msg)
	fmt.Fprintf(e.stderr, "graphtrain: %s\n", msg)
	return code
}

// escapeControl escapes the control characters (but the newline, which fail turns into a
// space) and the bytes that are not UTF-8 in a message: a file name or a field of a
// model.json can hold any, and the terminal must not take them for commands.
func escapeControl(msg string) string {
	var b strings.Builder
	for i, r := range msg {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(msg[i:], string(utf8.RuneError)):
			fmt.Fprintf(&b, "\\x%02x", msg[i])
		case r != '\n' && unicode.IsControl(r):
			q := strconv.QuoteToASCII(string(r))
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func hasGroup(word string) bool {
	for p := range commands {
		if strings.HasPrefix(p, word+" ") {
			return true
		}
	}
	return false
}

func printTopUsage(w io.Writer, group string) {
	if group == "" {
		fmt.Fprint(w, `graphtrain trains neural networks defined as Gorgonia expression graphs with symbolic
gradients, on the CPU or on an NVIDIA GPU (builds with the gpu tag).

Usage:
  graphtrain <command> [flags]

Commands:
`)
	} else {
		fmt.Fprintf(w, "Usage:\n  graphtrain %s <what> [flags]\n\nCommands:\n", group)
	}
	var paths []string
	for p := range commands {
		if group == "" || strings.HasPrefix(p, group+" ") {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		fmt.Fprintf(w, "  %-18s %s\n", p, commands[p].short)
	}
	global := pflag.NewFlagSet("graphtrain", pflag.ContinueOnError)
	global.SortFlags = false
	addGlobalFlags(global, &globals{})
	fmt.Fprintf(w, "\nGlobal flags (accepted by every command):\n%s\nRun 'graphtrain <command> --help' for a command's flags.\n", global.FlagUsages())
}

func printCommandUsage(w io.Writer, c *command, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "%s\n\nUsage:\n  graphtrain %s [flags]", c.short, c.path)
	if c.args != "" {
		fmt.Fprintf(w, " %s", c.args)
	}
	fmt.Fprintln(w)
	if c.long != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.long))
	}
	fmt.Fprintf(w, "\nFlags:\n%s", fs.FlagUsages())
}

// newModel makes a fresh model of a named kind (model.NamedKinds): hidden units for the
// kinds that take them (one layer for xor, one or more for mlp; ignored for the others),
// biases for xor (the mnist models always have them).
func newModel(kind string, hidden []int, xorBias bool, seed int64) (*model.Model, error) {
	n, err := model.HiddenSizes(kind)
	if err != nil {
		return nil, usagef("model %q: must be %s", kind, orList(model.NamedKinds()))
	}
	if n == 1 && len(hidden) != 1 {
		return nil, usagef("--hidden %v: the XOR net has one hidden layer", hidden)
	}
	return model.NewNamed(kind, hidden[:min(len(hidden), n)], xorBias, seed)
}

// checkKind checks a named model kind given to command and the --hidden sizes given with it.
func checkKind(command, kind string, hidden layersFlag) error {
	if kind == customKind {
		if len(hidden) > 0 {
			return usagef("--hidden is the mlp's; --arch gives the custom model's layers")
		}
		return nil
	}
	n, err := model.HiddenSizes(kind)
	switch {
	case err != nil:
		return usagef("%s: unknown model %q: must be %s", command, kind, orList(append(model.NamedKinds(), customKind+" (with --arch)")))
	case len(hidden) > 0 && n == 0:
		return usagef("--hidden: the %s has no hidden-units setting", kind)
	case len(hidden) > n:
		return usagef("--hidden %s: the XOR net has one hidden layer", hidden.String())
	}
	return nil
}

// orList writes names as "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// printf prints progress and tables unless --quiet.
func (e *env) printf(format string, args ...any) {
	if !e.g.Quiet {
		fmt.Fprintf(e.stdout, format, args...)
	}
}

// resultf prints a command's results, which --quiet keeps: the answers it computed (train's
// final figures, eval's accuracy, predict's answer, bench's table, data inspect's statistics);
// a command whose result is the files it writes says nothing under --quiet. With --quiet and
// --json the JSON line holds the results, alone on stdout.
func (e *env) resultf(format string, args ...any) {
	if !e.g.Quiet || !e.g.JSON {
		fmt.Fprintf(e.stdout, format, args...)
	}
}

// emitJSON writes v as the one-line JSON object that ends stdout under --json.
func (e *env) emitJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode JSON result: %w", err)
	}
	// A failed write is the stdout writer's to report (main): its message says what to do.
	fmt.Fprintf(e.stdout, "%s\n", b)
	return nil
}

// interruptCode is the exit status after an interrupt: 128 plus the signal's number, as
// shells report it (130 for SIGINT, Ctrl-C; 143 for SIGTERM).
func (e *env) interruptCode() int {
	if e.signal != nil {
		if n := e.signal.Load(); n > 0 {
			return 128 + int(n)
		}
	}
	return 130
}

// gracefully runs f, a training loop that saves its state and stops at a signal: a signal
// during f asks it to stop (stopRequested) instead of ending the command at once.
func (e *env) gracefully(f func()) {
	if e.graceful != nil {
		e.graceful.Store(true)
		defer e.graceful.Store(false)
	}
	f()
}

// stopRequested reports, without blocking, whether the user asked to stop.
func (e *env) stopRequested() bool {
	if e.interrupted == nil {
		return false
	}
	select {
	case <-e.interrupted:
		return true
	default:
		return false
	}
}
