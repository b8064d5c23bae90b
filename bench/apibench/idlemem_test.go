package apibench

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestParseRollup(t *testing.T) {
	const rollup = `55fa6a878000-7ffd8efd6000 ---p 00000000 00:00 0                          [rollup]
Rss:                4080 kB
Pss:                1001 kB
Pss_Dirty:           725 kB
Pss_Anon:            725 kB
Pss_File:            275 kB
`
	for _, c := range []struct {
		name, in string
		want     string
		err      bool
	}{
		{"rollup", rollup, "[1025024 742400 281600]", false},
		{"missing fields read as zero", "Pss: 1 kB\n", "[1024 0 0]", false},
		{"not kB", "Pss: 1 MB\n", "", true},
		{"not a number", "Pss: x kB\n", "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseRollup(strings.NewReader(c.in), "Pss", "Pss_Anon", "Pss_File")
			if (err != nil) != c.err {
				t.Fatalf("error %v, want error %v", err, c.err)
			}
			if !c.err && fmt.Sprint(got) != c.want {
				t.Errorf("got %v, want %s", got, c.want)
			}
		})
	}
	// This process's own rollup reads, with a PSS no larger than its RSS.
	pss, anon, file, err := readPSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if pss == 0 || anon+file > pss+4096 {
		t.Errorf("pss %d, anon %d, file %d", pss, anon, file)
	}
}
