// Package atomicfile replaces files and whole directories so that a crash at any instant
// leaves either the old version or the new one, never a mix.
//
// WriteFile writes one file through a temporary sibling, synced, then renamed over the old.
// ReplaceDir does the same for a directory: the caller fills a fresh sibling directory, and
// ReplaceDir swaps it in with one atomic exchange (Linux renameat2 RENAME_EXCHANGE). Clean
// removes the temporary leftovers of a process killed in the middle of either.
package atomicfile
