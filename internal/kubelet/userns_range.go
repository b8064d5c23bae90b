package kubelet

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// The node's range of host IDs for pods in user namespaces, and its
// cutting into blocks of idsPerPod (upstream's userNamespaces.idsPerPod):
// by default every ID from idsPerPod up to 2^32; when the node has a
// user named "kubelet", that user's one subordinate range, the same in
// /etc/subuid and /etc/subgid (upstream asks getsubids; the files say
// the same without a helper binary).

const (
	// usernsUnit is the step idsPerPod goes by (upstream's userNsUnitLength).
	usernsUnit = 65536
	// DefaultUsernsIDsPerPod is upstream's default userNamespaces.idsPerPod.
	DefaultUsernsIDsPerPod = 65536
	// kubeletUser is the user whose subordinate IDs are the pods'.
	kubeletUser = "kubelet"
)

// ValidateUsernsIDsPerPod checks idsPerPod as upstream's kubelet checks
// its configuration, in its words.
func ValidateUsernsIDsPerPod(n int64) error {
	switch {
	case n < usernsUnit:
		return fmt.Errorf("invalid configuration: userNamespaces.idsPerPod must not be less than %d", usernsUnit)
	case n%usernsUnit != 0:
		return fmt.Errorf("invalid configuration: userNamespaces.idsPerPod must be a multiple of %d", usernsUnit)
	case n > math.MaxUint32:
		return fmt.Errorf("invalid configuration: userNamespaces.idsPerPod must not be more than %d", int64(math.MaxUint32))
	}
	return nil
}

// usernsBlocks is the node's range cut into blocks: the blocks off to
// off+n-1, each of size IDs, block b starting at host ID b*size.
type usernsBlocks struct {
	size, off, n uint32
}

// first is the first host ID of the i-th block of the range.
func (b usernsBlocks) first(i uint32) uint32 { return uint32(uint64(b.off+i) * uint64(b.size)) }

// index is the range's block that starts at host ID id, and whether
// there is one.
func (b usernsBlocks) index(id uint32) (uint32, bool) {
	if id/b.size < b.off || id/b.size-b.off >= b.n {
		return 0, false
	}
	return id/b.size - b.off, true
}

// defaultUsernsRange is the node's range without a "kubelet" user.
func defaultUsernsRange(idsPerPod uint32) (first, length uint32) {
	return idsPerPod, uint32(1<<32 - uint64(idsPerPod))
}

// cutUsernsRange cuts the range of length IDs from first into blocks
// of idsPerPod, refusing, with upstream's reasons, a range that would
// map the host's low IDs, is not made of whole blocks, or has fewer
// blocks than the node can run pods.
func cutUsernsRange(first, length, idsPerPod uint32, maxPods int64) (usernsBlocks, error) {
	if idsPerPod == 0 || idsPerPod%usernsUnit != 0 {
		return usernsBlocks{}, fmt.Errorf("kubelet user namespace length %v is not a multiple of %d", idsPerPod, usernsUnit)
	}
	if first%idsPerPod != 0 {
		return usernsBlocks{}, fmt.Errorf("kubelet user assigned ID %v is not a multiple of %v", first, idsPerPod)
	}
	if first < idsPerPod {
		// The host's root would be some pod's.
		return usernsBlocks{}, fmt.Errorf("kubelet user assigned ID %v must be greater or equal to %v", first, idsPerPod)
	}
	if length%idsPerPod != 0 {
		return usernsBlocks{}, fmt.Errorf("kubelet user assigned IDs length %v is not a multiple of %v", length, idsPerPod)
	}
	if uint64(first)+uint64(length) > 1<<32 {
		// Upstream does not check this: its blocks would wrap round to
		// the host's low IDs.
		return usernsBlocks{}, fmt.Errorf("kubelet user assigned IDs %v to %v go past the last ID %v", first, uint64(first)+uint64(length)-1, uint32(math.MaxUint32))
	}
	if int64(length/idsPerPod) < maxPods {
		return usernsBlocks{}, fmt.Errorf("kubelet user assigned IDs are not enough to support %v pods", maxPods)
	}
	return usernsBlocks{size: idsPerPod, off: first / idsPerPod, n: length / idsPerPod}, nil
}

// subIDs is where the "kubelet" user and its subordinate ranges are
// looked up: the host's files, or a test's.
type subIDs struct {
	subuid, subgid string
	lookup         func(name string) (*user.User, error)
}

// hostSubIDs are the host's.
func hostSubIDs() subIDs {
	return subIDs{subuid: "/etc/subuid", subgid: "/etc/subgid", lookup: user.Lookup}
}

// idRange is one line of /etc/subuid or /etc/subgid.
type idRange struct{ start, count uint32 }

// kubeletRange is the node's range for pods in user namespaces: the
// default when there is no "kubelet" user, else its one range, which
// must be there and the same for user and group IDs, or the kubelet
// does not start (as upstream's when getsubids finds none for a user
// that exists).
func (s subIDs) kubeletRange(idsPerPod uint32) (first, length uint32, err error) {
	u, err := s.lookup(kubeletUser)
	var unknown user.UnknownUserError
	if errors.As(err, &unknown) {
		first, length = defaultUsernsRange(idsPerPod)
		return first, length, nil
	}
	if err != nil {
		return 0, 0, err
	}
	uids, err := readSubIDs(s.subuid, u)
	if err != nil {
		return 0, 0, fmt.Errorf("error retrieving additional uids for user %q: %w", kubeletUser, err)
	}
	gids, err := readSubIDs(s.subgid, u)
	if err != nil {
		return 0, 0, fmt.Errorf("error retrieving additional gids for user %q: %w", kubeletUser, err)
	}
	if len(uids) != 1 || len(gids) != 1 {
		return 0, 0, fmt.Errorf("user %q has %d ranges in %s and %d in %s: it must have exactly one in each", kubeletUser, len(uids), s.subuid, len(gids), s.subgid)
	}
	if uids[0] != gids[0] {
		return 0, 0, fmt.Errorf("mismatched subuids and subgids for user %q", kubeletUser)
	}
	return uids[0].start, uids[0].count, nil
}

// readSubIDs is u's ranges in the file at path; none is an error.
func readSubIDs(path string, u *user.User) ([]idRange, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no %s", path)
	}
	if err != nil {
		return nil, err
	}
	rs, err := parseSubIDs(b, u.Username, u.Uid)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("no range in %s", path)
	}
	return rs, nil
}

// parseSubIDs is the ranges of the user named name, or of uid, in a
// subuid or subgid file: lines "owner:start:count". Others' lines are
// not read further; a line of the user's that says no range is an error.
func parseSubIDs(data []byte, name, uid string) ([]idRange, error) {
	var out []idRange
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if f[0] != name && (uid == "" || f[0] != uid) {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("line %d: %q is not owner:start:count", n, line)
		}
		start, err := strconv.ParseUint(f[1], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("line %d: %q: start: %w", n, line, err)
		}
		count, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("line %d: %q: count: %w", n, line, err)
		}
		out = append(out, idRange{uint32(start), uint32(count)})
	}
	return out, sc.Err()
}
