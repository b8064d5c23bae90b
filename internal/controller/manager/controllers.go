package manager

import (
	"github.com/kemudi/kemudi/internal/controller"
	"github.com/kemudi/kemudi/internal/controller/attachdetach"
	"github.com/kemudi/kemudi/internal/controller/bootstrapsigner"
	"github.com/kemudi/kemudi/internal/controller/certificates"
	"github.com/kemudi/kemudi/internal/controller/clusterroleaggregation"
	"github.com/kemudi/kemudi/internal/controller/cronjob"
	"github.com/kemudi/kemudi/internal/controller/daemonset"
	"github.com/kemudi/kemudi/internal/controller/deployment"
	"github.com/kemudi/kemudi/internal/controller/disruption"
	"github.com/kemudi/kemudi/internal/controller/endpoints"
	"github.com/kemudi/kemudi/internal/controller/endpointslice"
	"github.com/kemudi/kemudi/internal/controller/ephemeral"
	"github.com/kemudi/kemudi/internal/controller/garbagecollector"
	"github.com/kemudi/kemudi/internal/controller/job"
	"github.com/kemudi/kemudi/internal/controller/namespace"
	"github.com/kemudi/kemudi/internal/controller/nodeipam"
	"github.com/kemudi/kemudi/internal/controller/nodelifecycle"
	"github.com/kemudi/kemudi/internal/controller/persistentvolume"
	"github.com/kemudi/kemudi/internal/controller/podgc"
	"github.com/kemudi/kemudi/internal/controller/pvcprotection"
	"github.com/kemudi/kemudi/internal/controller/replicaset"
	"github.com/kemudi/kemudi/internal/controller/resourcequota"
	"github.com/kemudi/kemudi/internal/controller/serviceaccount"
	"github.com/kemudi/kemudi/internal/controller/statefulset"
	"github.com/kemudi/kemudi/internal/controller/tokencleaner"
	"github.com/kemudi/kemudi/internal/controller/ttlafterfinished"
	"github.com/kemudi/kemudi/internal/controller/validatingadmissionpolicystatus"
	"github.com/kemudi/kemudi/internal/controller/volumeexpand"
)

// Entry is one controller the manager can run.
type Entry struct {
	New Constructor
	// DisabledByDefault controllers run only when named in --controllers.
	DisabledByDefault bool
}

// Controllers lists every controller by its upstream name (the names
// --controllers takes: "deployment", "replicaset", "endpoints", ...).
// One line per controller; the wiring is plain Go, readable top to bottom.
func Controllers() map[string]Entry {
	return map[string]Entry{
		"deployment":                         {New: func(c *controller.Context) (Runner, error) { return deployment.New(c) }},
		"garbage-collector":                  {New: func(c *controller.Context) (Runner, error) { return garbagecollector.New(c) }},
		"namespace":                          {New: func(c *controller.Context) (Runner, error) { return namespace.New(c) }},
		"replicaset":                         {New: func(c *controller.Context) (Runner, error) { return replicaset.New(c) }},
		"replicationcontroller":              {New: func(c *controller.Context) (Runner, error) { return replicaset.NewReplicationController(c) }},
		nodelifecycle.Name:                   {New: func(c *controller.Context) (Runner, error) { return nodelifecycle.New(c) }},
		nodelifecycle.EvictionName:           {New: func(c *controller.Context) (Runner, error) { return nodelifecycle.NewEviction(c) }},
		nodeipam.Name:                        {New: func(c *controller.Context) (Runner, error) { return nodeipam.New(c) }},
		endpoints.Name:                       {New: func(c *controller.Context) (Runner, error) { return endpoints.New(c) }},
		endpointslice.Name:                   {New: func(c *controller.Context) (Runner, error) { return endpointslice.New(c) }},
		endpointslice.MirroringName:          {New: func(c *controller.Context) (Runner, error) { return endpointslice.NewMirroring(c) }},
		serviceaccount.Name:                  {New: func(c *controller.Context) (Runner, error) { return serviceaccount.New(c) }},
		serviceaccount.TokensName:            {New: func(c *controller.Context) (Runner, error) { return serviceaccount.NewTokens(c) }},
		serviceaccount.RootCAName:            {New: func(c *controller.Context) (Runner, error) { return serviceaccount.NewRootCAPublisher(c) }},
		resourcequota.Name:                   {New: func(c *controller.Context) (Runner, error) { return resourcequota.New(c) }},
		pvcprotection.PVCName:                {New: func(c *controller.Context) (Runner, error) { return pvcprotection.NewClaimProtection(c) }},
		pvcprotection.PVName:                 {New: func(c *controller.Context) (Runner, error) { return pvcprotection.NewVolumeProtection(c) }},
		persistentvolume.Name:                {New: func(c *controller.Context) (Runner, error) { return persistentvolume.New(c) }},
		ephemeral.Name:                       {New: func(c *controller.Context) (Runner, error) { return ephemeral.New(c) }},
		volumeexpand.Name:                    {New: func(c *controller.Context) (Runner, error) { return volumeexpand.New(c) }},
		attachdetach.Name:                    {New: func(c *controller.Context) (Runner, error) { return attachdetach.New(c) }},
		job.Name:                             {New: func(c *controller.Context) (Runner, error) { return job.New(c) }},
		cronjob.Name:                         {New: func(c *controller.Context) (Runner, error) { return cronjob.New(c) }},
		ttlafterfinished.Name:                {New: func(c *controller.Context) (Runner, error) { return ttlafterfinished.New(c) }},
		podgc.Name:                           {New: func(c *controller.Context) (Runner, error) { return podgc.New(c) }},
		daemonset.Name:                       {New: func(c *controller.Context) (Runner, error) { return daemonset.New(c) }},
		statefulset.Name:                     {New: func(c *controller.Context) (Runner, error) { return statefulset.New(c) }},
		disruption.Name:                      {New: func(c *controller.Context) (Runner, error) { return disruption.New(c) }},
		clusterroleaggregation.Name:          {New: func(c *controller.Context) (Runner, error) { return clusterroleaggregation.New(c) }},
		tokencleaner.Name:                    {New: func(c *controller.Context) (Runner, error) { return tokencleaner.New(c) }},
		bootstrapsigner.Name:                 {New: func(c *controller.Context) (Runner, error) { return bootstrapsigner.New(c) }},
		certificates.ApprovingName:           {New: func(c *controller.Context) (Runner, error) { return certificates.NewApprover(c) }},
		certificates.SigningName:             {New: func(c *controller.Context) (Runner, error) { return certificates.NewSigner(c) }},
		certificates.CleanerName:             {New: func(c *controller.Context) (Runner, error) { return certificates.NewCleaner(c) }},
		validatingadmissionpolicystatus.Name: {New: func(c *controller.Context) (Runner, error) { return validatingadmissionpolicystatus.New(c) }},
	}
}
