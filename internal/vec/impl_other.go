//go:build !amd64

package vec

func archImpls() []*impl { return nil }
