package harness

import (
	"strings"
	"testing"
)

func TestParseRollup(t *testing.T) {
	const rollup = `00400000-7ffd1b5f2000 ---p 00000000 00:00 0                          [rollup]
Rss:               47504 kB
Pss:               38120 kB
Pss_Dirty:         28804 kB
Pss_Anon:          28804 kB
Pss_File:           9316 kB
Pss_Shmem:             0 kB
`
	got, err := parseRollup(strings.NewReader(rollup))
	if err != nil {
		t.Fatal(err)
	}
	if want := (PSS{Total: 38120 << 10, Anon: 28804 << 10, File: 9316 << 10}); got != want {
		t.Errorf("parseRollup = %+v, want %+v", got, want)
	}
	if _, err := parseRollup(strings.NewReader("Rss: 1 kB\n")); err == nil {
		t.Error("parseRollup without Pss lines: no error")
	}
}
