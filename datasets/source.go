package datasets

// Batch returns the current batch: its images X and one-hot targets Y, valid until the next
// call to Next. With it, Reset, Next and Count, *Batches is what train.Train reads
// (train.Batches); with Examples and Order, a device can also hold the whole set
// (backend.Dataset).
func (b *Batches) Batch() (x, y []float32) { return b.X, b.Y }
