package exepages

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// exeMapping is one mapping of the executable, as /proc/PID/smaps
// describes it; sizes are in bytes.
type exeMapping struct {
	start, end uintptr
	// offset is where the mapping starts in the file.
	offset   uintptr
	writable bool
	// anon counts the mapping's private copies of pages (written to, or
	// by a debugger's breakpoints): unmapped, they would be lost.
	anon int64
	rss  int64
}

// parseExeMappings reads the mappings of the file exe from smaps.
func parseExeMappings(r io.Reader, exe string) ([]exeMapping, error) {
	var maps []exeMapping
	cur := -1
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if m, ok := parseMappingHeader(fields); ok {
			cur = -1
			if len(fields) >= 6 && fields[5] == exe {
				maps = append(maps, m)
				cur = len(maps) - 1
			}
			continue
		}
		if cur < 0 || len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "Anonymous:":
			maps[cur].anon += kb << 10
		case "Rss:":
			maps[cur].rss += kb << 10
		}
	}
	return maps, sc.Err()
}

// parseMappingHeader parses a mapping's first line, "start-end perms
// offset dev inode [path]".
func parseMappingHeader(fields []string) (exeMapping, bool) {
	if len(fields) < 5 || strings.HasSuffix(fields[0], ":") {
		return exeMapping{}, false
	}
	lo, hi, ok := strings.Cut(fields[0], "-")
	if !ok {
		return exeMapping{}, false
	}
	start, err1 := strconv.ParseUint(lo, 16, 64)
	end, err2 := strconv.ParseUint(hi, 16, 64)
	offset, err3 := strconv.ParseUint(fields[2], 16, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return exeMapping{}, false
	}
	return exeMapping{start: uintptr(start), end: uintptr(end), offset: uintptr(offset),
		writable: strings.Contains(fields[1], "w")}, true
}
