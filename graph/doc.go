// Package graph defines graphtrain's models as Gorgonia expression graphs, trains them, and
// saves and loads them.
//
// A Model is a kind (xor, mlp, cnn), its hyperparameters (Spec) and its parameters: named
// tensors that outlive any one graph. Build wraps the parameters in a fresh Gorgonia graph for
// a given batch size: the forward pass, the loss and, from gorgonia.Grad, the symbolic
// gradient of the loss with respect to every parameter.
//
// A Backend turns a built graph into a Trainer that runs it. The CPU backend, always present,
// runs Gorgonia's TapeMachine; the cuda package registers a GPU backend in builds with the gpu
// tag. Solvers (SGD, momentum, Adam) update the parameters from the gradients; their state is
// part of a checkpoint so that training resumes where it stopped.
//
// Checkpoints are directories with one numpy .npy file per parameter and a model.json; see
// checkpoint.go. A save replaces the whole directory atomically (internal/atomicfile); a load
// checks the spec (spec.go: Check, ParamShapes), every file's header, size and SHA-256 before
// allocating, and refuses NaN or infinite values. Spec.TrainBytes estimates a job's memory so
// that callers can refuse one the machine cannot hold. Errors about a checkpoint are
// *CheckpointError, naming the file, and wrap ErrCheckpoint; other errors start with "graph:"
// where the package defines them, and no Gorgonia panic escapes the package's exported
// functions. The .npy format, atomic writes and numpy's random generator live in packages of
// their own under internal/.
package graph
