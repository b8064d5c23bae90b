package cri

import (
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// devices adds the CRI's devices (resolved from the host beforehand) and
// the device cgroup: everything denied but the defaults libcontainer
// adds and the devices given; a privileged container may use every device.
func devices(s *specs.Spec, in specInput) error {
	allowAll := in.Config.GetLinux().GetSecurityContext().GetPrivileged()
	s.Linux.Resources.Devices = []specs.LinuxDeviceCgroup{{Allow: allowAll, Access: "rwm"}}
	for i, d := range in.Devices {
		perms := "rwm"
		if i < len(in.Config.GetDevices()) {
			if p := in.Config.GetDevices()[i].GetPermissions(); p != "" {
				perms = p
			}
		}
		if strings.Trim(perms, "rwm") != "" {
			return invalidArg("config.devices.permissions", "%q: only r, w and m are allowed", perms)
		}
		s.Linux.Devices = append(s.Linux.Devices, d)
		major, minor := d.Major, d.Minor
		s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, specs.LinuxDeviceCgroup{
			Allow: true, Type: d.Type, Major: &major, Minor: &minor, Access: perms,
		})
	}
	return nil
}
