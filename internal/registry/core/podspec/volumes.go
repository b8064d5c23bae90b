package podspec

import (
	"fmt"
	"net"
	"path"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	fileModeMsg     = "must be a number between 0 and 0777 (octal), both inclusive"
	emptyDirModeMsg = "must be a number between 0 and 01777 (octal), both inclusive"
	moreThanOneMsg  = "may not specify more than 1 volume type"
)

// validateVolumes checks each volume and returns the valid ones by name,
// for the mounts to refer to.
func validateVolumes(volumes []corev1.Volume, podName string, fldPath *field.Path) (map[string]corev1.VolumeSource, field.ErrorList) {
	var errs field.ErrorList
	names := sets.New[string]()
	// The claims generic ephemeral volumes will create for this pod: a
	// persistentVolumeClaim volume may not name one of them.
	created := sets.New[string]()
	if podName != "" {
		for _, v := range volumes {
			if v.Ephemeral != nil {
				created.Insert(podName + "-" + v.Name)
			}
		}
	}
	valid := make(map[string]corev1.VolumeSource)
	for i := range volumes {
		v := &volumes[i]
		p := fldPath.Index(i)
		vErrs := validateVolumeSource(&v.VolumeSource, v.Name, podName, p)
		if v.Name == "" {
			vErrs = append(vErrs, field.Required(p.Child("name"), ""))
		} else {
			vErrs = append(vErrs, dnsLabel(v.Name, p.Child("name"))...)
		}
		if names.Has(v.Name) {
			vErrs = append(vErrs, field.Duplicate(p.Child("name"), v.Name))
		}
		if len(vErrs) == 0 {
			names.Insert(v.Name)
			valid[v.Name] = v.VolumeSource
		} else {
			errs = append(errs, vErrs...)
		}
		if v.PersistentVolumeClaim != nil && created.Has(v.PersistentVolumeClaim.ClaimName) {
			errs = append(errs, field.Invalid(p.Child("persistentVolumeClaim", "claimName"), v.PersistentVolumeClaim.ClaimName,
				"must not reference a PVC that gets created for an ephemeral volume"))
		}
	}
	return valid, errs
}

// validateVolumeSource requires exactly one source and checks it. The
// sources are tried in upstream's order, so the "more than 1" error lands
// on the same field.
func validateVolumeSource(src *corev1.VolumeSource, volName, podName string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	// one counts a set source: the first is checked, later ones are
	// forbidden. emptyDir, first in line, is never forbidden.
	one := func(set bool, name string, check func(p *field.Path) field.ErrorList) {
		if !set {
			return
		}
		if n > 0 {
			errs = append(errs, field.Forbidden(fldPath.Child(name), moreThanOneMsg))
			return
		}
		n++
		errs = append(errs, check(fldPath.Child(name))...)
	}
	if src.EmptyDir != nil {
		n++
		p := fldPath.Child("emptyDir")
		if src.EmptyDir.SizeLimit != nil && src.EmptyDir.SizeLimit.Cmp(resource.Quantity{}) < 0 {
			errs = append(errs, field.Forbidden(p.Child("sizeLimit"), "SizeLimit field must be a valid resource quantity"))
		}
		if m := src.EmptyDir.Mode; m != nil && (*m > 01777 || *m < 0) {
			errs = append(errs, field.Invalid(p.Child("mode"), *m, emptyDirModeMsg))
		}
	}
	one(src.HostPath != nil, "hostPath", func(p *field.Path) field.ErrorList { return validateHostPath(src.HostPath, p) })
	one(src.GitRepo != nil, "gitRepo", func(p *field.Path) field.ErrorList {
		var errs field.ErrorList
		if src.GitRepo.Repository == "" {
			errs = append(errs, field.Required(p.Child("repository"), ""))
		}
		return append(errs, localDescendingPath(src.GitRepo.Directory, p.Child("directory"))...)
	})
	// Upstream reports this one's errors under "persistentDisk".
	one(src.GCEPersistentDisk != nil, "gcePersistentDisk", func(*field.Path) field.ErrorList {
		p := fldPath.Child("persistentDisk")
		return diskErrors(src.GCEPersistentDisk.PDName == "", "pdName", src.GCEPersistentDisk.Partition, p)
	})
	one(src.AWSElasticBlockStore != nil, "awsElasticBlockStore", func(p *field.Path) field.ErrorList {
		return diskErrors(src.AWSElasticBlockStore.VolumeID == "", "volumeID", src.AWSElasticBlockStore.Partition, p)
	})
	one(src.Secret != nil, "secret", func(p *field.Path) field.ErrorList {
		var errs field.ErrorList
		if src.Secret.SecretName == "" {
			errs = append(errs, field.Required(p.Child("secretName"), ""))
		}
		errs = append(errs, fileMode(src.Secret.DefaultMode, p.Child("defaultMode"))...)
		errs = append(errs, userID(src.Secret.DefaultUser, p.Child("defaultUser"))...)
		for i := range src.Secret.Items {
			errs = append(errs, validateKeyToPath(&src.Secret.Items[i], p.Child("items").Index(i))...)
		}
		return errs
	})
	one(src.NFS != nil, "nfs", func(p *field.Path) field.ErrorList {
		var errs field.ErrorList
		if src.NFS.Server == "" {
			errs = append(errs, field.Required(p.Child("server"), ""))
		}
		if src.NFS.Path == "" {
			errs = append(errs, field.Required(p.Child("path"), ""))
		}
		if !path.IsAbs(src.NFS.Path) {
			errs = append(errs, field.Invalid(p.Child("path"), src.NFS.Path, "must be an absolute path"))
		}
		return errs
	})
	one(src.ISCSI != nil, "iscsi", func(p *field.Path) field.ErrorList { return validateISCSI(src.ISCSI, p) })
	if src.ISCSI != nil && src.ISCSI.InitiatorName != nil && len(volName+":"+src.ISCSI.TargetPortal) > 64 {
		errs = append(errs, field.Invalid(fldPath.Child("name"), volName,
			"Total length of <volume name>:<iscsi.targetPortal> must be under 64 characters if iscsi.initiatorName is specified."))
	}
	one(src.Glusterfs != nil, "glusterfs", func(p *field.Path) field.ErrorList {
		return required(p, "endpoints", src.Glusterfs.EndpointsName, "path", src.Glusterfs.Path)
	})
	one(src.Flocker != nil, "flocker", func(p *field.Path) field.ErrorList {
		var errs field.ErrorList
		f := src.Flocker
		if f.DatasetName == "" && f.DatasetUUID == "" {
			errs = append(errs, field.Required(p, "one of datasetName and datasetUUID is required"))
		}
		if f.DatasetName != "" && f.DatasetUUID != "" {
			errs = append(errs, field.Invalid(p, "resource", "datasetName and datasetUUID can not be specified simultaneously"))
		}
		if strings.Contains(f.DatasetName, "/") {
			errs = append(errs, field.Invalid(p.Child("datasetName"), f.DatasetName, "must not contain '/'"))
		}
		return errs
	})
	one(src.PersistentVolumeClaim != nil, "persistentVolumeClaim", func(p *field.Path) field.ErrorList {
		return required(p, "claimName", src.PersistentVolumeClaim.ClaimName)
	})
	one(src.RBD != nil, "rbd", func(p *field.Path) field.ErrorList {
		var errs field.ErrorList
		if len(src.RBD.CephMonitors) == 0 {
			errs = append(errs, field.Required(p.Child("monitors"), ""))
		}
		return append(errs, required(p, "image", src.RBD.RBDImage)...)
	})
	one(src.Cinder != nil, "cinder", func(p *field.Path) field.ErrorList {
		errs := required(p, "volumeID", src.Cinder.VolumeID)
		if src.Cinder.SecretRef != nil && src.Cinder.SecretRef.Name == "" {
			errs = append(errs, field.Required(p.Child("secretRef", "name"), ""))
		}
		return errs
	})
	// Upstream forbids under "cephFS" but checks under "cephfs".
	one(src.CephFS != nil, "cephFS", func(*field.Path) field.ErrorList {
		if len(src.CephFS.Monitors) == 0 {
			return field.ErrorList{field.Required(fldPath.Child("cephfs", "monitors"), "")}
		}
		return nil
	})
	one(src.Quobyte != nil, "quobyte", func(p *field.Path) field.ErrorList { return validateQuobyte(src.Quobyte, p) })
	// Upstream's "more than 1" error for downwardAPI has this spelling.
	one(src.DownwardAPI != nil, "downwarAPI", func(*field.Path) field.ErrorList {
		p := fldPath.Child("downwardAPI")
		errs := fileMode(src.DownwardAPI.DefaultMode, p.Child("defaultMode"))
		errs = append(errs, userID(src.DownwardAPI.DefaultUser, p.Child("defaultUser"))...)
		for i := range src.DownwardAPI.Items {
			errs = append(errs, validateDownwardAPIFile(&src.DownwardAPI.Items[i], p)...)
		}
		return errs
	})
	one(src.FC != nil, "fc", func(p *field.Path) field.ErrorList { return validateFC(src.FC, p) })
	one(src.FlexVolume != nil, "flexVolume", func(p *field.Path) field.ErrorList {
		errs := required(p, "driver", src.FlexVolume.Driver)
		for k := range src.FlexVolume.Options {
			ns := k
			if parts := strings.SplitN(k, "/", 2); len(parts) == 2 {
				ns = parts[0]
			}
			if n := "." + strings.ToLower(ns); strings.HasSuffix(n, ".kubernetes.io") || strings.HasSuffix(n, ".k8s.io") {
				errs = append(errs, field.Invalid(p.Child("options").Key(k), k, "kubernetes.io and k8s.io namespaces are reserved"))
			}
		}
		return errs
	})
	one(src.ConfigMap != nil, "configMap", func(p *field.Path) field.ErrorList {
		var errs field.ErrorList
		if src.ConfigMap.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		}
		errs = append(errs, fileMode(src.ConfigMap.DefaultMode, p.Child("defaultMode"))...)
		errs = append(errs, userID(src.ConfigMap.DefaultUser, p.Child("defaultUser"))...)
		for i := range src.ConfigMap.Items {
			errs = append(errs, validateKeyToPath(&src.ConfigMap.Items[i], p.Child("items").Index(i))...)
		}
		return errs
	})
	one(src.AzureFile != nil, "azureFile", func(p *field.Path) field.ErrorList {
		return required(p, "secretName", src.AzureFile.SecretName, "shareName", src.AzureFile.ShareName)
	})
	one(src.VsphereVolume != nil, "vsphereVolume", func(p *field.Path) field.ErrorList {
		return required(p, "volumePath", src.VsphereVolume.VolumePath)
	})
	one(src.PhotonPersistentDisk != nil, "photonPersistentDisk", func(p *field.Path) field.ErrorList {
		return required(p, "pdID", src.PhotonPersistentDisk.PdID)
	})
	one(src.PortworxVolume != nil, "portworxVolume", func(p *field.Path) field.ErrorList {
		return required(p, "volumeID", src.PortworxVolume.VolumeID)
	})
	one(src.AzureDisk != nil, "azureDisk", func(p *field.Path) field.ErrorList { return validateAzureDisk(src.AzureDisk, p) })
	one(src.StorageOS != nil, "storageos", func(p *field.Path) field.ErrorList {
		s := src.StorageOS
		var errs field.ErrorList
		if s.VolumeName == "" {
			errs = append(errs, field.Required(p.Child("volumeName"), ""))
		} else {
			errs = append(errs, dnsLabel(s.VolumeName, p.Child("volumeName"))...)
		}
		if s.VolumeNamespace != "" {
			errs = append(errs, dnsLabel(s.VolumeNamespace, p.Child("volumeNamespace"))...)
		}
		if s.SecretRef != nil && s.SecretRef.Name == "" {
			errs = append(errs, field.Required(p.Child("secretRef", "name"), ""))
		}
		return errs
	})
	one(src.Projected != nil, "projected", func(p *field.Path) field.ErrorList { return validateProjected(src.Projected, p) })
	one(src.ScaleIO != nil, "scaleIO", func(p *field.Path) field.ErrorList {
		return required(p, "gateway", src.ScaleIO.Gateway, "system", src.ScaleIO.System, "volumeName", src.ScaleIO.VolumeName)
	})
	one(src.CSI != nil, "csi", func(p *field.Path) field.ErrorList {
		errs := validateCSIDriverName(src.CSI.Driver, p.Child("driver"))
		if ref := src.CSI.NodePublishSecretRef; ref != nil {
			if ref.Name == "" {
				errs = append(errs, field.Required(p.Child("nodePublishSecretRef", "name"), ""))
			} else {
				// Upstream reports a bad secret name at csi.name.
				errs = append(errs, objectName(ref.Name, false, p.Child("name"))...)
			}
		}
		return errs
	})
	one(src.Ephemeral != nil, "ephemeral", func(p *field.Path) field.ErrorList {
		if src.Ephemeral.VolumeClaimTemplate == nil {
			return field.ErrorList{field.Required(p.Child("volumeClaimTemplate"), "")}
		}
		errs := validateClaimTemplate(src.Ephemeral.VolumeClaimTemplate, p.Child("volumeClaimTemplate"))
		if podName != "" && volName != "" {
			claim := podName + "-" + volName
			for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(claim, false) {
				errs = append(errs, field.Invalid(fldPath.Child("name"), volName, fmt.Sprintf("PVC name %q: %v", claim, msg)))
			}
		}
		return errs
	})
	one(src.Image != nil, "image", func(p *field.Path) field.ErrorList {
		var errs field.ErrorList
		if src.Image.Reference == "" {
			errs = append(errs, field.Required(p.Child("reference"), ""))
		}
		return append(errs, validatePullPolicy(src.Image.PullPolicy, p.Child("pullPolicy"))...)
	})
	if n == 0 {
		errs = append(errs, field.Required(fldPath, "must specify a volume type"))
	}
	return errs
}

// required reports each empty value of (child, value) pairs as Required.
func required(p *field.Path, pairs ...string) field.ErrorList {
	var errs field.ErrorList
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			errs = append(errs, field.Required(p.Child(pairs[i]), ""))
		}
	}
	return errs
}

func diskErrors(missing bool, idField string, partition int32, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if missing {
		errs = append(errs, field.Required(p.Child(idField), ""))
	}
	if partition < 0 || partition > 255 {
		errs = append(errs, field.Invalid(p.Child("partition"), partition, validation.InclusiveRangeError(1, 255)))
	}
	return errs
}

func fileMode(mode *int32, p *field.Path) field.ErrorList {
	if mode != nil && (*mode > 0777 || *mode < 0) {
		return field.ErrorList{field.Invalid(p, *mode, fileModeMsg)}
	}
	return nil
}

var hostPathTypes = []corev1.HostPathType{
	corev1.HostPathUnset, corev1.HostPathDirectoryOrCreate, corev1.HostPathDirectory,
	corev1.HostPathFileOrCreate, corev1.HostPathFile, corev1.HostPathSocket,
	corev1.HostPathCharDev, corev1.HostPathBlockDev,
}

func validateHostPath(hp *corev1.HostPathVolumeSource, p *field.Path) field.ErrorList {
	if hp.Path == "" {
		return field.ErrorList{field.Required(p.Child("path"), "")}
	}
	errs := noBacksteps(hp.Path, p.Child("path"))
	if hp.Type != nil && !sets.New(hostPathTypes...).Has(*hp.Type) {
		errs = append(errs, field.NotSupported(p.Child("type"), hp.Type, sets.List(sets.New(hostPathTypes...))))
	}
	return errs
}

func validateKeyToPath(kp *corev1.KeyToPath, p *field.Path) field.ErrorList {
	errs := required(p, "key", kp.Key, "path", kp.Path)
	errs = append(errs, localNonReservedPath(kp.Path, p.Child("path"))...)
	errs = append(errs, fileMode(kp.Mode, p.Child("mode"))...)
	return append(errs, userID(kp.User, p.Child("user"))...)
}

func validateDownwardAPIFile(file *corev1.DownwardAPIVolumeFile, p *field.Path) field.ErrorList {
	errs := required(p, "path", file.Path)
	errs = append(errs, localNonReservedPath(file.Path, p.Child("path"))...)
	switch {
	case file.FieldRef != nil:
		errs = append(errs, validateObjectFieldSelector(file.FieldRef, volumeFieldPaths, p.Child("fieldRef"))...)
		if file.ResourceFieldRef != nil {
			errs = append(errs, field.Invalid(p, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
		}
	case file.ResourceFieldRef != nil:
		errs = append(errs, validateResourceFieldSelector(file.ResourceFieldRef, true, p.Child("resourceFieldRef"))...)
	default:
		errs = append(errs, field.Required(p, "one of fieldRef and resourceFieldRef is required"))
	}
	errs = append(errs, fileMode(file.Mode, p.Child("mode"))...)
	return append(errs, userID(file.User, p.Child("user"))...)
}

var (
	iqnRegexp = regexp.MustCompile(`iqn\.\d{4}-\d{2}\.([[:alnum:]-.]+)(:[^,;*&$|\s]+)$`)
	euiRegexp = regexp.MustCompile(`^eui.[[:alnum:]]{16}$`)
	naaRegexp = regexp.MustCompile(`^naa.[[:alnum:]]{32}$`)
)

// iscsiNameErrors checks an IQN/EUI/NAA name's format.
func iscsiNameErrors(name string, p *field.Path, prefixMsg string) field.ErrorList {
	switch {
	case strings.HasPrefix(name, "iqn"):
		if !iqnRegexp.MatchString(name) {
			return field.ErrorList{field.Invalid(p, name, "must be valid format")}
		}
	case strings.HasPrefix(name, "eui"):
		if !euiRegexp.MatchString(name) {
			return field.ErrorList{field.Invalid(p, name, "must be valid format")}
		}
	case strings.HasPrefix(name, "naa"):
		if !naaRegexp.MatchString(name) {
			return field.ErrorList{field.Invalid(p, name, "must be valid format")}
		}
	default:
		return field.ErrorList{field.Invalid(p, name, prefixMsg)}
	}
	return nil
}

func validateISCSI(s *corev1.ISCSIVolumeSource, p *field.Path) field.ErrorList {
	const prefixMsg = "must be valid format starting with iqn, eui, or naa"
	errs := required(p, "targetPortal", s.TargetPortal)
	if s.IQN == "" {
		errs = append(errs, field.Required(p.Child("iqn"), ""))
	} else {
		errs = append(errs, iscsiNameErrors(s.IQN, p.Child("iqn"), prefixMsg)...)
	}
	if s.Lun < 0 || s.Lun > 255 {
		errs = append(errs, field.Invalid(p.Child("lun"), s.Lun, validation.InclusiveRangeError(0, 255)))
	}
	if (s.DiscoveryCHAPAuth || s.SessionCHAPAuth) && s.SecretRef == nil {
		errs = append(errs, field.Required(p.Child("secretRef"), ""))
	}
	if s.InitiatorName != nil {
		errs = append(errs, iscsiNameErrors(*s.InitiatorName, p.Child("initiatorname"), prefixMsg)...)
	}
	return errs
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

func validateQuobyte(q *corev1.QuobyteVolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	const registryMsg = "must be a host:port pair or multiple pairs separated by commas"
	switch {
	case q.Registry == "":
		errs = append(errs, field.Required(p.Child("registry"), registryMsg))
	case len(q.Tenant) >= 65:
		errs = append(errs, field.Required(p.Child("tenant"), "must be a UUID and may not exceed a length of 64 characters"))
	default:
		for _, pair := range strings.Split(q.Registry, ",") {
			if _, _, err := net.SplitHostPort(pair); err != nil {
				errs = append(errs, field.Invalid(p.Child("registry"), q.Registry, registryMsg))
			}
		}
	}
	return append(errs, required(p, "volume", q.Volume)...)
}

func validateAzureDisk(a *corev1.AzureDiskVolumeSource, p *field.Path) field.ErrorList {
	errs := required(p, "diskName", a.DiskName, "diskURI", a.DataDiskURI)
	caching := []corev1.AzureDataDiskCachingMode{corev1.AzureDataDiskCachingNone, corev1.AzureDataDiskCachingReadOnly, corev1.AzureDataDiskCachingReadWrite}
	if a.CachingMode != nil && !sets.New(caching...).Has(*a.CachingMode) {
		errs = append(errs, field.NotSupported(p.Child("cachingMode"), *a.CachingMode, sets.List(sets.New(caching...))))
	}
	kinds := []corev1.AzureDataDiskKind{corev1.AzureSharedBlobDisk, corev1.AzureDedicatedBlobDisk, corev1.AzureManagedDisk}
	if a.Kind != nil && !sets.New(kinds...).Has(*a.Kind) {
		errs = append(errs, field.NotSupported(p.Child("kind"), *a.Kind, sets.List(sets.New(kinds...))))
	}
	if a.Kind != nil && *a.Kind == corev1.AzureManagedDisk && !strings.HasPrefix(a.DataDiskURI, "/subscriptions/") {
		errs = append(errs, field.NotSupported(p.Child("diskURI"), a.DataDiskURI, []string{"/subscriptions/{sub-id}/resourcegroups/{group-name}/providers/microsoft.compute/disks/{disk-id}"}))
	}
	if a.Kind != nil && *a.Kind != corev1.AzureManagedDisk && !strings.HasPrefix(a.DataDiskURI, "https://") {
		errs = append(errs, field.NotSupported(p.Child("diskURI"), a.DataDiskURI, []string{"https://{account-name}.blob.core.windows.net/{container-name}/{disk-name}.vhd"}))
	}
	return errs
}

func validateCSIDriverName(name string, p *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	var errs field.ErrorList
	if len(name) > 63 {
		errs = append(errs, field.TooLong(p, "", 63))
	}
	return append(errs, invalidEach(p, name, validation.IsDNS1123Subdomain(strings.ToLower(name)))...)
}

// validateProjected checks a projected volume: one source per entry and
// no two files at the same path.
func validateProjected(proj *corev1.ProjectedVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := fileMode(proj.DefaultMode, fldPath.Child("defaultMode"))
	errs = append(errs, userID(proj.DefaultUser, fldPath.Child("defaultUser"))...)
	paths := sets.New[string]()
	// claim records a file path, reporting a clash against the volume.
	claim := func(path string, value interface{}) {
		if paths.Has(path) {
			errs = append(errs, field.Invalid(fldPath, value, "conflicting duplicate paths"))
		}
		paths.Insert(path)
	}
	for i, s := range proj.Sources {
		n := 0
		sp := fldPath.Child("sources").Index(i)
		if s.Secret != nil {
			n++
			p := sp.Child("secret")
			errs = append(errs, required(p, "name", s.Secret.Name)...)
			for j := range s.Secret.Items {
				kp := &s.Secret.Items[j]
				errs = append(errs, validateKeyToPath(kp, p.Child("items").Index(j))...)
				if kp.Path != "" {
					claim(kp.Path, s.Secret.Name)
				}
			}
		}
		if s.ConfigMap != nil {
			n++
			p := sp.Child("configMap")
			errs = append(errs, required(p, "name", s.ConfigMap.Name)...)
			for j := range s.ConfigMap.Items {
				kp := &s.ConfigMap.Items[j]
				errs = append(errs, validateKeyToPath(kp, p.Child("items").Index(j))...)
				if kp.Path != "" {
					claim(kp.Path, s.ConfigMap.Name)
				}
			}
		}
		if s.DownwardAPI != nil {
			n++
			p := sp.Child("downwardAPI")
			for j := range s.DownwardAPI.Items {
				f := &s.DownwardAPI.Items[j]
				errs = append(errs, validateDownwardAPIFile(f, p)...)
				if f.Path != "" {
					claim(f.Path, f.Path)
				}
			}
		}
		if s.ServiceAccountToken != nil {
			n++
			p := sp.Child("serviceAccountToken")
			t := s.ServiceAccountToken
			if t.ExpirationSeconds == nil {
				errs = append(errs, field.Required(p.Child("expirationSeconds"), ""))
			} else {
				if *t.ExpirationSeconds < 10*60 {
					errs = append(errs, field.Invalid(p.Child("expirationSeconds"), *t.ExpirationSeconds, "may not specify a duration less than 10 minutes"))
				}
				if *t.ExpirationSeconds > 1<<32 {
					errs = append(errs, field.Invalid(p.Child("expirationSeconds"), *t.ExpirationSeconds, "may not specify a duration larger than 2^32 seconds"))
				}
			}
			// Upstream reports the token's path at the volume level.
			if t.Path == "" {
				errs = append(errs, field.Required(fldPath.Child("path"), ""))
			} else {
				errs = append(errs, localNonReservedPath(t.Path, fldPath.Child("path"))...)
			}
			errs = append(errs, userID(t.User, p.Child("user"))...)
		}
		if s.ClusterTrustBundle != nil {
			n++
			errs = append(errs, validateClusterTrustBundle(s.ClusterTrustBundle, sp.Child("clusterTrustBundle"))...)
			claim(s.ClusterTrustBundle.Path, s.ClusterTrustBundle.Path)
		}
		if s.PodCertificate != nil {
			n++
			p := sp.Child("podCertificate")
			pc := s.PodCertificate
			errs = append(errs, validateSignerName(pc.SignerName, p.Child("signerName"))...)
			if pc.UserAnnotations != nil {
				errs = append(errs, apimachineryvalidation.ValidateAnnotations(pc.UserAnnotations, p.Child("userAnnotations"))...)
			}
			errs = append(errs, userID(pc.User, p.Child("user"))...)
			keyTypes := []string{"RSA3072", "RSA4096", "ECDSAP256", "ECDSAP384", "ECDSAP521", "ED25519"}
			if !sets.New(keyTypes...).Has(pc.KeyType) {
				errs = append(errs, field.NotSupported(p.Child("keyType"), pc.KeyType, keyTypes))
			}
			if pc.MaxExpirationSeconds != nil && *pc.MaxExpirationSeconds < 3600 {
				errs = append(errs, field.Invalid(p.Child("maxExpirationSeconds"), *pc.MaxExpirationSeconds, "if provided, maxExpirationSeconds must be >= 3600"))
			}
			paths := 0
			for _, f := range []struct{ name, value string }{
				{"credentialBundlePath", pc.CredentialBundlePath},
				{"keyPath", pc.KeyPath},
				{"certificateChainPath", pc.CertificateChainPath},
			} {
				if f.value == "" {
					continue
				}
				paths++
				errs = append(errs, localNonReservedPath(f.value, p.Child(f.name))...)
				claim(f.value, f.value)
			}
			if paths == 0 {
				errs = append(errs, field.Required(p, "specify at least one of credentialBundlePath, keyPath, and certificateChainPath"))
			}
		}
		if n > 1 {
			errs = append(errs, field.Forbidden(sp, "may not specify more than 1 volume type per source"))
		}
	}
	return errs
}

func validateClusterTrustBundle(ctb *corev1.ClusterTrustBundleProjection, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	byName, bySigner := ctb.Name != nil, ctb.SignerName != nil
	switch {
	case byName && bySigner:
		errs = append(errs, field.Invalid(p, ctb, "only one of name and signerName may be used"))
	case byName:
		if *ctb.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), "must be a valid object name"))
		}
		if ctb.LabelSelector != nil {
			errs = append(errs, field.Invalid(p.Child("labelSelector"), ctb.LabelSelector, "labelSelector must be unset if name is specified"))
		}
	case bySigner:
		if *ctb.SignerName == "" {
			errs = append(errs, field.Required(p.Child("signerName"), "must be a valid signer name"))
		}
		errs = append(errs, validateSignerName(*ctb.SignerName, p.Child("signerName"))...)
		errs = append(errs, metav1validation.ValidateLabelSelector(ctb.LabelSelector, metav1validation.LabelSelectorValidationOptions{}, p.Child("labelSelector"))...)
	default:
		errs = append(errs, field.Required(p, "either name or signerName must be specified"))
	}
	if ctb.Path == "" {
		errs = append(errs, field.Required(p.Child("path"), ""))
	}
	errs = append(errs, userID(ctb.User, p.Child("user"))...)
	return append(errs, localNonReservedPath(ctb.Path, p.Child("path"))...)
}

// validateSignerName checks the "<domain>/<path>" shape of a certificate
// signer name.
func validateSignerName(name string, p *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	parts := strings.Split(name, "/")
	if len(parts) != 2 {
		return field.ErrorList{field.Invalid(p, name, "must be a fully qualified domain and path of the form 'example.com/signer-name'")}
	}
	return validation.IsFullyQualifiedDomainName(p, parts[0])
}

var claimAccessModes = []corev1.PersistentVolumeAccessMode{
	corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOncePod,
}

// validateClaimTemplate checks a generic ephemeral volume's claim template:
// only labels and annotations in its metadata, and the claim spec basics.
func validateClaimTemplate(t *corev1.PersistentVolumeClaimTemplate, p *field.Path) field.ErrorList {
	mp := p.Child("metadata")
	errs := apimachineryvalidation.ValidateAnnotations(t.Annotations, mp.Child("annotations"))
	errs = append(errs, metav1validation.ValidateLabels(t.Labels, mp.Child("labels"))...)
	meta := t.ObjectMeta
	meta.Labels, meta.Annotations = nil, nil
	errs = append(errs, onlyAllowedFields(meta, map[string]bool{}, "cannot be set", mp)...)

	sp := p.Child("spec")
	spec := &t.Spec
	if len(spec.AccessModes) == 0 {
		errs = append(errs, field.Required(sp.Child("accessModes"), "at least 1 access mode is required"))
	}
	if spec.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector, metav1validation.LabelSelectorValidationOptions{}, sp.Child("selector"))...)
	}
	rwop, others := false, false
	for _, mode := range spec.AccessModes {
		switch {
		case !sets.New(claimAccessModes...).Has(mode):
			errs = append(errs, field.NotSupported(sp.Child("accessModes"), mode, claimAccessModes))
		case mode == corev1.ReadWriteOncePod:
			rwop = true
		default:
			others = true
		}
	}
	if rwop && others {
		errs = append(errs, field.Forbidden(sp.Child("accessModes"), "may not use ReadWriteOncePod with other access modes"))
	}
	storagePath := sp.Child("resources").Key(string(corev1.ResourceStorage))
	if storage, ok := spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		errs = append(errs, field.Required(storagePath, ""))
	} else if storage.Cmp(resource.Quantity{}) <= 0 {
		errs = append(errs, field.Invalid(storagePath, storage.String(), "must be greater than zero"))
	}
	if spec.StorageClassName != nil && *spec.StorageClassName != "" {
		errs = append(errs, objectName(*spec.StorageClassName, false, sp.Child("storageClassName"))...)
	}
	if m := spec.VolumeMode; m != nil && *m != corev1.PersistentVolumeBlock && *m != corev1.PersistentVolumeFilesystem {
		errs = append(errs, field.NotSupported(sp.Child("volumeMode"), *m, []corev1.PersistentVolumeMode{corev1.PersistentVolumeBlock, corev1.PersistentVolumeFilesystem}))
	}
	return errs
}

func mountPaths(mounts []corev1.VolumeMount) map[string]string {
	m := make(map[string]string, len(mounts))
	for _, mnt := range mounts {
		m[mnt.Name] = mnt.MountPath
	}
	return m
}

func devicePaths(devices []corev1.VolumeDevice) map[string]string {
	m := make(map[string]string, len(devices))
	for _, d := range devices {
		m[d.Name] = d.DevicePath
	}
	return m
}

func hasValue(m map[string]string, value string) bool {
	for _, v := range m {
		if v == value {
			return true
		}
	}
	return false
}

func validateVolumeMounts(mounts []corev1.VolumeMount, devices map[string]string, volumes map[string]corev1.VolumeSource, c *corev1.Container, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	points := sets.New[string]()
	for i, mnt := range mounts {
		p := fldPath.Index(i)
		if mnt.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		}
		if _, ok := volumes[mnt.Name]; !ok {
			errs = append(errs, field.NotFound(p.Child("name"), mnt.Name))
		}
		if mnt.MountPath == "" {
			errs = append(errs, field.Required(p.Child("mountPath"), ""))
		}
		if points.Has(mnt.MountPath) {
			errs = append(errs, field.Invalid(p.Child("mountPath"), mnt.MountPath, "must be unique"))
		}
		points.Insert(mnt.MountPath)
		if _, ok := devices[mnt.Name]; ok {
			errs = append(errs, field.Invalid(p.Child("name"), mnt.Name, "must not already exist in volumeDevices"))
		}
		if hasValue(devices, mnt.MountPath) {
			errs = append(errs, field.Invalid(p.Child("mountPath"), mnt.MountPath, "must not already exist as a path in volumeDevices"))
		}
		// Upstream reports the next few against the list, not the item.
		if mnt.SubPath != "" {
			errs = append(errs, localDescendingPath(mnt.SubPath, fldPath.Child("subPath"))...)
		}
		if mnt.SubPathExpr != "" {
			if mnt.SubPath != "" {
				errs = append(errs, field.Invalid(p.Child("subPathExpr"), mnt.SubPathExpr, "subPathExpr and subPath are mutually exclusive"))
			}
			errs = append(errs, localDescendingPath(mnt.SubPathExpr, fldPath.Child("subPathExpr"))...)
		}
		if mnt.MountPropagation != nil {
			errs = append(errs, validateMountPropagation(*mnt.MountPropagation, c, fldPath.Child("mountPropagation"))...)
		}
		errs = append(errs, validateRecursiveReadOnly(mnt, fldPath.Child("recursiveReadOnly"))...)
		errs = append(errs, validateBindMountOptions(mnt.BindMountOptions, p.Child("bindMountOptions"))...)
		if len(mnt.BindMountOptions) > 0 {
			if vs, ok := volumes[mnt.Name]; ok && vs.Image != nil {
				errs = append(errs, field.Invalid(p.Child("bindMountOptions"), mnt.BindMountOptions, "bindMountOptions may not be used with image volumes"))
			}
		}
	}
	return errs
}

var mountPropagations = []corev1.MountPropagationMode{
	corev1.MountPropagationBidirectional, corev1.MountPropagationHostToContainer, corev1.MountPropagationNone,
}

func validateMountPropagation(mode corev1.MountPropagationMode, c *corev1.Container, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if !sets.New(mountPropagations...).Has(mode) {
		errs = append(errs, field.NotSupported(p, mode, sets.List(sets.New(mountPropagations...))))
	}
	privileged := c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged
	if mode == corev1.MountPropagationBidirectional && !privileged {
		errs = append(errs, field.Forbidden(p, "Bidirectional mount propagation is available only to privileged containers"))
	}
	return errs
}

func validateRecursiveReadOnly(mnt corev1.VolumeMount, p *field.Path) field.ErrorList {
	if mnt.RecursiveReadOnly == nil {
		return nil
	}
	var errs field.ErrorList
	switch *mnt.RecursiveReadOnly {
	case corev1.RecursiveReadOnlyDisabled:
	case corev1.RecursiveReadOnlyEnabled, corev1.RecursiveReadOnlyIfPossible:
		if !mnt.ReadOnly {
			errs = append(errs, field.Forbidden(p, "may only be specified when readOnly is true"))
		}
		if mnt.MountPropagation != nil && *mnt.MountPropagation != corev1.MountPropagationNone {
			errs = append(errs, field.Forbidden(p, "may only be specified when mountPropagation is None or not specified"))
		}
	default:
		valid := []corev1.RecursiveReadOnlyMode{corev1.RecursiveReadOnlyDisabled, corev1.RecursiveReadOnlyEnabled, corev1.RecursiveReadOnlyIfPossible}
		errs = append(errs, field.NotSupported(p, *mnt.RecursiveReadOnly, valid))
	}
	return errs
}

func validateBindMountOptions(opts []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	supported := []string{"nodev", "noexec", "nosuid"}
	seen := sets.New[string]()
	for i, o := range opts {
		if !sets.New(supported...).Has(o) {
			errs = append(errs, field.NotSupported(p.Index(i), o, supported))
		}
		if seen.Has(o) {
			errs = append(errs, field.Duplicate(p.Index(i), o))
		}
		seen.Insert(o)
	}
	return errs
}

func validateVolumeDevices(devices []corev1.VolumeDevice, mounts map[string]string, volumes map[string]corev1.VolumeSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	paths, names := sets.New[string](), sets.New[string]()
	for i, d := range devices {
		p := fldPath.Index(i)
		src, matched := volumes[d.Name]
		isClaim := matched && (src.PersistentVolumeClaim != nil || src.Ephemeral != nil)
		if d.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		}
		if names.Has(d.Name) {
			errs = append(errs, field.Invalid(p.Child("name"), d.Name, "must be unique"))
		}
		if matched && !isClaim {
			errs = append(errs, field.Invalid(p.Child("name"), d.Name, "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode"))
		}
		if !matched {
			errs = append(errs, field.NotFound(p.Child("name"), d.Name))
		}
		if d.DevicePath == "" {
			errs = append(errs, field.Required(p.Child("devicePath"), ""))
		}
		if paths.Has(d.DevicePath) {
			errs = append(errs, field.Invalid(p.Child("devicePath"), d.DevicePath, "must be unique"))
		}
		if d.DevicePath != "" && len(noBacksteps(d.DevicePath, p)) > 0 {
			errs = append(errs, field.Invalid(p.Child("devicePath"), d.DevicePath, "can not contain backsteps ('..')"))
		} else {
			paths.Insert(d.DevicePath)
		}
		if _, ok := mounts[d.Name]; ok {
			errs = append(errs, field.Invalid(p.Child("name"), d.Name, "must not already exist in volumeMounts"))
		}
		if hasValue(mounts, d.DevicePath) {
			errs = append(errs, field.Invalid(p.Child("devicePath"), d.DevicePath, "must not already exist as a path in volumeMounts"))
		}
		if d.Name != "" {
			names.Insert(d.Name)
		}
	}
	return errs
}

// podClaimNames collects the names of the pod's resource claims, which
// containers' resources.claims refer to.
func podClaimNames(claims []corev1.PodResourceClaim) sets.Set[string] {
	names := sets.New[string]()
	for _, c := range claims {
		if c.Name != "" {
			names.Insert(c.Name)
		}
	}
	return names
}

func validateResourceClaims(claims []corev1.PodResourceClaim, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, c := range claims {
		p := fldPath.Index(i)
		switch {
		case c.Name == "":
			errs = append(errs, field.Required(p.Child("name"), ""))
		case names.Has(c.Name):
			errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
		default:
			errs = append(errs, dnsLabel(c.Name, p.Child("name"))...)
			names.Insert(c.Name)
		}
		if c.ResourceClaimName != nil && c.ResourceClaimTemplateName != nil {
			errs = append(errs, field.Invalid(p, c, "at most one of `resourceClaimName` or `resourceClaimTemplateName` may be specified"))
		}
		if c.ResourceClaimName == nil && c.ResourceClaimTemplateName == nil {
			errs = append(errs, field.Invalid(p, c, "must specify one of: `resourceClaimName`, `resourceClaimTemplateName`"))
		}
		if c.ResourceClaimName != nil {
			errs = append(errs, objectName(*c.ResourceClaimName, false, p.Child("resourceClaimName"))...)
		}
		if c.ResourceClaimTemplateName != nil {
			errs = append(errs, objectName(*c.ResourceClaimTemplateName, false, p.Child("resourceClaimTemplateName"))...)
		}
	}
	return errs
}
