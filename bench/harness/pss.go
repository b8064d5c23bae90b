package harness

import (
	"fmt"
	"io"
	"os"
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

// parseRollup reads "Pss:", "Pss_Anon:" and "Pss_File:".
func parseRollup(r io.Reader) (PSS, error) {
	var p PSS
	found, err := scanKB(r, map[string]*uint64{"Pss": &p.Total, "Pss_Anon": &p.Anon, "Pss_File": &p.File})
	if err != nil {
		return PSS{}, fmt.Errorf("smaps_rollup: %w", err)
	}
	if found != 3 {
		return PSS{}, fmt.Errorf("smaps_rollup: %d of Pss, Pss_Anon, Pss_File", found)
	}
	return p, nil
}
