package mt19937

// Rand reproduces numpy's legacy generator: np.random.seed(s) followed by np.random.rand(...).
// It is the 32-bit Mersenne Twister MT19937 seeded by init_genrand, with doubles made from two
// outputs as numpy's random_sample makes them (53 random bits). With seed 42 it gives the
// starting weights of the original XOR experiment exactly.
type Rand struct {
	mt  [624]uint32
	idx int
}

// New returns the generator np.random.seed(seed) sets up.
func New(seed uint32) *Rand {
	r := &Rand{}
	r.mt[0] = seed
	for i := 1; i < 624; i++ {
		r.mt[i] = 1812433253*(r.mt[i-1]^(r.mt[i-1]>>30)) + uint32(i)
	}
	r.idx = 624
	return r
}

// Uint32 returns the next 32 bits of the stream (genrand_int32).
func (r *Rand) Uint32() uint32 {
	if r.idx >= 624 {
		const upper, lower = 0x80000000, 0x7fffffff
		for i := 0; i < 624; i++ {
			y := (r.mt[i] & upper) | (r.mt[(i+1)%624] & lower)
			v := r.mt[(i+397)%624] ^ (y >> 1)
			if y&1 != 0 {
				v ^= 0x9908b0df
			}
			r.mt[i] = v
		}
		r.idx = 0
	}
	y := r.mt[r.idx]
	r.idx++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// Float64 returns a number in [0, 1), as numpy's random_sample does:
// (a·2²⁶ + b) / 2⁵³ with a the top 27 bits of one output and b the top 26 of the next.
func (r *Rand) Float64() float64 {
	a := r.Uint32() >> 5
	b := r.Uint32() >> 6
	return (float64(a)*67108864.0 + float64(b)) / 9007199254740992.0
}
