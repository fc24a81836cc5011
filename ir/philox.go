package ir

// Dropout's masks come from Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel random
// numbers: as easy as 1, 2, 3", SC 2011), a counter-based generator: the bits of element i
// are a pure function of (seed, layer, step, i), so that every executor, every thread and
// every GOMAXPROCS draws the same mask, the backward pass draws it again instead of storing
// it, and a resumed run draws what the uninterrupted one would have. One call gives four
// 32-bit words: element i takes word i mod 4 of the counter (i/4, layer, step low, step
// high) under the key (seed low, seed high). cuda/kernels/elementwise.cu computes the same.

// The Philox4x32 multipliers and key increments (the Weyl sequence of the golden ratio and
// of √3 − 1).
const (
	philoxM0 = 0xD2511F53
	philoxM1 = 0xCD9E8D57
	philoxW0 = 0x9E3779B9
	philoxW1 = 0xBB67AE85
)

// Philox4x32 is Philox4x32-10 of counter ctr under key.
func Philox4x32(ctr [4]uint32, key [2]uint32) [4]uint32 {
	for r := 0; r < 10; r++ {
		if r > 0 {
			key[0] += philoxW0
			key[1] += philoxW1
		}
		p0 := uint64(philoxM0) * uint64(ctr[0])
		p1 := uint64(philoxM1) * uint64(ctr[2])
		ctr = [4]uint32{uint32(p1>>32) ^ ctr[1] ^ key[0], uint32(p1), uint32(p0>>32) ^ ctr[3] ^ key[1], uint32(p0)}
	}
	return ctr
}

// DropoutThreshold is the 32-bit threshold below which a word drops its element: rate·2³²,
// rounded down (0 for rate 0: nothing dropped). rate must lie in [0, 1).
func DropoutThreshold(rate float64) uint32 {
	return uint32(rate * (1 << 32))
}

// DropoutBlock is the Philox words of elements 4·block to 4·block+3 of a dropout layer's
// mask at step. An element is kept where its word is at least the threshold.
func DropoutBlock(seed int64, layer int, step int64, block int) [4]uint32 {
	key := [2]uint32{uint32(seed), uint32(uint64(seed) >> 32)}
	return Philox4x32([4]uint32{uint32(block), uint32(layer), uint32(step), uint32(uint64(step) >> 32)}, key)
}

// DropoutWords fills words[i] with the Philox word of element i of a dropout layer's mask at
// step; len(words) must be a multiple of 4.
func DropoutWords(words []uint32, seed int64, layer int, step int64) {
	for j := 0; j < len(words); j += 4 {
		w := DropoutBlock(seed, layer, step, j>>2)
		copy(words[j:], w[:])
	}
}
