package ref

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/model"
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
	ir.Binary:             binary,
	ir.Unary:              unary,
	ir.Gather4:            gather4,
	ir.Gemm:               gemm,
	ir.GemmSplit:          gemmSplit,
	ir.GemmBias:           gemmBias,
	ir.GemmBiasReLU:       gemmThen,
	ir.GemmMul:            gemmThen,
	ir.ReduceSum:          reduceSum,
	ir.SoftmaxXent:        softmaxXent,
	ir.Softmax:            softmax,
	ir.SoftmaxBack:        softmaxBack,
	ir.Im2col:             im2col,
	ir.Col2im:             im2col,
	ir.MaxPool:            maxPool,
	ir.MaxPoolBack:        maxPool,
	ir.StepInc:            stepInc,
	ir.GatherRows:         gatherRows,
	ir.CursorAdd:          cursorAdd,
	ir.SGD:                sgd,
	ir.Momentum:           momentum,
	ir.Adam:               adam,
	ir.Conv:               conv,
	ir.ConvData:           conv,
	ir.ConvFilter:         conv,
	ir.ConvReLU:           convReLU,
	ir.MaxPoolBackMask:    maxPoolBackMask,
	ir.ConvReLUPool:       convReLUPool,
	ir.PoolRouteBack:      poolRouteBack,
	ir.ConvReLUPoolBack:   convReLUPoolBack,
	ir.Dropout:            dropout,
	ir.BatchNormStats:     batchNormStats,
	ir.BatchNorm:          batchNorm,
	ir.BatchNormBackScale: batchNormBackScale,
	ir.BatchNormBackData:  batchNormBackData,
	ir.Augment:            augment,
	ir.ConvFilterSplit:    convFilterSplit,
	ir.RouteFilter:        routeFilter,
	ir.RouteData:          routeData,
	ir.FilterSum:          filterSum,
}

func binary(h *Machine, l ir.Launch, a [][]float64) error {
	p, err := l.BinaryParams()
	if err != nil {
		return err
	}
	f, ok := p.Op.Func()
	if !ok {
		return fmt.Errorf("binary op %d", p.Op)
	}
	in0, in1 := append([]float64(nil), a[0]...), append([]float64(nil), a[1]...)
	for i := 0; i < p.N; i++ {
		a[2][i] = h.round(f(in0[i*p.SA], in1[i*p.SB]))
	}
	return nil
}

func unary(h *Machine, l ir.Launch, a [][]float64) error {
	p, err := l.UnaryParams()
	if err != nil {
		return err
	}
	f, ok := p.F.Func()
	if !ok {
		return fmt.Errorf("unary op %d not in the reference interpreter", p.F)
	}
	for i := 0; i < p.N; i++ {
		a[1][i] = h.round(f(a[0][i]))
	}
	return nil
}

func gather4(h *Machine, l ir.Launch, a [][]float64) error {
	p, err := l.Gather4Params()
	if err != nil {
		return err
	}
	d, s := p.Dims, p.Strides
	for i := 0; i < p.N; i++ {
		r := i
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
	p, err := l.GemmParams()
	if err != nil {
		return err
	}
	h.gemm(a[0], a[1], a[2], p, 0, p.K, nil)
	return nil
}

func gemmSplit(h *Machine, l ir.Launch, a [][]float64) error {
	p, err := l.GemmSplitParams()
	if err != nil {
		return err
	}
	m, n, k, kc := p.M, p.N, p.K, p.KC
	for z := 0; z*kc < k; z++ {
		h.gemm(a[0], a[1], a[2][z*m*n:], p.GemmParams, z*kc, min(k, (z+1)*kc), nil)
	}
	return nil
}

// gemmBias is the product with the bias row added before the one rounding.
func gemmBias(h *Machine, l ir.Launch, a [][]float64) error {
	p, err := l.GemmParams()
	if err != nil {
		return err
	}
	h.gemm(a[0], a[1], a[3], p, 0, p.K, a[2])
	return nil
}

// gemmThen is a product rounded, then an elementwise step on it: GemmBiasReLU (the product
// with bias a[2] is pre; mask a[3] = (pre ≥ 0), out a[4] = pre ⊙ mask) or GemmMul (out a[3]
// = product ⊙ a[2]).
func gemmThen(h *Machine, l ir.Launch, a [][]float64) error {
	p, err := l.GemmParams()
	if err != nil {
		return err
	}
	out := a[len(a)-1]
	prod := make([]float64, len(out))
	if l.Op == ir.GemmMul {
		h.gemm(a[0], a[1], prod, p, 0, p.K, nil)
		for i, v := range prod {
			out[i] = h.round(v * a[2][i])
		}
		return nil
	}
	h.gemm(a[0], a[1], prod, p, 0, p.K, a[2])
	for i, v := range prod {
		a[3][i] = b2f(v >= 0)
		out[i] = h.round(v * a[3][i])
	}
	return nil
}

func reduceSum(h *Machine, l ir.Launch, a [][]float64) error {
	p, err := l.ReduceSumParams()
	if err != nil {
		return err
	}
	outer, length, inner := p.Outer, p.Length, p.Inner
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
	p, err := l.SoftmaxXentParams()
	if err != nil {
		return err
	}
	rows, cols, c := p.Rows, p.Cols, l.Reals[0]
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
	p, err := l.SoftmaxParams()
	if err != nil {
		return err
	}
	rows, cols, isLog := p.Rows, p.Cols, p.Log
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
	p, err := l.SoftmaxParams()
	if err != nil {
		return err
	}
	rows, cols, isLog := p.Rows, p.Cols, p.Log
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
	g, err := l.ConvGeom()
	if err != nil {
		return err
	}
	B, C, H, W := g.B, g.C, g.H, g.W
	kh, kw, ph, pw, sh, sw, dh, dw, OH, OW := g.KH, g.KW, g.PadH, g.PadW, g.StrideH, g.StrideW, g.DilH, g.DilW, g.OH, g.OW
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
	g, err := l.PoolGeom()
	if err != nil {
		return err
	}
	h.maxPool(g, l.Op == ir.MaxPoolBack, a)
	return nil
}

// maxPool is MaxPool of a[0] into a[1], or with back MaxPoolBack of a[0] and a[1] into a[2].
func (h *Machine) maxPool(g ir.PoolGeom, back bool, a [][]float64) {
	B, C, H, W := g.B, g.C, g.H, g.W
	kh, kw, ph, pw, sh, sw, OH, OW := g.KH, g.KW, g.PadH, g.PadW, g.StrideH, g.StrideW, g.OH, g.OW
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
}

// dropout keeps x[i]·scale where the Philox word of element i is at least the threshold.
func dropout(h *Machine, l ir.Launch, a [][]float64) error {
	p, err := l.DropoutParams()
	if err != nil {
		return err
	}
	if len(l.Reals) != 1 {
		return fmt.Errorf("dropout wants 1 real (the scale), has %d", len(l.Reals))
	}
	scale := h.round(l.Reals[0])
	words := make([]uint32, (p.N+3)/4*4)
	ir.DropoutWords(words, p.Seed, p.Layer, int64(a[1][0]))
	for i := 0; i < p.N; i++ {
		y := 0.0
		if words[i] >= p.Threshold {
			y = h.round(a[0][i] * scale)
		}
		a[2][i] = y
	}
	return nil
}

// augment samples each example's image where its transform (ir.AugmentParams.Transform)
// sends each output pixel, moved on by its elastic displacement (elasticAt) if any,
// bilinearly between the four pixels around the place, a pixel outside the image counting 0.
func augment(h *Machine, l ir.Launch, a [][]float64) error {
	p, err := l.AugmentParams()
	if err != nil {
		return err
	}
	step, size := int64(a[1][0]), p.C*p.H*p.W
	pixel := func(img []float64, x, y float64) float64 {
		if x < 0 || y < 0 || x >= float64(p.W) || y >= float64(p.H) {
			return 0
		}
		return img[int(y)*p.W+int(x)]
	}
	g := p.ElasticWeights()
	for b := 0; b < p.Batch; b++ {
		t := p.Transform(step, b)
		for c := 0; c < p.C; c++ {
			img := a[0][b*size+c*p.H*p.W : b*size+(c+1)*p.H*p.W]
			for y := 0; y < p.H; y++ {
				for x := 0; x < p.W; x++ {
					sx, sy := t.Source(x, y)
					if p.Elastic() {
						dx, dy := elasticAt(p, &g, step, b, x, y)
						sx, sy = sx+dx, sy+dy
					}
					x0, y0 := math.Floor(sx), math.Floor(sy)
					fx, fy := sx-x0, sy-y0
					// Each product converted on its own: no fused multiply-add (arm64).
					top := float64((1-fx)*pixel(img, x0, y0)) + float64(fx*pixel(img, x0+1, y0))
					bottom := float64((1-fx)*pixel(img, x0, y0+1)) + float64(fx*pixel(img, x0+1, y0+1))
					a[2][b*size+c*p.H*p.W+y*p.W+x] = h.round(float64((1-fy)*top) + float64(fy*bottom))
				}
			}
		}
	}
	return nil
}

// elasticAt is the elastic displacement of output pixel (x, y) of example b at step, as its
// definition (ir/elastic.go) reads: each row of the field around the pixel smoothed along x
// in turn, then the column of those sums along y, times alpha; g is p.ElasticWeights().
func elasticAt(p ir.AugmentParams, g *[ir.MaxElasticRadius + 1]float64, step int64, b, x, y int) (dx, dy float64) {
	r := p.Radius
	for j := -r; j <= r; j++ {
		var sx, sy float64
		for i := -r; i <= r; i++ {
			ux, uy := p.ElasticPoint(step, b, x+i, y+j)
			gi := g[max(i, -i)]
			sx += float64(gi * ux)
			sy += float64(gi * uy)
		}
		gj := g[max(j, -j)]
		dx += float64(gj * sx)
		dy += float64(gj * sy)
	}
	return float64(p.Alpha * dx), float64(p.Alpha * dy)
}

func stepInc(h *Machine, l ir.Launch, a [][]float64) error {
	a[0][0]++
	return nil
}

func gatherRows(h *Machine, l ir.Launch, a [][]float64) error {
	p, err := l.GatherRowsParams()
	if err != nil {
		return err
	}
	rows, cols := p.Rows, p.Cols
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
	p, err := l.CursorAddParams()
	if err != nil {
		return err
	}
	a[0][0] += float64(p.N)
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
	lr, b1, b2, eps, wd := l.Reals[0], l.Reals[1], l.Reals[2], l.Reals[3], l.Reals[4]
	t := a[4][0]
	c1, c2 := h.round(1-math.Pow(b1, t)), h.round(1-math.Pow(b2, t))
	d := h.round(lr * wd)
	for i := range a[0] {
		if d != 0 {
			a[0][i] = h.round(a[0][i] - h.round(d*a[0][i]))
		}
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
func (h *Machine) gemm(a, b, c []float64, p ir.GemmParams, k0, k1 int, bias []float64) {
	m, n, k, ta, tb := p.M, p.N, p.K, p.TransA, p.TransB
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

// conv is Conv, ConvData and ConvFilter.
func conv(h *Machine, l ir.Launch, a [][]float64) error {
	p, err := l.ConvParams()
	if err != nil {
		return err
	}
	if l.Op == ir.Conv {
		h.conv(p, a)
	} else {
		h.convBack(p, l.Op == ir.ConvData, a)
	}
	return nil
}

// conv is Conv of img a[0] by w a[1] plus bias a[2] into a[3]: it visits every (image,
// output channel, output position, input channel, tap) once, in that order, and does its
// multiply-add.
func (h *Machine) conv(p ir.ConvParams, a [][]float64) {
	B, C, H, W, Cout := p.B, p.C, p.H, p.W, p.Cout
	kh, kw, ph, pw, sh, sw, dh, dw, OH, OW := p.KH, p.KW, p.PadH, p.PadW, p.StrideH, p.StrideW, p.DilH, p.DilW, p.OH, p.OW
	K := C * kh * kw
	img, w, bias, out := a[0], a[1], a[2], a[len(a)-1]
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
}

// convBack is ConvData (data: the image gradient from dout a[0] and w a[1]) or ConvFilter
// (the filter gradient from dout a[0] and img a[1]), into a[2], in the order of conv.
func (h *Machine) convBack(p ir.ConvParams, data bool, a [][]float64) {
	B, C, H, W, Cout := p.B, p.C, p.H, p.W, p.Cout
	kh, kw, ph, pw, sh, sw, dh, dw, OH, OW := p.KH, p.KW, p.PadH, p.PadW, p.StrideH, p.StrideW, p.DilH, p.DilW, p.OH, p.OW
	K := C * kh * kw
	dout, out := a[0], a[len(a)-1]
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
								if data {
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
}

// convFilterSplit is ConvFilter of each part's images into its own partial gradient.
func convFilterSplit(h *Machine, l ir.Launch, a [][]float64) error {
	p, err := l.ConvSplitParams()
	if err != nil {
		return err
	}
	filt := p.Conv.Cout * p.Conv.C * p.Conv.KH * p.Conv.KW
	h.filterParts(p.Conv, p.Images, a[0], a[1], func(z int) []float64 { return a[2][z*filt : (z+1)*filt] }, nil)
	return nil
}

// filterParts is ConvFilter of each part of images images of the convolution c, from dout and
// img into dw(z), then done(z, b0, b1) (when not nil) for the part's images [b0, b1).
func (h *Machine) filterParts(c ir.ConvParams, images int, dout, img []float64, dw func(z int) []float64, done func(z, b0, b1 int)) {
	in, out := c.C*c.H*c.W, c.Cout*c.OH*c.OW
	for z := 0; z*images < c.B; z++ {
		b0, b1 := z*images, min(c.B, (z+1)*images)
		q := c
		q.B = b1 - b0
		h.convBack(q, false, [][]float64{dout[b0*out : b1*out], img[b0*in : b1*in], dw(z)})
		if done != nil {
			done(z, b0, b1)
		}
	}
}

// routeFilter is the filter and bias gradients of each part's images through the route: the
// routed gradient, then ConvFilter into the part's first K columns and the sum of the
// part's routed gradient, in the order of its values, into the last.
func routeFilter(h *Machine, l ir.Launch, a [][]float64) error {
	p, err := l.RouteFilterParams()
	if err != nil {
		return err
	}
	c := p.Conv
	K := c.C * c.KH * c.KW
	dpre := make([]float64, c.B*c.Cout*c.OH*c.OW)
	h.poolRouteBack(p.Pool, [][]float64{a[0], a[1], dpre})
	filt := make([]float64, c.Cout*K)
	h.filterParts(c, p.Images, dpre, a[2], func(int) []float64 { return filt }, func(z, b0, b1 int) {
		P := a[3][z*c.Cout*(K+1):]
		for o := 0; o < c.Cout; o++ {
			copy(P[o*(K+1):o*(K+1)+K], filt[o*K:(o+1)*K])
			s := 0.0
			for b := b0; b < b1; b++ {
				for _, v := range dpre[(b*c.Cout+o)*c.OH*c.OW:][:c.OH*c.OW] {
					s += v
				}
			}
			P[o*(K+1)+K] = h.round(s)
		}
	})
	return nil
}

// routeData is ConvData of the routed gradient.
func routeData(h *Machine, l ir.Launch, a [][]float64) error {
	p, err := l.ConvPoolParams()
	if err != nil {
		return err
	}
	c := p.Conv
	dpre := make([]float64, c.B*c.Cout*c.OH*c.OW)
	h.poolRouteBack(p.Pool, [][]float64{a[0], a[1], dpre})
	h.convBack(c, true, [][]float64{dpre, a[2], a[3]})
	return nil
}

// filterSum adds a RouteFilter's parts, in order, into the filter and bias gradients.
func filterSum(h *Machine, l ir.Launch, a [][]float64) error {
	p, err := l.FilterSumParams()
	if err != nil {
		return err
	}
	n := p.Cout * (p.K + 1)
	for i := 0; i < n; i++ {
		s := 0.0
		for z := 0; z < p.Parts; z++ {
			s += a[0][z*n+i]
		}
		if o, k := i/(p.K+1), i%(p.K+1); k < p.K {
			a[1][o*p.K+k] = h.round(s)
		} else {
			a[2][o] = h.round(s)
		}
	}
	return nil
}

// convReLU is Conv, then mask = (pre ≥ 0) and out = pre ⊙ mask, as the two Binary launches
// it replaces compute them.
func convReLU(h *Machine, l ir.Launch, a [][]float64) error {
	p, err := l.ConvParams()
	if err != nil {
		return err
	}
	h.convReLU(p, a)
	return nil
}

// convReLU is ConvReLU of img a[0], w a[1] and bias a[2] into mask a[3] and out a[4].
func (h *Machine) convReLU(p ir.ConvParams, a [][]float64) {
	pre := make([]float64, len(a[4]))
	h.conv(p, [][]float64{a[0], a[1], a[2], pre})
	for i, v := range pre {
		a[3][i] = b2f(v >= 0)
		a[4][i] = h.round(v * a[3][i])
	}
}

// maxPoolBackMask is MaxPoolBack, then the product with the mask.
func maxPoolBackMask(h *Machine, l ir.Launch, a [][]float64) error {
	g, err := l.PoolGeom()
	if err != nil {
		return err
	}
	dx := make([]float64, len(a[3]))
	h.maxPool(g, true, [][]float64{a[0], a[1], dx})
	for i, v := range dx {
		a[3][i] = h.round(a[2][i] * v)
	}
	return nil
}

// convReLUPool is ConvReLU, then MaxPool of the activation with each window's route.
func convReLUPool(h *Machine, l ir.Launch, a [][]float64) error {
	p, err := l.ConvPoolParams()
	if err != nil {
		return err
	}
	c := p.Conv
	n := c.B * c.Cout * c.OH * c.OW
	mask, act := make([]float64, n), make([]float64, n)
	h.convReLU(c, [][]float64{a[0], a[1], a[2], mask, act})
	h.maxPool(p.Pool, false, [][]float64{act, a[4]})
	h.route(p.Pool, act, mask, a[3])
	return nil
}

// route sets each window's route from the activation and the mask (see ir.ConvReLUPool).
func (h *Machine) route(g ir.PoolGeom, act, mask, route []float64) {
	B, C, H, W := g.B, g.C, g.H, g.W
	kh, kw, ph, pw, sh, sw, OH, OW := g.KH, g.KW, g.PadH, g.PadW, g.StrideH, g.StrideW, g.OH, g.OW
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
				route[(bc*OH+oh)*OW+ow] = float64(place)
			}
		}
	}
}

// poolRouteBack sends each pooled gradient to its window's routed place, times the mask.
func poolRouteBack(h *Machine, l ir.Launch, a [][]float64) error {
	g, err := l.PoolGeom()
	if err != nil {
		return err
	}
	h.poolRouteBack(g, a)
	return nil
}

// poolRouteBack is PoolRouteBack of route a[0] and dpooled a[1] into dx a[2].
func (h *Machine) poolRouteBack(g ir.PoolGeom, a [][]float64) {
	B, C, H, W := g.B, g.C, g.H, g.W
	kh, kw, ph, pw, sh, sw, OH, OW := g.KH, g.KW, g.PadH, g.PadW, g.StrideH, g.StrideW, g.OH, g.OW
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
}

// convReLUPoolBack is PoolRouteBack, then ConvFilter, the bias gradient and (with seven
// Args) ConvData of its result.
func convReLUPoolBack(h *Machine, l ir.Launch, a [][]float64) error {
	p, err := l.ConvPoolParams()
	if err != nil {
		return err
	}
	if len(a) != 6 && len(a) != 7 {
		return fmt.Errorf("%s wants 6 or 7 buffers, has %d", l.Op, len(a))
	}
	c := p.Conv
	B, Cout, OH, OW := c.B, c.Cout, c.OH, c.OW
	dpre := make([]float64, B*Cout*OH*OW)
	h.poolRouteBack(p.Pool, [][]float64{a[0], a[1], dpre})
	h.convBack(c, false, [][]float64{dpre, a[2], a[4]})
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
		h.convBack(c, true, [][]float64{dpre, a[3], a[6]})
	}
	return nil
}
