// Command genopcodes writes cuda/kernels/opcodes.h, the C enums of the elementwise operation
// codes, from the Go table ir.BinaryOps and ir.UnaryOps, and augmentation's Philox streams
// and the elastic field's largest radius from their ir constants (go generate ./cuda).
package main
