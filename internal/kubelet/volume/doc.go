// Package volume makes a pod's volumes on the host before its containers
// start: emptyDir (disk or memory), hostPath with its type checks, and
// the volumes whose content comes from the API (configMap, secret,
// downwardAPI, projected with the service-account token), written with
// an atomic writer so that a change appears in running containers at once.
package volume
