package image

import (
	"errors"
	"io/fs"

	"github.com/kemudi/kemudi/internal/diskusage"
)

// diskUsage is the space (allocated blocks) and inodes of the tree at dir,
// each inode counted once however many links it has; a tree that is not
// there takes none.
func diskUsage(dir string) (Usage, error) {
	bytes, inodes, err := diskusage.Of(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return Usage{}, nil
	}
	return Usage{Bytes: bytes, Inodes: inodes}, err
}
