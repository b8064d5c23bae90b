package cri

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

const testPasswd = `root:x:0:0:root:/root:/bin/sh
# a comment
app:x:1000:1000::/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
broken line
`

const testGroup = `root:x:0:
wheel:x:10:app,root
app:x:1000:
audio:x:29:app
nogroup:x:65534:
`

func TestResolveUser(t *testing.T) {
	db := userDB{users: parsePasswd(strings.NewReader(testPasswd)), groups: parseGroup(strings.NewReader(testGroup))}
	i64 := func(v int64) *runtimeapi.Int64Value { return &runtimeapi.Int64Value{Value: v} }
	for _, tc := range []struct {
		name      string
		sc        *runtimeapi.LinuxContainerSecurityContext
		imageUser string
		want      specs.User
		errField  string
	}{
		{"image default is root", nil, "", specs.User{UID: 0, GID: 0, AdditionalGids: []uint32{10}}, ""},
		{"image user by name", nil, "app", specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 29}}, ""},
		{"image user by name and group", nil, "app:audio", specs.User{UID: 1000, GID: 29, AdditionalGids: []uint32{10}}, ""},
		{"image uid unknown to passwd", nil, "4242", specs.User{UID: 4242}, ""},
		{"image uid:gid", nil, "1000:5", specs.User{UID: 1000, GID: 5, AdditionalGids: []uint32{10, 29}}, ""},
		{"run_as_user overrides the image", &runtimeapi.LinuxContainerSecurityContext{RunAsUser: i64(65534)}, "app", specs.User{UID: 65534, GID: 65534}, ""},
		{"run_as_user and run_as_group", &runtimeapi.LinuxContainerSecurityContext{RunAsUser: i64(1000), RunAsGroup: i64(3000)}, "", specs.User{UID: 1000, GID: 3000, AdditionalGids: []uint32{10, 29}}, ""},
		{"run_as_username", &runtimeapi.LinuxContainerSecurityContext{RunAsUsername: "app"}, "", specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 29}}, ""},
		{"strict supplemental groups policy: no image groups", &runtimeapi.LinuxContainerSecurityContext{RunAsUsername: "app", SupplementalGroupsPolicy: runtimeapi.SupplementalGroupsPolicy_Strict}, "", specs.User{UID: 1000, GID: 1000}, ""},
		{"run_as_group without a user", &runtimeapi.LinuxContainerSecurityContext{RunAsGroup: i64(3000)}, "app", specs.User{}, "config.linux.security_context.run_as_group"},
		{"unknown run_as_username", &runtimeapi.LinuxContainerSecurityContext{RunAsUsername: "ghost"}, "", specs.User{}, "config.linux.security_context.run_as_username"},
		{"unknown image user", nil, "ghost", specs.User{}, "image.config.user"},
		{"unknown image group", nil, "app:ghosts", specs.User{}, "image.config.user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolveUser(db, tc.sc, tc.imageUser)
			if tc.errField != "" {
				inv, ok := err.(*invalidArgumentError)
				if !ok || inv.Field != tc.errField {
					t.Fatalf("error %v, want one naming %s", err, tc.errField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestReadUserDBStaysInRoot: a rootfs whose /etc/passwd links to an
// absolute path reads the file inside the rootfs, not the host's.
func TestReadUserDBStaysInRoot(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "real", "passwd"), []byte("inside:x:7:7::/:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/real/passwd", filepath.Join(root, "etc", "passwd")); err != nil {
		t.Fatal(err)
	}
	db, err := readUserDB(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(db.users) != 1 || db.users[0].name != "inside" || len(db.groups) != 0 {
		t.Errorf("users %+v groups %+v, want only the rootfs's user", db.users, db.groups)
	}
}
