//go:build !linux

package main

// pseudoFS is "": the kernel's pseudo file systems are Linux's.
func pseudoFS(string) string { return "" }
