package job

import (
	"fmt"
	"strconv"
	"strings"
)

// Indexed jobs report sets of indexes as sorted, comma-separated
// intervals: "1,3-5,7".

// countIndexes checks an index set against completions and returns how
// many indexes it holds.
func countIndexes(s string, completions int32) (int32, error) {
	if s == "" {
		return 0, nil
	}
	var total int32
	last := int32(-1)
	for _, interval := range strings.Split(s, ",") {
		x, y, err := parseInterval(interval, completions)
		if err != nil {
			return 0, err
		}
		if last >= x {
			return 0, fmt.Errorf("non-increasing order, previous: %d, current: %d", last, x)
		}
		total += y - x + 1
		last = y
	}
	return total, nil
}

// parseInterval parses "x" or "x-y" with x < y < completions.
func parseInterval(s string, completions int32) (int32, int32, error) {
	parts := strings.Split(s, "-")
	if len(parts) > 2 {
		return 0, 0, fmt.Errorf("the fragment %q violates the requirement that an index interval can have at most two parts separated by '-'", s)
	}
	x, err := strconv.Atoi(parts[0])
	if err != nil {
		return 0, 0, fmt.Errorf("cannot convert string to integer for index: %q", parts[0])
	}
	if x >= int(completions) {
		return 0, 0, fmt.Errorf("too large index: %q", parts[0])
	}
	if len(parts) == 1 {
		return int32(x), int32(x), nil
	}
	y, err := strconv.Atoi(parts[1])
	if err != nil {
		return 0, 0, fmt.Errorf("cannot convert string to integer for index: %q", parts[1])
	}
	if y >= int(completions) {
		return 0, 0, fmt.Errorf("too large index: %q", parts[1])
	}
	if x >= y {
		return 0, 0, fmt.Errorf("non-increasing order, previous: %d, current: %d", x, y)
	}
	return int32(x), int32(y), nil
}

// indexesOverlap reports the first index two index sets share. Intervals
// that do not parse are skipped: countIndexes reports them.
func indexesOverlap(completed, failed string, completions int32) error {
	if completed == "" || failed == "" {
		return nil
	}
	type interval struct{ x, y int32 }
	parse := func(s string) []interval {
		var out []interval
		for _, part := range strings.Split(s, ",") {
			if x, y, err := parseInterval(part, completions); err == nil {
				out = append(out, interval{x, y})
			}
		}
		return out
	}
	c, f := parse(completed), parse(failed)
	for i, j := 0, 0; i < len(c) && j < len(f); {
		if c[i].x <= f[j].y && f[j].x <= c[i].y {
			return fmt.Errorf("failedIndexes and completedIndexes overlap at index: %d", max(c[i].x, f[j].x))
		}
		if c[i].x <= f[j].x {
			i++
		} else {
			j++
		}
	}
	return nil
}
