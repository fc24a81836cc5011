// Package checkpoint saves and loads checkpoints: directories with one numpy .npy file per
// parameter and solver state buffer, and a model.json that says what the model is, how it was
// trained and the SHA-256 of every file (checkpoint.go has the layout).
//
// A save replaces the whole directory atomically (internal/atomicfile). A load checks the spec
// (model.Spec.Check, ParamShapes), every file's header, size and SHA-256 before allocating, and
// refuses NaN or infinite values. Errors about a checkpoint are *CheckpointError, naming the
// file, and wrap ErrCheckpoint.
package checkpoint
