// Command mkimage pushes berth's offline test images (internal/imagetest) to
// a registry, for people and benchmarks:
//
//	go run ./hack/mkimage --registry 127.0.0.1:5000 [--insecure] \
//	    [--user U --password P] [--ca FILE] [--big-mb 200] all|busybox|multilayer|index|big
//
// It pushes, as chosen:
//
//	busybox     library/busybox:schema2 (Docker schema 2) and library/busybox:oci
//	index       library/busybox:latest (manifest list: amd64, arm64, arm/v7)
//	multilayer  test/multilayer:latest
//	big         test/big:latest (--big-mb MiB of content)
//	all         all of the above
//
// and prints each reference with its digest.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"berth.dev/berth/internal/imagetest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	what := []string{"all", "busybox", "multilayer", "index", "big"}
	fs := flag.NewFlagSet("mkimage", flag.ContinueOnError)
	registry := fs.String("registry", "", "registry host:port to push to (required)")
	insecure := fs.Bool("insecure", false, "allow plain HTTP to a registry not on loopback")
	user := fs.String("user", "", "basic auth user")
	password := fs.String("password", "", "basic auth password")
	ca := fs.String("ca", "", "PEM file of a CA to trust for the registry")
	bigMB := fs.Int("big-mb", 200, "content size of test/big in MiB")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: mkimage --registry HOST:PORT [flags] %v\n", what)
		fs.PrintDefaults()
	}

	// Flags may come before and after the one positional argument.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if *registry == "" || len(pos) != 1 || !slices.Contains(what, pos[0]) {
		fs.Usage()
		return fmt.Errorf("parse arguments: want --registry and one of %v", what)
	}

	var opts []imagetest.PushOption
	if *insecure {
		opts = append(opts, imagetest.WithInsecure())
	}
	if *user != "" {
		opts = append(opts, imagetest.WithBasicAuth(*user, *password))
	}
	if *ca != "" {
		opts = append(opts, imagetest.WithCACert(*ca))
	}
	p := pusher{registry: *registry, opts: opts, out: out}

	all := pos[0] == "all"
	if all || pos[0] == "index" {
		if err := p.index(ctx, "library/busybox:latest", imagetest.BusyboxIndex); err != nil {
			return err
		}
	}
	if all || pos[0] == "busybox" {
		if err := p.image(ctx, "library/busybox:schema2", imagetest.Busybox); err != nil {
			return err
		}
		if err := p.image(ctx, "library/busybox:oci", imagetest.BusyboxOCI); err != nil {
			return err
		}
	}
	if all || pos[0] == "multilayer" {
		if err := p.image(ctx, "test/multilayer:latest", imagetest.MultiLayer); err != nil {
			return err
		}
	}
	if all || pos[0] == "big" {
		big := func() (v1.Image, error) { return imagetest.Big(*bigMB) }
		if err := p.image(ctx, "test/big:latest", big); err != nil {
			return err
		}
	}
	return nil
}

// pusher pushes images under one registry and prints "REF@DIGEST".
type pusher struct {
	registry string
	opts     []imagetest.PushOption
	out      io.Writer
}

func (p pusher) image(ctx context.Context, repoTag string, build func() (v1.Image, error)) error {
	img, err := build()
	if err != nil {
		return fmt.Errorf("build %s: %w", repoTag, err)
	}
	ref := p.registry + "/" + repoTag
	dgst, err := imagetest.Push(ctx, img, ref, p.opts...)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(p.out, "%s\t%s\n", ref, dgst)
	return err
}

func (p pusher) index(ctx context.Context, repoTag string, build func() (v1.ImageIndex, error)) error {
	idx, err := build()
	if err != nil {
		return fmt.Errorf("build %s: %w", repoTag, err)
	}
	ref := p.registry + "/" + repoTag
	dgst, err := imagetest.PushIndex(ctx, idx, ref, p.opts...)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(p.out, "%s\t%s\n", ref, dgst)
	return err
}
