package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/config"
	"berth.dev/berth/internal/engine"
	"berth.dev/berth/internal/image"
)

// Defaults of the global flags.
const (
	DefaultRoot    = "/var/lib/berth"
	DefaultRunRoot = "/run/berth"
)

// StatusError carries an exit status with its message (like Docker's
// cli.StatusError). An empty message prints nothing.
type StatusError struct {
	Status  int
	Message string
}

func (e *StatusError) Error() string { return e.Message }

// Streams are the process's standard streams.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// globals are the root command's persistent flags.
type globals struct {
	root, runRoot, configPath, logLevel string
	streams                             Streams
	log                                 *slog.Logger
}

// newEngine builds the engine from the global flags; commands that need no
// configuration (version) never call it.
func (g *globals) newEngine(cmd *cobra.Command) (*engine.Engine, error) {
	return engine.New(engine.Options{
		Root:           g.root,
		RunRoot:        g.runRoot,
		ConfigPath:     g.configPath,
		ConfigRequired: cmd.Flags().Changed("config") || os.Getenv("BERTH_CONFIG") != "",
		LogLevel:       g.logLevel,
		Logger:         g.log,
	})
}

// images opens the image service through a new engine.
func (g *globals) images(cmd *cobra.Command) (*image.Service, error) {
	e, err := g.newEngine(cmd)
	if err != nil {
		return nil, err
	}
	return e.Images(cmd.Context())
}

// Main runs berth with args (without the program name) and returns the exit
// status: 0, the status of a *StatusError, 125 for usage errors, 1 otherwise.
func Main(ctx context.Context, args []string, streams Streams) int {
	g := &globals{streams: streams}
	root := newRootCommand(g)
	root.SetArgs(args)
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var se *StatusError
	if errors.As(err, &se) {
		if se.Message != "" {
			fmt.Fprintln(streams.Err, se.Message)
		}
		return se.Status
	}
	fmt.Fprintf(streams.Err, "Error: %v\n", err)
	if isUsageError(err) {
		return 125
	}
	return 1
}

type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func isUsageError(err error) bool {
	var u usageError
	return errors.As(err, &u) || strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "unknown flag")
}

func newRootCommand(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "berth [OPTIONS] COMMAND",
		Short:         "A Docker-compatible container engine",
		SilenceUsage:  true,
		SilenceErrors: true,
		// Docker-style: a bare `berth` prints help.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			level, err := parseLevel(g.logLevel)
			if err != nil {
				return usageError{err}
			}
			g.log = slog.New(slog.NewTextHandler(g.streams.Err, &slog.HandlerOptions{Level: level}))
			return nil
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	// Flags of a parent command given before its subcommand are the
	// parent's (`compose -f FILE logs -f`).
	root.TraverseChildren = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })

	pf := root.PersistentFlags()
	pf.StringVar(&g.root, "root", envOr("BERTH_ROOT", DefaultRoot), "Root of berth's persistent state (env BERTH_ROOT)")
	pf.StringVar(&g.runRoot, "run-root", envOr("BERTH_RUN_ROOT", DefaultRunRoot), "Root of berth's runtime state (env BERTH_RUN_ROOT)")
	pf.StringVar(&g.configPath, "config", envOr("BERTH_CONFIG", config.DefaultPath), "Config file (env BERTH_CONFIG)")
	pf.StringVar(&g.logLevel, "log-level", "warn", `Log level ("debug", "info", "warn", "error")`)

	root.AddCommand(
		newVersionCommand(g),
		newInfoCommand(g),
		newImageCommand(g),
		newPullCommand(g),
		newImagesCommand(g),
		newTagCommand(g),
		newRmiCommand(g, "rmi"),
		newHistoryCommand(g),
		newSaveCommand(g),
		newLoadCommand(g),
		newImportCommand(g),
		newSystemCommand(g),
		newPushCommand(g),
		newLoginCommand(g),
		newLogoutCommand(g),
		newRunCommand(g),
		newCreateCommand(g),
		newStartCommand(g),
		newStopCommand(g, false),
		newStopCommand(g, true),
		newKillCommand(g),
		newPauseCommand(g, true),
		newPauseCommand(g, false),
		newRmCommand(g),
		newWaitCommand(g),
		newPsCommand(g),
		newLogsCommand(g),
		newExecCommand(g),
		newInspectCommand(g, false),
		newContainerCommand(g),
		newAttachCommand(g),
		newRenameCommand(g),
		newStatsCommand(g),
		newTopCommand(g),
		newMonitorCommand(g),
		newVolumeCommand(g),
		newCommitCommand(g),
		newDiffCommand(g),
		newExportCommand(g),
		newCpCommand(g),
		newNetworkCommand(g),
		newPortCommand(g),
		newDNSCommand(g),
		newComposeCommand(g),
	)
	return root
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error", "fatal":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("invalid log level %q: want debug, info, warn or error", s)
}
