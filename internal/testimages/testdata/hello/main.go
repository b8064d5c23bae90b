// Command hello prints its arguments; the program of StaticGo's test.
package main

import (
	"fmt"
	"os"
	"strings"
)

func main() {
	fmt.Println("hello", strings.Join(os.Args[1:], " "))
}
