package ir

// Cost is what a launch does, counted: the floating-point operations it performs (a
// multiply-add is two) and the bytes of the buffers it reads and writes, each buffer counted
// once (what a launch must move at least: a kernel that reads an operand twice moves more).
// It is a model, not a measurement: it says where a step's work and traffic are, and what a
// change of program saves, without a device.
type Cost struct {
	FLOPs   int64
	Read    int64 // bytes of the buffers the launch reads
	Written int64 // bytes of the buffers it writes
}

// Add is the sum of two costs.
func (c Cost) Add(o Cost) Cost {
	return Cost{c.FLOPs + o.FLOPs, c.Read + o.Read, c.Written + o.Written}
}

// Bytes is what the launch moves: read and written.
func (c Cost) Bytes() int64 { return c.Read + c.Written }

// LaunchCost is the cost of launch i of p.
func (p *Program) LaunchCost(i int) (Cost, error) {
	l := p.Launches[i]
	var c Cost
	ins := l.Inputs()
	for _, b := range ins {
		c.Read += p.Buffers[b].Bytes()
	}
	for _, b := range l.Args[len(ins):] {
		c.Written += p.Buffers[b].Bytes()
	}
	if l.Op.IsUpdate() { // the parameter and the state are written in place
		for _, b := range ins[:len(ins)-1] {
			c.Written += p.Buffers[b].Bytes()
		}
	}
	f, err := l.flops(p)
	c.FLOPs = f
	return c, err
}

// Cost is the cost of every launch of p, and their sum: one training step.
func (p *Program) Cost() (total Cost, per []Cost, err error) {
	per = make([]Cost, len(p.Launches))
	for i := range p.Launches {
		if per[i], err = p.LaunchCost(i); err != nil {
			return Cost{}, nil, err
		}
		total = total.Add(per[i])
	}
	return total, per, nil
}

// flops counts the launch's floating-point operations from its typed parameters: products
// 2·M·N·K, convolutions 2 per tap of every output, reductions and elementwise ops one per
// value, softmax about five per value, the solvers' updates a few per parameter.
func (l Launch) flops(p *Program) (int64, error) {
	n := func(b int) int64 { return int64(p.Buffers[b].Elems) }
	out := l.Args[len(l.Args)-1]
	switch l.Op {
	case Gemm, GemmBias, GemmBiasReLU, GemmMul, GemmSplit:
		g, err := l.GemmParams()
		if l.Op == GemmSplit {
			var s GemmSplitParams
			s, err = l.GemmSplitParams()
			g = s.GemmParams
		}
		f := 2 * int64(g.M) * int64(g.N) * int64(g.K)
		switch l.Op {
		case GemmBias, GemmMul:
			f += int64(g.M) * int64(g.N)
		case GemmBiasReLU: // the bias, the mask and the product with it
			f += 3 * int64(g.M) * int64(g.N)
		}
		return f, err
	case Conv, ConvReLU, ConvData, ConvFilter:
		c, err := l.ConvParams()
		return convFLOPs(c), err
	case ConvReLUPool, ConvReLUPoolBack:
		cp, err := l.ConvPoolParams()
		f := convFLOPs(cp.Conv)
		if l.Op == ConvReLUPoolBack && len(l.Args) == 7 {
			f *= 2 // the filter gradient and the image gradient
		}
		return f, err
	case ConvFilterSplit:
		c, err := l.ConvSplitParams()
		return convFLOPs(c.Conv), err
	case RouteFilter: // the filter gradient, and the bias's tap
		r, err := l.RouteFilterParams()
		c := r.Conv
		return convFLOPs(c) + int64(c.B)*int64(c.Cout)*int64(c.OH)*int64(c.OW), err
	case RouteData:
		cp, err := l.ConvPoolParams()
		return convFLOPs(cp.Conv), err
	case FilterSum:
		f, err := l.FilterSumParams()
		return int64(f.Parts) * int64(f.Cout) * int64(f.K+1), err
	case ReduceSum:
		r, err := l.ReduceSumParams()
		return int64(r.Outer) * int64(r.Length) * int64(r.Inner), err
	case SoftmaxXent, Softmax, SoftmaxBack:
		return 5 * n(l.Args[0]), nil
	case SGD:
		return 2 * n(l.Args[0]), nil
	case Momentum:
		return 4 * n(l.Args[0]), nil
	case Adam:
		return 12 * n(l.Args[0]), nil
	case Binary, Unary, MaxPool, MaxPoolBack, MaxPoolBackMask, PoolRouteBack, Col2im, Dropout:
		return n(out), nil
	case BatchNormStats, BatchNorm, BatchNormBackScale, BatchNormBackData:
		// Per value: the mean's sum and the variance's three; the normalisation's three;
		// the two sums' four; the gradient's six.
		per := map[Op]int64{BatchNormStats: 4, BatchNorm: 3, BatchNormBackScale: 4, BatchNormBackData: 6}[l.Op]
		return per * n(l.Args[0]), nil
	case Augment: // the bilinear blend of four corners; the elastic field smoothed along x and y
		a, err := l.AugmentParams()
		if err != nil || !a.Elastic() {
			return 9 * n(out), err
		}
		return 9*n(out) + 8*int64(2*a.Radius+1)*int64(a.Batch)*int64(a.H)*int64(a.W), nil
	}
	return 0, nil // data movement only: Gather4, Im2col, GatherRows, the counters
}

// convFLOPs is 2 per tap of every output of a convolution: 2·B·Cout·OH·OW·C·KH·KW.
func convFLOPs(c ConvParams) int64 {
	return 2 * int64(c.B) * int64(c.Cout) * int64(c.OH) * int64(c.OW) * int64(c.C) * int64(c.KH) * int64(c.KW)
}
