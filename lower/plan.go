package lower

import (
	"github.com/graphtrain/graphtrain/ir"
)

// plan gives every buffer a slot. Parameters, state, inputs and constants each get their
// own; a temporary lives from the launch that writes it to the last launch that reads it
// (the output and the loss to the end of the step), and temporaries whose lives do not
// overlap share a slot. A launch's output never shares a slot with its inputs.
func (l *lowering) plan() {
	p := l.p
	def := make([]int, len(p.Buffers))
	last := make([]int, len(p.Buffers))
	for i := range def {
		def[i], last[i] = -1, -1
	}
	for i, ln := range p.Launches {
		for _, b := range ln.Args {
			if def[b] < 0 {
				def[b] = i
			}
			last[b] = i
		}
	}
	end := len(p.Launches)
	last[p.Out], last[p.Loss] = end, end
	for i := range p.Buffers {
		p.Buffers[i].Slot = -1
	}
	newSlot := func(b int) {
		p.Slots = append(p.Slots, p.Buffers[b].Bytes())
		p.Buffers[b].Slot = len(p.Slots) - 1
	}
	for i, b := range p.Buffers {
		// The loss too has a slot of its own (4 or 8 bytes): no forward launch run alone
		// (Forward, to validate between steps) can then overwrite the last step's loss.
		if b.Kind != ir.Temp || def[i] < 0 || i == p.Loss {
			newSlot(i)
		}
	}
	var free []int // slots free for reuse
	for i, ln := range p.Launches {
		for _, b := range ln.Args {
			if p.Buffers[b].Kind != ir.Temp || def[b] != i || p.Buffers[b].Slot >= 0 {
				continue
			}
			need := p.Buffers[b].Bytes()
			best := -1 // the smallest free slot that fits, else the largest, grown
			for j, s := range free {
				fits, bestFits := p.Slots[s] >= need, best >= 0 && p.Slots[free[best]] >= need
				switch {
				case best < 0, fits && !bestFits:
					best = j
				case fits && p.Slots[s] < p.Slots[free[best]]:
					best = j
				case !fits && !bestFits && p.Slots[s] > p.Slots[free[best]]:
					best = j
				}
			}
			if best < 0 {
				newSlot(b)
				continue
			}
			s := free[best]
			free = append(free[:best], free[best+1:]...)
			p.Slots[s] = max(p.Slots[s], need)
			p.Buffers[b].Slot = s
		}
		for _, b := range ln.Args {
			if p.Buffers[b].Kind == ir.Temp && last[b] == i && !contains(free, p.Buffers[b].Slot) {
				free = append(free, p.Buffers[b].Slot)
			}
		}
	}
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
