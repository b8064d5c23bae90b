package e2e

import (
	"os"
	"path/filepath"
	"strings"
)

// podman is Debian's podman for one test: its storage, run state,
// configuration, network configuration and credentials all in temp
// directories, so the machine's /etc/containers settings beyond the
// image policy and its /var/lib/containers are never used or changed. It
// runs in the node's network namespace (the registry is on that
// namespace's 127.0.0.1:5000), and its builds' RUN steps get no network
// at all (containers.conf netns "none": nothing to set up, and pip finds
// flask installed).
type podman struct {
	tu     *tutorial
	dir    string
	global []string
	env    []string
}

func newPodman(tu *tutorial) *podman {
	t := tu.t
	t.Helper()
	dir := t.TempDir()
	t.Cleanup(func() { unmountUnder(t, dir) }) // overlay mounts a failed build may leave
	p := func(s string) string { return filepath.Join(dir, s) }
	for _, d := range []string{"root", "runroot", "tmp", "networks"} {
		if err := os.MkdirAll(p(d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		// runc, not crun: crun refuses this machine's hybrid cgroups.
		"containers.conf": "[containers]\nnetns = \"none\"\n\n[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"none\"\nruntime = \"runc\"\n",
		"storage.conf":    "[storage]\ndriver = \"overlay\"\ngraphroot = \"" + p("root") + "\"\nrunroot = \"" + p("runroot") + "\"\n",
		// No search registries: FROM python:3.11-slim is found in the
		// local store, and nothing is looked up elsewhere.
		"registries.conf": "unqualified-search-registries = []\nshort-name-mode = \"permissive\"\n",
	}
	for name, content := range files {
		if err := os.WriteFile(p(name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &podman{
		tu: tu, dir: dir,
		global: []string{"--root", p("root"), "--runroot", p("runroot"), "--tmpdir", p("tmp"),
			"--network-config-dir", p("networks"), "--cgroup-manager", "cgroupfs", "--events-backend", "none", "--runtime", "runc"},
		env: []string{
			"CONTAINERS_CONF=" + p("containers.conf"),
			"CONTAINERS_STORAGE_CONF=" + p("storage.conf"),
			"CONTAINERS_REGISTRIES_CONF=" + p("registries.conf"),
			"REGISTRY_AUTH_FILE=" + p("auth.json"),
			"TMPDIR=" + p("tmp"),
		},
	}
}

// must runs `podman ARGS` (login and push given the cluster CA with
// --cert-dir) and fails the test if it fails.
func (pm *podman) must(stdin string, args ...string) string {
	t := pm.tu.t
	t.Helper()
	full := append(append([]string{}, pm.global...), args[0])
	if args[0] == "login" || args[0] == "push" {
		full = append(full, "--cert-dir", pm.tu.caDir())
	}
	full = append(full, args[1:]...)
	out, err := pm.tu.user(pm.env, stdin, "unshare", privateHostDirs(pm.dir, "podman", full...)...)
	if err != nil {
		t.Fatalf("podman %s: %v\n%s\nserver log:\n%s", strings.Join(args, " "), err, out, pm.tu.proc.Tail())
	}
	t.Logf("$ podman %s\n%s", strings.Join(args, " "), out)
	return out
}

// privateHostDirs runs name args in a mount namespace of its own where
// /run is an empty tmpfs and /var/lib an overlay whose writes land in
// dir: rootful podman and skopeo write some files at fixed paths no flag
// moves (netavark's /run/containers/networks/ipam.db, containers/image's
// /var/lib/containers/cache/blob-info-cache-v1.boltdb), and the machine's
// must stay untouched. It returns unshare's arguments.
func privateHostDirs(dir, name string, args ...string) []string {
	upper, work := filepath.Join(dir, "varlib-upper"), filepath.Join(dir, "varlib-work")
	script := `set -e
mkdir -p "$1" "$2"
mount -t tmpfs tmpfs /run
mount -t overlay overlay -o lowerdir=/var/lib,upperdir="$1",workdir="$2" /var/lib
shift 2
exec "$@"`
	return append([]string{"-m", "--propagation", "private", "sh", "-c", script, "sh", upper, work, name}, args...)
}
