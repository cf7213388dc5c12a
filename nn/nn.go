// Package nn holds the ops of the Transformer, each op's forward and
// backward side by side (llm.c style): plain loops over flat row-major
// []float32 slices with shapes passed as ints. Matrix products go through
// kernels.Gemm, hot vector loops through the kernels' vector primitives.
//
// Conventions. Forward functions overwrite their outputs. Backward functions
// ADD into their gradient outputs (dx += ..., dw += ...), so callers zero
// gradients once per step and several uses of one tensor accumulate; a nil
// gradient slice means "not wanted" and is skipped. Shape mismatches are
// programmer errors and panic.
//
// The small layer types (Linear, LayerNorm, FeedForward) bundle weights with
// their ops so the encoder, decoder and trainer share one implementation.
//
// For inference, LowLinear multiplies a Linear's weight at reduced
// precision (f16, or int8 with int8 products), and Weights builds the
// layers from a model read with StoredReadOptions: a file's int8 and f16
// matrices stay in memory as stored, in the layout the products read, and
// become float32 only when a float32 path first needs them.
package nn

import "fmt"

// Getter is where layers read their weights from; *modelfile.Model is one.
// Get returns the data of the named tensor, which must have exactly shape.
type Getter interface {
	Get(name string, shape ...int) ([]float32, error)
}

// need panics with a message naming op when a slice is shorter than n.
func need(op, what string, s []float32, n int) {
	if len(s) < n {
		panic(fmt.Sprintf("nn: %s: %s has %d values, need %d", op, what, len(s), n))
	}
}
