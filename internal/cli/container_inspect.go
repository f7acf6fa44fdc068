package cli

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/container"
	"berth.dev/berth/internal/errdefs"
)

type inspectContainer struct {
	ID              string                 `json:"Id"`
	Created         string                 `json:"Created"`
	Path            string                 `json:"Path"`
	Args            []string               `json:"Args"`
	State           inspectState           `json:"State"`
	Image           string                 `json:"Image"`
	ResolvConfPath  string                 `json:"ResolvConfPath"`
	HostnamePath    string                 `json:"HostnamePath"`
	HostsPath       string                 `json:"HostsPath"`
	LogPath         string                 `json:"LogPath"`
	Name            string                 `json:"Name"`
	RestartCount    int                    `json:"RestartCount"`
	Driver          string                 `json:"Driver"`
	Platform        string                 `json:"Platform"`
	HostConfig      container.HostConfig   `json:"HostConfig"`
	GraphDriver     graphDriver            `json:"GraphDriver"`
	Mounts          []container.MountPoint `json:"Mounts"`
	Config          container.Config       `json:"Config"`
	NetworkSettings map[string]any         `json:"NetworkSettings"`
}

type inspectState struct {
	Status     string            `json:"Status"`
	Running    bool              `json:"Running"`
	Paused     bool              `json:"Paused"`
	Restarting bool              `json:"Restarting"`
	OOMKilled  bool              `json:"OOMKilled"`
	Dead       bool              `json:"Dead"`
	Pid        int               `json:"Pid"`
	ExitCode   int               `json:"ExitCode"`
	Error      string            `json:"Error"`
	StartedAt  string            `json:"StartedAt"`
	FinishedAt string            `json:"FinishedAt"`
	Health     *container.Health `json:"Health,omitempty"`
}

const zeroTime = "0001-01-01T00:00:00Z"

func toInspectContainer(svc *container.Service, v *container.View) inspectContainer {
	ts := func(t interface{ Format(string) string }, zero bool) string {
		if zero {
			return zeroTime
		}
		return t.Format("2006-01-02T15:04:05.999999999Z07:00")
	}
	dir := filepath.Dir(svc.LogPath(v.ID))
	st := v.State
	return inspectContainer{
		ID: v.ID, Created: ts(v.Created, false), Path: v.Path, Args: v.Args,
		State: inspectState{Status: st.Status, Running: st.Status == container.StatusRunning || st.Status == container.StatusPaused,
			Paused: st.Status == container.StatusPaused, Restarting: st.Status == container.StatusRestarting, OOMKilled: st.OOMKilled,
			Dead: st.Status == container.StatusDead, Pid: st.Pid, ExitCode: st.ExitCode, Error: st.Error,
			StartedAt: ts(st.StartedAt, st.StartedAt.IsZero()), FinishedAt: ts(st.FinishedAt, st.FinishedAt.IsZero()), Health: st.Health},
		Image: v.ImageID.String(), ResolvConfPath: filepath.Join(dir, "resolv.conf"), HostnamePath: filepath.Join(dir, "hostname"),
		HostsPath: filepath.Join(dir, "hosts"), LogPath: svc.LogPath(v.ID), Name: "/" + v.Name, RestartCount: st.RestartCount,
		Driver: "overlay", Platform: "linux", HostConfig: v.HostConfig, Mounts: mountsOf(v), Config: v.Config,
		GraphDriver: graphDriver{Name: "overlay", Data: map[string]string{
			"LowerDir": strings.Join(v.Layers, ":"), "UpperDir": filepath.Join(dir, "upper"),
			"WorkDir": filepath.Join(dir, "work"), "MergedDir": filepath.Join(dir, "rootfs")}},
		NetworkSettings: networkSettingsOf(v),
	}
}

// newInspectCommand is `berth inspect` (containers, then images) and, with
// onlyContainers, `berth container inspect`.
func newInspectCommand(g *globals, onlyContainers bool) *cobra.Command {
	var format, typ string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NAME|ID [NAME|ID...]",
		Short: "Return low-level information on berth objects",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.newEngine(cmd)
			if err != nil {
				return err
			}
			svc, err := e.Containers(cmd.Context())
			if err != nil {
				return err
			}
			images, err := e.Images(cmd.Context())
			if err != nil {
				return err
			}
			var out []any
			var errs []error
			for _, a := range args {
				if typ == "" || typ == "container" {
					if v, err := svc.Get(cmd.Context(), a); err == nil {
						out = append(out, toInspectContainer(svc, v))
						continue
					} else if !errdefs.IsNotFound(err) || onlyContainers || typ == "container" {
						errs = append(errs, err)
						continue
					}
				}
				img, _, err := images.Resolve(a)
				if err != nil {
					errs = append(errs, errdefs.New(errdefs.ErrNotFound, "No such object: %s", a))
					continue
				}
				sum, err := images.Summarize(img)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				out = append(out, toInspect(images, sum))
			}
			if err := writeInspect(g.streams.Out, format, out); err != nil {
				return err
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a Go template")
	if !onlyContainers {
		cmd.Flags().StringVar(&typ, "type", "", "Only inspect objects of the given type (container, image)")
	}
	return cmd
}

// mountsOf is the inspect "Mounts" list: never null.
func mountsOf(v *container.View) []container.MountPoint {
	if v.Mounts == nil {
		return []container.MountPoint{}
	}
	return v.Mounts
}

// networkSettingsOf is inspect's NetworkSettings: Docker's Networks and
// Ports, and the primary network's address at the top level.
func networkSettingsOf(v *container.View) map[string]any {
	nets := map[string]any{}
	out := map[string]any{"Networks": nets, "Ports": map[string]any{}, "IPAddress": "", "Gateway": "", "MacAddress": "", "SandboxKey": ""}
	if v.NetworkSettings.Networks == nil {
		if v.HostConfig.NetworkMode != "" {
			nets[v.HostConfig.NetworkMode] = map[string]any{}
		}
		return out
	}
	for name, ep := range v.NetworkSettings.Networks {
		nets[name] = ep
		out["IPAddress"], out["Gateway"], out["MacAddress"], out["IPPrefixLen"] = ep.IPAddress, ep.Gateway, ep.MacAddress, ep.IPPrefixLen
	}
	ports := map[string][]map[string]string{}
	for _, b := range v.NetworkSettings.Ports {
		key := fmt.Sprintf("%d/%s", b.ContainerPort, b.Proto)
		host := "0.0.0.0"
		if b.HostIP.IsValid() {
			host = b.HostIP.String()
		}
		ports[key] = append(ports[key], map[string]string{"HostIp": host, "HostPort": fmt.Sprint(b.HostPort)})
	}
	out["Ports"] = ports
	return out
}
