// Package ref is the reference interpreter of lowered programs: Machine runs a
// ir.Program launch by launch in plain, slow Go, and its table of per-op functions (ops,
// in ref.go) is the exact meaning of every ir.Op. Every executor (the CUDA kernels, the
// compiled CPU executor) is tested against it, launch by launch and over whole training runs,
// and it is tested against Gorgonia's TapeMachine.
//
// Start reading at Machine.Exec and the ops table.
package ref
