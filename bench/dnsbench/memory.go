package dnsbench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/kemudi/kemudi/bench/harness"
)

// PSS is a process's proportional set (smaps_rollup): its pages, those
// shared with other processes (the API server maps the same executable)
// divided among them. RSS counts shared pages whole; both are reported.
type PSS struct {
	Total, Anon, File uint64
}

func (p PSS) String() string {
	return fmt.Sprintf("pss %.1f MiB (anon %.1f, file %.1f)", harness.MiB(p.Total), harness.MiB(p.Anon), harness.MiB(p.File))
}

func readPSS(pid int) (PSS, error) {
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

// settle writes the binary's page cache back to disk. A binary built a
// moment ago has dirty page-cache pages, which an installed one has not;
// `kemudi dns` leaves mappings that show dirty pages mapped (see
// cluster.ReleaseStartupPages), so without this the benchmark would
// measure a fresh build, not an installed binary.
func settle(bin string) error {
	f, err := os.Open(bin)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", bin, err)
	}
	return nil
}
