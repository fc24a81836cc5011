// Package model holds what a network is: a Spec (its kind and sizes, stored in a
// checkpoint's model.json), a Model (the Spec and its named parameter tensors), the Net that
// Build makes of it for a batch size (the Gorgonia graph of the forward pass, the loss and,
// from gorgonia.Grad, the gradient of the loss with respect to every parameter), and the
// Solver (SGD, momentum, Adam) that updates the parameters from their gradients.
//
// Each kind is written in one file, xor.go (the XOR net of the original numpy experiment),
// mlp.go and cnn.go: its name, its sizes and its layers (layer.go: dense, conv, maxpool, flatten,
// relu, sigmoid), from which Build, the parameters and the memory estimate follow. graph.go
// makes a Model of a user's own Gorgonia graph (NewGraphModel, kind graph). spec.go
// checks a Spec before anything is
// allocated (Check, ParamShapes) and estimates a job's memory (TrainBytes). No Gorgonia panic
// escapes the package's exported functions; errors start with "graph:" (the CLI's messages
// have always said so) or wrap ErrSpec or ErrShape.
package model
