// Package config reads berth's configuration file, /etc/berth/config.json
// by default: a daemon.json-style JSON object. Docker's keys mean what they
// mean in Docker; berth's own keys extend them.
//
// Layer 2. Reading is strict: an unknown key, or a value of the wrong type,
// is an error that names the file, the key path (registries[1].mirrors[0]
// .insecure) and, where it can, the key that was probably meant. Settings
// are then validated by the packages that own them (registryconf for the
// registry keys), whose errors also name the file and key.
package config
