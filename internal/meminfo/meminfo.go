package meminfo

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Available returns the bytes of memory available to a new job: the least of what the machine
// has available (MemAvailable), what this process's cgroup still allows (memory.max less
// memory.current, cgroup v2) and what its address-space limit (RLIMIT_AS, ulimit -v) leaves
// beside what it has mapped; false where the system says none of them.
func Available() (int64, bool) {
	avail, ok := int64(math.MaxInt64), false
	for _, probe := range []func() (int64, bool){machineAvailable, cgroupAvailable, addressSpaceAvailable} {
		if n, has := probe(); has {
			avail, ok = min(avail, n), true
		}
	}
	return avail, ok
}

// machineAvailable is MemAvailable from /proc/meminfo.
func machineAvailable() (int64, bool) {
	raw, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	return parse(raw)
}

// cgroupAvailable is what the memory cgroup of this process still allows: memory.max less
// memory.current (cgroup v2), or memory.limit_in_bytes less memory.usage_in_bytes (v1);
// false without a limit.
func cgroupAvailable() (int64, bool) {
	raw, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return 0, false
	}
	avail, ok := int64(math.MaxInt64), false
	for _, line := range strings.Split(string(raw), "\n") {
		var dir, limitFile, usedFile string
		if path, v2 := strings.CutPrefix(line, "0::"); v2 {
			dir, limitFile, usedFile = filepath.Join("/sys/fs/cgroup", filepath.Clean("/"+path)), "memory.max", "memory.current"
		} else if _, path, v1 := strings.Cut(line, ":memory:"); v1 {
			dir, limitFile, usedFile = filepath.Join("/sys/fs/cgroup/memory", filepath.Clean("/"+path)), "memory.limit_in_bytes", "memory.usage_in_bytes"
		} else {
			continue
		}
		limit, errL := os.ReadFile(filepath.Join(dir, limitFile))
		used, errU := os.ReadFile(filepath.Join(dir, usedFile))
		if errL != nil || errU != nil {
			continue
		}
		if n, has := parseCgroup(limit, used); has {
			avail, ok = min(avail, n), true
		}
	}
	return avail, ok
}

// parseCgroup is memory.max less memory.current, from their texts ("max": no limit).
func parseCgroup(limit, used []byte) (int64, bool) {
	l, errL := strconv.ParseInt(strings.TrimSpace(string(limit)), 10, 64)
	u, errU := strconv.ParseInt(strings.TrimSpace(string(used)), 10, 64)
	if errL != nil || errU != nil || l < 0 || u < 0 {
		return 0, false
	}
	return max(l-u, 0), true
}

// addressSpaceAvailable is what RLIMIT_AS (ulimit -v) leaves beside the address space this
// process has mapped (VmSize); false without a limit.
func addressSpaceAvailable() (int64, bool) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_AS, &rl); err != nil || rl.Cur >= math.MaxInt64 { // RLIM_INFINITY is all ones
		return 0, false
	}
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return int64(rl.Cur), true
	}
	return max(int64(rl.Cur)-vmSize(raw), 0), true
}

// vmSize reads VmSize ("VmSize:  123456 kB") from the text of /proc/self/status, in bytes
// (0 when it is not there).
func vmSize(raw []byte) int64 {
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmSize:"); ok {
			f := strings.Fields(rest)
			if len(f) != 2 {
				return 0
			}
			if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil && kb >= 0 {
				return kb * 1024
			}
		}
	}
	return 0
}

// parse reads MemAvailable ("MemAvailable:   23456789 kB") from the text of /proc/meminfo.
func parse(raw []byte) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, false
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 || kb > 1<<50 {
			return 0, false
		}
		return kb * 1024, true
	}
	return 0, false
}
