package registry_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestTokenEndpoint: the forms clients use to ask for a token (docker,
// podman, skopeo and crane: GET with Basic; containerd: POST with an
// OAuth2 password grant) and what the token then allows.
func TestTokenEndpoint(t *testing.T) {
	r := startRegistry(t)
	c := r.client()
	scope := "repository:alifah/app:pull,push"
	tests := []struct {
		name       string
		method     string
		form       url.Values
		user, pass string
		wantStatus int
		wantV2     int // GET /v2/alifah/app/tags/list with the token
	}{
		{name: "GET basic", method: "GET", form: url.Values{"service": {"kemudi-registry"}, "scope": {scope}}, user: "admin", pass: r.password, wantStatus: 200, wantV2: 404},
		{name: "POST password grant", method: "POST", form: url.Values{"grant_type": {"password"}, "username": {"admin"}, "password": {r.password}, "service": {"kemudi-registry"}, "scope": {scope}, "client_id": {"containerd"}}, wantStatus: 200, wantV2: 404},
		{name: "POST wrong password", method: "POST", form: url.Values{"grant_type": {"password"}, "username": {"admin"}, "password": {"nope"}, "service": {"kemudi-registry"}, "scope": {scope}}, wantStatus: 401},
		{name: "GET wrong password", method: "GET", form: url.Values{"scope": {scope}}, user: "admin", pass: "nope", wantStatus: 401},
		{name: "anonymous", method: "GET", form: url.Values{"scope": {scope}}, wantStatus: 200, wantV2: 401},
		{name: "other service", method: "GET", form: url.Values{"service": {"docker.io"}}, user: "admin", pass: r.password, wantStatus: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req *http.Request
			if tt.method == "GET" {
				req, _ = http.NewRequest("GET", "https://"+r.host+"/token?"+tt.form.Encode(), nil)
			} else {
				req, _ = http.NewRequest("POST", "https://"+r.host+"/token", strings.NewReader(tt.form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if tt.user != "" {
				req.SetBasicAuth(tt.user, tt.pass)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %s, want %d", resp.Status, tt.wantStatus)
			}
			if tt.wantStatus != 200 {
				return
			}
			var body struct {
				Token       string `json:"token"`
				AccessToken string `json:"access_token"`
				ExpiresIn   int    `json:"expires_in"`
			}
			json.NewDecoder(resp.Body).Decode(&body)
			if body.AccessToken == "" || body.Token != body.AccessToken || body.ExpiresIn <= 0 {
				t.Fatalf("token answer %+v", body)
			}
			// An empty repository's tag list: 404 NAME_UNKNOWN when the
			// token allows pull, 401 when not.
			if got := do(t, c, "GET", "https://"+r.host+"/v2/alifah/app/tags/list", body.AccessToken, nil).StatusCode; got != tt.wantV2 {
				t.Errorf("tags/list with the token: %d, want %d", got, tt.wantV2)
			}
		})
	}
}
