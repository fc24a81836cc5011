package ref

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"

	"graphtrain/ir"
	"graphtrain/model"
)

// A Machine runs a Program launch by launch in plain Go: every value held as a float64,
// every float32 result rounded to float32 as it is stored, sums in float64 in the order the
// op defines. It is the meaning of every op, which each executor is tested against.
type Machine struct {
	P     *ir.Program
	Slots [][]float64 // one per program slot, each of the slot's bytes/4+1 values
	f32   bool
}

// New makes a machine for p with its parameters, solver state and constants set from m and
// s (either may be nil: a program that is filled by hand).
func New(p *ir.Program, m *model.Model, s *model.Solver) *Machine {
	h := &Machine{P: p, f32: p.Dtype == ir.Float32}
	for _, b := range p.Slots {
		h.Slots = append(h.Slots, make([]float64, b/4+1))
	}
	for i, b := range p.Buffers {
		switch b.Kind {
		case ir.Const:
			copy(h.Buf(i), b.Value)
		case ir.Param:
			if m != nil {
				copy(h.Buf(i), ToF64(m.Params[b.Index].T))
			}
		case ir.Step:
			if s != nil {
				h.Buf(i)[0] = float64(s.Steps)
			}
		case ir.Accum:
			h.Buf(i)[0] = 0
		}
	}
	if s != nil {
		for _, st := range p.State {
			if t, ok := s.State[st.Key]; ok {
				copy(h.Buf(st.Buffer), ToF64(t))
			}
		}
	}
	return h
}

// Buf is the contents of buffer id.
func (h *Machine) Buf(id int) []float64 {
	return h.Slots[h.P.Buffers[id].Slot][:h.P.Buffers[id].Elems]
}

// ToF64 copies a float32 or float64 tensor's data into float64s.
func ToF64(t *tensor.Dense) []float64 {
	switch d := t.Data().(type) {
	case []float64:
		return append([]float64(nil), d...)
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out
	}
	panic(fmt.Sprintf("ref: tensor data of type %T", t.Data()))
}

func (h *Machine) round(x float64) float64 {
	if h.f32 {
		return float64(float32(x))
	}
	return x
}

// Step feeds x and y and runs the program.
func (h *Machine) Step(x, y *tensor.Dense) error {
	copy(h.Buf(h.P.X), ToF64(x))
	copy(h.Buf(h.P.Y), ToF64(y))
	return h.Run()
}

// SetDataset and SetOrder do what a trainer's SetDataset and SetOrder do for a program made
// by WithDataset; StepNext is then Run: the launches alone, no inputs.
func (h *Machine) SetDataset(x, y []float32) {
	for i, v := range x {
		h.Buf(h.P.Data.Examples)[i] = float64(v)
	}
	for i, v := range y {
		h.Buf(h.P.Data.Targets)[i] = float64(v)
	}
}

// SetOrder sets the pass's order and rewinds the cursor.
func (h *Machine) SetOrder(order []int64) {
	for i, k := range order {
		h.Buf(h.P.Data.Order)[i] = float64(k)
	}
	h.Buf(h.P.Data.Cursor)[0] = 0
}

// Run executes the program's launches in order.
func (h *Machine) Run() error {
	for _, l := range h.P.Launches {
		if err := h.Exec(l); err != nil {
			return fmt.Errorf("%s: %w", l, err)
		}
	}
	return nil
}

// Exec runs one launch.
func (h *Machine) Exec(l ir.Launch) error {
	a := make([][]float64, len(l.Args))
	for i, id := range l.Args {
		a[i] = h.Buf(id)
	}
	if int(l.Op) >= len(ops) || ops[l.Op] == nil {
		return fmt.Errorf("op %s not in the reference interpreter", l.Op)
	}
	return ops[l.Op](h, l, a)
}

// ops holds the meaning of each op: a function over the launch and its buffers' contents.
var ops = [...]func(h *Machine, l ir.Launch, a [][]float64) error{
	ir.Binary:           binary,
	ir.Unary:            unary,
	ir.Gather4:          gather4,
	ir.Gemm:             gemm,
	ir.GemmSplit:        gemmSplit,
	ir.GemmBias:         gemmBias,
	ir.ReduceSum:        reduceSum,
	ir.SoftmaxXent:      softmaxXent,
	ir.Softmax:          softmax,
	ir.SoftmaxBack:      softmaxBack,
	ir.Im2col:           im2col,
	ir.Col2im:           im2col,
	ir.MaxPool:          maxPool,
	ir.MaxPoolBack:      maxPool,
	ir.StepInc:          stepInc,
	ir.GatherRows:       gatherRows,
	ir.CursorAdd:        cursorAdd,
	ir.SGD:              sgd,
	ir.Momentum:         momentum,
	ir.Adam:             adam,
	ir.Conv:             conv,
	ir.ConvData:         conv,
	ir.ConvFilter:       conv,
	ir.ConvReLU:         convReLU,
	ir.MaxPoolBackMask:  maxPoolBackMask,
	ir.ConvReLUPool:     convReLUPool,
	ir.PoolRouteBack:    poolRouteBack,
	ir.ConvReLUPoolBack: convReLUPoolBack,
}

// BinaryFunc and UnaryFunc are the elementwise operators by code, in float64.
func BinaryFunc(op ir.BinaryOp, x, y float64) (float64, bool) {
	switch op {
	case ir.Add:
		return x + y, true
	case ir.Sub:
		return x - y, true
	case ir.Mul:
		return x * y, true
	case ir.Div:
		return x / y, true
	case ir.Pow:
		return math.Pow(x, y), true
	case ir.Lt:
		return b2f(x < y), true
	case ir.Gt:
		return b2f(x > y), true
	case ir.Le:
		return b2f(x <= y), true
	case ir.Ge:
		return b2f(x >= y), true
	case ir.Eq:
		return b2f(x == y), true
	case ir.Ne:
		return b2f(x != y), true
	}
	return 0, false
}

// UnaryFunc is the elementwise function of a unary code, in float64.
func UnaryFunc(op ir.UnaryOp, x float64) (float64, bool) {
	switch op {
	case ir.Abs:
		return math.Abs(x), true
	case ir.Sign:
		return b2f(x > 0) - b2f(x < 0), true
	case ir.Ceil:
		return math.Ceil(x), true
	case ir.Floor:
		return math.Floor(x), true
	case ir.Sin:
		return math.Sin(x), true
	case ir.Cos:
		return math.Cos(x), true
	case ir.Exp:
		return math.Exp(x), true
	case ir.Ln:
		return math.Log(x), true
	case ir.Log2:
		return math.Log2(x), true
	case ir.Neg:
		return -x, true
	case ir.Square:
		return x * x, true
	case ir.Sqrt:
		return math.Sqrt(x), true
	case ir.Inv:
		return 1 / x, true
	case ir.InvSqrt:
		return 1 / math.Sqrt(x), true
	case ir.Cube:
		return x * x * x, true
	case ir.Tanh:
		return math.Tanh(x), true
	case ir.Sigmoid:
		return 1 / (1 + math.Exp(-x)), true
	case ir.Log1p:
		return math.Log1p(x), true
	case ir.Expm1:
		return math.Expm1(x), true
	case ir.Softplus:
		return math.Log1p(math.Exp(x)), true
	}
	return 0, false
}

func binary(h *Machine, l ir.Launch, a [][]float64) error {
	ip := l.Ints
	n, sa, sb, op := int(ip[0]), int(ip[1]), int(ip[2]), ir.BinaryOp(ip[3])
	in0, in1 := append([]float64(nil), a[0]...), append([]float64(nil), a[1]...)
	for i := 0; i < n; i++ {
		r, ok := BinaryFunc(op, in0[i*sa], in1[i*sb])
		if !ok {
			return fmt.Errorf("binary op %d", op)
		}
		a[2][i] = h.round(r)
	}
	return nil
}

func unary(h *Machine, l ir.Launch, a [][]float64) error {
	n, op := int(l.Ints[0]), ir.UnaryOp(l.Ints[1])
	for i := 0; i < n; i++ {
		r, ok := UnaryFunc(op, a[0][i])
		if !ok {
			return fmt.Errorf("unary op %d not in the reference interpreter", op)
		}
		a[1][i] = h.round(r)
	}
	return nil
}

func gather4(h *Machine, l ir.Launch, a [][]float64) error {
	ip := l.Ints
	n := int(ip[0])
	d := ip[1:5]
	s := ip[5:9]
	for i := 0; i < n; i++ {
		r := int64(i)
		i3 := r % d[3]
		r /= d[3]
		i2 := r % d[2]
		r /= d[2]
		i1 := r % d[1]
		i0 := r / d[1]
		a[1][i] = a[0][i0*s[0]+i1*s[1]+i2*s[2]+i3*s[3]]
	}
	return nil
}

func gemm(h *Machine, l ir.Launch, a [][]float64) error {
	ip := l.Ints
	m, n, k := int(ip[0]), int(ip[1]), int(ip[2])
	h.gemm(a[0], a[1], a[2], m, n, k, ip[3] == 1, ip[4] == 1, 0, k, nil)
	return nil
}

func gemmSplit(h *Machine, l ir.Launch, a [][]float64) error {
	ip := l.Ints
	m, n, k, kc := int(ip[0]), int(ip[1]), int(ip[2]), int(ip[5])
	for z := 0; z*kc < k; z++ {
		h.gemm(a[0], a[1], a[2][z*m*n:], m, n, k, ip[3] == 1, ip[4] == 1, z*kc, min(k, (z+1)*kc), nil)
	}
	return nil
}

// gemmBias is the product with the bias row added before the one rounding.
func gemmBias(h *Machine, l ir.Launch, a [][]float64) error {
	ip := l.Ints
	m, n, k := int(ip[0]), int(ip[1]), int(ip[2])
	h.gemm(a[0], a[1], a[3], m, n, k, ip[3] == 1, ip[4] == 1, 0, k, a[2])
	return nil
}

func reduceSum(h *Machine, l ir.Launch, a [][]float64) error {
	outer, length, inner := int(l.Ints[0]), int(l.Ints[1]), int(l.Ints[2])
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			var acc float64
			for k := 0; k < length; k++ {
				acc += a[0][(o*length+k)*inner+i]
			}
			a[1][o*inner+i] = h.round(acc)
		}
	}
	return nil
}

func softmaxXent(h *Machine, l ir.Launch, a [][]float64) error {
	rows, cols, c := int(l.Ints[0]), int(l.Ints[1]), l.Reals[0]
	for r := 0; r < rows; r++ {
		x, y, dx := a[0][r*cols:(r+1)*cols], a[1][r*cols:(r+1)*cols], a[3][r*cols:(r+1)*cols]
		mx := x[0]
		for _, v := range x {
			mx = math.Max(mx, v)
		}
		var sum, ysum, acc float64
		for _, v := range x {
			sum += math.Exp(v - mx)
		}
		ls := math.Log(sum)
		for j, v := range x {
			ysum += y[j]
			acc += y[j] * (v - mx - ls)
		}
		for j, v := range x {
			dx[j] = h.round(c * (y[j] - math.Exp(v-mx)/sum*ysum))
		}
		a[2][r] = h.round(c * acc)
	}
	return nil
}

func softmax(h *Machine, l ir.Launch, a [][]float64) error {
	rows, cols, isLog := int(l.Ints[0]), int(l.Ints[1]), l.Ints[2] == 1
	for r := 0; r < rows; r++ {
		x, y := a[0][r*cols:(r+1)*cols], a[1][r*cols:(r+1)*cols]
		mx := x[0]
		for _, v := range x {
			mx = math.Max(mx, v)
		}
		var sum float64
		for _, v := range x {
			sum += math.Exp(v - mx)
		}
		for j, v := range x {
			if isLog {
				y[j] = h.round(v - mx - math.Log(sum))
			} else {
				y[j] = h.round(math.Exp(v-mx) / sum)
			}
		}
	}
	return nil
}

func softmaxBack(h *Machine, l ir.Launch, a [][]float64) error {
	rows, cols, isLog := int(l.Ints[0]), int(l.Ints[1]), l.Ints[2] == 1
	for r := 0; r < rows; r++ {
		y, g, dx := a[0][r*cols:(r+1)*cols], a[1][r*cols:(r+1)*cols], a[2][r*cols:(r+1)*cols]
		var sum float64
		for j := range g {
			if isLog {
				sum += g[j]
			} else {
				sum += y[j] * g[j]
			}
		}
		for j := range g {
			if isLog {
				dx[j] = h.round(g[j] - math.Exp(y[j])*sum)
			} else {
				dx[j] = h.round((g[j] - sum) * y[j])
			}
		}
	}
	return nil
}

// im2col is Im2col and, summing back where Im2col takes, Col2im.
func im2col(h *Machine, l ir.Launch, a [][]float64) error {
	ip := l.Ints
	B, C, H, W := int(ip[0]), int(ip[1]), int(ip[2]), int(ip[3])
	kh, kw, ph, pw, sh, sw, dh, dw, OH, OW := int(ip[4]), int(ip[5]), int(ip[6]), int(ip[7]), int(ip[8]), int(ip[9]), int(ip[10]), int(ip[11]), int(ip[12]), int(ip[13])
	back := l.Op == ir.Col2im
	if back {
		for i := range a[1] {
			a[1][i] = 0
		}
	}
	ci := 0
	for b := 0; b < B; b++ {
		for oh := 0; oh < OH; oh++ {
			for ow := 0; ow < OW; ow++ {
				for c := 0; c < C; c++ {
					for r := 0; r < kh; r++ {
						for q := 0; q < kw; q++ {
							ih, iw := oh*sh-ph+r*dh, ow*sw-pw+q*dw
							inside := ih >= 0 && ih < H && iw >= 0 && iw < W
							ii := ((b*C+c)*H+ih)*W + iw
							if !back {
								a[1][ci] = 0
								if inside {
									a[1][ci] = a[0][ii]
								}
							} else if inside {
								a[1][ii] += a[0][ci]
							}
							ci++
						}
					}
				}
			}
		}
	}
	if back {
		for i := range a[1] {
			a[1][i] = h.round(a[1][i])
		}
	}
	return nil
}

// maxPool is MaxPool and its gradient MaxPoolBack.
func maxPool(h *Machine, l ir.Launch, a [][]float64) error {
	ip := l.Ints
	B, C, H, W := int(ip[0]), int(ip[1]), int(ip[2]), int(ip[3])
	kh, kw, ph, pw, sh, sw, OH, OW := int(ip[4]), int(ip[5]), int(ip[6]), int(ip[7]), int(ip[8]), int(ip[9]), int(ip[10]), int(ip[11])
	back := l.Op == ir.MaxPoolBack
	out := a[len(a)-1]
	if back {
		for i := range out {
			out[i] = 0
		}
	}
	for bc := 0; bc < B*C; bc++ {
		for oh := 0; oh < OH; oh++ {
			for ow := 0; ow < OW; ow++ {
				h0, w0 := oh*sh-ph, ow*sw-pw
				h1, w1 := min(h0+kh, H), min(w0+kw, W)
				h0, w0 = max(h0, 0), max(w0, 0)
				best, arg := -math.MaxFloat64, -1
				for r := h0; r < h1; r++ {
					for q := w0; q < w1; q++ {
						if v := a[0][bc*H*W+r*W+q]; v > best {
							best, arg = v, bc*H*W+r*W+q
						}
					}
				}
				o := bc*OH*OW + oh*OW + ow
				if !back {
					out[o] = best
				} else if arg >= 0 {
					out[arg] = h.round(out[arg] + a[1][o])
				}
			}
		}
	}
	return nil
}

func stepInc(h *Machine, l ir.Launch, a [][]float64) error {
	a[0][0]++
	return nil
}

func gatherRows(h *Machine, l ir.Launch, a [][]float64) error {
	rows, cols := int(l.Ints[0]), int(l.Ints[1])
	src, order, cursor, dst := a[0], a[1], int(a[2][0]), a[3]
	if cursor < 0 || cursor+rows > len(order) {
		return fmt.Errorf("cursor %d: rows [%d, %d) outside the order of %d", cursor, cursor, cursor+rows, len(order))
	}
	for r := 0; r < rows; r++ {
		k := int(order[cursor+r])
		if k < 0 || (k+1)*cols > len(src) {
			return fmt.Errorf("order[%d] = %d: outside the %d rows", cursor+r, k, len(src)/cols)
		}
		copy(dst[r*cols:(r+1)*cols], src[k*cols:(k+1)*cols])
	}
	return nil
}

func cursorAdd(h *Machine, l ir.Launch, a [][]float64) error {
	a[0][0] += float64(l.Ints[0])
	return nil
}

func sgd(h *Machine, l ir.Launch, a [][]float64) error {
	lr := l.Reals[0]
	for i := range a[0] {
		a[0][i] = h.round(a[0][i] - h.round(lr*a[1][i]))
	}
	return nil
}

func momentum(h *Machine, l ir.Launch, a [][]float64) error {
	lr, mu := l.Reals[0], l.Reals[1]
	for i := range a[0] {
		a[2][i] = h.round(mu*a[2][i] + a[1][i])
		a[0][i] = h.round(a[0][i] - lr*a[2][i])
	}
	return nil
}

func adam(h *Machine, l ir.Launch, a [][]float64) error {
	lr, b1, b2, eps := l.Reals[0], l.Reals[1], l.Reals[2], l.Reals[3]
	t := a[4][0]
	c1, c2 := h.round(1-math.Pow(b1, t)), h.round(1-math.Pow(b2, t))
	for i := range a[0] {
		g := a[1][i]
		a[2][i] = h.round(b1*a[2][i] + (1-b1)*g)
		a[3][i] = h.round(b2*a[3][i] + (1-b2)*g*g)
		a[0][i] = h.round(a[0][i] - lr*(a[2][i]/c1)/(math.Sqrt(a[3][i]/c2)+eps))
	}
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// gemm sets c [m,n] to op(a)·op(b) summed over k in [k0, k1), plus bias[col] when bias is
// not nil: the products' arithmetic, in float64, rounded once.
func (h *Machine) gemm(a, b, c []float64, m, n, k int, ta, tb bool, k0, k1 int, bias []float64) {
	for r := 0; r < m; r++ {
		for col := 0; col < n; col++ {
			var acc float64
			for q := k0; q < k1; q++ {
				av, bv := a[r*k+q], b[q*n+col]
				if ta {
					av = a[q*m+r]
				}
				if tb {
					bv = b[col*k+q]
				}
				acc += av * bv
			}
			if bias != nil {
				acc += bias[col]
			}
			c[r*n+col] = h.round(acc)
		}
	}
}

// conv is Conv, ConvData and ConvFilter: each visits every (image, output channel, output
// position, input channel, tap) once, in that order, and does its multiply-add.
func conv(h *Machine, l ir.Launch, a [][]float64) error {
	ip := l.Ints
	if len(ip) != 15 {
		return fmt.Errorf("%s wants 15 integers, has %d", l.Op, len(ip))
	}
	B, C, H, W := int(ip[0]), int(ip[1]), int(ip[2]), int(ip[3])
	kh, kw, ph, pw, sh, sw, dh, dw, OH, OW := int(ip[4]), int(ip[5]), int(ip[6]), int(ip[7]), int(ip[8]), int(ip[9]), int(ip[10]), int(ip[11]), int(ip[12]), int(ip[13])
	Cout := int(ip[14])
	K := C * kh * kw
	out := a[len(a)-1]
	switch l.Op {
	case ir.Conv:
		img, w, bias := a[0], a[1], a[2]
		for b := 0; b < B; b++ {
			for o := 0; o < Cout; o++ {
				for y := 0; y < OH; y++ {
					for x := 0; x < OW; x++ {
						s := bias[o]
						for c := 0; c < C; c++ {
							for r := 0; r < kh; r++ {
								for q := 0; q < kw; q++ {
									ih, iw := y*sh-ph+r*dh, x*sw-pw+q*dw
									if ih >= 0 && ih < H && iw >= 0 && iw < W {
										s += w[o*K+(c*kh+r)*kw+q] * img[((b*C+c)*H+ih)*W+iw]
									}
								}
							}
						}
						out[((b*Cout+o)*OH+y)*OW+x] = h.round(s)
					}
				}
			}
		}
		return nil
	}
	dout := a[0]
	acc := make([]float64, len(out))
	for b := 0; b < B; b++ {
		for o := 0; o < Cout; o++ {
			for y := 0; y < OH; y++ {
				for x := 0; x < OW; x++ {
					g := dout[((b*Cout+o)*OH+y)*OW+x]
					for c := 0; c < C; c++ {
						for r := 0; r < kh; r++ {
							for q := 0; q < kw; q++ {
								ih, iw := y*sh-ph+r*dh, x*sw-pw+q*dw
								if ih < 0 || ih >= H || iw < 0 || iw >= W {
									continue
								}
								wi, ii := o*K+(c*kh+r)*kw+q, ((b*C+c)*H+ih)*W+iw
								if l.Op == ir.ConvData {
									acc[ii] += g * a[1][wi]
								} else {
									acc[wi] += g * a[1][ii]
								}
							}
						}
					}
				}
			}
		}
	}
	for i, v := range acc {
		out[i] = h.round(v)
	}
	return nil
}

// convReLU is Conv, then mask = (pre ≥ 0) and out = pre ⊙ mask, as the two Binary launches
// it replaces compute them.
func convReLU(h *Machine, l ir.Launch, a [][]float64) error {
	pre := make([]float64, len(a[4]))
	if err := conv(h, ir.Launch{Op: ir.Conv, Ints: l.Ints}, [][]float64{a[0], a[1], a[2], pre}); err != nil {
		return err
	}
	for i, v := range pre {
		a[3][i] = b2f(v >= 0)
		a[4][i] = h.round(v * a[3][i])
	}
	return nil
}

// maxPoolBackMask is MaxPoolBack, then the product with the mask.
func maxPoolBackMask(h *Machine, l ir.Launch, a [][]float64) error {
	dx := make([]float64, len(a[3]))
	if err := maxPool(h, ir.Launch{Op: ir.MaxPoolBack, Ints: l.Ints}, [][]float64{a[0], a[1], dx}); err != nil {
		return err
	}
	for i, v := range dx {
		a[3][i] = h.round(a[2][i] * v)
	}
	return nil
}

// convReLUPool is ConvReLU, then MaxPool of the activation with each window's route.
func convReLUPool(h *Machine, l ir.Launch, a [][]float64) error {
	if len(l.Ints) != 27 {
		return fmt.Errorf("%s wants 27 integers, has %d", l.Op, len(l.Ints))
	}
	ci, pi := l.Ints[:15], l.Ints[15:]
	n := ci[0] * ci[14] * ci[12] * ci[13]
	mask, act := make([]float64, n), make([]float64, n)
	if err := convReLU(h, ir.Launch{Op: ir.ConvReLU, Ints: ci}, [][]float64{a[0], a[1], a[2], mask, act}); err != nil {
		return err
	}
	if err := maxPool(h, ir.Launch{Op: ir.MaxPool, Ints: pi}, [][]float64{act, a[4]}); err != nil {
		return err
	}
	B, C, H, W := int(pi[0]), int(pi[1]), int(pi[2]), int(pi[3])
	kh, kw, ph, pw, sh, sw, OH, OW := int(pi[4]), int(pi[5]), int(pi[6]), int(pi[7]), int(pi[8]), int(pi[9]), int(pi[10]), int(pi[11])
	for bc := 0; bc < B*C; bc++ {
		for oh := 0; oh < OH; oh++ {
			for ow := 0; ow < OW; ow++ {
				best, place, at := -math.MaxFloat64, -1, -1
				for r := 0; r < kh; r++ {
					for q := 0; q < kw; q++ {
						ih, iw := oh*sh-ph+r, ow*sw-pw+q
						if ih < 0 || ih >= H || iw < 0 || iw >= W {
							continue
						}
						if v := act[(bc*H+ih)*W+iw]; v > best {
							best, place, at = v, r*kw+q, (bc*H+ih)*W+iw
						}
					}
				}
				if place >= 0 && mask[at] == 0 {
					place += kh * kw
				}
				a[3][(bc*OH+oh)*OW+ow] = float64(place)
			}
		}
	}
	return nil
}

// poolRouteBack sends each pooled gradient to its window's routed place, times the mask.
func poolRouteBack(h *Machine, l ir.Launch, a [][]float64) error {
	pi := l.Ints
	B, C, H, W := int(pi[0]), int(pi[1]), int(pi[2]), int(pi[3])
	kh, kw, ph, pw, sh, sw, OH, OW := int(pi[4]), int(pi[5]), int(pi[6]), int(pi[7]), int(pi[8]), int(pi[9]), int(pi[10]), int(pi[11])
	dx := a[2]
	for i := range dx {
		dx[i] = 0
	}
	for bc := 0; bc < B*C; bc++ {
		for oh := 0; oh < OH; oh++ {
			for ow := 0; ow < OW; ow++ {
				o := (bc*OH+oh)*OW + ow
				place := int(a[0][o])
				if place < 0 {
					continue
				}
				m := 1.0
				if place >= kh*kw {
					place, m = place-kh*kw, 0
				}
				ih, iw := oh*sh-ph+place/kw, ow*sw-pw+place%kw
				if ih < 0 || ih >= H || iw < 0 || iw >= W {
					continue // a place outside the image routes nothing
				}
				at := (bc*H+ih)*W + iw
				dx[at] = h.round(dx[at] + m*a[1][o])
			}
		}
	}
	return nil
}

// convReLUPoolBack is PoolRouteBack, then ConvFilter, the bias gradient and (with seven
// Args) ConvData of its result.
func convReLUPoolBack(h *Machine, l ir.Launch, a [][]float64) error {
	if len(l.Ints) != 27 || len(a) < 6 {
		return fmt.Errorf("%s wants 27 integers and 6 or 7 buffers", l.Op)
	}
	ci, pi := l.Ints[:15], l.Ints[15:]
	B, Cout, OH, OW := int(ci[0]), int(ci[14]), int(ci[12]), int(ci[13])
	dpre := make([]float64, B*Cout*OH*OW)
	if err := poolRouteBack(h, ir.Launch{Op: ir.PoolRouteBack, Ints: pi}, [][]float64{a[0], a[1], dpre}); err != nil {
		return err
	}
	if err := conv(h, ir.Launch{Op: ir.ConvFilter, Ints: ci}, [][]float64{dpre, a[2], a[4]}); err != nil {
		return err
	}
	for o := 0; o < Cout; o++ {
		s := 0.0
		for b := 0; b < B; b++ {
			for _, v := range dpre[(b*Cout+o)*OH*OW:][:OH*OW] {
				s += v
			}
		}
		a[5][o] = h.round(s)
	}
	if len(a) == 7 {
		return conv(h, ir.Launch{Op: ir.ConvData, Ints: ci}, [][]float64{dpre, a[3], a[6]})
	}
	return nil
}
