package apiserver_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/registry/all"
)

var update = flag.Bool("update", false, "rewrite testdata/tables.golden with what kubectl prints")

const (
	tablesNamespace = "tables"
	tablesGolden    = "testdata/tables.golden"
	objectsDir      = "testdata/objects"
)

// fixture is one manifest of testdata/objects.
type fixture struct {
	path             string
	apiVersion, kind string
	name             string
	hasStatus        bool
}

func readFixtures(t *testing.T) []fixture {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(objectsDir, "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures in %s: %v", objectsDir, err)
	}
	var out []fixture
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var obj struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Status map[string]interface{} `json:"status"`
		}
		if err := yaml.Unmarshal(data, &obj); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out = append(out, fixture{path: p, apiVersion: obj.APIVersion, kind: obj.Kind, name: obj.Metadata.Name, hasStatus: obj.Status != nil})
	}
	return out
}

// TestTables creates a realistic object of every kind the server serves
// with kubectl apply, as a user would, and checks what kubectl get prints
// for it, -o wide and plain, against testdata/tables.golden. The golden
// file is what upstream's printers (k8s.io/kubernetes
// pkg/printers/internalversion, which kube-apiserver serves its tables
// from) print for the same stored objects, checked cell by cell; -update
// rewrites it from this server, so check a change against upstream
// before accepting it. Ages and other times relative to now, and
// generated UIDs, are normalized.
func TestTables(t *testing.T) {
	s := clustertest.Start(t)
	s.MustKubectl("create", "namespace", tablesNamespace)
	fixtures := readFixtures(t)
	s.MustKubectl("apply", "-n", tablesNamespace, "-f", objectsDir)

	resources := all.Resources()
	kubectlName := map[string]string{} // by apiVersion/kind
	namespaced := map[string]bool{}
	for _, r := range resources {
		gvk := r.GroupVersion.WithKind(r.Kind)
		name := r.Resource
		if r.GroupVersion.Group != "" {
			name += "." + r.GroupVersion.Group
		}
		key := gvk.GroupVersion().String() + "/" + gvk.Kind
		kubectlName[key] = name
		namespaced[key] = r.Namespaced
	}
	ns := func(f fixture) []string {
		if namespaced[f.apiVersion+"/"+f.kind] {
			return []string{"-n", tablesNamespace}
		}
		return nil
	}
	// Status as a running cluster would have written it, through the
	// status subresource.
	for _, f := range fixtures {
		if f.hasStatus {
			args := append([]string{"patch", kubectlName[f.apiVersion+"/"+f.kind], f.name, "--subresource=status", "--type=merge", "--patch-file", f.path}, ns(f)...)
			s.MustKubectl(args...)
		}
	}

	var got bytes.Buffer
	get := func(args ...string) {
		t.Helper()
		out, err := s.Kubectl(args...)
		if err != nil {
			t.Errorf("kubectl %s: %v", strings.Join(args, " "), err)
			return
		}
		got.WriteString("$ kubectl " + strings.Join(args, " ") + "\n")
		for _, table := range strings.Split(strings.TrimRight(out, "\n"), "\n\n") {
			got.WriteString(normalizeTable(table))
		}
		got.WriteString("\n")
	}
	byKind := map[string]fixture{}
	for _, f := range fixtures {
		byKind[f.apiVersion+"/"+f.kind] = f
	}
	for _, r := range resources {
		key := r.GroupVersion.String() + "/" + r.Kind
		f, ok := byKind[key]
		if !ok {
			t.Errorf("no fixture in %s for %s", objectsDir, key)
			continue
		}
		get(append([]string{"get", kubectlName[key], f.name, "-o", "wide"}, ns(f)...)...)
	}
	// Plain get, the columns without -o wide, for the kinds of the user
	// story.
	for _, key := range []string{"v1/Pod", "v1/Service", "apps/v1/Deployment", "v1/Node", "v1/Event"} {
		f := byKind[key]
		get(append([]string{"get", kubectlName[key], f.name}, ns(f)...)...)
	}
	// A list marks the default storage class, a single class does not.
	get("get", "storageclasses")
	// Every kind of the "all" category in one namespace.
	get("get", "all", "-n", tablesNamespace)

	// describe reads many kinds around the one it describes (events, pods
	// on a node, replica sets of a deployment, endpoints of a service).
	for _, d := range []struct {
		args []string
		want []string
	}{
		{[]string{"describe", "pod", "web-0", "-n", tablesNamespace}, []string{
			"Name: web-0", "Namespace: tables", "Node: node-1/192.168.1.10", "Status: Running", "IP: 10.42.0.5",
			"Image: nginx:1.27", "Readiness Gates: Type Status example.com/load-balancer-ready True",
		}},
		{[]string{"describe", "deployment", "web", "-n", tablesNamespace}, []string{
			"Name: web", "Selector: app=web,tier in (frontend)",
			"Replicas: 3 desired | 3 updated | 3 total | 2 available | 1 unavailable", "StrategyType: RollingUpdate",
		}},
		{[]string{"describe", "service", "flask", "-n", tablesNamespace}, []string{
			"Name: flask", "Type: LoadBalancer", "IP: 10.43.0.50", "Port: http 80/TCP", "TargetPort: 5000/TCP", "NodePort: http 30175/TCP",
		}},
		{[]string{"describe", "node", "node-1"}, []string{
			"Name: node-1", "Roles: control-plane,worker", "InternalIP: 192.168.1.10", "Kernel Version: 6.1.0-18-amd64",
			"PodCIDR: 10.42.0.0/24", "Non-terminated Pods: (1 in total)", "tables web-0",
		}},
	} {
		t.Run(strings.Join(d.args[:2], " "), func(t *testing.T) {
			out, err := s.Kubectl(d.args...)
			if err != nil {
				t.Fatalf("kubectl %s: %v", strings.Join(d.args, " "), err)
			}
			flat := strings.Join(strings.Fields(out), " ")
			for _, w := range d.want {
				if !strings.Contains(flat, w) {
					t.Errorf("kubectl %s lacks %q:\n%s", strings.Join(d.args, " "), w, out)
				}
			}
		})
	}

	if *update {
		if err := os.WriteFile(tablesGolden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(tablesGolden)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if diff := diffBlocks(string(want), got.String()); diff != "" {
		t.Errorf("kubectl get differs from %s:\n%s", tablesGolden, diff)
	}
}

// uid is a generated UID (the controller-uid label of a job's selector).
var uid = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// timeColumns hold times relative to now; their cells are normalized.
var timeColumns = map[string]bool{"AGE": true, "LAST SEEN": true, "FIRST SEEN": true, "CREATED AT": true}

var columnStart = regexp.MustCompile(`(^|  )\S`)

// normalizeTable turns kubectl's table (columns padded with spaces) into
// lines of cells separated by " | ", with the cells of time columns
// replaced by a placeholder.
func normalizeTable(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	header := lines[0]
	var starts []int
	for _, m := range columnStart.FindAllStringIndex(header, -1) {
		starts = append(starts, m[1]-1)
	}
	cells := func(line string) []string {
		var out []string
		for i, start := range starts {
			end := len(line)
			if i+1 < len(starts) && starts[i+1] < end {
				end = starts[i+1]
			}
			cell := ""
			if start < len(line) {
				cell = strings.TrimSpace(line[start:end])
			}
			out = append(out, cell)
		}
		return out
	}
	names := cells(header)
	var b strings.Builder
	b.WriteString(strings.Join(names, " | ") + "\n")
	for _, line := range lines[1:] {
		row := cells(line)
		for i, name := range names {
			if timeColumns[name] && row[i] != "" && row[i] != "<unknown>" && row[i] != "<none>" {
				row[i] = "<time>"
			}
			row[i] = uid.ReplaceAllString(row[i], "<uid>")
		}
		b.WriteString(strings.Join(row, " | ") + "\n")
	}
	return b.String()
}

// diffBlocks compares two golden texts command by command and shows
// each command whose output differs, as wanted and as got.
func diffBlocks(want, got string) string {
	blocks := func(s string) (map[string]string, []string) {
		m := map[string]string{}
		var order []string
		for _, b := range strings.Split(s, "$ kubectl ")[1:] {
			cmd, _, _ := strings.Cut(b, "\n")
			m[cmd] = b
			order = append(order, cmd)
		}
		return m, order
	}
	w, wOrder := blocks(want)
	g, gOrder := blocks(got)
	var out strings.Builder
	for _, cmd := range wOrder {
		if g[cmd] != w[cmd] {
			fmt.Fprintf(&out, "$ kubectl %s\nwant:\n%sgot:\n%s\n", cmd, indent(strings.TrimPrefix(w[cmd], cmd+"\n")), indent(strings.TrimPrefix(g[cmd], cmd+"\n")))
		}
	}
	for _, cmd := range gOrder {
		if _, ok := w[cmd]; !ok {
			fmt.Fprintf(&out, "$ kubectl %s: not in the golden file\n", cmd)
		}
	}
	return out.String()
}

func indent(s string) string {
	if s == "" {
		return "    (nothing)\n"
	}
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") + "\n"
}
