// Package train runs training: Train, the minibatch loop of the MNIST-format models, with a
// checkpoint at every epoch end (the latest state in OUT/last, the best by validation accuracy
// in OUT), resume, learning-rate schedules, divergence checks and per-epoch figures; TrainXOR,
// full-batch gradient descent on the four XOR examples; Predict, Accuracy and Confusion for
// evaluation; and Bench, which times training steps on a backend.
//
// The loops are written once over the backend contract (package backend); a nil Backend in a
// config means the vm backend, Gorgonia's TapeMachine.
package train
