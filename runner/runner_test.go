package runner

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/lower"
	"github.com/graphtrain/graphtrain/lower/lowertest"
	"github.com/graphtrain/graphtrain/model"
)

// fake is a device in host memory whose launches compute nothing: it logs every call, so
// that the tests see what the runner asks of a device and in what order (what a GPU's
// driver would be asked), and it fails where told to.
type fake struct {
	log   []string
	dos   int      // Do calls
	inDo  bool     // inside Do
	wrong []string // calls outside Do, and Do inside Do (a GPU's driver thread would deadlock)
	fail  string   // the call that fails: "alloc", "hold", "prepare"
}

func (f *fake) Name() string { return "fake" }

func (f *fake) Do(fn func() error) error {
	if f.inDo {
		f.wrong = append(f.wrong, "Do inside Do")
	}
	f.dos++
	f.inDo = true
	defer func() { f.inDo = false }()
	return fn()
}

// call logs a device call and says whether it is the one that fails.
func (f *fake) call(what string) bool {
	if !f.inDo {
		f.wrong = append(f.wrong, what+" outside Do")
	}
	f.log = append(f.log, what)
	return strings.HasPrefix(what, f.fail+" ") || what == f.fail
}

// tag names a program by what it is: the resident set's, a forward program or the training
// program.
func tag(p *ir.Program) string {
	for _, l := range p.Launches {
		if l.Role == ir.Update {
			if p.Data != nil {
				return "set"
			}
			return "train"
		}
	}
	return "forward"
}

type fakeMem struct {
	f     *fake
	p     *ir.Program
	slots [][]byte
	tag   string
}

type fakeLaunches struct {
	f   *fake
	tag string
}

func (f *fake) Alloc(p *ir.Program) (Memory, error) {
	m := &fakeMem{f: f, p: p, tag: tag(p)}
	for _, n := range p.Slots {
		m.slots = append(m.slots, make([]byte, n))
	}
	if f.call("alloc " + m.tag) {
		return m, errors.New("fake: out of memory")
	}
	return m, nil
}

func (f *fake) HoldSet(rp *ir.Program, base Memory, x, y []float32) (Memory, error) {
	b := base.(*fakeMem)
	m := &fakeMem{f: f, p: rp, tag: "set", slots: slices.Clone(b.slots)}
	for _, n := range rp.Slots[len(b.slots):] {
		m.slots = append(m.slots, make([]byte, n))
	}
	if f.call("hold set") {
		return m, errors.New("fake: the set does not fit")
	}
	return m, nil
}

func (f *fake) Prepare(p *ir.Program, m Memory) (Launches, error) {
	if f.call("prepare " + tag(p)) {
		return nil, errors.New("fake: no kernel")
	}
	return &fakeLaunches{f: f, tag: tag(p)}, nil
}

func (f *fake) Wait() error { f.call("wait"); return nil }

func (m *fakeMem) Upload(b int, src []byte) error {
	m.f.call("upload " + m.p.Buffers[b].Name)
	copy(m.slots[m.p.Buffers[b].Slot], src)
	return nil
}

func (m *fakeMem) Download(b int, dst []byte) error {
	m.f.call("download " + m.p.Buffers[b].Name)
	copy(dst, m.slots[m.p.Buffers[b].Slot])
	return nil
}

func (m *fakeMem) Free() error { m.f.call("free mem " + m.tag); return nil }

func (l *fakeLaunches) Run() error { l.f.call("run " + l.tag); return nil }
func (l *fakeLaunches) SetReal(i, j int, x float64) error {
	l.f.call(fmt.Sprintf("set real %s %d %d %v", l.tag, i, j, x))
	return nil
}
func (l *fakeLaunches) Mode() string { l.f.call("mode " + l.tag); return "fake " + l.tag }
func (l *fakeLaunches) Free()        { l.f.call("free launches " + l.tag) }

// newFake makes a trainer of the mlp at batch 4 on a fake device.
func newFake(t *testing.T, fail string) (*fake, *Trainer, error) {
	t.Helper()
	m := lowertest.Model(t, "mlp")
	net, err := m.Build(4, true)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := model.NewSolver("adam", 1e-3)
	if err := s.Init(m); err != nil {
		t.Fatal(err)
	}
	p, err := lower.Lower(net, s, lower.CPU)
	if err != nil {
		t.Fatal(err)
	}
	f := &fake{fail: fail}
	tr, err := NewTrainer(f, p, net, s)
	return f, tr, err
}

// since is the log from position i on.
func (f *fake) since(i int) []string { return append([]string(nil), f.log[i:]...) }

// oneByOne is fakeLaunches that also run a launch alone (runner.OneByOne), logging it.
type oneByOne struct{ *fakeLaunches }

func (l oneByOne) RunOne(i int) error { l.f.call(fmt.Sprintf("run one %d", i)); return nil }

// TestTimeLaunches: TimeLaunches runs each launch of the step alone, in order, each followed
// by a wait, for every round, inside Do; counts the rounds as steps; and is an error on a
// device that cannot run a launch alone, or for no rounds.
func TestTimeLaunches(t *testing.T) {
	f, tr, err := newFake(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tr.TimeLaunches(1); err == nil || !strings.Contains(err.Error(), "does not run a launch alone") {
		t.Errorf("fake launches without RunOne: %v", err)
	}
	tr.ls = oneByOne{tr.ls.(*fakeLaunches)}
	if _, _, err := tr.TimeLaunches(0); err == nil {
		t.Error("0 rounds: no error")
	}
	start, steps := len(f.log), tr.steps
	p, timed, err := tr.TimeLaunches(2)
	if err != nil || p != tr.Program() || len(timed) != len(p.Launches) {
		t.Fatalf("TimeLaunches(2): %v, %d timings for %d launches", err, len(timed), len(p.Launches))
	}
	var want []string
	for r := 0; r < 2; r++ {
		for i := range p.Launches {
			want = append(want, fmt.Sprintf("run one %d", i), "wait")
		}
	}
	if got := f.since(start); !slices.Equal(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
	if tr.steps != steps+2 || len(f.wrong) > 0 {
		t.Errorf("steps %d after %d, calls outside Do %q", tr.steps, steps, f.wrong)
	}
	// Each launch's time is its median over the rounds: one slow round of five (something
	// else on the machine) does not move it, where a mean would take a fifth of it.
	tr.ls = &slowRound{oneByOne: tr.ls.(oneByOne), slow: 2}
	_, timed, err = tr.TimeLaunches(5)
	if err != nil {
		t.Fatal(err)
	}
	if timed[0].Took >= 10*time.Millisecond {
		t.Errorf("launch 0 took %v: the 50 ms of its slow round moved it", timed[0].Took)
	}
}

// slowRound is oneByOne whose launch 0 takes 50 ms in round slow.
type slowRound struct {
	oneByOne
	slow, round int
}

func (l *slowRound) RunOne(i int) error {
	if i == 0 {
		if l.round == l.slow {
			time.Sleep(50 * time.Millisecond)
		}
		l.round++
	}
	return l.oneByOne.RunOne(i)
}
