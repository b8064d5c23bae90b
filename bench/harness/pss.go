package harness

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// PSS is a process's proportional set (smaps_rollup): its pages, those
// shared with other processes (e.g. an executable other processes map too)
// divided among them. RSS counts shared pages whole; both are reported.
type PSS struct {
	Total, Anon, File uint64
}

func (p PSS) String() string {
	return fmt.Sprintf("pss %.1f MiB (anon %.1f, file %.1f)", MiB(p.Total), MiB(p.Anon), MiB(p.File))
}

// ReadPSS reads /proc/pid/smaps_rollup.
func ReadPSS(pid int) (PSS, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return PSS{}, err
	}
	defer f.Close()
	return parseRollup(f)
}

// parseRollup reads "Pss:", "Pss_Anon:" and "Pss_File:" (kB).
func parseRollup(r io.Reader) (PSS, error) {
	var p PSS
	fields := map[string]*uint64{"Pss:": &p.Total, "Pss_Anon:": &p.Anon, "Pss_File:": &p.File}
	found := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || fields[f[0]] == nil {
			continue
		}
		kb, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return PSS{}, fmt.Errorf("smaps_rollup %q: %w", sc.Text(), err)
		}
		*fields[f[0]] = kb << 10
		found++
	}
	if err := sc.Err(); err != nil {
		return PSS{}, err
	}
	if found != len(fields) {
		return PSS{}, fmt.Errorf("smaps_rollup: %d of Pss, Pss_Anon, Pss_File", found)
	}
	return p, nil
}
