// Package safefile opens files that come from outside (checkpoints, metrics, images, data
// sets) only when they are regular files of a sane size, so that a named pipe, a device such
// as /dev/zero, a directory or a huge file is an immediate, clear error rather than a hang
// or an unbounded allocation.
//
// Open checks without blocking (a FIFO is opened non-blocking and refused); ReadFile reads a
// whole file of at most the given size. Errors are *Error, which name the file.
package safefile
