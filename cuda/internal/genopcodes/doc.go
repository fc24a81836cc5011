// Command genopcodes writes cuda/kernels/opcodes.h, the C enums of the elementwise operation
// codes, from the Go table ir.BinaryOps and ir.UnaryOps (go generate ./cuda).
package main
