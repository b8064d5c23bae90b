package apiserver_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestAnonymousRequests: as upstream's --anonymous-auth (default true), a
// request without credentials is system:anonymous and authorized like
// anyone (health and version allowed by system:public-info-viewer, the
// rest 403 with upstream's message); credentials that fail are 401; with
// --anonymous-auth=false, or with AlwaysAllow among the authorization
// modes (which upstream does not combine with anonymous requests), every
// request without credentials is 401, health checks included.
func TestAnonymousRequests(t *testing.T) {
	status := func(what, details string) string {
		return `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"` + what + `","reason":"Forbidden","details":{` + details + `},"code":403}`
	}
	forbidden := func(what string) string { return status(what, "") }
	pods := `pods is forbidden: User \"system:anonymous\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"`
	type want struct {
		code int
		body string // exact when set
	}
	anonymousOn := map[string]want{
		"/healthz": {200, "ok"}, "/livez": {200, "ok"}, "/readyz": {200, "ok"}, "/version": {code: 200},
		// /healthz/<check> is system:monitoring's, not public.
		"/healthz/etcd": {403, forbidden(`forbidden: User \"system:anonymous\" cannot get path \"/healthz/etcd\"`)},
		// Discovery is for the authenticated (system:discovery).
		"/api":                            {403, forbidden(`forbidden: User \"system:anonymous\" cannot get path \"/api\"`)},
		"/apis":                           {403, forbidden(`forbidden: User \"system:anonymous\" cannot get path \"/apis\"`)},
		"/api/v1/namespaces/default/pods": {403, status(pods, `"kind":"pods"`)},
		"/api/v1/namespaces":              {code: 403},
		"/metrics":                        {code: 403},
		"/openapi/v2":                     {code: 403},
	}
	allUnauthorized := map[string]want{}
	for p := range anonymousOn {
		allUnauthorized[p] = want{code: 401}
	}
	for _, tc := range []struct {
		name   string
		modify func(*cluster.ServerOptions)
		want   map[string]want
	}{
		{"anonymous-auth default", func(*cluster.ServerOptions) {}, anonymousOn},
		{"anonymous-auth=false", func(o *cluster.ServerOptions) { o.AnonymousAuth = false }, allUnauthorized},
		{"AlwaysAllow", func(o *cluster.ServerOptions) { o.AuthorizationModes = []string{cluster.ModeAlwaysAllow} }, allUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := clustertest.Start(t, tc.modify)
			s.WaitReady()
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(s.PKI.CAPEM())
			anon := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
			t.Cleanup(anon.CloseIdleConnections)
			get := func(path, token string) (int, string) {
				t.Helper()
				req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
				if err != nil {
					t.Fatal(err)
				}
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				resp, err := anon.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, strings.TrimSpace(string(body))
			}
			for path, w := range tc.want {
				code, body := get(path, "")
				if code != w.code || w.body != "" && body != w.body {
					t.Errorf("%s without credentials: %d %s\nwant %d %s", path, code, body, w.code, w.body)
				}
				// Credentials that fail are never anonymous.
				if code, body := get(path, "not-a-token"); code != 401 {
					t.Errorf("%s with a bad token: %d %s, want 401", path, code, body)
				}
			}
			if tc.want["/version"].code == 200 {
				_, body := get("/version", "")
				var v struct{ GitVersion, Major, Minor string }
				if err := json.Unmarshal([]byte(body), &v); err != nil || v.Major != "1" || v.Minor != "37" || !strings.HasPrefix(v.GitVersion, "v1.37.") || !strings.Contains(v.GitVersion, "+kemudi") {
					t.Errorf("/version: %+v %v", v, err)
				}
			}
			// The admin's health checks work whatever the setting.
			if out, err := s.Kubectl("get", "--raw", "/readyz"); err != nil || out != "ok" {
				t.Errorf("/readyz as the admin: %q %v", out, err)
			}
			// Plain HTTP is refused: TLS only.
			if resp, err := http.Get(strings.Replace(s.URL, "https://", "http://", 1) + "/healthz"); err == nil {
				if resp.StatusCode < 400 {
					t.Errorf("plain HTTP answered %d", resp.StatusCode)
				}
				resp.Body.Close()
			}
		})
	}
}
