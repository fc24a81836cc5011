package meminfo

import (
	"fmt"
	"os"
	"syscall"
)

// Resident returns the bytes of this process's resident set now (/proc/self/statm), and
// false where the system does not say.
func Resident() (int64, bool) {
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	return parseStatm(raw, int64(os.Getpagesize()))
}

// parseStatm reads the resident pages, the second field of /proc/self/statm, as bytes.
func parseStatm(raw []byte, page int64) (int64, bool) {
	var size, resident int64
	if _, err := fmt.Sscan(string(raw), &size, &resident); err != nil || resident < 0 || resident > 1<<50/page {
		return 0, false
	}
	return resident * page, true
}

// PeakResident returns the largest resident set this process has had, in bytes (getrusage's
// ru_maxrss, which Linux reports in KiB), and false where the system does not say.
func PeakResident() (int64, bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil || ru.Maxrss <= 0 {
		return 0, false
	}
	return int64(ru.Maxrss) * 1024, true
}
