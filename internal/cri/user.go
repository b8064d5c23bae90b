package cri

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

type passwdEntry struct {
	name     string
	uid, gid uint32
}

type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// userDB is a container image's /etc/passwd and /etc/group.
type userDB struct {
	users  []passwdEntry
	groups []groupEntry
}

// readUserDB reads /etc/passwd and /etc/group of a mounted rootfs,
// resolving symlinks inside it (a link to /etc/shadow of the host must not
// be followed). Missing files are an empty database.
func readUserDB(rootfs string) (userDB, error) {
	var db userDB
	pw, err := readInRoot(rootfs, "etc/passwd")
	if err != nil {
		return db, err
	}
	gr, err := readInRoot(rootfs, "etc/group")
	if err != nil {
		return db, err
	}
	db.users = parsePasswd(bytes.NewReader(pw))
	db.groups = parseGroup(bytes.NewReader(gr))
	return db, nil
}

func readInRoot(root, rel string) ([]byte, error) {
	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open rootfs %s: %w", root, err)
	}
	defer unix.Close(rfd)
	fd, err := unix.Openat2(rfd, rel, &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT})
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open %s in rootfs: %w", rel, err)
	}
	f := os.NewFile(uintptr(fd), rel)
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 16<<20))
}

func parsePasswd(r io.Reader) []passwdEntry {
	var out []passwdEntry
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 4 || strings.HasPrefix(f[0], "#") {
			continue
		}
		uid, err1 := strconv.ParseUint(f[2], 10, 32)
		gid, err2 := strconv.ParseUint(f[3], 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, passwdEntry{name: f[0], uid: uint32(uid), gid: uint32(gid)})
	}
	return out
}

func parseGroup(r io.Reader) []groupEntry {
	var out []groupEntry
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 3 || strings.HasPrefix(f[0], "#") {
			continue
		}
		gid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			continue
		}
		g := groupEntry{name: f[0], gid: uint32(gid)}
		if len(f) > 3 && f[3] != "" {
			g.members = strings.Split(f[3], ",")
		}
		out = append(out, g)
	}
	return out
}

func (db userDB) userByName(name string) (passwdEntry, bool) {
	for _, u := range db.users {
		if u.name == name {
			return u, true
		}
	}
	return passwdEntry{}, false
}

func (db userDB) userByID(uid uint32) (passwdEntry, bool) {
	for _, u := range db.users {
		if u.uid == uid {
			return u, true
		}
	}
	return passwdEntry{}, false
}

// resolveUser decides a container's uid, gid and the groups its user is a
// member of, as containerd does: run_as_user (with run_as_group), else
// run_as_username, else the image's USER ("name", "uid", "name:group",
// "uid:gid"); a name that the image does not know is an error.
func resolveUser(db userDB, sc *runtimeapi.LinuxContainerSecurityContext, imageUser string) (specs.User, error) {
	var u specs.User
	var name string
	if sc.GetRunAsGroup() != nil && sc.GetRunAsUser() == nil && sc.GetRunAsUsername() == "" {
		// as containerd: a group alone would pair with whatever user the
		// image names, which the caller did not choose
		return u, invalidArg("config.linux.security_context.run_as_group", "%d is set without run_as_user or run_as_username", sc.GetRunAsGroup().GetValue())
	}
	switch {
	case sc.GetRunAsUser() != nil:
		u.UID = uint32(sc.GetRunAsUser().GetValue())
		if e, ok := db.userByID(u.UID); ok {
			u.GID, name = e.gid, e.name
		}
	case sc.GetRunAsUsername() != "":
		e, ok := db.userByName(sc.GetRunAsUsername())
		if !ok {
			return u, invalidArg("config.linux.security_context.run_as_username", "user %q not found in the image's /etc/passwd", sc.GetRunAsUsername())
		}
		u.UID, u.GID, name = e.uid, e.gid, e.name
	default:
		userPart, groupPart, hasGroup := strings.Cut(imageUser, ":")
		if userPart == "" {
			userPart = "0"
		}
		if id, err := strconv.ParseUint(userPart, 10, 32); err == nil {
			u.UID = uint32(id)
			if e, ok := db.userByID(u.UID); ok {
				u.GID, name = e.gid, e.name
			}
		} else {
			e, ok := db.userByName(userPart)
			if !ok {
				return u, invalidArg("image.config.user", "user %q not found in the image's /etc/passwd", userPart)
			}
			u.UID, u.GID, name = e.uid, e.gid, e.name
		}
		if hasGroup {
			gid, err := groupID(db, groupPart)
			if err != nil {
				return u, err
			}
			u.GID = gid
		}
	}
	if g := sc.GetRunAsGroup(); g != nil {
		u.GID = uint32(g.GetValue())
	}
	// Merge (the default) adds the groups the image's /etc/group gives the
	// user; Strict only the CRI's.
	if name != "" && sc.GetSupplementalGroupsPolicy() != runtimeapi.SupplementalGroupsPolicy_Strict {
		for _, g := range db.groups {
			for _, m := range g.members {
				if m == name && g.gid != u.GID {
					u.AdditionalGids = append(u.AdditionalGids, g.gid)
				}
			}
		}
	}
	return u, nil
}

func groupID(db userDB, g string) (uint32, error) {
	if id, err := strconv.ParseUint(g, 10, 32); err == nil {
		return uint32(id), nil
	}
	for _, e := range db.groups {
		if e.name == g {
			return e.gid, nil
		}
	}
	return 0, invalidArg("image.config.user", "group %q not found in the image's /etc/group", g)
}
