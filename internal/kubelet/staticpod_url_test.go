package kubelet

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	cliflag "k8s.io/component-base/cli/flag"

	"github.com/kemudi/kemudi/internal/kubelet/kubelettest"
)

const testURL = "http://127.0.0.1:8080/pods"

const podList = `apiVersion: v1
kind: PodList
items:
- metadata: {name: a, namespace: kube-system}
  spec:
    containers: [{name: c, image: busybox}]
- metadata: {name: b}
  spec:
    containers: [{name: c, image: busybox}]
`

func TestURLPods(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string // namespace/name of each pod
		err        string   // a part of the error
	}{
		{name: "one pod", body: webManifest, want: []string{"default/web-node-1"}},
		{name: "one pod, JSON", body: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"j"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`,
			want: []string{"default/j-node-1"}},
		{name: "a list", body: podList, want: []string{"kube-system/a-node-1", "default/b-node-1"}},
		{name: "a list, JSON", body: `{"apiVersion":"v1","kind":"PodList","items":[{"metadata":{"name":"j"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}]}`,
			want: []string{"default/j-node-1"}},
		{name: "an empty list", body: "apiVersion: v1\nkind: PodList\nitems: []\n", want: []string{}},
		{name: "bad YAML", body: "{{{",
			err: testURL + ": received '{{{', but couldn't parse as single (not YAML or JSON: "},
		{name: "bad YAML, multiple pods too", body: "a: [",
			err: "or multiple pods (not YAML or JSON: "},
		{name: "a deployment", body: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n",
			err: `couldn't parse as single (want a v1 Pod, got kind "Deployment" apiVersion "apps/v1") or multiple pods (want a v1 PodList, got kind "Deployment" apiVersion "apps/v1")`},
		{name: "a pod without a name", body: "apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: c, image: busybox}]\n",
			err: "metadata.name: Required value"},
		{name: "a list with a pod without a name", body: podList + "- spec:\n    containers: [{name: c, image: busybox}]\n",
			err: "items[2]: metadata.name: Required value"},
		{name: "a list with an invalid pod", body: podList + "- metadata: {name: x}\n  spec: {}\n",
			err: "items[2]: invalid pod: "},
		{name: "a long body is cut in the error", body: "[" + strings.Repeat("x", 2000),
			err: "... (2001 bytes)', but couldn't parse"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pods, err := URLPods([]byte(tc.body), testURL, "node-1")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, p := range pods {
				got = append(got, p.Namespace+"/"+p.Name)
				if p.Annotations[annotationConfigSource] != "http" || p.Spec.NodeName != "node-1" ||
					string(p.UID) != p.Annotations[annotationConfigHash] || !isStaticPod(p) {
					t.Errorf("pod %s: %+v", p.Name, p.ObjectMeta)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("pods %v, want %v", got, tc.want)
			}
		})
	}
}

// TestURLPodIdentity: a URL's pod is a file's pod but for its source,
// hash and tolerations, as upstream's applyDefaults makes them.
func TestURLPodIdentity(t *testing.T) {
	pods, err := URLPods([]byte(webManifest), testURL, "node-1")
	if err != nil {
		t.Fatal(err)
	}
	p := pods[0]
	file, _ := StaticPod([]byte(webManifest), "node-1")
	again, _ := URLPods([]byte(webManifest), testURL, "node-1")
	otherURL, _ := URLPods([]byte(webManifest), testURL+"2", "node-1")
	inList, _ := URLPods([]byte("apiVersion: v1\nkind: PodList\nitems:\n- "+strings.ReplaceAll(webManifest, "\n", "\n  ")), testURL, "node-1")
	checks := []struct {
		what string
		ok   bool
	}{
		{"named as a file's pod", p.Name == file.Name && p.Namespace == file.Namespace},
		{"another UID than the file's", p.UID != file.UID},
		{"the same body, the same UID", again[0].UID == p.UID},
		{"another URL, another UID", otherURL[0].UID != p.UID},
		{"the same pod in a list, the same UID", len(inList) == 1 && inList[0].UID == p.UID},
		{"no NoExecute toleration (upstream gives it to files' pods only)", len(p.Spec.Tolerations) == 0},
		{"defaulted", p.Spec.RestartPolicy == corev1.RestartPolicyAlways && p.Spec.Containers[0].ImagePullPolicy == corev1.PullAlways},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: %+v", c.what, p)
		}
	}
}

func TestMergeStaticPods(t *testing.T) {
	pod := func(uid, source, name string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid), Namespace: "default", Name: name,
			Annotations: map[string]string{annotationConfigSource: source}}}
	}
	set := func(pods ...*corev1.Pod) map[types.UID]*corev1.Pod {
		m := map[types.UID]*corev1.Pod{}
		for _, p := range pods {
			m[p.UID] = p
		}
		return m
	}
	tests := []struct {
		name          string
		file, url     map[types.UID]*corev1.Pod
		run, shadowed []string
	}{
		{"none", nil, nil, nil, nil},
		{"both sources run", set(pod("f1", "file", "a-n")), set(pod("u1", "http", "b-n")), []string{"f1", "u1"}, nil},
		{"the file's pod holds the name", set(pod("f1", "file", "a-n")), set(pod("u1", "http", "a-n"), pod("u2", "http", "b-n")),
			[]string{"f1", "u2"}, []string{"u1"}},
		{"the URL's pod runs once the file's is gone", nil, set(pod("u1", "http", "a-n")), []string{"u1"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run, shadowed := mergeStaticPods(map[string]map[types.UID]*corev1.Pod{"file": tc.file, "http": tc.url})
			var gotRun, gotShadowed []string
			for uid := range run {
				gotRun = append(gotRun, string(uid))
			}
			for _, p := range shadowed {
				gotShadowed = append(gotShadowed, string(p.UID))
			}
			slices.Sort(gotRun)
			if !slices.Equal(gotRun, tc.run) || !slices.Equal(gotShadowed, tc.shadowed) {
				t.Errorf("run %v shadowed %v, want %v and %v", gotRun, gotShadowed, tc.run, tc.shadowed)
			}
		})
	}
}

func TestURLSourceOptions(t *testing.T) {
	good := DefaultOptions()
	good.ManifestURL = testURL
	tests := []struct {
		name string
		tune func(*Options)
		err  string
	}{
		{"http", func(*Options) {}, ""},
		{"https", func(o *Options) { o.ManifestURL = "https://127.0.0.1/x" }, ""},
		{"not http", func(o *Options) { o.ManifestURL = "file:///etc/pods" }, "want an http or https URL"},
		{"no URL", func(o *Options) { o.ManifestURL = "::" }, "manifest URL: "},
		{"never checked", func(o *Options) { o.HTTPCheckFrequency = 0 }, "must be greater than 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := good
			tc.tune(&o)
			_, err := newURLSource(o)
			if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("err %v, want %q", err, tc.err)
			}
		})
	}
}

// TestURLSource fetches from a loopback server: the headers of
// --manifest-url-header are sent; the pods follow the body; a failed
// fetch, a 500 or a bad body keep the last good set; an empty body
// empties it.
func TestURLSource(t *testing.T) {
	srv := kubelettest.NewManifestServer(t, "", "")
	o := DefaultOptions()
	o.NodeName, o.ManifestURL = "node-1", srv.URL+"/pods"
	f := pflag.NewFlagSet("kubelet", pflag.ContinueOnError)
	f.Var(cliflag.NewColonSeparatedMultimapStringString(&o.ManifestURLHeader), "manifest-url-header", "")
	if err := f.Parse([]string{"--manifest-url-header", "a:hello,b:again,c:world", "--manifest-url-header", "b:beautiful"}); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	var logMu sync.Mutex
	k := &Kubelet{opts: o, log: slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, nil))}
	s, err := newStaticPods(k)
	if err != nil {
		t.Fatal(err)
	}
	running := map[types.UID]*corev1.Pod{}
	s.setPod = func(uid types.UID, p *corev1.Pod) {
		if p == nil {
			delete(running, uid)
		} else {
			running[uid] = p
		}
	}
	names := func() []string {
		out := []string{}
		for _, p := range running {
			out = append(out, p.Name)
		}
		slices.Sort(out)
		return out
	}
	ctx := context.Background()
	step := func(what string, status int, body string, want ...string) {
		t.Helper()
		srv.Serve(status, body)
		s.loadURL(ctx)
		if got := names(); !slices.Equal(got, want) {
			t.Errorf("%s: pods %v, want %v", what, got, want)
		}
	}

	step("one pod", http.StatusOK, webManifest, "web-node-1")
	h := srv.Headers()[0]
	if h.Get("A") != "hello" || !slices.Equal(h.Values("B"), []string{"again", "beautiful"}) || h.Get("C") != "world" {
		t.Errorf("headers sent: %v", h)
	}
	web := running[s.byKey("default", "web-node-1").UID]
	seen := web.Annotations[annotationConfigSeen]
	if web.Annotations[annotationConfigSource] != "http" || seen == "" {
		t.Errorf("annotations %v", web.Annotations)
	}

	step("another body, the same pod", http.StatusOK, webManifest+"---\n", "web-node-1")
	if p := s.byKey("default", "web-node-1"); p.UID != web.UID || p.Annotations[annotationConfigSeen] != seen {
		t.Errorf("the same pod got UID %s (was %s), seen %s (was %s)", p.UID, web.UID, p.Annotations[annotationConfigSeen], seen)
	}
	step("a list", http.StatusOK, podList, "a-node-1", "b-node-1")
	step("a 500 keeps them", http.StatusInternalServerError, "oops", "a-node-1", "b-node-1")
	step("a bad body keeps them", http.StatusOK, "{{{", "a-node-1", "b-node-1")
	step("a pod removed from the list", http.StatusOK, strings.SplitAfter(podList, "image: busybox}]\n")[0], "a-node-1")
	step("an empty body is an empty set", http.StatusOK, "")
	step("the list again", http.StatusOK, podList, "a-node-1", "b-node-1")
	a := s.byKey("kube-system", "a-node-1")
	step("a changed pod", http.StatusOK, strings.Replace(podList, "name: a,", "name: a, labels: {v: '2'},", 1), "a-node-1", "b-node-1")
	if a2 := s.byKey("kube-system", "a-node-1"); a2.UID == a.UID || running[a.UID] != nil {
		t.Errorf("the changed pod kept its UID %s", a.UID)
	}
	step("duplicate names: the first is kept", http.StatusOK, podList+"- metadata: {name: a, namespace: kube-system}\n  spec:\n    containers: [{name: c, image: other}]\n",
		"a-node-1", "b-node-1")
	if img := s.byKey("kube-system", "a-node-1").Spec.Containers[0].Image; img != "busybox" {
		t.Errorf("the second pod named a runs: image %s", img)
	}
	srv.Close()
	step("a server gone keeps them", http.StatusOK, "", "a-node-1", "b-node-1")

	logMu.Lock()
	defer logMu.Unlock()
	for _, want := range []string{
		`msg="read static pods from URL"`,
		srv.URL + `/pods: 500 Internal Server Error`,
		`couldn't parse as single`,
		`zero-length data received from ` + srv.URL + `/pods`,
		`msg="read static pods from URL again"`,
		`connection refused`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no log with %q:\n%s", want, logs.String())
		}
	}
	for _, secret := range []string{"hello", "beautiful"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("a header's value %q is in the log", secret)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// TestURLPodShadowedByFile: a URL's pod named as a pod of the manifest
// directory does not run while the directory's does, and runs once the
// directory's is gone.
func TestURLPodShadowedByFile(t *testing.T) {
	srv := kubelettest.NewManifestServer(t, "", "")
	srv.Serve(http.StatusOK, webManifest)
	o := DefaultOptions()
	o.NodeName, o.ManifestURL = "node-1", srv.URL+"/pods"
	var logs strings.Builder
	var logMu sync.Mutex
	k := &Kubelet{opts: o, log: slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, nil))}
	s, err := newStaticPods(k)
	if err != nil {
		t.Fatal(err)
	}
	running := map[types.UID]string{} // UID → source
	s.setPod = func(uid types.UID, p *corev1.Pod) {
		if p == nil {
			delete(running, uid)
		} else {
			running[uid] = p.Annotations[annotationConfigSource]
		}
	}
	file, err := StaticPod([]byte(webManifest), "node-1")
	if err != nil {
		t.Fatal(err)
	}
	s.apply(sourceFile, map[types.UID]*corev1.Pod{file.UID: file}, map[types.UID]string{file.UID: "/etc/pods/web.yaml"})
	s.loadURL(context.Background())
	if len(running) != 1 || running[file.UID] != "file" || s.byKey("default", "web-node-1") != file {
		t.Errorf("with both: running %v", running)
	}
	s.apply(sourceFile, nil, nil)
	if len(running) != 1 || running[file.UID] != "" || s.byKey("default", "web-node-1").Annotations[annotationConfigSource] != "http" {
		t.Errorf("the file's gone: running %v", running)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logs.String(), `msg="static pod skipped: a pod of the manifest directory has its name" pod=default/web-node-1 source=http`) {
		t.Errorf("no log of the skipped pod:\n%s", logs.String())
	}
}
