package ir

import "fmt"

// WithDataset returns a copy of p that takes its batches from a training set of n examples
// held by the executor (on a GPU: on the device), so that a step uploads nothing. It adds four buffers of kind Dataset,
// each in a slot of its own appended after p's (so p's buffer ids, slots and plan stay valid
// and a trainer can share p's allocations): the examples [n, inputs] and one-hot targets
// [n, outputs] in the program's dtype, the pass's order [n] and a batch cursor, both long
// long. The step starts with two gather_rows launches, X[r,:] = examples[order[cursor+r],:]
// and Y likewise for r < Batch, and ends with cursor_add, which advances the cursor by Batch
// on the device. The order and the cursor are integers (long long, 8 bytes) because they
// index rows: the kernel reads them as they are, exact for any n, with no conversion.
func (p *Program) WithDataset(n int) (*Program, error) {
	if p.Data != nil {
		return nil, fmt.Errorf("program: the %s program already holds a training set", p.Kind)
	}
	if p.Batch < 1 || p.Buffers[p.X].Elems%p.Batch != 0 || p.Buffers[p.Y].Elems%p.Batch != 0 {
		return nil, fmt.Errorf("program: the %s program's x (%d) and y (%d) are not %d rows", p.Kind, p.Buffers[p.X].Elems, p.Buffers[p.Y].Elems, p.Batch)
	}
	if n < p.Batch {
		return nil, fmt.Errorf("program: a training set of %d examples holds less than one batch of %d", n, p.Batch)
	}
	q := p.Clone()
	in, out := p.Buffers[p.X].Elems/p.Batch, p.Buffers[p.Y].Elems/p.Batch
	own := func(b Buffer) int {
		b.Kind, b.Slot = Dataset, len(q.Slots)
		q.Buffers = append(q.Buffers, b)
		q.Slots = append(q.Slots, b.Bytes())
		return len(q.Buffers) - 1
	}
	elem := p.Buffers[p.X].Elem
	d := &DataBuffers{N: n}
	d.Examples = own(Buffer{Name: "examples", Elems: n * in, Elem: elem})
	d.Targets = own(Buffer{Name: "targets", Elems: n * out, Elem: elem})
	d.Order = own(Buffer{Name: "order", Elems: n, Elem: 8})
	d.Cursor = own(Buffer{Name: "cursor", Elems: 1, Elem: 8})
	q.Data = d
	gather := func(src, dst, cols int, what string) Launch {
		return Launch{Op: GatherRows, Dtype: p.Dtype, Role: Data, What: "gather " + what, Node: -1,
			Args: []int{src, d.Order, d.Cursor, dst}, Ints: GatherRowsParams{Rows: p.Batch, Cols: cols}.Ints()}
	}
	q.Launches = append([]Launch{gather(d.Examples, p.X, in, "x"), gather(d.Targets, p.Y, out, "y")}, q.Launches...)
	q.Launches = append(q.Launches, Launch{Op: CursorAdd, Dtype: Float64, Role: Data, What: "advance cursor", Node: -1,
		Args: []int{d.Cursor}, Ints: CursorAddParams{N: p.Batch}.Ints()})
	return q, nil
}

// OrderValues checks a pass's order for the program's training set (every index in [0, N),
// at most N of them, at least one batch) and returns it as the order buffer holds it.
func (p *Program) OrderValues(order []int) ([]int64, error) {
	if p.Data == nil {
		return nil, fmt.Errorf("program: the %s program holds no training set: set one first", p.Kind)
	}
	if len(order) > p.Data.N || len(order) < p.Batch {
		return nil, fmt.Errorf("program: an order of %d examples for a training set of %d and batches of %d", len(order), p.Data.N, p.Batch)
	}
	out := make([]int64, len(order))
	for i, k := range order {
		if k < 0 || k >= p.Data.N {
			return nil, fmt.Errorf("program: order[%d] = %d: outside the training set of %d examples", i, k, p.Data.N)
		}
		out[i] = int64(k)
	}
	return out, nil
}
