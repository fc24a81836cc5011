// Package vm is the "vm" backend: it runs a model.Net on Gorgonia's TapeMachine, the
// reference CPU VM that every executor of lowered programs (cpu, cuda) is checked against.
// Its tensor engine (engine.go) does three of Gorgonia's operations faster with bit-for-bit
// the same results. NewPredictor compiles a model's forward pass alone into a TapeMachine.
package vm
