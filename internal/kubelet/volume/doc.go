// Package volume makes a pod's volumes on the host before its containers
// start: emptyDir (disk or memory), hostPath with its type checks, the
// volumes whose content comes from the API (configMap, secret,
// downwardAPI, projected with the service-account token), written with
// an atomic writer so that a change appears in running containers at
// once, and persistent volumes through their claims (persistentVolumeClaim
// and generic ephemeral volumes; local and hostPath sources). It applies
// the pod's fsGroup to the volumes upstream manages ownership of, and
// removes a pod's directory without ever reaching into a volume's data.
package volume
