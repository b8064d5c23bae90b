package registry

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kemudi/kemudi/internal/testimages"
)

func TestUsersFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	db := newUserDB(path)
	steps := []struct {
		name string
		do   func() error
		want []string // users after
		ok   map[string]string
		bad  map[string]string
	}{
		{name: "add", do: func() error { return AddUser(path, "alifah", "s3cret") }, want: []string{"alifah"},
			ok: map[string]string{"alifah": "s3cret"}, bad: map[string]string{"alifah": "S3cret", "bob": "s3cret"}},
		{name: "second", do: func() error { return AddUser(path, "bob", "pw") }, want: []string{"alifah", "bob"},
			ok: map[string]string{"alifah": "s3cret", "bob": "pw"}},
		{name: "new password", do: func() error { return AddUser(path, "alifah", "other") }, want: []string{"alifah", "bob"},
			ok: map[string]string{"alifah": "other"}, bad: map[string]string{"alifah": "s3cret"}},
		{name: "remove", do: func() error { return RemoveUser(path, "bob") }, want: []string{"alifah"},
			bad: map[string]string{"bob": "pw"}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got, _ := ListUsers(path); !slices.Equal(got, s.want) {
			t.Errorf("%s: users %v, want %v", s.name, got, s.want)
		}
		for u, p := range s.ok {
			if ok, err := db.check(u, p); !ok || err != nil {
				t.Errorf("%s: %s's password refused (%v)", s.name, u, err)
			}
		}
		for u, p := range s.bad {
			if ok, _ := db.check(u, p); ok {
				t.Errorf("%s: %s/%s accepted", s.name, u, p)
			}
		}
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("users file mode %v, want 0600", fi.Mode().Perm())
	}
	if err := RemoveUser(path, "nobody"); !errors.Is(err, ErrNoUser) {
		t.Errorf("remove a missing user: %v", err)
	}
	for _, bad := range []string{"", "a:b", "a b"} {
		if err := AddUser(path, bad, "x"); err == nil {
			t.Errorf("user name %q accepted", bad)
		}
	}
	if err := AddUser(path, "x", ""); err == nil {
		t.Error("empty password accepted")
	}
}

// An htpasswd -B file (apache2-utils) is a users file.
func TestHtpasswdCompatible(t *testing.T) {
	htpasswd := testimages.Tool(t, "htpasswd", "apache2-utils")
	path := filepath.Join(t.TempDir(), "users")
	if out, err := exec.Command(htpasswd, "-cbB", path, "alifah", "s3cret").CombinedOutput(); err != nil {
		t.Fatalf("htpasswd: %v %s", err, out)
	}
	if ok, err := newUserDB(path).check("alifah", "s3cret"); !ok || err != nil {
		t.Fatalf("htpasswd -B user refused: %v", err)
	}
	if err := AddUser(path, "bob", "pw"); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(htpasswd, "-vb", path, "bob", "pw").CombinedOutput(); err != nil {
		t.Fatalf("htpasswd does not accept our hash: %v %s", err, out)
	}
}

func TestEnsureAdmin(t *testing.T) {
	dir := t.TempDir()
	users, pwFile := filepath.Join(dir, "users"), filepath.Join(dir, "registry-password")
	created, err := EnsureAdmin(users, pwFile)
	if err != nil || !created {
		t.Fatalf("first start: created %v, %v", created, err)
	}
	pw, _ := os.ReadFile(pwFile)
	if fi, _ := os.Stat(pwFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("password file mode %v, want 0600", fi.Mode().Perm())
	}
	if ok, _ := newUserDB(users).check(AdminUser, strings.TrimSpace(string(pw))); !ok {
		t.Error("the generated password does not log admin in")
	}
	if created, err := EnsureAdmin(users, pwFile); created || err != nil {
		t.Errorf("second start: created %v, %v; want the users kept", created, err)
	}
}
