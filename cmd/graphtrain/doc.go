// Command graphtrain trains neural networks defined as Gorgonia expression graphs, on the
// CPU (graphtrain's compiled executor, or Gorgonia's TapeMachine) or, in a build with the gpu
// tag, on an NVIDIA GPU. Start reading at main.go, then backends.go for --device.
//
// Every subcommand lives in a file of its own and registers itself in init. main.go holds
// the dispatch, the global flags and the error conventions: one line on stderr,
// "graphtrain: <what>: <why>; <what to do>", exit status 2 for usage errors and 1 for the rest.
package main
