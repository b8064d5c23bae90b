package persistentvolume

import (
	"path"
	"path/filepath"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// iSCSI names come in three formats.
var (
	iqnFormat = regexp.MustCompile(`iqn\.\d{4}-\d{2}\.([[:alnum:]-.]+)(:[^,;*&$|\s]+)$`)
	euiFormat = regexp.MustCompile(`^eui.[[:alnum:]]{16}$`)
	naaFormat = regexp.MustCompile(`^naa.[[:alnum:]]{32}$`)
)

// source is one of the volume sources a PV may name: whether it is set,
// its field name, and its checks (nil when we only count it).
type source struct {
	set      bool
	name     string
	validate func(p *field.Path) field.ErrorList
}

// validateSource requires exactly one source and checks it. Sources are
// taken in upstream's order; every one after the first is reported as
// Forbidden. Local volumes must carry node affinity.
func validateSource(pv *corev1.PersistentVolume, hasNodeAffinity bool, spec *field.Path) field.ErrorList {
	s := &pv.Spec.PersistentVolumeSource
	sources := []source{
		{s.HostPath != nil, "hostPath", func(p *field.Path) field.ErrorList { return validateHostPath(s.HostPath, p) }},
		// Upstream checks a GCE disk under "persistentDisk".
		{s.GCEPersistentDisk != nil, "gcePersistentDisk", func(*field.Path) field.ErrorList {
			return validateDisk(s.GCEPersistentDisk.PDName, "pdName", s.GCEPersistentDisk.Partition, spec.Child("persistentDisk"))
		}},
		{s.AWSElasticBlockStore != nil, "awsElasticBlockStore", func(p *field.Path) field.ErrorList {
			return validateDisk(s.AWSElasticBlockStore.VolumeID, "volumeID", s.AWSElasticBlockStore.Partition, p)
		}},
		{s.Glusterfs != nil, "glusterfs", func(p *field.Path) field.ErrorList { return validateGlusterfs(s.Glusterfs, p) }},
		{s.Flocker != nil, "flocker", nil},
		{s.NFS != nil, "nfs", func(p *field.Path) field.ErrorList { return validateNFS(s.NFS, p) }},
		{s.RBD != nil, "rbd", func(p *field.Path) field.ErrorList {
			var errs field.ErrorList
			if len(s.RBD.CephMonitors) == 0 {
				errs = append(errs, field.Required(p.Child("monitors"), ""))
			}
			if s.RBD.RBDImage == "" {
				errs = append(errs, field.Required(p.Child("image"), ""))
			}
			return errs
		}},
		{s.Quobyte != nil, "quobyte", nil},
		// Upstream counts it as cephFS but checks it under "cephfs".
		{s.CephFS != nil, "cephFS", func(*field.Path) field.ErrorList {
			if len(s.CephFS.Monitors) == 0 {
				return field.ErrorList{field.Required(spec.Child("cephfs", "monitors"), "")}
			}
			return nil
		}},
		{s.ISCSI != nil, "iscsi", func(p *field.Path) field.ErrorList { return validateISCSI(s.ISCSI, pv.Name, p) }},
		{s.Cinder != nil, "cinder", nil},
		{s.FC != nil, "fc", func(p *field.Path) field.ErrorList { return validateFC(s.FC, p) }},
	}
	errs, n := countSources(sources, 0, spec)
	// A flex volume is counted but never reported as a second source.
	if s.FlexVolume != nil {
		n++
		errs = append(errs, validateFlex(s.FlexVolume, spec.Child("flexVolume"))...)
	}
	more, n := countSources([]source{
		{s.AzureFile != nil, "azureFile", nil},
		{s.VsphereVolume != nil, "vsphereVolume", nil},
		{s.PhotonPersistentDisk != nil, "photonPersistentDisk", nil},
		{s.PortworxVolume != nil, "portworxVolume", nil},
		{s.AzureDisk != nil, "azureDisk", nil},
		{s.ScaleIO != nil, "scaleIO", nil},
		{s.Local != nil, "local", func(p *field.Path) field.ErrorList {
			errs := validateLocal(s.Local, p)
			if !hasNodeAffinity {
				errs = append(errs, field.Required(spec.Child("nodeAffinity"), "Local volume requires node affinity"))
			}
			return errs
		}},
		{s.StorageOS != nil, "storageos", nil},
		{s.CSI != nil, "csi", func(p *field.Path) field.ErrorList { return validateCSI(s.CSI, p) }},
	}, n, spec)
	errs = append(errs, more...)
	if n == 0 {
		errs = append(errs, field.Required(spec, "must specify a volume type"))
	}
	return errs
}

// countSources checks the set sources, forbidding any after the first;
// n is how many were already counted, and the new count is returned.
func countSources(sources []source, n int, spec *field.Path) (field.ErrorList, int) {
	var errs field.ErrorList
	for _, src := range sources {
		if !src.set {
			continue
		}
		p := spec.Child(src.name)
		if n > 0 {
			errs = append(errs, field.Forbidden(p, "may not specify more than 1 volume type"))
			continue
		}
		n++
		if src.validate != nil {
			errs = append(errs, src.validate(p)...)
		}
	}
	return errs, n
}

var hostPathTypes = []string{
	string(corev1.HostPathUnset), string(corev1.HostPathBlockDev), string(corev1.HostPathCharDev),
	string(corev1.HostPathDirectory), string(corev1.HostPathDirectoryOrCreate), string(corev1.HostPathFile),
	string(corev1.HostPathFileOrCreate), string(corev1.HostPathSocket),
}

func validateHostPath(h *corev1.HostPathVolumeSource, p *field.Path) field.ErrorList {
	if h.Path == "" {
		return field.ErrorList{field.Required(p.Child("path"), "")}
	}
	errs := noBacksteps(h.Path, p.Child("path"))
	if h.Type != nil {
		known := false
		for _, t := range hostPathTypes {
			if string(*h.Type) == t {
				known = true
			}
		}
		if !known {
			errs = append(errs, field.NotSupported(p.Child("type"), h.Type, hostPathTypes))
		}
	}
	return errs
}

func validateLocal(l *corev1.LocalVolumeSource, p *field.Path) field.ErrorList {
	if l.Path == "" {
		return field.ErrorList{field.Required(p.Child("path"), "")}
	}
	return noBacksteps(l.Path, p.Child("path"))
}

// noBacksteps rejects paths with a ".." element.
func noBacksteps(target string, p *field.Path) field.ErrorList {
	for _, item := range strings.Split(filepath.ToSlash(target), "/") {
		if item == ".." {
			return field.ErrorList{field.Invalid(p, target, "must not contain '..'")}
		}
	}
	return nil
}

func validateNFS(n *corev1.NFSVolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if n.Server == "" {
		errs = append(errs, field.Required(p.Child("server"), ""))
	}
	if n.Path == "" {
		errs = append(errs, field.Required(p.Child("path"), ""))
	}
	if !path.IsAbs(n.Path) {
		errs = append(errs, field.Invalid(p.Child("path"), n.Path, "must be an absolute path"))
	}
	return errs
}

// validateDisk checks a cloud disk: its identifier and a partition in
// 0..255.
func validateDisk(id, idField string, partition int32, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if id == "" {
		errs = append(errs, field.Required(p.Child(idField), ""))
	}
	if partition < 0 || partition > 255 {
		errs = append(errs, field.Invalid(p.Child("partition"), partition, validation.InclusiveRangeError(1, 255)))
	}
	return errs
}

func validateGlusterfs(g *corev1.GlusterfsPersistentVolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if g.EndpointsName == "" {
		errs = append(errs, field.Required(p.Child("endpoints"), ""))
	}
	if g.Path == "" {
		errs = append(errs, field.Required(p.Child("path"), ""))
	}
	if ns := g.EndpointsNamespace; ns != nil {
		if *ns == "" {
			errs = append(errs, field.Invalid(p.Child("endpointsNamespace"), *ns, "if the endpointnamespace is set, it must be a valid namespace name"))
		} else {
			for _, msg := range apimachineryvalidation.ValidateNamespaceName(*ns, false) {
				errs = append(errs, field.Invalid(p.Child("endpointsNamespace"), *ns, msg))
			}
		}
	}
	return errs
}

func validateISCSI(i *corev1.ISCSIPersistentVolumeSource, pvName string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if i.TargetPortal == "" {
		errs = append(errs, field.Required(p.Child("targetPortal"), ""))
	}
	if i.InitiatorName != nil && len(pvName+":"+i.TargetPortal) > 64 {
		errs = append(errs, field.Invalid(p.Child("targetportal"), i.TargetPortal,
			"Total length of <volume name>:<iscsi.targetPortal> must be under 64 characters if iscsi.initiatorName is specified."))
	}
	if i.IQN == "" {
		errs = append(errs, field.Required(p.Child("iqn"), ""))
	} else if !validISCSIName(i.IQN) {
		errs = append(errs, field.Invalid(p.Child("iqn"), i.IQN, "must be valid format"))
	}
	if i.Lun < 0 || i.Lun > 255 {
		errs = append(errs, field.Invalid(p.Child("lun"), i.Lun, validation.InclusiveRangeError(0, 255)))
	}
	if (i.DiscoveryCHAPAuth || i.SessionCHAPAuth) && i.SecretRef == nil {
		errs = append(errs, field.Required(p.Child("secretRef"), ""))
	}
	if i.SecretRef != nil && i.SecretRef.Name == "" {
		errs = append(errs, field.Required(p.Child("secretRef", "name"), ""))
	}
	if i.InitiatorName != nil && !validISCSIName(*i.InitiatorName) {
		errs = append(errs, field.Invalid(p.Child("initiatorname"), *i.InitiatorName, "must be valid format"))
	}
	return errs
}

// validISCSIName accepts an iqn., eui. or naa. name in its format.
func validISCSIName(name string) bool {
	switch {
	case strings.HasPrefix(name, "iqn"):
		return iqnFormat.MatchString(name)
	case strings.HasPrefix(name, "eui"):
		return euiFormat.MatchString(name)
	case strings.HasPrefix(name, "naa"):
		return naaFormat.MatchString(name)
	}
	return false
}

func validateFC(fc *corev1.FCVolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(fc.TargetWWNs) == 0 && len(fc.WWIDs) == 0 {
		errs = append(errs, field.Required(p.Child("targetWWNs"), "must specify either targetWWNs or wwids, but not both"))
	}
	if len(fc.TargetWWNs) != 0 && len(fc.WWIDs) != 0 {
		errs = append(errs, field.Invalid(p.Child("targetWWNs"), fc.TargetWWNs, "targetWWNs and wwids can not be specified simultaneously"))
	}
	if len(fc.TargetWWNs) != 0 {
		if fc.Lun == nil {
			errs = append(errs, field.Required(p.Child("lun"), "lun is required if targetWWNs is specified"))
		} else if *fc.Lun < 0 || *fc.Lun > 255 {
			errs = append(errs, field.Invalid(p.Child("lun"), fc.Lun, validation.InclusiveRangeError(0, 255)))
		}
	}
	return errs
}

func validateFlex(f *corev1.FlexPersistentVolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if f.Driver == "" {
		errs = append(errs, field.Required(p.Child("driver"), ""))
	}
	for k := range f.Options {
		domain := k
		if parts := strings.SplitN(k, "/", 2); len(parts) == 2 {
			domain = parts[0]
		}
		d := "." + strings.ToLower(domain)
		if strings.HasSuffix(d, ".kubernetes.io") || strings.HasSuffix(d, ".k8s.io") {
			errs = append(errs, field.Invalid(p.Child("options").Key(k), k, "kubernetes.io and k8s.io namespaces are reserved"))
		}
	}
	return errs
}

func validateCSI(c *corev1.CSIPersistentVolumeSource, p *field.Path) field.ErrorList {
	errs := ValidateCSIDriverName(c.Driver, p.Child("driver"))
	if c.VolumeHandle == "" {
		errs = append(errs, field.Required(p.Child("volumeHandle"), ""))
	}
	for _, ref := range []struct {
		ref  *corev1.SecretReference
		name string
	}{
		{c.ControllerPublishSecretRef, "controllerPublishSecretRef"},
		{c.ControllerExpandSecretRef, "controllerExpandSecretRef"},
		{c.NodePublishSecretRef, "nodePublishSecretRef"},
		{c.NodeExpandSecretRef, "nodeExpandSecretRef"},
	} {
		if ref.ref != nil {
			errs = append(errs, validateSecretReference(ref.ref, p.Child(ref.name))...)
		}
	}
	return errs
}

// ValidateCSIDriverName requires a driver name of at most 63 characters
// that is, lower-cased, a DNS subdomain.
func ValidateCSIDriverName(name string, p *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	var errs field.ErrorList
	if len(name) > 63 {
		errs = append(errs, field.TooLong(p, "", 63))
	}
	for _, msg := range validation.IsDNS1123Subdomain(strings.ToLower(name)) {
		errs = append(errs, field.Invalid(p, name, msg))
	}
	return errs
}

// validateSecretReference requires a secret name and namespace.
func validateSecretReference(ref *corev1.SecretReference, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if ref.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	} else {
		for _, msg := range validation.IsDNS1123Subdomain(ref.Name) {
			errs = append(errs, field.Invalid(p.Child("name"), ref.Name, msg))
		}
	}
	if ref.Namespace == "" {
		errs = append(errs, field.Required(p.Child("namespace"), ""))
	} else {
		for _, msg := range validation.IsDNS1123Label(ref.Namespace) {
			errs = append(errs, field.Invalid(p.Child("namespace"), ref.Namespace, msg))
		}
	}
	return errs
}
