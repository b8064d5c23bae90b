package supervisor

// Config is what the keeper and the supervisor run with: their flags.
type Config struct {
	// Root holds the supervisor's state, its socket and its log.
	Root string
	// OCIRuntime is the path of an OCI runtime binary (runc, crun) that
	// creates the containers; "" = libcontainer, in the supervisor.
	OCIRuntime string
	// Started, if set, is called once the keeper has started its
	// supervisor, or once the supervisor serves.
	Started func()
}

// args are the command-line arguments of kemudi-supervisor's mode.
func (c Config) args(mode string) []string {
	a := []string{mode, "--root", c.Root}
	if c.OCIRuntime != "" {
		a = append(a, "--oci-runtime", c.OCIRuntime)
	}
	return a
}
