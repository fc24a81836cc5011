package ir

import "math"

// Op is what a launch computes. Each constant's comment gives its buffers (Args, inputs
// first, the output last), its integer parameters (Ints: the struct of params.go that
// encodes and decodes them, then their order on the wire) and its real ones (Reals);
// package ref holds the exact arithmetic. Shapes are row-major.
type Op uint8

// The ops. Their names (String) are the names of the CUDA kernels that compute them, less
// the dtype suffix.
const (
	// Binary: c[i] = a[i·sa] op b[i·sb] for i < n. Args a, b, c; Ints BinaryParams: n, sa,
	// sb, op (a BinaryOp). A stride of 0 broadcasts a scalar.
	Binary Op = iota
	// Unary: c[i] = f(a[i]) for i < n. Args a, c; Ints UnaryParams: n, f (a UnaryOp).
	Unary
	// Gather4: out[i0,i1,i2,i3] = in[i0·s0 + i1·s1 + i2·s2 + i3·s3], out of shape
	// (d0,d1,d2,d3). Args in, out; Ints Gather4Params: n, d0..d3, s0..s3. A transpose or a
	// broadcast.
	Gather4
	// Gemm: C[m,n] = op(A)·op(B) over k. Args A, B, C; Ints GemmParams: m, n, k, transA,
	// transB (0/1). A is [m,k] ([k,m] when transposed), B is [k,n] ([n,k] when transposed).
	Gemm
	// GemmSplit: P[z] = op(A)·op(B) over k in [z·kc, (z+1)·kc), for each part z. Args A, B, P
	// [parts,m,n]; Ints GemmSplitParams: m, n, k, transA, transB, kc. A ReduceSum over z
	// follows.
	GemmSplit
	// ReduceSum: out[o,i] = Σ_k in[o,k,i] with in viewed as [outer, length, inner], summed in
	// order of k. Args in, out; Ints ReduceSumParams: outer, length, inner.
	ReduceSum
	// SoftmaxXent: softmax cross-entropy and the gradient of the logits, fused. For each row
	// r of x [rows, cols] with targets y: terms[r] = c·Σ_j y[r,j]·logsoftmax(x[r])_j and
	// dx[r,j] = c·(y[r,j] − softmax(x[r])_j·Σ_j y[r,j]). Args x, y, terms, dx; Ints
	// SoftmaxXentParams: rows, cols; Reals c.
	SoftmaxXent
	// Softmax: y = softmax(x) (or log softmax) along the last axis. Args x, y; Ints
	// SoftmaxParams: rows, cols, isLog.
	Softmax
	// SoftmaxBack: dx from y = softmax(x) (or log softmax) and g = dL/dy. Args y, g, dx; Ints
	// SoftmaxParams: rows, cols, isLog.
	SoftmaxBack
	// Im2col: columns (B, OH, OW, C·kh·kw) of an image (B, C, H, W). Args img, col; Ints
	// ConvGeom: B, C, H, W, kh, kw, padH, padW, strideH, strideW, dilH, dilW, OH, OW.
	Im2col
	// Col2im: the image (B, C, H, W) that sums columns back where Im2col took them. Args col,
	// img; Ints as Im2col (ConvGeom).
	Col2im
	// MaxPool: out (B, C, OH, OW) the maximum of each window of in (B, C, H, W). Args in, out;
	// Ints PoolGeom: B, C, H, W, kh, kw, padH, padW, strideH, strideW, OH, OW.
	MaxPool
	// MaxPoolBack: dx (B, C, H, W) gets each pooled gradient at the first maximum of its
	// window. Args in, dpooled, dx; Ints as MaxPool (PoolGeom).
	MaxPoolBack
	// StepInc: the solver's step counter (one float64) += 1. Args step; no Ints.
	StepInc
	// GatherRows: dst[r,:] = src[order[cursor+r],:] for r < rows. Args src, order, cursor, dst;
	// Ints GatherRowsParams: rows, cols. The order and the cursor are int64.
	GatherRows
	// CursorAdd: cursor += n. Args cursor; Ints CursorAddParams: n.
	CursorAdd
	// SGD: w −= lr·g. Args w, g; Ints UpdateParams: n; Reals lr.
	SGD
	// Momentum: v = μ·v + g; w −= lr·v. Args w, g, v; Ints UpdateParams: n; Reals lr, μ.
	Momentum
	// Adam: m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; w −= lr·(m/(1−β1^t))/(√(v/(1−β2^t)) + ε)
	// with t the step counter, after w −= round(lr·λ)·w when λ > 0 (AdamW's decoupled weight
	// decay, the product rounded). Args w, g, m, v, step; Ints UpdateParams: n; Reals lr, β1,
	// β2, ε, λ.
	Adam
	// GemmBias: C[m,n] = op(A)·op(B) + bias[n], the bias added to every row. Args A, B, bias,
	// C; Ints as Gemm (GemmParams). A target with FuseBias (both) makes it of a Gemm,
	// the Gather4 that broadcasts a bias row and the Binary that adds them.
	GemmBias
	// Conv: a convolution with its bias, images in and out in (B, C, H, W) order:
	// out[b,o,y,x] = bias[o] + Σ_{c,r,q} w[o,(c·kh+r)·kw+q] · img[b, c, y·sh−ph+r·dh, x·sw−pw+q·dw]
	// (0 outside the image). Args img, w [Cout, C·kh·kw], bias [Cout], out (B, Cout, OH, OW);
	// Ints ConvParams: those of Im2col, then Cout. A target with FuseConv (both) makes it of
	// an Im2col, the GemmBias of its columns with the filters and the Gather4 that puts the
	// channels second: the same sums without the columns of the whole batch in memory.
	Conv
	// ConvData: the gradient of a convolution's image from the gradient of its output,
	// dimg[b,c,ih,iw] = Σ dout[b,o,y,x]·w[o,(c·kh+r)·kw+q] over the (o,y,x,r,q) where Conv
	// reads img[b,c,ih,iw]. Args dout (B, Cout, OH, OW), w, dimg (B, C, H, W); Ints as Conv
	// (ConvParams). Made of a Gather4 (channels last), a Gemm with the filters and a Col2im.
	ConvData
	// ConvFilter: the gradient of a convolution's filters, dw[o,(c·kh+r)·kw+q] =
	// Σ_{b,y,x} dout[b,o,y,x] · img[b, c, y·sh−ph+r·dh, x·sw−pw+q·dw]. Args dout (B, Cout,
	// OH, OW), img (B, C, H, W), dw [Cout, C·kh·kw]; Ints as Conv (ConvParams). Made of a
	// Gather4 (channels last) and the product of its transpose with Im2col's columns.
	ConvFilter
	// ConvReLU: a Conv followed by ReLU as the lowering writes it, pre = Conv(img, w, bias),
	// mask = (pre ≥ 0) as 1 or 0, out = pre ⊙ mask. Args img, w, bias, mask, out (mask and out
	// both outputs); Ints as Conv (ConvParams). Made of a Conv and the two Binary launches
	// after it.
	ConvReLU
	// MaxPoolBackMask: dx = mask ⊙ MaxPoolBack(in, dpooled), the gradient through a max
	// pooling and the ReLU before it. Args in, dpooled, mask, dx; Ints as MaxPool (PoolGeom).
	// Made of a MaxPoolBack and the Binary product after it.
	MaxPoolBackMask
	// ConvReLUPool: a ConvReLU whose activation only a MaxPool and its gradient read: pooled =
	// MaxPool(act), and for each window route = t, the place (r·kw + q) of the window's first
	// maximum of act, plus kh·kw where the mask there is 0 (−1 for a window with none). Args
	// img, w, bias, route, pooled; Ints ConvPoolParams: those of Conv, then those of MaxPool
	// (of the activation (B, Cout, OH, OW)). The activation and the mask are never stored:
	// the route is all the backward pass needs of them.
	ConvReLUPool
	// PoolRouteBack: the gradient through ConvReLUPool's pooling and ReLU: dx is 0 but at each
	// window's routed place, where it gets m·dpooled, m = 1 for a route below kh·kw and 0
	// above; sums where windows overlap. A negative route, or one whose place is outside the
	// image, sends nothing. Args route, dpooled, dx; Ints as MaxPool (PoolGeom).
	PoolRouteBack
	// ConvReLUPoolBack: the whole backward pass of a ConvReLUPool: dpre =
	// PoolRouteBack(route, dpooled), then dw = ConvFilter(dpre, img), db[o] = Σ_{b,y,x}
	// dpre[b,o,y,x] and, with seven Args, dimg = ConvData(dpre, w). Args route, dpooled,
	// img, w, dw, db[, dimg] (the last two or three outputs); Ints as ConvReLUPool
	// (ConvPoolParams). Made of a PoolRouteBack, the ConvFilter, the three ReduceSums of the
	// bias gradient and the ConvData that read its output.
	ConvReLUPoolBack
	// Dropout: y[i] = x[i]·scale where element i of the layer's mask is kept, 0 where it is
	// dropped: kept when the Philox word of (seed, layer, step, i) is at least the threshold
	// (philox.go), the step read from the step counter (float64). The backward pass is the
	// same launch on the gradient. Args x, step, y; Ints DropoutParams: n, layer, seed,
	// threshold; Reals scale (1/(1−rate)).
	Dropout
	// BatchNormStats: each channel's mean and biased variance over the batch and the image,
	// x viewed as [B, C, S] (S = H·W for an image, 1 for a vector): mean[c] = Σ x[b,c,s]/n
	// and var[c] = Σ (x[b,c,s] − mean[c])²/n over b and s, n = B·S. Args x, mean, var (both
	// outputs, [C]); Ints BatchNormParams: b, c, s.
	BatchNormStats
	// BatchNorm: y[b,c,s] = x̂·scale[c] + shift[c], x̂ = (x[b,c,s] − mean[c])·inv[c] and
	// inv[c] = 1/√(var[c] + ε), x viewed as [B, C, S]. Args x, mean, var, scale, shift, y;
	// Ints BatchNormParams: b, c, s; Reals ε.
	BatchNorm
	// BatchNormBackScale: the gradients of a BatchNorm's scale and shift from dy = dL/dy,
	// dscale[c] = Σ dy[b,c,s]·x̂[b,c,s] and dshift[c] = Σ dy[b,c,s] over b and s. Args x,
	// mean, var, dy, dscale, dshift (both outputs); Ints BatchNormParams: b, c, s; Reals ε.
	BatchNormBackScale
	// BatchNormBackData: the gradient of a BatchNorm's x through y and the batch's
	// statistics both, dx = scale[c]·inv[c]/n · (n·dy − dshift[c] − x̂·dscale[c]), n = B·S,
	// with BatchNormBackScale's sums. Args x, mean, var, scale, dy, dscale, dshift, dx; Ints
	// BatchNormParams: b, c, s; Reals ε.
	BatchNormBackData
	// Augment: each training example moved by a transform of its own (augment.go): out[b] =
	// in[b] resampled (bilinear, zeros outside) at the places Transform(step, b) gives, plus
	// the elastic field's displacements (elastic.go) where alpha > 0, the words drawn from
	// Philox under (seed, step, b), the step read from the step counter (float64). Args in
	// [B, C·H·W], step, out [B, C·H·W]; Ints AugmentParams: batch, c, h, w, seed, shift,
	// radius; Reals tan(rotate/2), scale, alpha, exp(−1/(2σ²)). Only in a training step: a
	// forward program (Program.Forward) makes it the identity.
	Augment
	// ConvFilterSplit: a ConvFilter cut along the batch into parts of Images images (the last
	// may have fewer): P[z] = the filter gradient of images [z·Images, (z+1)·Images), each
	// [Cout, C·kh·kw]. Args dout (B, Cout, OH, OW), img (B, C, H, W), P [parts, Cout,
	// C·kh·kw]; Ints ConvSplitParams: those of Conv, then images. A ReduceSum over z
	// follows, in order of z, so the sum is the same on every run. A target with SplitK (a
	// GPU) makes it of a ConvFilter whose output has few tiles: the parts run on many blocks.
	ConvFilterSplit
	// GemmBiasReLU: a GemmBias followed by ReLU as the lowering writes it, pre = op(A)·op(B)
	// + bias, mask = (pre ≥ 0) as 1 or 0, out = pre ⊙ mask. Args A, B, bias, mask, out (mask
	// and out both outputs); Ints as Gemm (GemmParams). A target with FuseDense (the CPU)
	// makes it of a GemmBias and the two Binary launches after it: the activation is never
	// stored before its ReLU, and the step has two launches fewer a layer.
	GemmBiasReLU
	// GemmMul: C[m,n] = (op(A)·op(B)) ⊙ M, the product rounded, then the elementwise product
	// with M rounded. Args A, B, M, C; Ints as Gemm (GemmParams). A target with FuseDense
	// makes it of a Gemm whose output only an elementwise product reads (the gradient of a
	// dense layer's input through the ReLU before it) and that product; it runs where the
	// product ran.
	GemmMul
	// RouteFilter: the filter and bias gradients of a ConvReLUPool read through its route,
	// in parts along the batch of Images images (the last may have fewer): with dpre =
	// PoolRouteBack(route, dpooled), P[z] [Cout, C·kh·kw + 1] holds ConvFilter(dpre, img)
	// over images [z·Images, (z+1)·Images) in its first C·kh·kw columns and Σ_{b,y,x}
	// dpre[b,o,y,x] over them in its last (the bias: a tap whose column is all ones). Args
	// route, dpooled (B, Cout, OH/2, OW/2 as ConvReLUPool wrote them), img (B, C, H, W), P
	// [parts, Cout, C·kh·kw + 1]; Ints RouteFilterParams: those of ConvReLUPool, then images.
	// A FilterSum of the parts follows. A target with FuseRoutes (a GPU) makes it of a
	// PoolRouteBack, the ConvFilter and the bias's sums that read its output: the routed
	// gradient, four times the pooled one, is never stored.
	RouteFilter
	// RouteData: ConvData(PoolRouteBack(route, dpooled), w), the image gradient read through
	// the route. Args route, dpooled, w, dimg; Ints as ConvReLUPool (ConvPoolParams). Made
	// of a PoolRouteBack's ConvData where a RouteFilter replaces the PoolRouteBack.
	RouteData
	// FilterSum: the sum of a RouteFilter's parts in order of z: dw[o,k] = Σ_z P[z][o,k] and
	// db[o] = Σ_z P[z][o,K] (K = C·kh·kw). Args P [parts, Cout, K + 1], dw [Cout, K], db
	// [Cout]; Ints FilterSumParams: parts, cout, k.
	FilterSum
	numOps
)

var opNames = [numOps]string{
	Binary: "ew_binary", Unary: "ew_unary", Gather4: "gather4", Gemm: "gemm", GemmSplit: "gemm_split",
	ReduceSum: "reduce_sum", SoftmaxXent: "softmax_xent", Softmax: "softmax", SoftmaxBack: "softmax_back",
	Im2col: "im2col", Col2im: "col2im", MaxPool: "maxpool", MaxPoolBack: "maxpool_back",
	StepInc: "step_inc", GatherRows: "gather_rows", CursorAdd: "cursor_add",
	SGD: "sgd", Momentum: "momentum", Adam: "adam", GemmBias: "gemm_bias",
	Conv: "conv", ConvData: "conv_data", ConvFilter: "conv_filter", ConvReLU: "conv_relu",
	MaxPoolBackMask: "maxpool_back_mask", ConvReLUPool: "conv_relu_pool", PoolRouteBack: "pool_route_back",
	ConvReLUPoolBack: "conv_relu_pool_back", Dropout: "dropout", Augment: "augment",
	BatchNormStats: "batchnorm_stats", BatchNorm: "batchnorm", BatchNormBackScale: "batchnorm_back_scale",
	BatchNormBackData: "batchnorm_back_data", ConvFilterSplit: "conv_filter_split", GemmBiasReLU: "gemm_bias_relu",
	GemmMul: "gemm_mul", RouteFilter: "route_filter", RouteData: "route_data", FilterSum: "filter_sum",
}

func (o Op) String() string {
	if o < numOps {
		return opNames[o]
	}
	return "op?"
}

// IsUpdate reports whether the op is a solver's update of a parameter.
func (o Op) IsUpdate() bool { return o == SGD || o == Momentum || o == Adam }

// Typed reports whether the op works on real values of the launch's dtype (so a CUDA kernel
// exists per dtype); StepInc and CursorAdd work on the step counter and the cursor alone.
func (o Op) Typed() bool { return o != StepInc && o != CursorAdd }

// BinaryOp is the operator of a Binary launch.
type BinaryOp int64

// UnaryOp is the function of a Unary launch.
type UnaryOp int64

// An OpCode is one row of the table of elementwise operators: its code, the name of its
// constant in the generated C header, and Gorgonia's name for it (the op's String, the
// symbol for a binary operator).
type OpCode struct {
	Code     int64
	C        string
	Gorgonia string
}

// BinaryOps and UnaryOps are the one table of elementwise operation codes: the lowering
// reads Gorgonia's names from them, the reference interpreter and the CPU executor compute
// with the codes' functions (BinaryOp.Func, UnaryOp.Func; the CPU's binary kernels are its
// own, in the launch's dtype), and cuda/kernels/opcodes.h is generated from them (go
// generate ./cuda).
var (
	BinaryOps = []OpCode{
		{0, "BIN_ADD", "+"}, {1, "BIN_SUB", "-"}, {2, "BIN_MUL", "⊙"}, {3, "BIN_DIV", "÷"}, {4, "BIN_POW", "^"},
		{5, "BIN_LT", "<"}, {6, "BIN_GT", ">"}, {7, "BIN_LE", "<="}, {8, "BIN_GE", ">="}, {9, "BIN_EQ", "=="}, {10, "BIN_NE", "!="},
	}
	UnaryOps = []OpCode{
		{0, "UN_ABS", "abs"}, {1, "UN_SIGN", "sign"}, {2, "UN_CEIL", "ceil"}, {3, "UN_FLOOR", "floor"},
		{4, "UN_SIN", "sin"}, {5, "UN_COS", "cos"}, {6, "UN_EXP", "exp"}, {7, "UN_LN", "ln"}, {8, "UN_LOG2", "log2"},
		{9, "UN_NEG", "neg"}, {10, "UN_SQUARE", "square"}, {11, "UN_SQRT", "sqrt"}, {12, "UN_INV", "inv"},
		{13, "UN_INVSQRT", "invSqrt"}, {14, "UN_CUBE", "cube"}, {15, "UN_TANH", "tanh"}, {16, "UN_SIGMOID", "sigmoid"},
		{17, "UN_LOG1P", "log1p"}, {18, "UN_EXPM1", "expm1"}, {19, "UN_SOFTPLUS", "softplus"},
	}
)

// The codes the executors switch on, named.
const (
	Add BinaryOp = iota
	Sub
	Mul
	Div
	Pow
	Lt
	Gt
	Le
	Ge
	Eq
	Ne
)

// The unary codes, named.
const (
	Abs UnaryOp = iota
	Sign
	Ceil
	Floor
	Sin
	Cos
	Exp
	Ln
	Log2
	Neg
	Square
	Sqrt
	Inv
	InvSqrt
	Cube
	Tanh
	Sigmoid
	Log1p
	Expm1
	Softplus
)

// LookupCode is the code of the operator Gorgonia calls gorgonia in table (BinaryOps or
// UnaryOps).
func LookupCode(table []OpCode, gorgonia string) (int64, bool) {
	for _, c := range table {
		if c.Gorgonia == gorgonia {
			return c.Code, true
		}
	}
	return 0, false
}

// Func is the function of a binary code in float64, and false for a code outside
// BinaryOps. The reference interpreter computes every Binary launch with it.
func (op BinaryOp) Func() (func(x, y float64) float64, bool) {
	if op < 0 || int(op) >= len(binaryFuncs) {
		return nil, false
	}
	return binaryFuncs[op], true
}

// Func is the function of a unary code in float64, and false for a code outside UnaryOps:
// the one definition of each, which the reference interpreter and the CPU executor both
// call (the CPU's result rounded to its dtype).
func (op UnaryOp) Func() (func(x float64) float64, bool) {
	if op < 0 || int(op) >= len(unaryFuncs) {
		return nil, false
	}
	return unaryFuncs[op], true
}

var binaryFuncs = [...]func(x, y float64) float64{
	Add: func(x, y float64) float64 { return x + y },
	Sub: func(x, y float64) float64 { return x - y },
	Mul: func(x, y float64) float64 { return x * y },
	Div: func(x, y float64) float64 { return x / y },
	Pow: math.Pow,
	Lt:  func(x, y float64) float64 { return b2f(x < y) },
	Gt:  func(x, y float64) float64 { return b2f(x > y) },
	Le:  func(x, y float64) float64 { return b2f(x <= y) },
	Ge:  func(x, y float64) float64 { return b2f(x >= y) },
	Eq:  func(x, y float64) float64 { return b2f(x == y) },
	Ne:  func(x, y float64) float64 { return b2f(x != y) },
}

var unaryFuncs = [...]func(x float64) float64{
	Abs:      math.Abs,
	Sign:     func(x float64) float64 { return b2f(x > 0) - b2f(x < 0) },
	Ceil:     math.Ceil,
	Floor:    math.Floor,
	Sin:      math.Sin,
	Cos:      math.Cos,
	Exp:      math.Exp,
	Ln:       math.Log,
	Log2:     math.Log2,
	Neg:      func(x float64) float64 { return -x },
	Square:   func(x float64) float64 { return x * x },
	Sqrt:     math.Sqrt,
	Inv:      func(x float64) float64 { return 1 / x },
	InvSqrt:  func(x float64) float64 { return 1 / math.Sqrt(x) },
	Cube:     func(x float64) float64 { return x * x * x },
	Tanh:     math.Tanh,
	Sigmoid:  func(x float64) float64 { return 1 / (1 + math.Exp(-x)) },
	Log1p:    math.Log1p,
	Expm1:    math.Expm1,
	Softplus: func(x float64) float64 { return math.Log1p(math.Exp(x)) },
}

// b2f is 1 for true and 0 for false.
func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
