// Package compose runs Compose projects (compose.yaml) on berth's services,
// in-process: compose-go (the only importer of it) loads and normalises
// the project; Up, Down and Containers create, start, stop and find the
// project's containers, networks and volumes, labelled the way Docker
// Compose labels them.
//
// Layer 80: above the container service and its peers; the engine wires
// it to the CLI.
package compose
