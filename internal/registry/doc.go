// Package registry is berth's registry client. So far it holds the pull
// plan: the resolver's ordered candidates, each with the credential source
// for the host it contacts. The client that walks the plan (built on
// go-containerregistry) comes with pull and push.
//
// Layer 2: it imports reference, registryconf and credential.
package registry
