package apiserver_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestKubectlIdentities is the matrix's kubectl part: each identity runs
// the real kubectl (a fresh home each, so no discovery cache is shared)
// for a few cells, and gets what upstream 1.37's kubectl prints there.
func TestKubectlIdentities(t *testing.T) {
	f := newAuthzFixture(t)
	type run struct {
		args []string
		// ok: kubectl succeeds and stdout has every string in out; else
		// it fails and stderr has them.
		ok  bool
		out []string
		// not: strings stdout must lack.
		not []string
		// warn: strings stderr must have (warnings of a success).
		warn []string
	}
	forbiddenPods := func(user, reason string) string {
		return `Error from server (Forbidden): pods is forbidden: User "` + user + `" cannot list resource "pods" in API group "" in the namespace "team"` + reason
	}
	unauthorized := "error: You must be logged in to the server (Unauthorized)"
	// What kubectl says when discovery is refused with 401.
	unauthorizedDiscovery := "error: You must be logged in to the server (the server has asked for the client to provide credentials)"
	getPods := []string{"-n", authzNS, "get", "pods"}
	whoami := []string{"auth", "whoami"}
	canList := []string{"auth", "can-i", "--list", "-n", authzNS}
	for who, runs := range map[string][]run{
		"admin": {
			{args: getPods, ok: true, out: []string{"mine"}},
			{args: whoami, ok: true, out: []string{"root", "system:masters", "system:authenticated"}},
			{args: canList, ok: true, out: []string{"*.*", "[*]"}},
		},
		"editor": {
			{args: getPods, ok: true, out: []string{"mine"}},
			{args: whoami, ok: true, out: []string{"system:serviceaccount:team:editor", "system:serviceaccounts:team"}},
			{args: canList, ok: true, out: []string{"secrets ", "deployments.apps ", "[create delete deletecollection get list patch update watch]"}},
		},
		"viewer": {
			{args: getPods, ok: true, out: []string{"mine"}},
			{args: whoami, ok: true, out: []string{"vera", "system:authenticated"}},
			{args: canList, ok: true, out: []string{"pods ", "[get list watch]"}, not: []string{"secrets "}},
		},
		"unbound": {
			{args: getPods, out: []string{forbiddenPods("system:serviceaccount:team:ci", "")}},
			{args: whoami, ok: true, out: []string{"system:serviceaccount:team:ci"}},
			{args: canList, ok: true, out: []string{"selfsubjectreviews.authentication.k8s.io", "/api/*"}, not: []string{"pods "}},
		},
		"bootstrap": {
			{args: getPods, out: []string{forbiddenPods("system:bootstrap:abcdef", "")}},
			{args: whoami, ok: true, out: []string{"system:bootstrap:abcdef", "system:bootstrappers:kemudi:default-node-token"}},
			{args: canList, ok: true, out: []string{"certificatesigningrequests.certificates.k8s.io", "[create get list watch]"}, not: []string{"pods "}},
		},
		"node": {
			{args: getPods, out: []string{forbiddenPods("system:node:"+matrixNode, ": can only list/watch pods with spec.nodeName field selector")}},
			{args: append(getPods, "--field-selector", "spec.nodeName="+matrixNode), ok: true, out: []string{"mine"}},
			{args: whoami, ok: true, out: []string{"system:node:" + matrixNode, "system:nodes"}},
			// Upstream's Node authorizer does not list its rules.
			{args: canList, ok: true, warn: []string{"the list may be incomplete: node authorizer does not support user rule resolution"}},
		},
		"anonymous": {
			// Discovery is for the authenticated: kubectl cannot map
			// "pods" and shows the refusal (client-go renders a refused
			// discovery's Status as "unknown").
			{args: getPods, out: []string{"Error from server (Forbidden)"}},
			{args: []string{"get", "--raw", "/api/v1/namespaces/team/pods"}, out: []string{forbiddenPods("system:anonymous", "")}},
			// system:basic-user is bound to system:authenticated only.
			{args: whoami, out: []string{"error: the selfsubjectreviews API is not enabled in the cluster or you do not have permission to call it"}},
			{args: canList, out: []string{`selfsubjectrulesreviews.authorization.k8s.io is forbidden: User "system:anonymous" cannot create resource "selfsubjectrulesreviews" in API group "authorization.k8s.io" at the cluster scope`}},
			{args: []string{"get", "--raw", "/healthz"}, ok: true, out: []string{"ok"}},
			{args: []string{"get", "--raw", "/version"}, ok: true, out: []string{`"gitVersion": "v1.37.`}},
		},
		"expired-token": {
			{args: getPods, out: []string{unauthorizedDiscovery}},
			{args: whoami, out: []string{unauthorized}},
			{args: []string{"get", "--raw", "/healthz"}, out: []string{unauthorized}},
		},
		"malformed-token": {
			{args: whoami, out: []string{unauthorized}},
		},
		"foreign-cert": {
			{args: whoami, out: []string{unauthorized}},
			{args: []string{"get", "--raw", "/healthz"}, out: []string{unauthorized}},
		},
	} {
		id := f.identities[who]
		if who == "anonymous" {
			id = anonymousForKubectl(t, id)
		}
		home := t.TempDir()
		for _, r := range runs {
			t.Run(who+"/"+strings.Join(r.args, " "), func(t *testing.T) {
				stdout, stderr, err := kubectlAs(t, id, home, r.args...)
				where := stderr
				if r.ok {
					if err != nil {
						t.Fatalf("failed: %v\n%s", err, stderr)
					}
					where = stdout
				} else if err == nil {
					t.Fatalf("succeeded, want a failure:\n%s", stdout)
				}
				for _, want := range r.out {
					if !strings.Contains(where, want) {
						t.Errorf("lacks %q:\nstdout:\n%s\nstderr:\n%s", want, stdout, stderr)
					}
				}
				for _, bad := range r.not {
					if strings.Contains(stdout, bad) {
						t.Errorf("has %q:\n%s", bad, stdout)
					}
				}
				for _, want := range r.warn {
					if !strings.Contains(stderr, want) {
						t.Errorf("stderr lacks %q:\n%s", want, stderr)
					}
				}
			})
		}
	}
}

// anonymousForKubectl is id, which has no credentials, with a user name
// and no password: kubectl prompts for a user name when a kubeconfig
// names no credentials (upstream's too), and sends this one as basic
// auth, which upstream's API server, without a basic authenticator since
// 1.19, takes for no credentials: the request is anonymous.
func anonymousForKubectl(t *testing.T, id *clustertest.Identity) *clustertest.Identity {
	cfg, err := clientcmd.LoadFromFile(id.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, ai := range cfg.AuthInfos {
		ai.Username = "anonymous"
	}
	path := filepath.Join(t.TempDir(), "anonymous-kubectl.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return &clustertest.Identity{Kubeconfig: path}
}

// kubectlAs runs kubectl with id's kubeconfig and home as $HOME, and
// returns both its outputs.
func kubectlAs(t *testing.T, id *clustertest.Identity, home string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(clustertest.Binary(t), append([]string{"kubectl", "--kubeconfig", id.Kubeconfig}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+home)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}
