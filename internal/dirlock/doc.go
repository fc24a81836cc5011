// Package dirlock gives one process at a time the right to write a directory: an exclusive
// flock(2) on a lock file inside it, which names the holder's process id. The kernel drops
// the lock when the holder exits, however it exits, so a killed run never leaves a stale
// lock behind; only the file, which the next holder takes over.
//
// Acquire fails at once (it never waits) with an *ErrHeld naming the holder.
package dirlock
