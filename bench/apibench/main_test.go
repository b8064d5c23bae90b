package apibench

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/kemudi/kemudi/bench/harness"
)

var (
	buildOnce sync.Once
	bin       string
	cleanBin  = func() {}
	buildErr  error
)

// kemudiBinary is $KEMUDI_BIN or one binary built for this test process.
func kemudiBinary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		bin, cleanBin, buildErr = harness.Binary(context.Background(), "")
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	cleanBin()
	if code != 0 {
		fmt.Fprintln(os.Stderr, "apibench: failed")
	}
	os.Exit(code)
}
