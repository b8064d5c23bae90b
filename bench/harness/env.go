package harness

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
)

// EnvInts sets *dst from each environment variable named that is set,
// for `go test -bench` and `make bench`; a set variable must hold a
// positive integer.
func EnvInts(vars map[string]*int) error {
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		s := os.Getenv(name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return fmt.Errorf("%s=%q: want a positive integer", name, s)
		}
		*vars[name] = n
	}
	return nil
}
