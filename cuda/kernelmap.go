package cuda

import (
	"errors"
	"fmt"
	"strings"

	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/lower"
	"github.com/graphtrain/graphtrain/model"
)

// The lowered program is device-neutral (package program); this file is where CUDA decides
// how each launch runs: the kernel (the op's name and the dtype's suffix, "gemm_f32"), the
// grid and the block, and whether they fit a device's limits. A launch's parameters follow
// one convention, which the kernels in kernels/*.cu follow too: the buffer pointers (Args, in
// order), then the integers (each a 64-bit long long), then the reals (each a double). Every
// parameter is 8 bytes (docs/DESIGN.md, "Kernel parameters are 8 bytes each").

// Program and Launch are the lowered program and its launches.
type (
	Program = ir.Program
	Launch  = ir.Launch
)

// Launch geometry.
const (
	blockThreads  = 256 // elementwise kernels: one thread per element
	reduceThreads = 128 // reduce_sum: one block per output element
	bnThreads     = 128 // batchnorm_stats, batchnorm_back_scale: one block per channel (BN_THREADS in norm.cu)
	gemmTile      = 16  // gemm: one 16x16 block per 16x16 tile of C
	gemmWide      = 64  // gemm's _t64 kernels: one 16x16 block per 64x64 tile of C
	// The fused convolutions (kernels/conv.cu): a block of igThreads threads (64 for _n6)
	// computes igRows output positions (or igRows/4 pooling windows of 4) by 6, 8 or 16
	// channels (convTiles), taking
	// igStep taps a step; the filter gradient is tiles of [Cout, C·kh·kw], 16 channels by 16
	// taps (block 16x16, filtTile positions a step), for at most filtNarrow channels and 32
	// taps 8 by 32 (block 32x8, 32 positions a step), or, for more than 32 taps, 16 by
	// filtWide (igThreads threads, filtWidePos positions a step).
	igThreads   = 128
	igRows      = 128
	igStep      = 16
	filtTile    = 16
	filtWide    = 64
	filtWidePos = 32
	filtNarrow  = 8
	// For at most filtNarrow channels and 32 taps over filtTiledParts parts or more, the
	// filter gradient's _t4 kernel: a block of filtTiledGroups groups of 16 threads, a part a
	// group, 4x4 values a thread. Fewer parts leave too few threads to fill a GPU (2048
	// parts are 32768 threads), and the _c8 kernel, 256 threads a part, takes them.
	filtTiledParts  = 2048
	filtTiledGroups = 8
)

// filtTiledAlways, set by the emulator's tests, runs every filter gradient in parts that the
// _t4 kernel can compute on it, of few parts too. (A ConvFilter is one part: never _t4.)
var filtTiledAlways bool

// Lower lowers net and one update by s for the CUDA target (lower.CUDA: products of few
// tiles over a long K split, dense layers' biases and convolutions fused, the filter
// gradients split along the batch) and checks every launch against a device's limits.
func Lower(net *model.Net, s *model.Solver) (*Program, error) {
	p, err := lower.Lower(net, s, lower.CUDA)
	if err != nil {
		return nil, err
	}
	if err := checkLimits(p); err != nil {
		return nil, err
	}
	return p, nil
}

// kernel is a launch as CUDA runs it.
type kernel struct {
	Name         string // the entry point in the PTX
	Grid, Block  [3]int
	supported    bool // false: no kernel computes this op
	unsupportedW string
}

// kernelFor maps a launch to its kernel and geometry. A launch whose parameters do not decode
// has none.
func kernelFor(l Launch) kernel {
	k := kernel{Name: l.Op.String(), Grid: [3]int{1, 1, 1}, Block: [3]int{blockThreads, 1, 1}, supported: true}
	if err := k.geometry(l); err != nil {
		k.supported, k.unsupportedW = false, err.Error()
	}
	if l.Op.Typed() {
		k.Name += map[ir.Dtype]string{ir.Float32: "_f32", ir.Float64: "_f64"}[l.Dtype]
	}
	return k
}

// convTiles is the suffix of a fused convolution's kernel (its tile's channels: _n6 for at
// most 6, _n8 for 7 or 8, else _n16), the tile's channels and its block's threads (32 a
// column of threads: 2 columns of 3 channels, 4 of 2, 4 of 4).
func convTiles(channels int) (suffix string, n, threads int) {
	switch {
	case channels <= 6 && !convN8Always:
		return "_n6", 6, 64
	case channels <= 8:
		return "_n8", 8, igThreads
	}
	return "_n16", 16, igThreads
}

// convN8Always, set by the emulator's tests, gives convolutions of at most 6 channels the _n8
// kernel they took before _n6, to compare the two.
var convN8Always bool

// fits32 says why a fused convolution's kernel cannot take sizes: its 32-bit indices reach
// every value of its buffers, each under 2^30 (lower.CUDA's ConvIndexLimit: the lowering
// fuses no larger one), so that an index plus a tile's offset never passes 2^31.
func fits32(sizes ...int64) error {
	for _, n := range sizes {
		if n < 0 || n >= 1<<30 {
			return fmt.Errorf("a buffer of %d values, beyond the fused kernels' 32-bit indices", n)
		}
	}
	return nil
}

// pooled2 says why no kernel fuses the pooling of p: the kernels pool 2x2 windows at stride 2
// without padding, of the convolution's whole output (the last row or column of an odd side
// dropped), and index every buffer with 32-bit ints.
func pooled2(p ir.ConvPoolParams) error {
	c, g := p.Conv, p.Pool
	if g.KH != 2 || g.KW != 2 || g.PadH != 0 || g.PadW != 0 || g.StrideH != 2 || g.StrideW != 2 || g.B != c.B || g.C != c.Cout ||
		g.H != c.OH || g.W != c.OW || g.OH != c.OH/2 || g.OW != c.OW/2 {
		return fmt.Errorf("no CUDA kernel pools a %dx%d output of %d channels with %+v", c.OH, c.OW, c.Cout, g)
	}
	return fits32(convSizes(c)...)
}

// convSizes are the values of a convolution's image, output and filters.
func convSizes(c ir.ConvParams) []int64 {
	return []int64{int64(c.B) * int64(c.C) * int64(c.H) * int64(c.W), int64(c.B) * int64(c.Cout) * int64(c.OH) * int64(c.OW),
		int64(c.Cout) * int64(c.C) * int64(c.KH) * int64(c.KW)}
}

// geometry sets the kernel's grid and block for launch l from its parameters.
func (k *kernel) geometry(l Launch) error {
	switch l.Op {
	case ir.Gemm, ir.GemmBias, ir.GemmBiasReLU, ir.GemmMul:
		p, err := l.GemmParams()
		if err != nil {
			return err
		}
		k.gemm(p.M, p.N, 1)
	case ir.GemmSplit:
		p, err := l.GemmSplitParams()
		if err != nil {
			return err
		}
		k.gemm(p.M, p.N, blocks(p.K, p.KC))
	case ir.ReduceSum:
		p, err := l.ReduceSumParams()
		if err != nil {
			return err
		}
		k.Grid, k.Block = [3]int{p.Outer * p.Inner, 1, 1}, reduceBlock(p.Length)
	case ir.Conv, ir.ConvReLU, ir.ConvData:
		c, err := l.ConvParams()
		if err != nil {
			return err
		}
		if err := fits32(convSizes(c)...); err != nil {
			return err
		}
		rows, channels := c.B*c.OH*c.OW, c.Cout
		if l.Op == ir.ConvData { // the image's positions by its channels
			rows, channels = c.B*c.H*c.W, c.C
		}
		suffix, n, threads := convTiles(channels)
		k.Name += suffix
		k.Grid, k.Block = [3]int{blocks(rows, igRows), blocks(channels, n), 1}, [3]int{threads, 1, 1}
	case ir.ConvReLUPool, ir.RouteData:
		p, err := l.ConvPoolParams()
		if err != nil {
			return err
		}
		if err := pooled2(p); err != nil {
			return err
		}
		c, g := p.Conv, p.Pool
		if l.Op == ir.RouteData { // as conv_data: the image's positions by its channels
			suffix, n, threads := convTiles(c.C)
			k.Name += suffix
			k.Grid, k.Block = [3]int{blocks(c.B*c.H*c.W, igRows), blocks(c.C, n), 1}, [3]int{threads, 1, 1}
			break
		}
		suffix, n, threads := convTiles(c.Cout)
		k.Name += suffix
		k.Grid, k.Block = [3]int{blocks(c.B*g.OH*g.OW, igRows/4), blocks(c.Cout, n), 1}, [3]int{threads, 1, 1}
	case ir.ConvFilter, ir.ConvFilterSplit, ir.RouteFilter:
		var c ir.ConvParams
		parts := 1
		var err error
		switch l.Op {
		case ir.ConvFilter:
			c, err = l.ConvParams()
		case ir.ConvFilterSplit:
			var sp ir.ConvSplitParams
			sp, err = l.ConvSplitParams()
			c, parts = sp.Conv, sp.Parts()
		default:
			var rp ir.RouteFilterParams
			if rp, err = l.RouteFilterParams(); err == nil {
				err = pooled2(rp.ConvPoolParams)
			}
			c, parts = rp.Conv, rp.Parts()
		}
		if err != nil {
			return err
		}
		kk := c.C * c.KH * c.KW
		if l.Op == ir.RouteFilter {
			kk++ // the bias's tap
		}
		if err := fits32(append(convSizes(c), int64(parts)*int64(c.Cout)*int64(kk))...); err != nil {
			return err
		}
		switch {
		case l.Op != ir.ConvFilter && kk <= 2*filtTile && c.Cout <= filtNarrow && (parts >= filtTiledParts || filtTiledAlways): // 8 parts a block, 4x4 values a thread
			k.Name, k.Grid, k.Block = k.Name+"_t4", [3]int{1, 1, blocks(parts, filtTiledGroups)}, [3]int{16 * filtTiledGroups, 1, 1}
		case kk > 2*filtTile: // 64 taps a block, 2x4 values a thread
			k.Name, k.Grid, k.Block = k.Name+"_k64", [3]int{blocks(kk, filtWide), blocks(c.Cout, filtTile), parts}, [3]int{igThreads, 1, 1}
		case c.Cout <= filtNarrow: // 32 taps by 8 channels a block, a value a thread
			k.Name, k.Grid, k.Block = k.Name+"_c8", [3]int{blocks(kk, 2*filtTile), blocks(c.Cout, filtNarrow), parts}, [3]int{2 * filtTile, filtNarrow, 1}
		default:
			k.Name, k.Grid, k.Block = k.Name+"_k16", [3]int{blocks(kk, filtTile), blocks(c.Cout, filtTile), parts}, [3]int{filtTile, filtTile, 1}
		}
	case ir.FilterSum:
		p, err := l.FilterSumParams()
		if err != nil {
			return err
		}
		k.Grid, k.Block = [3]int{p.Cout * (p.K + 1), 1, 1}, reduceBlock(p.Parts)
	case ir.PoolRouteBack:
		g, err := l.PoolGeom()
		if err != nil {
			return err
		}
		if err := fits32(int64(g.B)*int64(g.C)*int64(g.H)*int64(g.W), int64(g.B)*int64(g.C)*int64(g.OH)*int64(g.OW)); err != nil {
			return err
		}
		k.Grid[0] = blocks(g.B*g.C*g.H*g.W, blockThreads)
	case ir.StepInc, ir.CursorAdd:
		k.Block = [3]int{1, 1, 1}
	case ir.BatchNormStats, ir.BatchNormBackScale:
		p, err := l.BatchNormParams()
		if err != nil {
			return err
		}
		k.Grid, k.Block = [3]int{p.C, 1, 1}, [3]int{bnThreads, 1, 1}
	default:
		n, err := threads(l)
		if err != nil {
			return err
		}
		k.Grid[0] = blocks(n, blockThreads)
		if l.Op == ir.Binary && l.Node < 0 && n == 1 { // a bookkeeping sum of one value (the loss accumulator): one thread
			k.Block = [3]int{1, 1, 1}
		}
	}
	return nil
}

// threads is the threads of an elementwise kernel: one per element, row or pixel.
func threads(l Launch) (int, error) {
	switch l.Op {
	case ir.Binary:
		p, err := l.BinaryParams()
		return p.N, err
	case ir.Unary:
		p, err := l.UnaryParams()
		return p.N, err
	case ir.Gather4:
		p, err := l.Gather4Params()
		return p.N, err
	case ir.SGD, ir.Momentum, ir.Adam:
		p, err := l.UpdateParams()
		return p.N, err
	case ir.Dropout:
		p, err := l.DropoutParams()
		return p.N, err
	case ir.Augment: // a thread per output pixel, over its channels
		p, err := l.AugmentParams()
		return p.Batch * p.H * p.W, err
	case ir.Softmax, ir.SoftmaxBack: // a thread per row
		p, err := l.SoftmaxParams()
		return p.Rows, err
	case ir.SoftmaxXent:
		p, err := l.SoftmaxXentParams()
		return p.Rows, err
	case ir.GatherRows:
		p, err := l.GatherRowsParams()
		return p.Rows * p.Cols, err
	case ir.BatchNorm, ir.BatchNormBackData: // a thread per value: B·C·S
		p, err := l.BatchNormParams()
		return p.B * p.C * p.S, err
	case ir.Im2col: // a thread per column element: B·OH·OW·C·kh·kw
		g, err := l.ConvGeom()
		return g.B * g.OH * g.OW * g.C * g.KH * g.KW, err
	case ir.Col2im: // a thread per image element: B·C·H·W
		g, err := l.ConvGeom()
		return g.B * g.C * g.H * g.W, err
	case ir.MaxPoolBack, ir.MaxPoolBackMask: // a thread per image element: B·C·H·W
		g, err := l.PoolGeom()
		return g.B * g.C * g.H * g.W, err
	case ir.MaxPool: // a thread per pooled element: B·C·OH·OW
		g, err := l.PoolGeom()
		return g.B * g.C * g.OH * g.OW, err
	}
	return 0, fmt.Errorf("no CUDA kernel computes %s", l.Op)
}

func blocks(n, per int) int { return max(1, (n+per-1)/per) }

// gemmWideMin is the fewest blocks (64x64 tiles of C times parts along K) for which a
// product of at least 64 rows and 64 columns takes the _t64 kernel: each of its blocks does
// 16 times the work of a 16x16 one at 4 times fewer reads of shared memory per multiply-add,
// and a product of fewer tiles leaves most of a GPU's multiprocessors (132 on an H100 or
// H200) idle, where the 16x16 kernel's blocks fill them; a side under 64 would leave most of
// a wide tile's values unused (docs/DESIGN.md, "A tiled SGEMM is enough").
const gemmWideMin = 64

// gemmWideAlways, set by the emulator's tests, runs every product on the _t64 kernels, small
// ones too.
var gemmWideAlways bool

// gemm sets the kernel of a product [m,n] in parts along K (1 but for gemm_split): the
// _t64 kernel for a C of many tiles, else one 16x16 block per 16x16 tile.
func (k *kernel) gemm(m, n, parts int) {
	wide := blocks(m, gemmWide) * blocks(n, gemmWide) * parts
	if gemmWideAlways || wide >= gemmWideMin && min(m, n) >= gemmWide {
		k.Name += "_t64"
		k.Grid, k.Block = [3]int{blocks(m, gemmWide), blocks(n, gemmWide), parts}, [3]int{gemmTile, gemmTile, 1}
		return
	}
	k.Grid, k.Block = gemmGrid(m, n, parts), [3]int{gemmTile, gemmTile, 1}
}

// gemmGrid is the grid of a product [m,n] in parts along K (1 for gemm): a block a 16x16 tile,
// the rows on x, whose limit is 2^31-1 blocks (a conv's product has batch·784 rows), the
// columns on y and the parts on z, whose limits are 65535.
func gemmGrid(m, n, parts int) [3]int {
	return [3]int{blocks(m, gemmTile), blocks(n, gemmTile), parts}
}

// reduceBlock is the block of a reduce_sum over length values: reduceThreads threads, or for a
// short sum the power of two that covers it, at least a warp (the conv biases' gradients sum
// rows of 28 and 10 values, once per output element).
func reduceBlock(length int) [3]int {
	t := 32
	for t < reduceThreads && t < length {
		t *= 2
	}
	return [3]int{t, 1, 1}
}

// ErrLaunchLimit is what a LaunchLimitError is (errors.Is): a program whose launch a CUDA
// device cannot run.
var ErrLaunchLimit = errors.New("beyond a CUDA device's launch limits")

// LaunchLimitError says which launch of a program asks for more than a CUDA device gives: a
// grid of at most 2^31-1 x 65535 x 65535 blocks of at most 1024 threads.
type LaunchLimitError struct {
	Kind         string // the model
	Batch        int
	Index        int // the launch
	Kernel, What string
	Grid, Block  [3]int
}

func (e *LaunchLimitError) Error() string {
	return fmt.Sprintf("cuda: the %s program at batch %d needs launch %d (%s for %s) to run a grid of %v blocks of %v threads, beyond a CUDA device's limits (2147483647 x 65535 x 65535 blocks, 1024 threads)", e.Kind, e.Batch, e.Index, e.Kernel, e.What, e.Grid, e.Block)
}

func (e *LaunchLimitError) Unwrap() error { return ErrLaunchLimit }

// checkLimits says which launch, if any, has no kernel or asks for more than a device gives.
// Preparing a program is the place to say it, naming the batch, rather than a failed launch
// mid-training.
func checkLimits(p *Program) error {
	for i, l := range p.Launches {
		k := kernelFor(l)
		if !k.supported {
			return &lower.UnsupportedError{Op: l.What, Node: l.Node, Why: k.unsupportedW}
		}
		g, b := k.Grid, k.Block
		if g[0] < 1 || g[1] < 1 || g[2] < 1 || g[0] > 1<<31-1 || g[1] > 65535 || g[2] > 65535 || b[0]*b[1]*b[2] > 1024 || b[0]*b[1]*b[2] < 1 {
			return &LaunchLimitError{Kind: p.Kind, Batch: p.Batch, Index: i, Kernel: k.Name, What: l.What, Grid: g, Block: b}
		}
	}
	return nil
}

// describe is one line about a launch as CUDA runs it: kernel, buffers, integer and real
// parameters, grid and block (the golden programs in testdata are Program.Dump(describe)).
func describe(l Launch) string {
	k := kernelFor(l)
	var b strings.Builder
	fmt.Fprintf(&b, "%-18s bufs=%v", k.Name, l.Args)
	if len(l.Ints) > 0 {
		fmt.Fprintf(&b, " ints=%v", l.Ints)
	}
	if len(l.Reals) > 0 {
		fmt.Fprintf(&b, " reals=%v", l.Reals)
	}
	fmt.Fprintf(&b, " grid=%v block=%v  # %s", k.Grid, k.Block, l.What)
	return b.String()
}

// programKernels lists the distinct kernels a program launches, in order of first use.
func programKernels(p *Program) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range p.Launches {
		if k := kernelFor(l).Name; !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}
