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
