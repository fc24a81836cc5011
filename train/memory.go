package train

// Memory: a job's estimate, made from its spec before anything is allocated, and the check
// against what the machine has available.

import (
	"fmt"

	"github.com/graphtrain/graphtrain/internal/meminfo"
	"github.com/graphtrain/graphtrain/internal/safefile"
	"github.com/graphtrain/graphtrain/model"
)

// MemoryError says that a job needs more memory than the machine has available.
type MemoryError struct {
	Need      int64 // bytes the job's estimate comes to
	Available int64 // bytes the machine has available
}

// Error says how much memory the job needs and how much the machine has available.
func (e *MemoryError) Error() string {
	return fmt.Sprintf("this job needs about %s of memory, %s is available", safefile.Size(e.Need), safefile.Size(e.Available))
}

// CheckMemory returns a *MemoryError when need bytes are more than the machine has
// available, and nil when they fit or the system does not say what it has.
func CheckMemory(need int64) error {
	avail, ok := meminfo.Available()
	if !ok || need <= avail {
		return nil
	}
	return &MemoryError{Need: need, Available: avail}
}

// SolverSlots is the number of buffers per parameter a solver keeps: none for sgd, the
// velocity for momentum, the two moments for adam and adamw (and 0 for a kind it does not
// know).
func SolverSlots(kind string) int {
	return map[string]int{"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}[kind]
}

// TrainMemory estimates the memory of training spec with a solver of the given kind, batch
// examples a step, on trainImages and testImages MNIST-sized images: the model, its
// gradients and solver state and a batch's activations (model.Spec.TrainBytes), and the
// float32 pixels of the training images twice (the set and the batches' shuffled copy) and
// of the test images.
func TrainMemory(spec model.Spec, batch int, solver string, trainImages, testImages int) (int64, error) {
	need, err := spec.TrainBytes(batch, SolverSlots(solver))
	if err != nil {
		return 0, err
	}
	return need + (2*int64(trainImages)+int64(testImages))*model.ImageSize*4, nil
}

// XORMemory estimates the memory of training the XOR net spec: full batches of its four
// examples with plain gradient descent.
func XORMemory(spec model.Spec) (int64, error) {
	return spec.TrainBytes(len(model.XORTargets), 0)
}

// BenchBatches is the most batches of real images bench takes from MNIST.
const BenchBatches = 8

// BenchMemory estimates the memory of timing spec's training steps with Adam at batch on
// trainers trainers at once (BenchThreads keeps one a number of threads): their steps,
// BenchBatches batches of real images and one-hot targets, and the set of at most
// BenchSetBatches batches tiled from them that trainers holding their set are given (one,
// shared).
func BenchMemory(spec model.Spec, batch, trainers int) (int64, error) {
	need, err := spec.TrainBytes(batch, SolverSlots("adam"))
	if err != nil {
		return 0, err
	}
	return need*int64(max(1, trainers)) + (BenchBatches+BenchSetBatches)*int64(batch)*(model.ImageSize+model.Classes)*4, nil
}
