// Package registry is berth's registry client, and berth's only importer of
// go-containerregistry.
//
// A [Plan] is where a pull goes: the resolver's ordered candidates, each
// with the credential source of the host it contacts ([PushPlan] is the
// same for a push, one endpoint and no fallback). [Client.Resolve] walks a
// plan to a manifest (choosing a platform from a Docker manifest list or
// an OCI index), and [Client.Blobs] opens blobs at the plan's endpoints in
// order, so that a caller can fall back to the next one. A [Pusher] checks,
// uploads and mounts blobs and puts manifests at one endpoint; [Login]
// checks a credential against a registry. Failures are one line naming
// every endpoint tried ([PullError]).
//
// Layer 2: it imports registryconf, credential, errdefs and version.
package registry
