//go:build linux

package main

import "syscall"

// pseudoFS names the kernel's file system path lies on (/proc, /sys, /dev/pts, cgroups), whose
// files open for writing but are not a place for output, or "" for any other.
func pseudoFS(path string) string {
	var st syscall.Statfs_t
	if syscall.Statfs(path, &st) != nil {
		return ""
	}
	switch st.Type {
	case 0x9fa0:
		return "procfs (/proc)"
	case 0x62656572:
		return "sysfs (/sys)"
	case 0x1cd1:
		return "devpts (/dev/pts)"
	case 0x27e0eb, 0x63677270:
		return "cgroupfs"
	}
	return ""
}
