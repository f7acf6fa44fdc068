package container

import (
	"crypto/rand"
	"math/big"
	"regexp"
)

// Docker-style random names: adjective_scientist.
var (
	adjectives = []string{"admiring", "agile", "amazing", "bold", "brave", "busy", "calm", "clever", "cool", "dazzling",
		"eager", "elegant", "epic", "festive", "focused", "gallant", "gifted", "happy", "jolly", "keen",
		"kind", "lucid", "modest", "nifty", "optimistic", "quirky", "serene", "sharp", "stoic", "vibrant"}
	surnames = []string{"babbage", "bell", "borg", "curie", "darwin", "dijkstra", "einstein", "euler", "faraday", "fermi",
		"feynman", "gauss", "hamilton", "hopper", "hypatia", "kepler", "knuth", "lamarr", "lovelace", "maxwell",
		"meitner", "newton", "noether", "pascal", "ritchie", "shannon", "tesla", "thompson", "turing", "wozniak"}
)

func randomName() string {
	pick := func(n int) int {
		i, _ := rand.Int(rand.Reader, big.NewInt(int64(n)))
		return int(i.Int64())
	}
	return adjectives[pick(len(adjectives))] + "_" + surnames[pick(len(surnames))]
}

// validName is Docker's container name rule.
var validName = regexp.MustCompile(`^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)
