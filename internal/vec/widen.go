package vec

// AddWiden adds each value of x, converted to float64, to acc: acc[i] += float64(x[i]). The
// conversion is exact and each sum one float64 addition, so every implementation gives the
// same bits as this loop in Go: the CPU executor's sums along a batch (a layer's bias
// gradient), which add float32 rows in float64 in row order as graphtrain's reference does.
func AddWiden(acc []float64, x []float32) {
	checkLen("AddWiden", len(acc), len(x))
	if len(acc) == 0 {
		return
	}
	if active.addWiden == nil {
		addWidenGo(acc, x)
		return
	}
	active.addWiden(acc, x)
}

func addWidenGo(acc []float64, x []float32) {
	x = x[:len(acc)]
	for i, v := range x {
		acc[i] += float64(v)
	}
}
