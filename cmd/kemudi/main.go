// Command kemudi is the whole cluster in one binary: the control plane
// (`kemudi server`), each component alone, and the real kubectl.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}
