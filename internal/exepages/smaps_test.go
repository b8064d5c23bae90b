package exepages

import (
	"strings"
	"testing"
)

// The mappings of the executable, with their private copies of pages
// (not the pages a binary just written holds dirty in the page cache,
// which smaps counts as Private_Dirty: unmapped, they stay cached).
func TestParseExeMappings(t *testing.T) {
	const exe = "/usr/bin/kemudi"
	smaps := `00400000-02089000 r--p 00000000 fe:00 1234                               /usr/bin/kemudi
Size:              29476 kB
Rss:                 120 kB
Private_Dirty:         0 kB
02089000-059b1000 r-xp 01c89000 fe:00 1234                               /usr/bin/kemudi
Size:              58528 kB
Rss:               24668 kB
Shared_Dirty:          0 kB
Private_Dirty:       512 kB
Anonymous:             0 kB
0a5a4000-0a705000 rw-p 0a1a4000 fe:00 1234                               /usr/bin/kemudi
Rss:                1412 kB
Private_Dirty:       300 kB
Anonymous:           300 kB
7f18cf224000-7f18cf37a000 r-xp 00028000 fe:00 99                         /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                 816 kB
2511eec00000-2511f0400000 rw-p 00000000 00:00 0
Rss:               15244 kB
VmFlags: rd wr mr mw me ac sd
`
	got, err := parseExeMappings(strings.NewReader(smaps), exe)
	if err != nil {
		t.Fatal(err)
	}
	want := []exeMapping{
		{start: 0x400000, end: 0x2089000, rss: 120 << 10},
		{start: 0x2089000, end: 0x59b1000, offset: 0x1c89000, rss: 24668 << 10},
		{start: 0xa5a4000, end: 0xa705000, offset: 0xa1a4000, writable: true, anon: 300 << 10, rss: 1412 << 10},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d mappings %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("mapping %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}
