package network

import (
	"fmt"
	"net"
	"strings"
)

// claimHostPorts records sb's host ports in the index, unless another
// sandbox holds one: the same protocol and port, on the same host IP or on
// every one. Two DNAT rules for one port would send its traffic to
// whichever comes first, silently. A failed Setup's Teardown drops the
// claim.
func (m *Manager) claimHostPorts(sb SandboxNet) error {
	if !hasHostPorts(sb.PortMappings) {
		return nil
	}
	m.portMu.Lock()
	defer m.portMu.Unlock()
	if err := m.loadHostPorts(); err != nil {
		return err
	}
	for id, pms := range m.hostPorts {
		if id == sb.ID {
			continue
		}
		for _, want := range sb.PortMappings {
			for _, have := range pms {
				if want.HostPort != 0 && sameHostPort(want, have) {
					return fmt.Errorf("host port %s/%d%s is already used by sandbox %s", protoName(want.Protocol), want.HostPort, onHostIP(want.HostIP), id)
				}
			}
		}
	}
	m.hostPorts[sb.ID] = sb.PortMappings
	return nil
}

// loadHostPorts fills the index of host ports by sandbox from the records,
// once. m.portMu held.
func (m *Manager) loadHostPorts() error {
	if m.hostPorts != nil {
		return nil
	}
	ids, err := m.records.ids()
	if err != nil {
		return err
	}
	m.hostPorts = map[string][]PortMapping{}
	for _, id := range ids {
		if rec, ok, err := m.records.get(id); err == nil && ok && hasHostPorts(rec.PortMappings) {
			m.hostPorts[id] = rec.PortMappings
		}
	}
	return nil
}

// forgetHostPorts drops a sandbox from the index.
func (m *Manager) forgetHostPorts(id string) {
	m.portMu.Lock()
	defer m.portMu.Unlock()
	if m.hostPorts != nil {
		delete(m.hostPorts, id)
	}
}

func hasHostPorts(pms []PortMapping) bool {
	for _, pm := range pms {
		if pm.HostPort != 0 {
			return true
		}
	}
	return false
}

func sameHostPort(a, b PortMapping) bool {
	if a.HostPort != b.HostPort || protoName(a.Protocol) != protoName(b.Protocol) {
		return false
	}
	return anyHostIP(a.HostIP) || anyHostIP(b.HostIP) || a.HostIP == b.HostIP
}

func anyHostIP(ip string) bool { return ip == "" || ip == "0.0.0.0" || ip == "::" }

func protoName(p string) string {
	if p == "" {
		return "tcp"
	}
	return strings.ToLower(p)
}

func onHostIP(ip string) string {
	if anyHostIP(ip) {
		return ""
	}
	return " on " + ip
}

// validPortMappings rejects what no rule can express.
func validPortMappings(pms []PortMapping) error {
	for _, pm := range pms {
		if pm.HostPort < 0 || pm.HostPort > 65535 || pm.ContainerPort <= 0 || pm.ContainerPort > 65535 {
			return fmt.Errorf("port mapping %d->%d: port out of range", pm.HostPort, pm.ContainerPort)
		}
		if _, err := protoNumber(pm.Protocol); err != nil {
			return fmt.Errorf("port mapping %d->%d: %w", pm.HostPort, pm.ContainerPort, err)
		}
		if !anyHostIP(pm.HostIP) {
			if net.ParseIP(pm.HostIP) == nil {
				return fmt.Errorf("port mapping %d->%d: host IP %q is not an IP address", pm.HostPort, pm.ContainerPort, pm.HostIP)
			}
		}
	}
	return nil
}
