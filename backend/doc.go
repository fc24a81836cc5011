// Package backend is the contract between training and the devices: a Backend (what
// --device names: vm, cpu, cuda) compiles a model.Net with its Solver into a Trainer that
// runs training steps. A Trainer may also be a DatasetTrainer (it holds the training set on
// its device and gathers each batch there), a Forwarder (it runs the forward pass on its
// device) or a StepLauncher (it says how a step is launched).
//
// Backends register themselves by name (Register); the program that assembles graphtrain
// imports the ones it offers (cmd/graphtrain/backends.go), so nothing is registered by a side
// effect of an unrelated import. NewTrainer makes a trainer on one backend or, when it cannot
// take the net and a fallback is given (--device auto), on the fallback, saying why.
package backend
