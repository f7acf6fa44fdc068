// Package registrytest is test support for code that talks to registries: it
// runs Debian's real docker-registry (distribution 2.8) on a free loopback
// port, never a mock, so tests see real protocol behaviour.
//
// Layer 20, beside internal/registry; only tests import it.
//
// [Start] lays out one temporary directory per registry:
//
//	<tmp>/
//	  config.yml     the registry's configuration
//	  registry.log   its stderr and stdout (log level warn)
//	  storage/       storage root, [Registry.Root]
//	  htpasswd       bcrypt credentials (with Options.Username)
//	  tls/           ca.crt, server.crt, server.key (with Options.TLS)
//	  certs.d/<addr>/ca.crt   [Registry.CertsDir], laid out like /etc/docker/certs.d
//
// The registry process is started with Pdeathsig=SIGKILL and stopped by
// [Registry.Stop], which Start registers with t.Cleanup, so it never outlives
// the test or the test binary.
package registrytest
