package harness

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// EstablishedConns counts the established TCP connections on this
// machine whose remote end is the given local port: the clients'
// connections to a server listening there, from any process.
func EstablishedConns(port int) (int, error) {
	n := 0
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return 0, err
		}
		c, err := countEstablished(f, port)
		f.Close()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", file, err)
		}
		n += c
	}
	return n, nil
}

// tcpEstablished is the kernel's TCP_ESTABLISHED state, as /proc/net/tcp
// prints it.
const tcpEstablished = "01"

func countEstablished(r io.Reader, port int) (int, error) {
	n := 0
	sc := bufio.NewScanner(r)
	sc.Scan() // header
	for sc.Scan() {
		// "  0: 0100007F:A1B2 0100007F:1F90 01 ..."
		f := strings.Fields(sc.Text())
		if len(f) < 4 {
			continue
		}
		_, remPort, ok := strings.Cut(f[2], ":")
		if !ok {
			return 0, fmt.Errorf("bad remote address %q", f[2])
		}
		p, err := strconv.ParseUint(remPort, 16, 16)
		if err != nil {
			return 0, fmt.Errorf("bad remote port %q", remPort)
		}
		if int(p) == port && f[3] == tcpEstablished {
			n++
		}
	}
	return n, sc.Err()
}
