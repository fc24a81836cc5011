package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/checkpoint"
	"github.com/graphtrain/graphtrain/internal/safefile"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/train"
)

type trainXOROpts struct {
	hidden   int
	epochs   int
	lr       float64
	seed     int64
	bias     bool
	init     string
	out      string
	logEvery int
	force    bool
}

func init() {
	register(&command{
		path:  "train xor",
		short: "train the XOR net of the original numpy experiment",
		long: `Trains a 2-H-1 sigmoid net on the four XOR examples with full-batch gradient descent on
½·Σ(y−ŷ)², the update rule of the original numpy train.py. With the defaults (seed 42 draws
the original's starting weights with numpy's generator) it prints the original's numbers.
The predictions shown come from the last epoch's forward pass, before its update; the saved
checkpoint holds the weights after it.`,
		flags: func(fs *pflag.FlagSet) any {
			o := &trainXOROpts{}
			fs.IntVar(&o.hidden, "hidden", 4, "hidden sigmoid units")
			fs.IntVar(&o.epochs, "epochs", 10000, "full-batch epochs (gradient steps)")
			fs.Float64Var(&o.lr, "lr", 0.1, "learning rate")
			fs.Int64Var(&o.seed, "seed", 42, "seed for the starting weights, drawn as numpy's np.random.seed(seed); np.random.rand does (0 to 4294967295)")
			fs.BoolVar(&o.bias, "bias", false, "give both layers biases (the original had none)")
			fs.StringVar(&o.init, "init", "", "start from the weights in this checkpoint directory (graphtrain's, or weights0.npy and weights1.npy from numpy)")
			fs.StringVar(&o.out, "out", "checkpoints/xor", "directory to save the trained weights in (weights0.npy, weights1.npy, model.json)")
			fs.IntVar(&o.logEvery, "log-every", 1000, "print the loss every N epochs (0: never)")
			fs.BoolVar(&o.force, "force", false, "replace a checkpoint already in --out (without it such an --out is refused, unless it is --init's)")
			return o
		},
		run: runTrainXOR,
	})
	register(&command{
		path:  "predict xor",
		short: "ask a trained XOR net for A XOR B",
		args:  "[A B]",
		long: `Runs the XOR net in --weights on the operands A and B (each 0 or 1). Without them it asks
for them ("enter left operand", "enter right operand"), as the original inference.py did.
The forward pass runs on --device's backend where it has a forward-only pass of its own,
else on vm (Gorgonia's TapeMachine). With --quiet, the raw output and the answer only.`,
		flags: func(fs *pflag.FlagSet) any {
			w := new(string)
			fs.StringVar(w, "weights", "", "checkpoint directory of a trained XOR net (required)")
			return w
		},
		run: runPredictXOR,
	})
}

func runTrainXOR(e *env, fs *pflag.FlagSet, opts any) error {
	o := opts.(*trainXOROpts)
	if err := checkTrainXORFlags(fs, o); err != nil {
		return err
	}
	bk, err := trainingBackend(e)
	if err != nil {
		return err
	}
	m, err := startXOR(fs, o)
	if err != nil {
		return err
	}
	// Training on from --init in its own directory replaces it, as --resume does for mnist.
	replace := o.force || (o.init != "" && sameDir(o.init, o.out))
	out, err := claimOut("--out", o.out, replace, "add --force to replace it, or choose another --out")
	if err != nil {
		return err
	}
	saved := false
	defer func() { out.release(saved) }()
	printXORStart(e, o, m, bk.Name())
	var res *train.XORResult
	var answers []int
	e.gracefully(func() { // a signal stops training; the weights so far are saved
		if res, err = trainXOR(e, o, m, bk); err != nil {
			return
		}
		answers = printXORAnswers(e, res)
		if err = saveXOR(o, m, res); err == nil {
			saved = true
		}
	})
	if err != nil {
		return err
	}
	e.printf("saved to %s\n", o.out)
	if e.stopRequested() {
		return exitError{e.interruptCode(), fmt.Errorf("interrupted after %d of %d epochs; the weights so far are saved in %s", res.Epochs, o.epochs, o.out)}
	}
	if e.g.JSON {
		return e.emitJSON(map[string]any{
			"loss": res.Loss, "predictions": res.Predictions, "answers": answers,
			"epochs": res.Epochs, "seconds": res.Seconds, "device": res.Device, "out": o.out,
		})
	}
	return nil
}

// trainXOR trains m on backend with the flags' settings, printing the loss.
func trainXOR(e *env, o *trainXOROpts, m *model.Model, b backend.Backend) (*train.XORResult, error) {
	return train.TrainXOR(m, train.XORConfig{
		Epochs:   o.epochs,
		LR:       o.lr,
		LogEvery: o.logEvery,
		Log:      func(epoch int, loss float64) { e.printf("epoch %6d  loss %.8f\n", epoch, loss) },
		Stop:     e.stopRequested,
		Backend:  b,
		Fallback: autoFallback(e),
		Warn:     func(msg string) { fmt.Fprintf(e.stderr, "graphtrain: %s\n", msg) },
	})
}

// printXORStart prints the line that starts train xor: the net, the device and the settings.
func printXORStart(e *env, o *trainXOROpts, m *model.Model, device string) {
	start := "seed " + fmt.Sprint(o.seed)
	if o.init != "" {
		start = "weights from " + o.init
	}
	biases := "no biases"
	if m.Spec.Bias {
		biases = "biases"
	}
	e.printf("training XOR net 2-%d-1 sigmoid, %s, on %s: %d epochs, lr %g, %s\n", m.Spec.Hidden, biases, device, o.epochs, o.lr, start)
}

// checkTrainXORFlags checks train xor's flags, and that the net fits in memory.
func checkTrainXORFlags(fs *pflag.FlagSet, o *trainXOROpts) error {
	if fs.NArg() > 0 {
		return usagef("train xor takes no arguments, got %q", fs.Args())
	}
	switch {
	case o.hidden < 1 || o.hidden > model.MaxHidden:
		return usagef("--hidden %d: must be between 1 and %d", o.hidden, model.MaxHidden)
	case checkSize("epochs", o.epochs, 1, maxXOREpochs, "the XOR net learns in about 10000") != nil:
		return checkSize("epochs", o.epochs, 1, maxXOREpochs, "the XOR net learns in about 10000")
	case math.IsNaN(o.lr) || math.IsInf(o.lr, 0) || o.lr <= 0:
		return usagef("--lr %v: must be a positive number", o.lr)
	case o.seed < 0 || o.seed > math.MaxUint32:
		return usagef("--seed %d: must be between 0 and 4294967295", o.seed)
	case o.logEvery < 0:
		return usagef("--log-every %d: must be 0 (never) or more", o.logEvery)
	case o.out == "":
		return usagef("--out: must name a directory")
	}
	if spec, err := model.SpecFor("xor", o.hidden, o.bias); err == nil {
		need, _ := train.XORMemory(spec)
		if err := checkMemory(need, "lower --hidden"); err != nil {
			return err
		}
	}
	return nil
}

// startXOR is the net train xor starts from: the weights in --init, which --hidden and --bias
// must not contradict, or fresh ones drawn from --seed.
func startXOR(fs *pflag.FlagSet, o *trainXOROpts) (*model.Model, error) {
	if o.init == "" {
		return model.NewXOR(o.hidden, o.bias, o.seed)
	}
	m, _, _, err := checkpoint.LoadCheckpoint(o.init)
	if err != nil {
		return nil, checkpointError("--init", err, "give a directory that 'graphtrain train xor' wrote, or one with numpy's weights0.npy and weights1.npy")
	}
	switch {
	case m.Spec.Kind != "xor":
		return nil, fmt.Errorf("--init %s: holds a %s model, not an XOR net; give the --out of a 'graphtrain train xor' run", o.init, m.Spec.Kind)
	case fs.Changed("hidden") && o.hidden != m.Spec.Hidden:
		return nil, usagef("--hidden %d: the weights in --init %s have %d hidden units", o.hidden, o.init, m.Spec.Hidden)
	case fs.Changed("bias") && o.bias != m.Spec.Bias:
		return nil, usagef("--bias=%v: the weights in --init %s have bias=%v", o.bias, o.init, m.Spec.Bias)
	}
	return m, nil
}

// printXORAnswers prints the last epoch's outputs for the four inputs and returns the answers.
func printXORAnswers(e *env, res *train.XORResult) []int {
	answers := make([]int, 4)
	e.printf("\n")
	e.resultf("input  raw output   answer (after %d epochs, %.2f s)\n", res.Epochs, res.Seconds)
	for i, p := range res.Predictions {
		answers[i] = answer(p)
		e.resultf("%g %g    %.8f   %d\n", model.XORInputs[2*i], model.XORInputs[2*i+1], p, answers[i])
	}
	return answers
}

// saveXOR saves the trained net in --out.
func saveXOR(o *trainXOROpts, m *model.Model, res *train.XORResult) error {
	err := checkpoint.SaveCheckpoint(o.out, m, nil, checkpoint.Checkpoint{
		Version: version,
		Epoch:   res.Epochs,
		Seed:    o.seed,
		Backend: res.Device,
		Hyper:   &checkpoint.Hyperparameters{LR: o.lr, Epochs: o.epochs, Solver: "sgd", Loss: "half sum of squares", Init: o.init, Seed: o.seed},
		Metrics: map[string]float64{"loss": res.Loss, "seconds": res.Seconds},
	})
	if err != nil {
		return writeFailed("--out", o.out, err)
	}
	return nil
}

func answer(p float64) int {
	if p >= 0.5 {
		return 1
	}
	return 0
}

func runPredictXOR(e *env, fs *pflag.FlagSet, opts any) error {
	weights := *opts.(*string)
	if weights == "" {
		return usagef("predict xor: --weights DIR is required (a directory written by 'graphtrain train xor')")
	}
	var a, b int
	var err error
	switch fs.NArg() {
	case 2:
		if a, err = parseOperand("left", fs.Arg(0)); err != nil {
			return usageError{err.Error()}
		}
		if b, err = parseOperand("right", fs.Arg(1)); err != nil {
			return usageError{err.Error()}
		}
	case 0:
	default:
		return usagef("predict xor: give both operands A and B (each 0 or 1), or none to be asked for them")
	}
	m, _, _, err := checkpoint.LoadCheckpoint(weights)
	if err != nil {
		return checkpointError("--weights", err, "give the --out of a 'graphtrain train xor' run")
	}
	if m.Spec.Kind != "xor" {
		return fmt.Errorf("--weights %s: holds a %s model, not an XOR net; give the --out of a 'graphtrain train xor' run", weights, m.Spec.Kind)
	}
	if fs.NArg() == 0 {
		in := bufio.NewReader(e.stdin)
		terminal := isTerminal(e.stdin)
		var ok bool
		if a, ok, err = promptOperand(e, in, "left", terminal); err != nil || !ok {
			return err
		}
		if b, ok, err = promptOperand(e, in, "right", terminal); err != nil || !ok {
			return err
		}
	}
	dev, err := forwardBackend(e)
	if err != nil {
		return err
	}
	raw, err := train.Outputs(dev, m, []float64{float64(a), float64(b)})
	if err != nil {
		return err
	}
	ans := answer(raw[0])
	e.printf("Input: [%d %d]\n", a, b)
	e.resultf("Raw Prediction Output: %.4f\n", raw[0])
	e.resultf("Final Prediction (%d XOR %d): %d\n", a, b, ans)
	if e.g.JSON {
		return e.emitJSON(map[string]any{"input": []int{a, b}, "raw": raw[0], "answer": ans})
	}
	return nil
}

func parseOperand(which, s string) (int, error) {
	switch strings.TrimSpace(s) {
	case "0":
		return 0, nil
	case "1":
		return 1, nil
	case "":
		return 0, fmt.Errorf("%s operand is empty: enter 0 or 1", which)
	}
	return 0, fmt.Errorf("%s operand %s: must be 0 or 1", which, safefile.Excerpt(strings.TrimSpace(s), 20))
}

// promptOperand asks for one operand. ok is false at the end of input (a clean exit). On a
// terminal a bad answer asks again; from a pipe or file it is an error.
func promptOperand(e *env, in *bufio.Reader, which string, terminal bool) (v int, ok bool, err error) {
	for {
		fmt.Fprintf(e.stdout, "enter %s operand\n", which)
		line, rerr := readLine(in, maxOperandLine)
		if errors.Is(rerr, errLongLine) {
			return 0, false, usagef("%s operand: a line of more than %d bytes; enter 0 or 1", which, maxOperandLine)
		}
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return 0, false, fmt.Errorf("read %s operand: %s", which, plainError(rerr))
		}
		if rerr != nil && line == "" {
			return 0, false, nil
		}
		v, err := parseOperand(which, line)
		if err == nil {
			return v, true, nil
		}
		if !terminal {
			return 0, false, usageError{err.Error()}
		}
		fmt.Fprintf(e.stdout, "%v\n", err)
	}
}

// maxOperandLine bounds a line of interactive input: an operand is one character.
const maxOperandLine = 256

var errLongLine = errors.New("line too long")

// readLine reads one line of at most max bytes (newline included), without buffering more:
// an endless line from a pipe is refused once max bytes are read.
func readLine(in *bufio.Reader, max int) (string, error) {
	var b []byte
	for len(b) < max {
		c, err := in.ReadByte()
		if err != nil {
			return string(b), err
		}
		b = append(b, c)
		if c == '\n' {
			return string(b), nil
		}
	}
	return "", errLongLine
}

// isTerminal reports whether the stream (stdin, stdout) is a character device (a terminal).
func isTerminal(stream any) bool {
	f, ok := stream.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
