package harness

import (
	"strings"
	"testing"
	"time"
)

func TestParseStatus(t *testing.T) {
	status := `Name:	kemudi
VmPeak:	 2000000 kB
VmHWM:	   90000 kB
VmRSS:	   61440 kB
RssAnon:	   40960 kB
RssFile:	   20480 kB
RssShmem:	       0 kB
`
	m, err := parseStatus(strings.NewReader(status))
	if err != nil {
		t.Fatal(err)
	}
	want := Memory{RSS: 61440 << 10, Peak: 90000 << 10, Anon: 40960 << 10, File: 20480 << 10}
	if m != want {
		t.Errorf("parseStatus = %+v, want %+v", m, want)
	}
	if MiB(m.RSS) != 60 {
		t.Errorf("MiB(RSS) = %v, want 60", MiB(m.RSS))
	}
	if _, err := parseStatus(strings.NewReader("Name:\tzombie\n")); err == nil {
		t.Error("status without VmRSS: no error")
	}
}

func TestCountEstablished(t *testing.T) {
	tcp := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:A000 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:A001 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:1F90 0100007F:A000 01 00000000:00000000 00:00000000 00000000     0        0 4 1 0000000000000000 20 4 30 10 -1
   4: 0100007F:A002 0100007F:1F90 06 00000000:00000000 00:00000000 00000000     0        0 0 3 0000000000000000
   5: 0100007F:A003 0100007F:0050 01 00000000:00000000 00:00000000 00000000     0        0 5 1 0000000000000000 20 4 30 10 -1
`
	// 0x1F90 is 8080: two established clients; the listener, the
	// server's side, a TIME_WAIT and another port do not count.
	n, err := countEstablished(strings.NewReader(tcp), 8080)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("countEstablished = %d, want 2", n)
	}
}

func TestParseStatCPU(t *testing.T) {
	stat := "1234 (kemudi (x) y) S 1 1234 1234 0 -1 4194560 5000 0 0 0 250 75 0 0 20 0 12 0 100 0 0"
	d, err := parseStatCPU(stat)
	if err != nil {
		t.Fatal(err)
	}
	if want := 3250 * time.Millisecond; d != want {
		t.Errorf("parseStatCPU = %s, want %s", d, want)
	}
	if _, err := parseStatCPU("garbage"); err == nil {
		t.Error("malformed stat: no error")
	}
}

func TestParseStatTimesWithChildren(t *testing.T) {
	stat := "1234 (containerd-shim) S 1 1234 1234 0 -1 4194560 5000 0 0 0 250 75 30 20 20 0 12 0 100 0 0"
	for n, want := range map[int]time.Duration{2: 3250 * time.Millisecond, 4: 3750 * time.Millisecond} {
		d, err := parseStatTimes(stat, n)
		if err != nil {
			t.Fatal(err)
		}
		if d != want {
			t.Errorf("parseStatTimes(%d) = %s, want %s", n, d, want)
		}
	}
}

func TestParseProcStat(t *testing.T) {
	stat := "cpu  100 5 50 9000 40 1 4 0 0 0\ncpu0 50 2 25 4500 20 0 2 0 0 0\n"
	d, err := parseProcStat(stat)
	if err != nil {
		t.Fatal(err)
	}
	// user+nice+system+irq+softirq+steal = 160 ticks.
	if want := 1600 * time.Millisecond; d != want {
		t.Errorf("parseProcStat = %s, want %s", d, want)
	}
	if _, err := parseProcStat("intr 1 2 3\n"); err == nil {
		t.Error("no cpu line: no error")
	}
}
