// Package mt19937 is numpy's legacy random generator, the 32-bit Mersenne Twister, so that
// graphtrain draws the same starting weights as np.random.seed(s); np.random.rand(...) did.
//
// Start with New and Float64; mt19937_test.go holds numpy's own first numbers for seed 42.
package mt19937
