package apiserver

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPodLogQuery(t *testing.T) {
	for _, tc := range []struct {
		query         string
		wantContainer string
		wantKubelet   string
		wantInvalid   string // an Invalid PodLogOptions naming this
		wantBad       string // a BadRequest saying this
	}{
		{query: "", wantKubelet: ""},
		{query: "container=web&follow=true&timestamps=true&tailLines=10&limitBytes=5&sinceSeconds=30",
			wantContainer: "web", wantKubelet: "follow=true&limitBytes=5&sinceSeconds=30&tailLines=10&timestamps=true"},
		{query: "previous=1&sinceTime=2026-12-05T21:00:00Z", wantKubelet: "previous=true&sinceTime=2026-12-05T21%3A00%3A00Z"},
		{query: "follow=false&insecureSkipTLSVerifyBackend=true", wantKubelet: ""},
		{query: "tailLines=-1", wantInvalid: "tailLines: Invalid value: -1: must be greater than or equal to 0"},
		{query: "limitBytes=0", wantInvalid: "limitBytes: Invalid value: 0: must be greater than 0"},
		{query: "sinceSeconds=0", wantInvalid: "sinceSeconds: Invalid value: 0: must be greater than 0"},
		{query: "sinceSeconds=5&sinceTime=2026-12-05T21:00:00Z", wantInvalid: "at most one of `sinceTime` or `sinceSeconds` may be specified"},
		{query: "stream=Stdin", wantInvalid: `stream: Unsupported value: "Stdin"`},
		{query: "tailLines=ten", wantBad: `tailLines: invalid value "ten"`},
		{query: "follow=maybe", wantBad: `follow: invalid value "maybe"`},
		{query: "sinceTime=noon", wantBad: `sinceTime: invalid value "noon"`},
	} {
		t.Run(tc.query, func(t *testing.T) {
			q, _ := url.ParseQuery(tc.query)
			container, kq, err := podLogQuery(q, "web-1")
			switch {
			case tc.wantInvalid != "":
				if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.wantInvalid) || !strings.Contains(err.Error(), `PodLogOptions "web-1" is invalid`) {
					t.Fatalf("err = %v, want Invalid PodLogOptions with %q", err, tc.wantInvalid)
				}
			case tc.wantBad != "":
				if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), tc.wantBad) {
					t.Fatalf("err = %v, want BadRequest with %q", err, tc.wantBad)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if container != tc.wantContainer || kq.Encode() != tc.wantKubelet {
					t.Errorf("got container %q, kubelet query %q; want %q, %q", container, kq.Encode(), tc.wantContainer, tc.wantKubelet)
				}
			}
		})
	}
}

func TestPodContainer(t *testing.T) {
	pod := func(containers, inits []string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}
		for _, c := range containers {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c})
		}
		for _, c := range inits {
			p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: c})
		}
		return p
	}
	for _, tc := range []struct {
		name      string
		pod       *corev1.Pod
		container string
		want      string
		wantErr   string
	}{
		{"the only container", pod([]string{"a"}, nil), "", "a", ""},
		{"named", pod([]string{"a", "b"}, nil), "b", "b", ""},
		{"an init container", pod([]string{"a"}, []string{"setup"}), "setup", "setup", ""},
		{"several, none named", pod([]string{"a", "b"}, nil), "", "", "a container name must be specified for pod p, choose one of: [a b]"},
		{"several with init, none named", pod([]string{"a", "b"}, []string{"i"}), "", "", "choose one of: [a b] or one of the init containers: [i]"},
		{"no containers", pod(nil, nil), "", "", "a container name must be specified for pod p"},
		{"wrong name", pod([]string{"a"}, nil), "x", "", "container x is not valid for pod p"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := podContainer(tc.pod, tc.container)
			if tc.wantErr != "" {
				if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want BadRequest %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestProxyPaths(t *testing.T) {
	for _, tc := range []struct {
		path                         string
		wantName, wantSub, wantProxy string
		wantResource                 string
	}{
		{"/api/v1/nodes/n1/proxy/stats/summary", "n1", "proxy", "/stats/summary", "nodes"},
		{"/api/v1/namespaces/default/pods/web:80/proxy/", "web:80", "proxy", "/", "pods"},
		{"/api/v1/namespaces/proxy/services/https:web:443/proxy/a/b/", "https:web:443", "proxy", "/a/b/", "services"},
		{"/api/v1/namespaces/default/pods/web/proxy", "web", "proxy", "", "pods"},
		{"/api/v1/namespaces/default/pods/web/log", "web", "log", "", "pods"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			info, ok := parseResourcePath(httptest.NewRequest("GET", tc.path, nil))
			if !ok || info.Name != tc.wantName || info.Subresource != tc.wantSub || info.ProxyPath != tc.wantProxy || info.Resource != tc.wantResource || info.Verb != "get" {
				t.Errorf("got %+v, %v", info, ok)
			}
		})
	}
	for _, tc := range []struct {
		id                 string
		scheme, name, port string
		ok                 bool
	}{
		{"web", "", "web", "", true},
		{"web:80", "", "web", "80", true},
		{"https:web:443", "https", "web", "443", true},
		{"ftp:web:21", "", "", "", false},
		{":80", "", "", "80", false},
		{"a:b:c:d", "", "", "", false},
	} {
		scheme, name, port, ok := splitSchemeNamePort(tc.id)
		if ok != tc.ok || ok && (scheme != tc.scheme || name != tc.name || port != tc.port) {
			t.Errorf("splitSchemeNamePort(%q) = %q %q %q %v", tc.id, scheme, name, port, ok)
		}
	}
}
