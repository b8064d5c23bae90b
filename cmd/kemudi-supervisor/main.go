// Command kemudi-supervisor is the node's container supervisor, small so
// that it starts fast and stays light: libcontainer re-executes it as every
// container's init. kemudi embeds it and starts it (internal/cri/supervisor
// Connect); it is not meant to be run by hand.
//
//	kemudi-supervisor keeper --root DIR [--oci-runtime BIN]   the supervisor's parent, started by Connect
//	kemudi-supervisor serve --root DIR [--oci-runtime BIN]    the supervisor, started by the keeper
//	kemudi-supervisor pause               init of a pod's shared PID namespace
//	kemudi-supervisor init                a container's init (libcontainer)
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	// Lets libcontainer's cgroup managers apply device rules.
	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/runc/libcontainer"
	// The C constructor that sets up namespaces before a container's init
	// starts the Go runtime.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
	"github.com/sirupsen/logrus"

	"github.com/kemudi/kemudi/internal/cri/supervisor"
	"github.com/kemudi/kemudi/internal/exepages"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		libcontainer.Init() // does not return
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: kemudi-supervisor keeper|serve|pause --root DIR")
		return 2
	}
	mode := args[0]
	if mode == "pause" {
		return supervisor.Pause(args[1:])
	}
	fs := flag.NewFlagSet(mode, flag.ContinueOnError)
	root := fs.String("root", "", "state directory")
	ociRuntime := fs.String("oci-runtime", "", "an OCI runtime binary that creates the containers instead of libcontainer")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *root == "" {
		fmt.Fprintln(os.Stderr, "--root is required")
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("component", "supervisor", "mode", mode)
	// libcontainer logs through logrus; only what matters.
	logrus.SetLevel(logrus.WarnLevel)
	if os.Getenv("KEMUDI_SUPERVISOR_DEBUG") != "" {
		logrus.SetLevel(logrus.DebugLevel)
		logrus.SetFormatter(&logrus.TextFormatter{TimestampFormat: "15:04:05.000000", FullTimestamp: true})
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	cfg := supervisor.Config{Root: *root, OCIRuntime: *ociRuntime}
	var err error
	switch mode {
	case "keeper":
		stop() // the keeper handles SIGTERM itself: it stops its supervisor first
		// Where it has to be sealed, here, the supervisor it starts from
		// /proc/self/exe runs from the same memfd: one copy, whose pages
		// both share.
		if err := supervisor.RunSealed(*root); err != nil {
			log.Warn("running unsealed: libcontainer copies the binary per container", "err", err)
		}
		cfg.Started = func() { trim(context.Background(), log) }
		err = supervisor.RunKeeper(context.Background(), cfg, log)
	case "serve":
		if err := supervisor.RunSealed(*root); err != nil {
			log.Warn("running unsealed: libcontainer copies the binary per container", "err", err)
		}
		// A CPU profile of the supervisor, for the benchmarks.
		if p := os.Getenv("KEMUDI_SUPERVISOR_CPUPROFILE"); p != "" {
			if f, err := os.Create(p); err == nil {
				pprof.StartCPUProfile(f)
				defer pprof.StopCPUProfile()
			}
		}
		cfg.Started = func() { trim(ctx, log) }
		err = supervisor.Serve(ctx, cfg, log)
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q\n", mode)
		return 2
	}
	if err != nil {
		log.Error("exit", "err", err)
		return 1
	}
	return 0
}

// trim gives back what start-up alone touched (the package
// initialisation of libcontainer, seccomp, cgroups; state loaded), then
// what bursts of work leave, until ctx ends: the keeper and the supervisor
// run for the life of the node, and mostly wait.
func trim(ctx context.Context, log *slog.Logger) {
	if _, err := exepages.Release(); err != nil {
		log.Warn("release start-up pages", "err", err)
	}
	go exepages.TrimWhenIdle(ctx, log)
}
