package harness

import "testing"

// BinaryWithSupervisor is SharedBinary, failing tb if it cannot be built.
// The binary embeds the kemudi-supervisor of the current sources (KEMUDI_BIN
// is trusted to, as the Makefile builds it).
func BinaryWithSupervisor(tb testing.TB) string {
	tb.Helper()
	bin, err := SharedBinary()
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}
