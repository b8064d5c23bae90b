package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/kemudi/kemudi/internal/addons/registry"
)

func TestRegistryUserCommands(t *testing.T) {
	dataDir := t.TempDir()
	run := func(stdin string, args ...string) (string, error) {
		cmd := newRegistryCommand()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetIn(strings.NewReader(stdin))
		cmd.SetArgs(append(args, "--data-dir", dataDir))
		err := cmd.Execute()
		return out.String(), err
	}
	steps := []struct {
		stdin   string
		args    []string
		want    string // in the output
		wantErr string
	}{
		{stdin: "s3cret\n", args: []string{"user", "add", "alifah", "--password-stdin"}, want: "registry user alifah saved"},
		{stdin: "pw", args: []string{"user", "add", "bob", "--password-stdin"}, want: "registry user bob saved"},
		{args: []string{"user", "list"}, want: "alifah\nbob\n"},
		{args: []string{"user", "add", "carol"}, wantErr: "--password-stdin"},
		{stdin: "\n", args: []string{"user", "add", "carol", "--password-stdin"}, wantErr: "empty password"},
		{stdin: "x\n", args: []string{"user", "add", "a:b", "--password-stdin"}, wantErr: "must not contain"},
		{args: []string{"user", "rm", "bob"}, want: "registry user bob removed"},
		{args: []string{"user", "rm", "bob"}, wantErr: "no such user"},
		{args: []string{"user", "list"}, want: "alifah\n"},
		{args: []string{"gc"}, wantErr: "registry storage"},
	}
	for _, s := range steps {
		out, err := run(s.stdin, s.args...)
		switch {
		case s.wantErr != "" && (err == nil || !strings.Contains(err.Error(), s.wantErr)):
			t.Errorf("%v: error %v, want %q", s.args, err, s.wantErr)
		case s.wantErr == "" && err != nil:
			t.Errorf("%v: %v", s.args, err)
		case !strings.Contains(out, s.want):
			t.Errorf("%v: output %q, want %q", s.args, out, s.want)
		}
	}
	// The password given on stdin, without its line end, is stored.
	data, err := os.ReadFile(registry.NewLayout(dataDir).Users)
	if err != nil {
		t.Fatal(err)
	}
	_, hash, _ := strings.Cut(strings.TrimSpace(string(data)), ":")
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte("s3cret")); err != nil {
		t.Errorf("alifah's stored password: %v", err)
	}
}
