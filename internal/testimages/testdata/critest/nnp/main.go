// Command nnp is the program of critest's nonewprivs image: installed
// setuid root, it prints the effective uid it runs with, which is 0 unless
// no_new_privs kept the caller's.
package main

import (
	"fmt"
	"syscall"
)

func main() {
	fmt.Printf("Effective uid: %d\n", syscall.Geteuid())
}
