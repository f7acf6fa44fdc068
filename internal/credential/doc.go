// Package credential finds registry credentials where Docker keeps them:
// ~/.docker/config.json (or $DOCKER_CONFIG/config.json) with its auths,
// credsStore and credHelpers, and the DOCKER_AUTH_CONFIG variable. It is the
// only importer of github.com/docker/cli.
//
// Layer 1. Credentials are always looked up for the host actually
// contacted, never for the name the user typed, so a mirror or rewrite never
// receives another registry's secret.
package credential
