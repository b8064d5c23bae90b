package registry

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// ErrNoUser is returned when removing a user that is not in the file.
var ErrNoUser = errors.New("no such user")

// ValidateUserName checks a name fits an htpasswd line and a Basic
// credential.
func ValidateUserName(name string) error {
	switch {
	case name == "":
		return errors.New("user name: must not be empty")
	case strings.ContainsAny(name, ": \t\r\n"):
		return fmt.Errorf("user name %q: must not contain ':' or white space", name)
	}
	return nil
}

// readUsers parses an htpasswd file (bcrypt hashes only: the form
// `htpasswd -B` writes). A missing file has no users.
func readUsers(path string) (map[string][]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string][]byte{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry users: %w", err)
	}
	users := map[string][]byte{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hash, ok := strings.Cut(line, ":")
		if !ok || name == "" || !strings.HasPrefix(hash, "$2") {
			return nil, fmt.Errorf("registry users %s line %d: want NAME:BCRYPT-HASH (htpasswd -B)", path, n)
		}
		users[name] = []byte(hash)
	}
	return users, sc.Err()
}

func writeUsers(path string, users map[string][]byte) error {
	names := make([]string, 0, len(users))
	for n := range users {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&b, "%s:%s\n", n, users[n])
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o600); err != nil {
		return fmt.Errorf("registry users: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("registry users: %w", err)
	}
	return nil
}

// AddUser sets name's password in the users file, adding the user or
// replacing its password. A running registry sees the change at the next
// login.
func AddUser(path, name, password string) error {
	if err := ValidateUserName(name); err != nil {
		return err
	}
	if password == "" {
		return errors.New("password: must not be empty")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	users, err := readUsers(path)
	if err != nil {
		return err
	}
	users[name] = hash
	return writeUsers(path, users)
}

// RemoveUser deletes name from the users file.
func RemoveUser(path, name string) error {
	users, err := readUsers(path)
	if err != nil {
		return err
	}
	if _, ok := users[name]; !ok {
		return fmt.Errorf("%s: %w", name, ErrNoUser)
	}
	delete(users, name)
	return writeUsers(path, users)
}

// ListUsers returns the users' names, sorted.
func ListUsers(path string) ([]string, error) {
	users, err := readUsers(path)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(users))
	for n := range users {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// EnsureAdmin creates the admin user with a generated password on first
// start and writes the password to passwordPath (0600). It does nothing
// when the users file already has users.
func EnsureAdmin(usersPath, passwordPath string) (created bool, err error) {
	users, err := readUsers(usersPath)
	if err != nil || len(users) > 0 {
		return false, err
	}
	buf := make([]byte, 18)
	if _, err := rand.Read(buf); err != nil {
		return false, err
	}
	password := base64.RawURLEncoding.EncodeToString(buf)
	if err := os.WriteFile(passwordPath, []byte(password+"\n"), 0o600); err != nil {
		return false, fmt.Errorf("registry password: %w", err)
	}
	return true, AddUser(usersPath, AdminUser, password)
}

// userDB checks passwords against the users file, rereading it when it
// changes. A password that matched once is remembered by its SHA-256
// until the file changes, so that clients asking for a token per request
// do not pay for bcrypt each time.
type userDB struct {
	path string

	mu       sync.Mutex
	modTime  time.Time
	size     int64
	ino      uint64
	users    map[string][]byte
	verified map[string][sha256.Size]byte
}

func newUserDB(path string) *userDB { return &userDB{path: path} }

// check reports whether password is name's.
func (db *userDB) check(name, password string) (bool, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if err := db.reload(); err != nil {
		return false, err
	}
	hash, ok := db.users[name]
	if !ok {
		return false, nil
	}
	sum := sha256.Sum256([]byte(password))
	if v, ok := db.verified[name]; ok && v == sum {
		return true, nil
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil {
		return false, nil
	}
	db.verified[name] = sum
	return true, nil
}

func (db *userDB) reload() error {
	fi, err := os.Stat(db.path)
	if errors.Is(err, os.ErrNotExist) {
		db.users, db.verified, db.modTime = map[string][]byte{}, map[string][sha256.Size]byte{}, time.Time{}
		return nil
	}
	if err != nil {
		return err
	}
	// The file is replaced by rename on every change: a new inode.
	var ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = st.Ino
	}
	if db.users != nil && fi.ModTime().Equal(db.modTime) && fi.Size() == db.size && ino == db.ino {
		return nil
	}
	users, err := readUsers(db.path)
	if err != nil {
		return err
	}
	db.users, db.verified, db.modTime, db.size, db.ino = users, map[string][sha256.Size]byte{}, fi.ModTime(), fi.Size(), ino
	return nil
}
