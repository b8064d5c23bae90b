package dnsbench

import (
	"fmt"
	"os"
)

// settle writes the binary's page cache back to disk. A binary built a
// moment ago has dirty page-cache pages, which an installed one has not;
// `kemudi dns` leaves mappings that show dirty pages mapped (see
// cluster.ReleaseStartupPages), so without this the benchmark would
// measure a fresh build, not an installed binary.
func settle(bin string) error {
	f, err := os.Open(bin)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", bin, err)
	}
	return nil
}
