package audit

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/internal/auth"
)

const policyYAML = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: ["system:kube-proxy"]
  verbs: ["watch"]
- level: None
  nonResourceURLs: ["/healthz*", "/version"]
- level: RequestResponse
  userGroups: ["system:masters"]
  resources: [{group: "", resources: ["configmaps"]}]
- level: Request
  resources: [{group: "", resources: ["pods/log", "*/exec"]}, {group: apps, resources: ["deployments/*"]}]
  omitManagedFields: true
- level: Metadata
  resources: [{group: "", resources: ["secrets"], resourceNames: ["token"]}]
  omitStages: [ResponseStarted]
- level: Request
  namespaces: ["kube-system", ""]
- level: Metadata
`

func TestPolicyEvaluate(t *testing.T) {
	p, err := ParsePolicy([]byte(policyYAML), "policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ann := &auth.User{Name: "ann", Groups: []string{"system:authenticated"}}
	root := &auth.User{Name: "root", Groups: []string{"system:masters"}}
	proxy := &auth.User{Name: "system:kube-proxy"}
	res := func(u *auth.User, verb, group, resource, sub, ns, name string) auth.Attributes {
		return auth.Attributes{User: u, Verb: verb, ResourceRequest: true, APIGroup: group, Resource: resource, Subresource: sub, Namespace: ns, Name: name}
	}
	for _, tc := range []struct {
		name  string
		a     auth.Attributes
		level Level
		omit  []Stage
		mf    bool
	}{
		{"user and verb", res(proxy, "watch", "", "services", "", "", ""), LevelNone, nil, false},
		{"same user, other verb", res(proxy, "list", "", "services", "", "", ""), LevelRequest, []Stage{StageRequestReceived}, false},
		{"non-resource prefix", auth.Attributes{User: ann, Verb: "get", Path: "/healthz/etcd"}, LevelNone, nil, false},
		{"non-resource rules do not match resources", res(ann, "get", "", "version", "", "team", ""), LevelMetadata, []Stage{StageRequestReceived}, false},
		{"group", res(root, "create", "", "configmaps", "", "team", "c"), LevelRequestResponse, []Stage{StageRequestReceived}, false},
		{"group missing", res(ann, "create", "", "configmaps", "", "team", "c"), LevelMetadata, []Stage{StageRequestReceived}, false},
		{"subresource", res(ann, "get", "", "pods", "log", "team", "p"), LevelRequest, []Stage{StageRequestReceived}, true},
		{"resource alone is not its subresource", res(ann, "get", "", "pods", "", "team", "p"), LevelMetadata, []Stage{StageRequestReceived}, false},
		{"*/exec", res(ann, "create", "", "pods", "exec", "team", "p"), LevelRequest, []Stage{StageRequestReceived}, true},
		{"deployments/*", res(ann, "update", "apps", "deployments", "scale", "team", "d"), LevelRequest, []Stage{StageRequestReceived}, true},
		{"group must match", res(ann, "update", "extensions", "deployments", "scale", "team", "d"), LevelMetadata, []Stage{StageRequestReceived}, false},
		{"resourceNames", res(ann, "get", "", "secrets", "", "team", "token"), LevelMetadata, []Stage{StageRequestReceived, StageResponseStarted}, false},
		{"namespace", res(ann, "get", "", "secrets", "", "kube-system", "other"), LevelRequest, []Stage{StageRequestReceived}, false},
		{"cluster scope is the empty namespace", res(ann, "get", "", "nodes", "", "", "n1"), LevelRequest, []Stage{StageRequestReceived}, false},
		{"catch-all", auth.Attributes{User: ann, Verb: "get", Path: "/metrics"}, LevelMetadata, []Stage{StageRequestReceived}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := p.Evaluate(tc.a)
			if d.Level != tc.level {
				t.Errorf("level %s, want %s", d.Level, tc.level)
			}
			if d.Level != LevelNone && !slices.Equal(d.OmitStages, tc.omit) {
				t.Errorf("omitStages %v, want %v", d.OmitStages, tc.omit)
			}
			if d.OmitManagedFields != tc.mf {
				t.Errorf("omitManagedFields %v", d.OmitManagedFields)
			}
		})
	}
	empty, _ := ParsePolicy([]byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  users: [x]\n"), "p")
	if d := empty.Evaluate(auth.Attributes{User: ann, Verb: "get", Path: "/"}); d.Level != LevelNone {
		t.Errorf("no rule matches: %s", d.Level)
	}
}

func TestParsePolicyRefuses(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"bad level", "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Everything\n", `rules[0].level: Unsupported value: "Everything": supported values: "None", "Metadata", "Request", "RequestResponse"`},
		{"bad stage", "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [Later]\nrules:\n- level: None\n", `omitStages[0]: Unsupported value: "Later"`},
		{"mixed", "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  nonResourceURLs: [/x]\n  namespaces: [a]\n", "rules cannot apply to both regular resources and non-resource URLs"},
		{"relative URL", "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  nonResourceURLs: [healthz]\n", "non-resource URL rules must begin with a '/' character"},
		{"inner wildcard", "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  nonResourceURLs: [/a*/b]\n", "non-resource URL wildcards '*' must be the final character of the rule"},
		{"no rules", "apiVersion: audit.k8s.io/v1\nkind: Policy\n", "loaded illegal policy with 0 rules from file p.yaml"},
		{"old version", "apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules:\n- level: None\n", "audit.k8s.io/v1beta1, Kind=Policy is not audit.k8s.io/v1"},
		{"typo", "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- levle: None\n", `unknown field "levle"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte(tc.yaml), "p.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := LoadPolicy(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

// TestLogRotates writes more than --audit-log-maxsize and checks that the
// log was rotated, that only --audit-log-maxbackup old files are kept, and
// that every line is a whole event.
func TestLogRotates(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit", "audit.log")
	l, err := OpenLog(LogOptions{Path: path, MaxSize: 1, MaxBackups: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ev := &Event{Level: LevelMetadata, Stage: StageResponseComplete, RequestURI: "/api/v1/pods?" + strings.Repeat("x", 1000)}
	for range 4000 { // ~4 MB: three rotations
		if err := l.Write(ev); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	// Old files are removed in the background after a rotation.
	var files []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		files, _ = filepath.Glob(filepath.Join(dir, "audit", "audit-*.log"))
		if len(files) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rotated files (%v), want 2 (maxbackup)", len(files), files)
		}
	}
	for _, f := range append(files, path) {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > 1<<20 {
			t.Errorf("%s is %d bytes, more than maxsize", f, st.Size())
		}
		fh, _ := os.Open(f)
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			if !strings.HasPrefix(sc.Text(), `{"`) || !strings.HasSuffix(sc.Text(), `}`) {
				t.Fatalf("%s: a broken line", f)
			}
		}
		fh.Close()
	}
	if _, err := OpenLog(LogOptions{Path: filepath.Join(dir, "audit.log"), MaxSize: -1}); err == nil {
		t.Error("negative maxsize accepted")
	}
	if _, err := OpenLog(LogOptions{Path: "/proc/nonexistent/audit.log"}); err == nil {
		t.Error("unwritable path accepted")
	}
}
