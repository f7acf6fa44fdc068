//go:build !linux

package firewall

import (
	"fmt"

	"berth.dev/berth/internal/errdefs"
)

// Firewall changes berth's nftables table (Linux only).
type Firewall struct{}

// New returns an error of kind errdefs.ErrNotImplemented: nftables is Linux only.
func New(lockPath string) (*Firewall, error) {
	return nil, fmt.Errorf("create firewall: nftables: %w", errdefs.ErrNotImplemented)
}

func (f *Firewall) EnsureNetwork(n Network) error { return errdefs.ErrNotImplemented }

func (f *Firewall) RemoveNetwork(bridge string) error { return errdefs.ErrNotImplemented }

func (f *Firewall) AddPorts(owner string, ms []Mapping) error { return errdefs.ErrNotImplemented }

func (f *Firewall) RemovePorts(owner string) error { return errdefs.ErrNotImplemented }

func (f *Firewall) Owners() ([]string, error) { return nil, errdefs.ErrNotImplemented }

func (f *Firewall) Flush() error { return errdefs.ErrNotImplemented }
