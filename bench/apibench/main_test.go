package apibench

import (
	"fmt"
	"os"
	"testing"

	"github.com/kemudi/kemudi/bench/harness"
)

// kemudiBinary is $KEMUDI_BIN or one binary built for this test process.
func kemudiBinary(tb testing.TB) string {
	tb.Helper()
	bin, err := harness.SharedBinary()
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	harness.CleanupSharedBinary()
	if code != 0 {
		fmt.Fprintln(os.Stderr, "apibench: failed")
	}
	os.Exit(code)
}
