package meminfo

import "testing"

func TestParse(t *testing.T) {
	for text, want := range map[string]int64{
		"MemTotal:       32000000 kB\nMemFree:  100 kB\nMemAvailable:   24000000 kB\n": 24000000 * 1024,
		"MemTotal: 1 kB\n":        -1,
		"MemAvailable: lots kB\n": -1,
		"MemAvailable: 12 MB\n":   -1,
	} {
		got, ok := parse([]byte(text))
		if (want < 0 && ok) || (want >= 0 && (!ok || got != want)) {
			t.Errorf("%q: %d %v, want %d", text, got, ok, want)
		}
	}
	if n, ok := Available(); ok && n <= 0 {
		t.Errorf("Available() = %d", n)
	}
}

func TestParseStatm(t *testing.T) {
	for text, want := range map[string]int64{
		"12345 678 90 1 0 2 0\n": 678 * 4096,
		"12345\n":                -1,
		"a b c\n":                -1,
		"1 -5 0 0 0 0 0\n":       -1,
	} {
		got, ok := parseStatm([]byte(text), 4096)
		if (want < 0 && ok) || (want >= 0 && (!ok || got != want)) {
			t.Errorf("%q: %d %v, want %d", text, got, ok, want)
		}
	}
}

func TestResidentAndPeak(t *testing.T) {
	now, ok1 := Resident()
	peak, ok2 := PeakResident()
	if !ok1 || !ok2 {
		t.Skipf("no figures here: Resident %v, PeakResident %v", ok1, ok2)
	}
	if now <= 0 || peak < now/2 {
		t.Errorf("resident %d bytes, peak %d", now, peak)
	}
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = 1
	}
	if after, _ := PeakResident(); after < 64<<20 {
		t.Errorf("peak %d bytes after touching 64 MiB", after)
	}
	_ = buf[len(buf)-1]
}

func TestParseCgroupAndVmSize(t *testing.T) {
	for _, c := range []struct {
		limit, used string
		want        int64
		ok          bool
	}{
		{"max\n", "1000\n", 0, false},
		{"4096\n", "1000\n", 3096, true},
		{"1000\n", "4096\n", 0, true},
		{"", "1", 0, false},
	} {
		if got, ok := parseCgroup([]byte(c.limit), []byte(c.used)); got != c.want || ok != c.ok {
			t.Errorf("parseCgroup(%q, %q) = %d, %v; want %d, %v", c.limit, c.used, got, ok, c.want, c.ok)
		}
	}
	if got := vmSize([]byte("Name:\tx\nVmPeak:\t  9 kB\nVmSize:\t  2048 kB\n")); got != 2048*1024 {
		t.Errorf("vmSize: %d", got)
	}
	if got := vmSize([]byte("VmSize:\n")); got != 0 {
		t.Errorf("vmSize of an empty field: %d", got)
	}
}
