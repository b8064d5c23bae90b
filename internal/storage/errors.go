package storage

import (
	"errors"
	"fmt"
)

// Code classifies storage errors; the API server turns each into the
// matching Kubernetes status.
type Code int

const (
	// CodeNotFound: no object at the key.
	CodeNotFound Code = iota + 1
	// CodeExists: create found an object already at the key.
	CodeExists
	// CodeConflict: a resourceVersion or UID precondition did not hold.
	CodeConflict
	// CodeExpired: the requested revision has been compacted or left the
	// cache's window (410 Gone; clients relist).
	CodeExpired
	// CodeInvalid: the request cannot be served as asked (bad continue token,
	// malformed resourceVersion).
	CodeInvalid
	// CodeTimeout: the cache did not reach the requested revision in time.
	CodeTimeout
)

// Error is a storage failure on one key.
type Error struct {
	Code Code
	Key  string
	// Msg says what went wrong, for the client.
	Msg string
}

func (e *Error) Error() string {
	if e.Msg != "" {
		return fmt.Sprintf("%s: %s", e.Key, e.Msg)
	}
	return fmt.Sprintf("%s: storage error %d", e.Key, e.Code)
}

// HasCode reports whether err is a storage Error with code c.
func HasCode(err error, c Code) bool {
	var se *Error
	return errors.As(err, &se) && se.Code == c
}

func errNotFound(key string) error { return &Error{Code: CodeNotFound, Key: key, Msg: "not found"} }
func errExists(key string) error   { return &Error{Code: CodeExists, Key: key, Msg: "already exists"} }
func errConflict(key, msg string) error {
	return &Error{Code: CodeConflict, Key: key, Msg: msg}
}
func errExpired(key, msg string) error { return &Error{Code: CodeExpired, Key: key, Msg: msg} }
func errInvalid(key, msg string) error { return &Error{Code: CodeInvalid, Key: key, Msg: msg} }
