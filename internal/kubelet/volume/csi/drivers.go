package csi

import "sync"

// Driver is a registered CSI driver.
type Driver struct {
	Name     string
	Endpoint string // its CSI socket
	Socket   string // the registration socket it came from
	NodeID   string
}

// Drivers are the drivers registered on this node, by name. Mounts look
// their endpoints up here; a driver not here is not (yet) registered.
type Drivers struct {
	mu     sync.Mutex
	byName map[string]Driver
}

// NewDrivers is an empty set of drivers.
func NewDrivers() *Drivers { return &Drivers{byName: map[string]Driver{}} }

// Get is the registered driver of that name.
func (d *Drivers) Get(name string) (Driver, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dr, ok := d.byName[name]
	return dr, ok
}

func (d *Drivers) add(dr Driver) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.byName[dr.Name] = dr
}

// forSocket is the driver registered from socket.
func (d *Drivers) forSocket(socket string) (Driver, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, dr := range d.byName {
		if dr.Socket == socket {
			return dr, true
		}
	}
	return Driver{}, false
}

func (d *Drivers) remove(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.byName, name)
}
