package network

import "net"

// PortMapping is a CRI port mapping (hostPort).
type PortMapping struct {
	Protocol      string // "tcp", "udp", "sctp"; "" = tcp
	ContainerPort int32
	HostPort      int32  // 0 = none
	HostIP        string // "", "0.0.0.0" or "::" = every address of the node (127.0.0.1 included)
}

// SandboxNet is what the network needs to know of a sandbox.
type SandboxNet struct {
	ID, Name, Namespace, UID string
	NetNS                    string // path of the sandbox's network namespace
	PortMappings             []PortMapping
}

// Result is a sandbox's network as configured.
type Result struct {
	IPs       []net.IP // IPv4 first
	Gateway   net.IP   // the first family's
	Interface string   // inside the sandbox's namespace
}

// InterfaceStats are one interface's counters.
type InterfaceStats struct {
	Name                 string
	RxBytes, RxErrors    uint64
	TxBytes, TxErrors    uint64
	RxPackets, TxPackets uint64
	RxDropped, TxDropped uint64
}

// podInterface is the sandbox's end of its veth.
const podInterface = "eth0"
