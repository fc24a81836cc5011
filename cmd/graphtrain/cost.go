package main

import (
	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/lower"
	"github.com/graphtrain/graphtrain/model"
)

// printCost prints the cost model (ir.Cost) of one training step of m at --batch, lowered for
// --target with Adam: a line per launch, then the totals.
func printCost(e *env, kind string, m *model.Model, o *graphOpts) error {
	target := lower.CPU
	if o.target == "cuda" {
		target = lower.CUDA
	}
	net, err := m.Build(o.batch, true)
	if err != nil {
		return err
	}
	s, err := model.NewSolver("adam", 1e-3)
	if err != nil {
		return err
	}
	if err := s.Init(m); err != nil {
		return err
	}
	p, err := lower.Lower(net, s, target)
	if err != nil {
		return err
	}
	total, per, err := p.Cost()
	if err != nil {
		return err
	}
	e.printf("%s step, batch %d, %s target: %d launches\n", kind, o.batch, o.target, len(p.Launches))
	e.printf("%4s  %-20s %10s %10s %10s  %s\n", "", "op", "MFLOP", "MB read", "MB written", "computes")
	for i, l := range p.Launches {
		c := per[i]
		e.printf("%4d  %-20s %10.3f %10.3f %10.3f  %s\n", i, l.Op, mega(c.FLOPs), mega(c.Read), mega(c.Written), l.What)
	}
	e.resultf("%s step, batch %d, %s target: %.1f MFLOP, %.2f MB read, %.2f MB written (%.1f FLOP a byte moved)\n",
		kind, o.batch, o.target, mega(total.FLOPs), mega(total.Read), mega(total.Written), float64(total.FLOPs)/float64(max(1, total.Bytes())))
	if e.g.JSON {
		return e.emitJSON(map[string]any{"model": kind, "batch": o.batch, "target": o.target, "launches": len(p.Launches),
			"flops": total.FLOPs, "bytes_read": total.Read, "bytes_written": total.Written, "per_launch": costRows(p, per)})
	}
	return nil
}

// costRows are the launches' costs for --json.
func costRows(p *ir.Program, per []ir.Cost) []map[string]any {
	rows := make([]map[string]any, len(per))
	for i, c := range per {
		rows[i] = map[string]any{"op": p.Launches[i].Op.String(), "what": p.Launches[i].What, "flops": c.FLOPs, "bytes_read": c.Read, "bytes_written": c.Written}
	}
	return rows
}

// mega is n in millions.
func mega(n int64) float64 { return float64(n) / 1e6 }
