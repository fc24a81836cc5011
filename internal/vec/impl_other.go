//go:build !amd64 && !arm64

package vec

func archImpls() []*impl { return nil }
