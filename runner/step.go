package runner

import (
	"fmt"
	"math"
	"slices"
	"time"

	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/model"
)

// Step uploads x and y (nil: the last step's again) and launches the whole step (forward,
// backward, update); a GPU does not wait for it.
func (t *Trainer) Step(x, y *tensor.Dense) error {
	if err := t.live(); err != nil {
		return err
	}
	for _, in := range [2]struct {
		d    *tensor.Dense
		want tensor.Shape
	}{{x, t.xShape}, {y, t.yShape}} {
		if in.d != nil && !in.d.Shape().Eq(in.want) {
			return fmt.Errorf("%w: input is %v, the graph wants %v", model.ErrShape, in.d.Shape(), in.want)
		}
	}
	t.x, t.y = x, y
	err := t.dev.Do(t.step)
	t.x, t.y = nil, nil
	if err != nil {
		return err
	}
	t.stepped()
	return nil
}

// runStep is a step inside Do.
func (t *Trainer) runStep() error {
	if t.x != nil {
		if err := upload(t.dev, t.p, t.mem, t.p.X, t.x); err != nil {
			return err
		}
	}
	if t.y != nil {
		if err := upload(t.dev, t.p, t.mem, t.p.Y, t.y); err != nil {
			return err
		}
	}
	return t.ls.Run()
}

// stepped counts a step launched: the device's step counter (Adam's t) advanced too.
func (t *Trainer) stepped() {
	t.steps++
	t.since++
	t.s.Steps++
}

// Loss reads the last step's loss back, waiting for the step.
func (t *Trainer) Loss() (float64, error) {
	if err := t.live(); err != nil {
		return 0, err
	}
	if t.steps == 0 {
		return 0, fmt.Errorf("%s: no loss yet: run a step first", t.dev.Name())
	}
	// The closure is made once: one made a call allocated, and bench, which counts a step's
	// allocations, waits for its steps with Loss.
	if t.readLoss == nil {
		t.readLoss = func() error {
			var err error
			t.loss, err = t.readReal(t.p.Loss)
			return err
		}
	}
	err := t.dev.Do(t.readLoss)
	return t.loss, err
}

// MeanLoss reads back the sum of the losses since the last call, waiting for the steps, and
// zeroes it: one synchronisation per call, not per step.
func (t *Trainer) MeanLoss() (float64, error) {
	if err := t.live(); err != nil {
		return 0, err
	}
	if t.since == 0 {
		return 0, fmt.Errorf("%s: no loss yet: run a step first", t.dev.Name())
	}
	var sum float64
	err := t.dev.Do(func() error {
		var err error
		b := t.p.LossSum
		if sum, err = t.readReal(b); err != nil {
			return err
		}
		return t.mem.Upload(b, bytesOf(t.zero[:])[:t.p.Buffers[b].Elem])
	})
	n := t.since
	t.since = 0
	return sum / float64(n), err
}

// Output reads the last step's output back [batch, outputs].
func (t *Trainer) Output() (*tensor.Dense, error) {
	if err := t.live(); err != nil {
		return nil, err
	}
	if t.steps == 0 {
		return nil, fmt.Errorf("%s: no output yet: run a step first", t.dev.Name())
	}
	out := tensor.New(tensor.Of(t.net.Out.Dtype()), tensor.WithShape(t.net.Out.Shape().Clone()...))
	err := t.dev.Do(func() error { return download(t.dev, t.p, t.mem, t.p.Out, out) })
	return out, err
}

// SetLR sets the learning rate of the updates that follow, in the training program and the
// resident set's: the first real parameter of every update launch (sgd, momentum and adam
// all take the rate first).
func (t *Trainer) SetLR(lr float64) error {
	if err := t.live(); err != nil {
		return err
	}
	if !(lr > 0) || math.IsInf(lr, 0) {
		return fmt.Errorf("%s: learning rate %v: must be a positive number", t.dev.Name(), lr)
	}
	err := t.dev.Do(func() error {
		if err := setLR(t.p, t.ls, lr); err != nil {
			return err
		}
		if d := t.data; d != nil {
			return setLR(d.p, d.ls, lr)
		}
		return nil
	})
	if err == nil {
		t.s.Rate = lr
	}
	return err
}

// setLR rewrites the rate of p's updates and passes it to their compiled launches.
func setLR(p *ir.Program, ls Launches, lr float64) error {
	for _, i := range p.SetLR(lr) {
		if err := ls.SetReal(i, 0, lr); err != nil {
			return err
		}
	}
	return nil
}

// Sync copies the parameters and the solver state back into the Model's and the Solver's
// tensors, so that a checkpoint written now is the same on every device.
func (t *Trainer) Sync() error {
	if err := t.live(); err != nil {
		return err
	}
	return t.dev.Do(func() error {
		for i, b := range t.p.Params {
			if err := download(t.dev, t.p, t.mem, b, t.net.Model.Params[i].T); err != nil {
				return err
			}
		}
		for _, m := range t.p.State {
			if err := download(t.dev, t.p, t.mem, m.Buffer, t.s.State[m.Key]); err != nil {
				return err
			}
		}
		return nil
	})
}

// Close waits for the steps queued, then frees the memory (the resident set's too) and the
// compiled launches. A second Close does nothing.
func (t *Trainer) Close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	return t.dev.Do(func() error {
		first := t.dev.Wait()
		if err := t.freeSet(t.data); err != nil && first == nil {
			first = err
		}
		t.data = nil
		if t.mem != nil {
			if err := t.mem.Free(); err != nil && first == nil {
				first = err
			}
		}
		if t.ls != nil {
			t.ls.Free()
		}
		if t.fwd != nil {
			t.fwd.ls.Free()
			t.fwd = nil
		}
		return first
	})
}

// Launching says how a step runs: the resident set's program when the trainer holds one,
// else the training program (Launches.Mode).
func (t *Trainer) Launching() string {
	var mode string
	t.dev.Do(func() error {
		if t.ls != nil {
			mode = t.ls.Mode()
		}
		if t.data != nil {
			mode = t.data.ls.Mode()
		}
		return nil
	})
	return mode
}

// TimeLaunches runs rounds training steps on the last batch uploaded, one launch at a time,
// each followed by a wait for the device, and returns the program and each launch's median
// time over the rounds (and kernel, where the device names it): where a step's time goes
// (bench --by-launch). The median, not the mean: on a shared machine a few rounds run while
// something else takes the cores or the memory, and a mean spread them over every launch
// (the mlp's weight gradient on two workers read 200 µs in one run and 132 µs in the next,
// 2026-12-05). The waits make the sum longer than a step as it runs (a GPU's as one CUDA
// graph); the device's Launches must be a OneByOne.
func (t *Trainer) TimeLaunches(rounds int) (*ir.Program, []backend.LaunchTiming, error) {
	if err := t.live(); err != nil {
		return nil, nil, err
	}
	one, ok := t.ls.(OneByOne)
	if !ok {
		return nil, nil, fmt.Errorf("the %s device does not run a launch alone", t.dev.Name())
	}
	if rounds < 1 {
		return nil, nil, fmt.Errorf("%d rounds: at least 1", rounds)
	}
	out := make([]backend.LaunchTiming, len(t.p.Launches))
	took := make([][]time.Duration, len(out)) // by launch, by round
	for r := 0; r < rounds; r++ {
		err := t.dev.Do(func() error {
			for i := range out {
				t0 := time.Now()
				if err := one.RunOne(i); err != nil {
					return err
				}
				if err := t.dev.Wait(); err != nil {
					return err
				}
				took[i] = append(took[i], time.Since(t0))
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		t.stepped()
	}
	named, _ := t.ls.(Named)
	for i := range out {
		slices.Sort(took[i])
		if n := len(took[i]); n%2 == 1 {
			out[i].Took = took[i][n/2]
		} else {
			out[i].Took = (took[i][n/2-1] + took[i][n/2]) / 2
		}
		if named != nil {
			out[i].Kernel = named.Kernel(i)
		}
	}
	return t.p, out, nil
}
