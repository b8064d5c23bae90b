package testimages

import (
	"archive/tar"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The programs of critest's nginx and nonewprivs images, built with
// BuildStaticGo from a copy of their source (the module cache may hold
// this package read-only).
//
//go:embed testdata/critest
var critestPrograms embed.FS

// CRITestRegistries are the registries critest (cri-tools v1.37) names its
// images on. A registries.yaml that mirrors each of them to one Registry
// holding CRITestImages (CRITestRegistriesYAML) serves them all with no
// internet.
func CRITestRegistries() []string {
	return []string{"registry.k8s.io", "k8s.gcr.io", "gcr.io"}
}

// CRITestRegistriesYAML is a registries.yaml (k3s's format, kemudi
// runtime --registry-config) mirroring CRITestRegistries to the plain-HTTP
// registry at host ("127.0.0.1:port").
func CRITestRegistriesYAML(host string) string {
	var b strings.Builder
	b.WriteString("mirrors:\n")
	for _, r := range CRITestRegistries() {
		fmt.Fprintf(&b, "  %s:\n    endpoint: [\"http://%s\"]\n", r, host)
	}
	return b.String()
}

// PushCRITestImages stores CRITestImages in r under their paths.
func (r *Registry) PushCRITestImages() error {
	images, err := CRITestImages()
	if err != nil {
		return err
	}
	refs := make([]string, 0, len(images))
	for ref := range images {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	for _, ref := range refs {
		if _, err := r.Push(ref, images[ref]); err != nil {
			return err
		}
	}
	return nil
}

// CRITestImages are the images critest pulls by fixed names, keyed by
// repository path and tag (the name without its registry), made here from
// busybox-static so that they behave as critest expects:
//
//   - e2e-test-images/busybox:1.29-2, the default image: busybox with
//     pgrep and ipcs (shell scripts over ps and /proc/sysvipc, which
//     busybox-static lacks);
//   - e2e-test-images/nginx:1.14-2 and k8s-staging-cri-tools/hostnet-nginx-<arch>:
//     a web server that looks like nginx's master process (testdata/critest/nginx)
//     on port 80, and 12003 for the host-network one;
//   - e2e-test-images/httpd:2.4.39-4: busybox httpd on port 80, saying "httpd";
//   - e2e-test-images/nonewprivs:1.3: a setuid-root program printing its
//     effective uid (testdata/critest/nnp);
//   - pause:3.9 (registry.k8s.io and k8s.gcr.io: one image);
//   - k8s-staging-cri-tools/test-image-*: distinct images for the image
//     service's specs, one image under three tags, and images whose USER
//     is a uid, a name, uid:group and name:group, and a user with a group
//     defined in the image.
//
// Not made: test-image-digest@sha256:9700f9a2…, whose manifest digest
// cannot be reproduced without the original.
func CRITestImages() (map[string]v1.Image, error) {
	base, err := critestBusyboxFiles()
	if err != nil {
		return nil, err
	}
	baseLayer, err := Layer(base...)
	if err != nil {
		return nil, err
	}
	nginx, err := critestProgram("nginx")
	if err != nil {
		return nil, err
	}
	nnp, err := critestProgram("nnp")
	if err != nil {
		return nil, err
	}
	path := "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	shell := v1.Config{Cmd: []string{"sh"}, Env: []string{path}}
	withFiles := func(cfg v1.Config, files ...File) (v1.Image, error) {
		if len(files) == 0 {
			return Image(cfg, baseLayer)
		}
		l, err := Layer(files...)
		if err != nil {
			return nil, err
		}
		return Image(cfg, baseLayer, l)
	}
	out := map[string]v1.Image{}
	add := func(refs []string, cfg v1.Config, files ...File) {
		if err != nil {
			return
		}
		var img v1.Image
		if img, err = withFiles(cfg, files...); err != nil {
			err = fmt.Errorf("critest image %s: %w", refs[0], err)
			return
		}
		for _, r := range refs {
			out[r] = img
		}
	}
	const staging = "k8s-staging-cri-tools/"
	page := File{Path: "usr/share/nginx/html/index.html", Content: "<html><body><h1>Welcome to nginx!</h1></body></html>\n"}
	nginxFiles := []File{
		{Path: "usr/sbin/nginx", Mode: 0o755, Content: nginx},
		{Path: "var/run", Type: tar.TypeDir},
		{Path: "usr/share/nginx", Type: tar.TypeDir},
		{Path: "usr/share/nginx/html", Type: tar.TypeDir},
		page,
	}
	add([]string{"e2e-test-images/busybox:1.29-2"}, shell)
	add([]string{"e2e-test-images/nginx:1.14-2"}, v1.Config{Cmd: []string{"nginx", "-g", "daemon off;"}, Env: []string{path}, ExposedPorts: map[string]struct{}{"80/tcp": {}}}, nginxFiles...)
	add([]string{staging + "hostnet-nginx-" + runtime.GOARCH + ":latest"},
		v1.Config{Cmd: []string{"nginx", "-g", "daemon off;"}, Env: []string{path, "PORT=12003"}}, nginxFiles...)
	add([]string{"e2e-test-images/httpd:2.4.39-4"}, v1.Config{Cmd: []string{"httpd-foreground"}, Env: []string{path}},
		File{Path: "usr/local/bin/httpd-foreground", Mode: 0o755, Content: "#!/bin/sh\n# busybox httpd in the foreground, as httpd's image runs httpd\necho \"httpd: serving /usr/local/apache2/htdocs on port 80\"\nexec httpd -f -v -p 80 -h /usr/local/apache2/htdocs\n"},
		File{Path: "usr/local/apache2", Type: tar.TypeDir},
		File{Path: "usr/local/apache2/htdocs", Type: tar.TypeDir},
		File{Path: "usr/local/apache2/htdocs/index.html", Content: "<html><body><h1>It works!</h1></body></html>\n"})
	add([]string{"e2e-test-images/nonewprivs:1.3"}, v1.Config{Entrypoint: []string{"/usr/local/bin/nnp"}, Env: []string{path}},
		File{Path: "usr/local/bin/nnp", Mode: 0o4755, Content: nnp})
	add([]string{"pause:3.9"}, v1.Config{Entrypoint: []string{"/bin/sleep", "infinity"}, Env: []string{path}})

	for _, r := range []string{"test-image-latest:latest", "test-image-tag:test", "test-image-tag:all", "test-image-1:latest", "test-image-2:latest", "test-image-3:latest"} {
		add([]string{staging + r}, shell, File{Path: strings.ReplaceAll(r, ":", "-"), Content: r + "\n"})
	}
	add([]string{staging + "test-image-tags:1", staging + "test-image-tags:2", staging + "test-image-tags:3"}, shell,
		File{Path: "test-image-tags", Content: "test-image-tags\n"})
	wwwData := []File{
		{Path: "etc/passwd", Content: basePasswd + "www-data:x:33:33:www-data:/var/www:/bin/false\n"},
		{Path: "etc/group", Content: "root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\n"},
	}
	for _, u := range []struct{ repo, user string }{
		{"test-image-user-uid", "1002"},
		{"test-image-user-username", "www-data"},
		{"test-image-user-uid-group", "1003:1003"},
		{"test-image-user-username-group", "www-data:www-data"},
	} {
		add([]string{staging + u.repo + ":latest"}, v1.Config{Cmd: []string{"sh"}, Env: []string{path}, User: u.user}, wwwData...)
	}
	add([]string{staging + "test-image-predefined-group:latest"}, v1.Config{Cmd: []string{"sh"}, Env: []string{path}, User: "1000"},
		File{Path: "etc/passwd", Content: basePasswd + "default-user:x:1000:1000::/home/default-user:/bin/sh\n"},
		File{Path: "etc/group", Content: "root:x:0:\ndefault-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\nnogroup:x:65534:\n"},
		File{Path: "home/default-user", Type: tar.TypeDir, UID: 1000, GID: 1000})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// basePasswd is BusyboxFiles' /etc/passwd.
const basePasswd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"

// critestBusyboxFiles are BusyboxFiles with the two commands critest runs
// that busybox-static does not have.
func critestBusyboxFiles() ([]File, error) {
	files, err := BusyboxFiles()
	if err != nil {
		return nil, err
	}
	// Applets are hard links, as in busybox's own images: critest masks
	// /bin/ls and expects the rest of busybox to work.
	for i, f := range files {
		if f.Type == tar.TypeSymlink && f.Link == "busybox" {
			files[i].Type, files[i].Link = tar.TypeLink, "bin/busybox"
		}
	}
	return append(files,
		File{Path: "bin/pgrep", Mode: 0o755, Content: pgrepScript},
		File{Path: "bin/ipcs", Mode: 0o755, Content: ipcsScript},
	), nil
}

// pgrepScript is procps's pgrep PATTERN for the cases critest uses: the
// pids of processes whose name matches an extended regular expression,
// exit status 1 when there are none.
const pgrepScript = `#!/bin/sh
# pgrep PATTERN: pids of the processes whose name matches PATTERN (ERE).
if [ $# -ne 1 ]; then echo "usage: pgrep PATTERN" >&2; exit 2; fi
ps -o pid,comm | awk -v pat="$1" -v self="$$" '
	NR > 1 && $1 != self && $2 != "ps" && $2 ~ pat { print $1; n++ }
	END { exit n ? 0 : 1 }'
`

// ipcsScript is util-linux's ipcs -m: the System V shared memory segments
// of the caller's IPC namespace, from /proc/sysvipc/shm.
const ipcsScript = `#!/bin/sh
# ipcs [-m]: System V shared memory segments of this IPC namespace.
echo
echo "------ Shared Memory Segments --------"
echo "key        shmid      owner      perms      bytes      nattch     status"
awk 'NR > 1 { printf "0x%08x %-10s %-10s %-10s %-10s %-10s\n", $1, $2, $8, $3, $4, $7 }' /proc/sysvipc/shm
echo
`

// critestProgram builds testdata/critest/<name> (a main package of the
// standard library only) and returns the binary's content.
func critestProgram(name string) (string, error) {
	src, err := os.MkdirTemp("", "kemudi-critest-src-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(src)
	dir := filepath.Join(src, name)
	sub, err := fs.Sub(critestPrograms, "testdata/critest/"+name)
	if err != nil {
		return "", err
	}
	if err := os.CopyFS(dir, sub); err != nil {
		return "", fmt.Errorf("critest program %s: %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module "+name+"\n\ngo 1.22\n"), 0o644); err != nil {
		return "", err
	}
	bin, err := BuildStaticGo(dir)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
