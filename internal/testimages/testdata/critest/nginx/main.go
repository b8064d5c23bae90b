// Command nginx stands in for nginx in the images critest pulls: it names
// itself as nginx's master process does ("nginx: master process ..." in
// /proc/PID/cmdline, comm "nginx"), writes its pid to /var/run/nginx.pid
// and serves /usr/share/nginx/html on $PORT (default 80) until SIGTERM.
package main

import (
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

const title = "nginx: master process nginx -g daemon off;"

func main() {
	if os.Args[0] != title {
		// Exec'd again under the title, from its own path so that comm
		// stays "nginx" (pidof finds it by that).
		self, err := os.Executable()
		if err == nil {
			err = syscall.Exec(self, []string{title}, os.Environ())
		}
		fmt.Fprintln(os.Stderr, "nginx: set process title:", err)
		os.Exit(1)
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "80"
	}
	if err := os.WriteFile("/var/run/nginx.pid", []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "nginx:", err)
		os.Exit(1)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	go func() {
		<-stop
		os.Exit(0)
	}()
	fs := http.FileServer(http.Dir("/usr/share/nginx/html"))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("%s %s %s\n", r.RemoteAddr, r.Method, strings.ReplaceAll(r.URL.Path, "\n", ""))
		fs.ServeHTTP(w, r)
	})
	fmt.Println("nginx: serving on port", port)
	if err := http.ListenAndServe(":"+port, h); err != nil {
		fmt.Fprintln(os.Stderr, "nginx:", err)
		os.Exit(1)
	}
}
