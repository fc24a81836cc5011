// Package runner runs compiled programs (package ir, lowered by package lower) on an
// executor's device, written once for every executor: the training scaffolding (Trainer:
// backend.Trainer, DatasetTrainer, Forwarder and StepLauncher) and the forward-only pass
// (Predictor: backend.Predictor). The executors, package cpu and package cuda, keep only
// what differs: their memory, their kernels and how they launch them, behind the small
// interfaces of device.go (Device, Memory, Launches).
//
// The runner decides what goes where and when: which buffers a trainer uploads when it is
// made (parameters, solver state, constants, the step counter, a zeroed loss sum), what a
// step uploads and launches, that the losses are summed on the device and read back once per
// MeanLoss, that SetLR rewrites the update launches of the training program and of the
// resident set's, what Sync copies back, how the training set is held on the device
// (SetDataset, SetOrder, StepNext) and what is freed when. Every group of device calls runs
// inside one Device.Do (a GPU's driver thread): one for a step. A step allocates nothing on
// the host, so that the CPU's steps allocate nothing at all.
//
// Start reading at device.go, then NewTrainer (trainer.go), the step (step.go), the resident
// training set (resident.go), the trainer's forward pass (forward.go) and the Predictor
// (predict.go).
package runner
