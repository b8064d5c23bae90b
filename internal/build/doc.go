// Package build holds the parts of `kemudi image build` that do no
// container work: the Dockerfile parsed into stages (BuildKit's parser),
// variable expansion, the stage graph and --target, the build context
// and .dockerignore, and the cache keys of steps. The runtime
// (internal/cri) executes what this package plans.
package build
