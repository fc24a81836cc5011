package datasets

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
)

// Streams of the random generator, so that Split and the batch order never share a sequence
// for the same seed.
const (
	splitStream   = 0x5eed5917
	shuffleStream = 0xba7c4e5
)

// Split divides s into a training part and a validation part holding round(frac*N) images,
// chosen by a random permutation drawn from seed: the same seed gives the same split, on every
// platform and Go version. Both parts keep the images in their order in s and are copies,
// except that when frac is 0 (or less, or NaN) train is s itself and val is empty. A frac of
// 1 or more puts every image in val.
func (s *Set) Split(frac float64, seed int64) (train, val *Set) {
	trainIdx, valIdx := s.splitIndices(frac, seed)
	if len(valIdx) == 0 {
		return s, s.subset(nil)
	}
	return s.subset(trainIdx), s.subset(valIdx)
}

// splitIndices is the split Split and SplitInPlace make: the images of each part, ascending.
func (s *Set) splitIndices(frac float64, seed int64) (trainIdx, valIdx []int) {
	nVal := 0
	switch {
	case frac >= 1:
		nVal = s.N
	case frac > 0:
		nVal = int(math.Round(frac * float64(s.N)))
	}
	if nVal == 0 {
		return nil, nil
	}
	order := identity(s.N)
	shuffle(order, rand.NewPCG(uint64(seed), splitStream))
	valIdx, trainIdx = order[:nVal], order[nVal:]
	slices.Sort(valIdx)
	slices.Sort(trainIdx)
	return trainIdx, valIdx
}

// SplitInPlace is Split without a second copy of the training part: the validation images
// are copied out, then the training images are moved down within s's own memory, which the
// training part then uses. s must not be used afterwards. Both parts hold the same images,
// in the same order, as Split's.
func (s *Set) SplitInPlace(frac float64, seed int64) (train, val *Set) {
	trainIdx, valIdx := s.splitIndices(frac, seed)
	if len(valIdx) == 0 {
		return s, s.subset(nil)
	}
	val = s.subset(valIdx)
	// trainIdx is ascending, so image k comes from an index i ≥ k: moving them down in order
	// never overwrites one still to be moved.
	p := s.Pixels()
	for k, i := range trainIdx {
		if k != i {
			copy(s.Images[k*p:(k+1)*p], s.Images[i*p:(i+1)*p])
			s.Labels[k] = s.Labels[i]
		}
	}
	n := len(trainIdx)
	train = &Set{Images: s.Images[: n*p : n*p], Labels: s.Labels[:n:n], N: n, Rows: s.Rows, Cols: s.Cols, Channels: s.Channels, Classes: s.Classes}
	*s = Set{}
	return train, val
}

// subset copies the images idx of s into a new Set.
func (s *Set) subset(idx []int) *Set {
	p := s.Pixels()
	out := &Set{Images: make([]float32, len(idx)*p), Labels: make([]uint8, len(idx)), N: len(idx), Rows: s.Rows, Cols: s.Cols, Channels: s.Channels, Classes: s.Classes}
	for k, i := range idx {
		copy(out.Images[k*p:(k+1)*p], s.Images[i*p:(i+1)*p])
		out.Labels[k] = s.Labels[i]
	}
	return out
}

func identity(n int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	return order
}

// shuffle permutes order uniformly (Fisher-Yates) with numbers from src. It draws bounded
// integers itself (Lemire's method) rather than through math/rand, whose algorithms may change
// between Go versions, so that a seed keeps its meaning.
func shuffle(order []int, src *rand.PCG) {
	for i := len(order) - 1; i > 0; i-- {
		j := int(uint64n(src, uint64(i+1)))
		order[i], order[j] = order[j], order[i]
	}
}

// uint64n returns a uniform integer in [0, n), n > 0.
func uint64n(src *rand.PCG, n uint64) uint64 {
	hi, lo := bits.Mul64(src.Uint64(), n)
	if lo < n {
		threshold := -n % n
		for lo < threshold {
			hi, lo = bits.Mul64(src.Uint64(), n)
		}
	}
	return hi
}

// Batches serves a Set in minibatches, in an order reshuffled for every epoch. It fills the
// same buffers for every batch (X, Y and Labels are overwritten by Next and valid until the
// next call) and allocates nothing per batch.
//
// A pass over the set yields N/Size full batches. The last N%Size images are dropped unless
// Partial is set; then they come as a last, short batch with Len < Size, and X, Y and Labels
// are sliced to Len rows. Callers that need a fixed batch size leave Partial unset.
type Batches struct {
	X      []float32 // images of this batch, row-major: [Len*Pixels]
	Y      []float32 // one-hot targets: [Len*K], Y[r*K+Labels[r]] = 1, the rest 0 (K classes; see Smoothing)
	Labels []int     // the digits: [Len]
	Len    int       // rows valid in this batch: Size, or fewer in a last short batch
	Size   int       // rows in a full batch

	// Partial makes a pass end with the short batch of the images left over, instead of
	// dropping them. Set it before Next; it applies from then on.
	Partial bool

	// Smoothing is label smoothing's ε, in [0, 1): the targets in Y (and Examples's) are
	// (1−ε)·onehot + ε/K, every row still summing to 1, instead of one-hot. Set it before the
	// first Next or Examples.
	Smoothing float64

	set     *Set
	seed    int64
	shuffle bool
	order   []int // this pass's order of the images
	pos     int   // the next position in order
	src     *rand.PCG
	x, y    []float32
	labels  []int
	onehot  []float32 // the whole set's targets, made by Examples
}

// NewBatches serves s in batches of batch images (a batch below 1 counts as 1). With shuffle,
// each pass takes the images in a random order drawn from (seed, epoch); without, in their
// order in s. It starts the pass of epoch 0; call Reset at the start of every epoch.
// Labels of s.NumClasses() or more get an all-zero row in Y.
func NewBatches(s *Set, batch int, seed int64, shuffle bool) *Batches {
	batch = max(batch, 1)
	p := s.Pixels()
	b := &Batches{
		Size: batch, set: s, seed: seed, shuffle: shuffle, order: identity(s.N),
		src: rand.NewPCG(0, 0), x: make([]float32, batch*p), y: make([]float32, batch*s.NumClasses()),
		labels: make([]int, batch),
	}
	b.Reset(0)
	return b
}

// Reset starts a new pass for the given epoch: the order is a function of the seed and the
// epoch only, so that a resumed run sees the same batches.
func (b *Batches) Reset(epoch int) {
	b.pos = 0
	b.Len = 0
	if !b.shuffle {
		return
	}
	for i := range b.order {
		b.order[i] = i
	}
	b.src.Seed(uint64(b.seed)^shuffleStream, uint64(epoch))
	shuffle(b.order, b.src)
}

// Count is the number of batches in a pass: N/Size, plus one for a short batch when Partial
// is set and Size does not divide N.
func (b *Batches) Count() int {
	n := b.set.N / b.Size
	if b.Partial && b.set.N%b.Size != 0 {
		n++
	}
	return n
}

// Next fills X, Y, Labels and Len with the next batch and reports whether there was one; false
// at the end of the pass.
func (b *Batches) Next() bool {
	left := len(b.order) - b.pos
	if left <= 0 || (left < b.Size && !b.Partial) {
		b.Len = 0
		b.X, b.Y, b.Labels = b.x[:0], b.y[:0], b.labels[:0]
		return false
	}
	rows := min(left, b.Size)
	p, k := b.set.Pixels(), b.set.NumClasses()
	for r, i := range b.order[b.pos : b.pos+rows] {
		copy(b.x[r*p:(r+1)*p], b.set.Images[i*p:(i+1)*p])
		l := int(b.set.Labels[i])
		b.target(b.y[r*k:(r+1)*k], l)
		b.labels[r] = l
	}
	b.pos += rows
	b.Len = rows
	b.X, b.Y, b.Labels = b.x[:rows*p], b.y[:rows*k], b.labels[:rows]
	return true
}

// Head returns a copy of the first n images of s (all of them when n >= s.N).
func (s *Set) Head(n int) *Set {
	return s.subset(identity(min(max(n, 0), s.N)))
}

// Examples returns the whole set the batches are drawn from: images [n*Pixels] and one-hot
// targets [n*K] for K classes (made on the first call and kept), for a device that holds the
// set and gathers the batches itself.
func (b *Batches) Examples() (x, y []float32, n int) {
	if b.onehot == nil {
		k := b.set.NumClasses()
		b.onehot = make([]float32, b.set.N*k)
		for i, l := range b.set.Labels {
			b.target(b.onehot[i*k:(i+1)*k], int(l))
		}
	}
	return b.set.Images, b.onehot, b.set.N
}

// target writes label l's target row into y (K values): one-hot, or smoothed (Smoothing),
// the values rounded from float64 once; all zero for a label of K or more.
func (b *Batches) target(y []float32, l int) {
	k := len(y)
	if l >= k {
		clear(y)
		return
	}
	off := b.Smoothing / float64(k)
	for j := range y {
		y[j] = float32(off)
	}
	y[l] = float32(1 - b.Smoothing + off)
}

// Order is this pass's order of the images (set by Reset): the batches Next gives are
// order[0:Size], order[Size:2·Size], ...
func (b *Batches) Order() []int { return b.order }
