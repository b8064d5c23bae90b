// A pod's pause process (`kemudi-supervisor pause`, nothing more) runs here,
// in a constructor, before the Go runtime starts: it only reaps the orphans
// of its PID namespace and waits for SIGTERM or SIGINT, which needs none of
// Go's start (its threads, heap and the packages' init), and one is kept
// per pod. The supervisor's Go Pause still serves the user namespace's
// holder, which takes more arguments.

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

// glibc gives constructors the program's arguments, static builds included.
__attribute__((constructor)) static void kemudi_pause(int argc, char **argv)
{
	if (argc != 2 || argv == NULL || strcmp(argv[1], "pause") != 0)
		return;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	// Blocked, they wait for sigwait: as its namespace's init, the process
	// would otherwise ignore them (a handler-less init gets no signal from
	// inside its namespace).
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return; // Go's Pause does the same
	for (;;) {
		int sig;
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig != SIGCHLD)
			_exit(0);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
}
