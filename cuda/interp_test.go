package cuda

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"

	"graphtrain/graph"
)

// hostRun executes a Program on the host, kernel by kernel, with Go versions of the CUDA
// kernels in kernels/*.cu (same parameters, same arithmetic, float32 results rounded as the
// device rounds them). It checks the lowering and the buffer plan against the TapeMachine
// without a device: a slot reused too early shows as a wrong number.
type hostRun struct {
	p     *Program
	slots [][]float64
	f32   bool
}

func newHostRun(p *Program, m *graph.Model, s *graph.Solver) *hostRun {
	h := &hostRun{p: p, f32: p.Dtype == "float32"}
	for _, b := range p.Slots {
		h.slots = append(h.slots, make([]float64, b/4+1))
	}
	for i, b := range p.Buffers {
		switch b.Kind {
		case Const:
			copy(h.buf(i), b.Value)
		case Param:
			copy(h.buf(i), toF64(m.Params[b.Index].T))
		case Step:
			h.buf(i)[0] = float64(s.Steps)
		case Accum:
			h.buf(i)[0] = 0
		}
	}
	for _, st := range p.State {
		if t, ok := s.State[st.Key]; ok {
			copy(h.buf(st.Buffer), toF64(t))
		}
	}
	return h
}

func (h *hostRun) buf(id int) []float64 { return h.slots[h.p.Buffers[id].Slot][:h.p.Buffers[id].Elems] }

func toF64(t *tensor.Dense) []float64 {
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
	panic(fmt.Sprintf("data %T", t.Data()))
}

func (h *hostRun) round(x float64) float64 {
	if h.f32 {
		return float64(float32(x))
	}
	return x
}

func (h *hostRun) step(x, y *tensor.Dense) error {
	copy(h.buf(h.p.X), toF64(x))
	copy(h.buf(h.p.Y), toF64(y))
	return h.run()
}

// setDataset and setOrder do on the host what the trainer's SetDataset and SetOrder upload
// (a program made by WithDataset); stepNext is StepNext: the launches alone, no inputs.
func (h *hostRun) setDataset(x, y []float32) {
	for i, v := range x {
		h.buf(h.p.Data.Examples)[i] = float64(v)
	}
	for i, v := range y {
		h.buf(h.p.Data.Targets)[i] = float64(v)
	}
}

func (h *hostRun) setOrder(order []int64) {
	for i, k := range order {
		h.buf(h.p.Data.Order)[i] = float64(k)
	}
	h.buf(h.p.Data.Cursor)[0] = 0
}

func (h *hostRun) stepNext() error { return h.run() }

// run executes the program's launches in order.
func (h *hostRun) run() error {
	for _, l := range h.p.Launches {
		if err := h.exec(l); err != nil {
			return fmt.Errorf("%s: %w", l, err)
		}
	}
	return nil
}

func (h *hostRun) exec(l Launch) error {
	a := make([][]float64, len(l.Args))
	for i, id := range l.Args {
		a[i] = h.buf(id)
	}
	ip := l.Ints
	base := l.Kernel
	if n := len(base); n > 4 && (base[n-4:] == "_f32" || base[n-4:] == "_f64") {
		base = base[:n-4]
	}
	switch base {
	case "ew_binary":
		n, sa, sb, op := int(ip[0]), int(ip[1]), int(ip[2]), ip[3]
		in0, in1 := append([]float64(nil), a[0]...), append([]float64(nil), a[1]...)
		for i := 0; i < n; i++ {
			x, y := in0[i*sa], in1[i*sb]
			var r float64
			switch op {
			case 0:
				r = x + y
			case 1:
				r = x - y
			case 2:
				r = x * y
			case 3:
				r = x / y
			case 4:
				r = math.Pow(x, y)
			case 5:
				r = b2f(x < y)
			case 6:
				r = b2f(x > y)
			case 7:
				r = b2f(x <= y)
			case 8:
				r = b2f(x >= y)
			case 9:
				r = b2f(x == y)
			case 10:
				r = b2f(x != y)
			default:
				return fmt.Errorf("binary op %d", op)
			}
			a[2][i] = h.round(r)
		}
	case "ew_unary":
		n, op := int(ip[0]), ip[1]
		for i := 0; i < n; i++ {
			x := a[0][i]
			var r float64
			switch op {
			case 0:
				r = math.Abs(x)
			case 1:
				r = b2f(x > 0) - b2f(x < 0)
			case 2:
				r = math.Ceil(x)
			case 3:
				r = math.Floor(x)
			case 4:
				r = math.Sin(x)
			case 5:
				r = math.Cos(x)
			case 6:
				r = math.Exp(x)
			case 7:
				r = math.Log(x)
			case 8:
				r = math.Log2(x)
			case 9:
				r = -x
			case 10:
				r = x * x
			case 11:
				r = math.Sqrt(x)
			case 12:
				r = 1 / x
			case 13:
				r = 1 / math.Sqrt(x)
			case 14:
				r = x * x * x
			case 15:
				r = math.Tanh(x)
			case 16:
				r = 1 / (1 + math.Exp(-x))
			case 17:
				r = math.Log1p(x)
			case 18:
				r = math.Expm1(x)
			case 19:
				r = math.Log1p(math.Exp(x))
			default:
				return fmt.Errorf("unary op %d not in the host interpreter", op)
			}
			a[1][i] = h.round(r)
		}
	case "gather4":
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
	case "gemm":
		m, n, k := int(ip[0]), int(ip[1]), int(ip[2])
		h.gemm(a[0], a[1], a[2], m, n, k, ip[3] == 1, ip[4] == 1, 0, k)
	case "gemm_split":
		m, n, k, kc := int(ip[0]), int(ip[1]), int(ip[2]), int(ip[5])
		for z := 0; z*kc < k; z++ {
			h.gemm(a[0], a[1], a[2][z*m*n:], m, n, k, ip[3] == 1, ip[4] == 1, z*kc, min(k, (z+1)*kc))
		}
	case "reduce_sum":
		outer, length, inner := int(ip[0]), int(ip[1]), int(ip[2])
		for o := 0; o < outer; o++ {
			for i := 0; i < inner; i++ {
				var acc float64
				for k := 0; k < length; k++ {
					acc += a[0][(o*length+k)*inner+i]
				}
				a[1][o*inner+i] = h.round(acc)
			}
		}
	case "softmax_xent":
		rows, cols, c := int(ip[0]), int(ip[1]), l.Reals[0]
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
	case "softmax":
		rows, cols, isLog := int(ip[0]), int(ip[1]), ip[2] == 1
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
	case "softmax_back":
		rows, cols, isLog := int(ip[0]), int(ip[1]), ip[2] == 1
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
	case "im2col", "col2im":
		B, C, H, W := int(ip[0]), int(ip[1]), int(ip[2]), int(ip[3])
		kh, kw, ph, pw, sh, sw, dh, dw, OH, OW := int(ip[4]), int(ip[5]), int(ip[6]), int(ip[7]), int(ip[8]), int(ip[9]), int(ip[10]), int(ip[11]), int(ip[12]), int(ip[13])
		if base == "col2im" {
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
								if base == "im2col" {
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
		if base == "col2im" {
			for i := range a[1] {
				a[1][i] = h.round(a[1][i])
			}
		}
	case "maxpool", "maxpool_back":
		B, C, H, W := int(ip[0]), int(ip[1]), int(ip[2]), int(ip[3])
		kh, kw, ph, pw, sh, sw, OH, OW := int(ip[4]), int(ip[5]), int(ip[6]), int(ip[7]), int(ip[8]), int(ip[9]), int(ip[10]), int(ip[11])
		out := a[len(a)-1]
		if base == "maxpool_back" {
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
					if base == "maxpool" {
						out[o] = best
					} else if arg >= 0 {
						out[arg] = h.round(out[arg] + a[1][o])
					}
				}
			}
		}
	case "step_inc":
		a[0][0]++
	case "gather_rows":
		rows, cols := int(ip[0]), int(ip[1])
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
	case "cursor_add":
		a[0][0] += float64(ip[0])
	case "sgd":
		lr := l.Reals[0]
		for i := range a[0] {
			a[0][i] = h.round(a[0][i] - h.round(lr*a[1][i]))
		}
	case "momentum":
		lr, mu := l.Reals[0], l.Reals[1]
		for i := range a[0] {
			a[2][i] = h.round(mu*a[2][i] + a[1][i])
			a[0][i] = h.round(a[0][i] - lr*a[2][i])
		}
	case "adam":
		lr, b1, b2, eps := l.Reals[0], l.Reals[1], l.Reals[2], l.Reals[3]
		t := a[4][0]
		c1, c2 := h.round(1-math.Pow(b1, t)), h.round(1-math.Pow(b2, t))
		for i := range a[0] {
			g := a[1][i]
			a[2][i] = h.round(b1*a[2][i] + (1-b1)*g)
			a[3][i] = h.round(b2*a[3][i] + (1-b2)*g*g)
			a[0][i] = h.round(a[0][i] - lr*(a[2][i]/c1)/(math.Sqrt(a[3][i]/c2)+eps))
		}
	default:
		return fmt.Errorf("kernel %s not in the host interpreter", l.Kernel)
	}
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// gemm sets c [m,n] to op(a)·op(b) summed over k in [k0, k1): gemm's and gemm_split's
// arithmetic, in float64, rounded once.
func (h *hostRun) gemm(a, b, c []float64, m, n, k int, ta, tb bool, k0, k1 int) {
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
			c[r*n+col] = h.round(acc)
		}
	}
}
