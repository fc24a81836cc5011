// Package meminfo is graphtrain's one memory probe. Available tells how much memory the
// machine can give a new job: Linux's MemAvailable from /proc/meminfo, the kernel's own
// estimate of what can be allocated without swapping, or less where this process's cgroup
// (memory.max) or its address-space limit (RLIMIT_AS, ulimit -v) allows less. graphtrain compares it with a job's
// estimate before allocating, so that a job too large for the machine is refused with a
// message instead of dying in the Go runtime. Resident and PeakResident tell how much this
// process holds now and has held at most, for the figures training and bench print.
package meminfo
