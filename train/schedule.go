package train

import (
	"fmt"
	"math"
)

// Schedules are the learning-rate schedules, in the order a message lists them.
var Schedules = []string{"constant", "cosine", "onecycle"}

// A Schedule gives the learning rate of every training step from the step's place in the
// run alone (its epoch, and its place in the epoch), so that a resumed run sets the very
// rates an uninterrupted one would:
//
//	constant: lr(e) = Base
//	cosine:   lr(e) = Base · ½ · (1 + cos(π·(e−1)/Epochs)), for the whole of epoch e
//	onecycle: PyTorch's OneCycleLR with its defaults, step by step: from Base/25 up to Base
//	          over the first 30% of the steps, then down to Base/25/10⁴ by the last, both
//	          along half a cosine wave (Smith and Topin, "Super-convergence")
//
// A Warmup of W steps scales the first W steps' rate by k/W for the k-th step (1-based): the
// rate rises linearly from Base/W to the schedule's own. One-cycle starts low on its own and
// needs none.
type Schedule struct {
	Kind   string  // "constant", "cosine" or "onecycle" ("" is constant)
	Base   float64 // the rate: the constant one, cosine's first, one-cycle's peak
	Epochs int     // epochs in the whole run
	Warmup int     // steps of linear warmup
}

// Check says what is wrong with s, if anything.
func (s Schedule) Check() error {
	switch s.Kind {
	case "", "constant", "cosine", "onecycle":
	default:
		return fmt.Errorf("graph: learning-rate schedule %q: must be constant, cosine or onecycle", s.Kind)
	}
	if !(s.Base > 0) || math.IsInf(s.Base, 0) || s.Epochs < 1 || s.Warmup < 0 {
		return fmt.Errorf("graph: learning-rate schedule of rate %v over %d epochs, warmup %d: want a positive rate and epochs, and a warmup of 0 or more", s.Base, s.Epochs, s.Warmup)
	}
	return nil
}

// One-cycle's settings: PyTorch's OneCycleLR defaults.
const (
	oneCycleRise     = 0.3 // pct_start: the part of the steps that the rate rises over
	oneCycleDiv      = 25  // div_factor: the first rate is Base/25
	oneCycleFinalDiv = 1e4 // final_div_factor: the last is the first/10⁴
)

// Rate is the learning rate of step (1-based) of epoch (1-based) in a run of steps steps an
// epoch. It is always above 0.
func (s Schedule) Rate(epoch, step, steps int) float64 {
	g := (epoch-1)*steps + step - 1 // the step's index in the whole run, from 0
	lr := s.Base
	switch s.Kind {
	case "cosine":
		lr = s.Base * 0.5 * (1 + math.Cos(math.Pi*float64(epoch-1)/float64(s.Epochs)))
	case "onecycle":
		lr = oneCycle(s.Base, g, s.Epochs*steps)
	}
	if g < s.Warmup {
		lr *= float64(g+1) / float64(s.Warmup)
	}
	return lr
}

// oneCycle is OneCycleLR's rate (anneal_strategy "cos") at step g of total, g from 0.
func oneCycle(peak float64, g, total int) float64 {
	first := peak / oneCycleDiv
	last := first / oneCycleFinalDiv
	anneal := func(from, to, pct float64) float64 { return to + (from-to)/2*(1+math.Cos(math.Pi*pct)) }
	top := oneCycleRise*float64(total) - 1 // the step the rate peaks at, as OneCycleLR's
	switch {
	case float64(g) <= top:
		return anneal(first, peak, float64(g)/top)
	case total-1 <= int(top):
		return peak
	}
	return anneal(peak, last, min(1, (float64(g)-top)/(float64(total-1)-top)))
}
