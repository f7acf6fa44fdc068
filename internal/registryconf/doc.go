// Package registryconf decides where an image is fetched from: Docker's
// registry-mirrors and insecure-registries, generalised to mirrors for any
// registry and prefix rewrite rules, and the explanation of each decision.
//
// Layer 1: pure. It reads no file and opens no connection; the caller hands
// it the decoded configuration, the command's flags and, optionally, a way to
// look up host addresses and to test for certificate directories.
//
// # Model
//
// A [Rule] matches a name prefix host[/path] on whole path components
// (optionally "*.host" for any subdomain). The longest match wins; rules from
// command flags are consulted before rules from the config file. The matched
// rule yields the ordered candidates:
//
//	mirrors[0]/rest, mirrors[1]/rest, …   then, unless fallback is "none",
//	location/rest (a rewrite) or the name itself (the origin)
//
// where rest is the name after the prefix, so a rewrite applies to every
// endpoint of the rule alike. One rule decides; rules do not chain. The
// logical name (what the user typed, normalised) never changes; each
// [Candidate] carries the physical reference used at its endpoint.
//
// A push goes to one endpoint, never falling back ([Resolver.ResolvePush]):
// the matched config rule's push endpoint (push.location/rest) if it names
// one; else the name's own registry, unless the rule is blocked or has
// fallback "none", which refuse the push.
package registryconf
