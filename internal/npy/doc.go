// Package npy reads and writes numpy's .npy files: little-endian float32 ('<f4') and float64
// ('<f8') arrays in C order, format versions 1.0 and 2.0, as np.save writes them on every
// common machine. Fortran order, big-endian data and object arrays are refused with a message
// that says how to convert them.
//
// Read and Write work on streams, Load and Save on files (Save atomically). ReadHeader reads
// only the header, so that a caller can check a shape against what it expects, and against
// the file's size, before any allocation. Every error about a file's content wraps ErrFormat.
package npy
