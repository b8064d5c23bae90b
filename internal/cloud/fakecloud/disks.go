package fakecloud

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// CSIDriver is the CSI driver name of the fake cloud's disks: a
// persistent volume of this driver, with a disk's ID as its volume
// handle, is attached by the fake cloud's attacher.
const CSIDriver = "disk.fake.csi.kemudi.io"

// disks are the fake cloud's disks and the machines they are attached
// to ("" for none).
type disks struct {
	mu        sync.Mutex
	attached  map[string]string
	attachErr error
}

func newDisks() *disks { return &disks{attached: map[string]string{}} }

// CreateDisk makes a detached disk.
func (c *Cloud) CreateDisk(id string) {
	d := c.disks
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.attached[id]; !ok {
		d.attached[id] = ""
	}
}

// AttachedTo returns the machine disk id is attached to, "" if none.
func (c *Cloud) AttachedTo(id string) string {
	d := c.disks
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.attached[id]
}

// Disks returns "disk machine" for every disk ("disk" when detached).
func (c *Cloud) Disks() []string {
	d := c.disks
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for id, m := range d.attached {
		if m == "" {
			out = append(out, id)
		} else {
			out = append(out, id+" "+m)
		}
	}
	sort.Strings(out)
	return out
}

// FailAttach makes AttachDisk fail with err (nil: succeed).
func (c *Cloud) FailAttach(err error) {
	d := c.disks
	d.mu.Lock()
	defer d.mu.Unlock()
	d.attachErr = err
}

// CSIDriverName is the driver of the fake cloud's persistent volumes.
func (c *Cloud) CSIDriverName() string { return CSIDriver }

// AttachDisk attaches a disk to the machine of node, as a cloud does: the
// disk and the machine must exist, and a disk is on one machine at most.
func (c *Cloud) AttachDisk(_ context.Context, id, node string) (map[string]string, error) {
	c.mu.Lock()
	_, machine := c.instances[node]
	c.mu.Unlock()
	d := c.disks
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.attachErr != nil {
		return nil, d.attachErr
	}
	on, ok := d.attached[id]
	switch {
	case !ok:
		return nil, fmt.Errorf("disk %s not found", id)
	case !machine:
		return nil, fmt.Errorf("instance %s not found", node)
	case on != "" && on != node:
		return nil, fmt.Errorf("disk %s is attached to instance %s", id, on)
	}
	d.attached[id] = node
	return map[string]string{"devicePath": "/dev/disk/by-id/fake-" + id}, nil
}

// DetachDisk detaches a disk from the machine of node.
func (c *Cloud) DetachDisk(_ context.Context, id, node string) error {
	d := c.disks
	d.mu.Lock()
	defer d.mu.Unlock()
	on, ok := d.attached[id]
	if !ok {
		return fmt.Errorf("disk %s not found", id)
	}
	if on == node {
		d.attached[id] = ""
	}
	return nil
}
