package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
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
	root := newRootCommand(g, commandNamed(args))
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

// commandNamed returns the top-level command that args run (its name or
// alias, after the global flags), or "" for help, a flag, an unknown word
// or none: then the whole tree is built.
func commandNamed(args []string) string {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "--root", "--run-root", "--config", "--log-level":
			i++ // its value
		default:
			if strings.HasPrefix(a, "--root=") || strings.HasPrefix(a, "--run-root=") ||
				strings.HasPrefix(a, "--config=") || strings.HasPrefix(a, "--log-level=") {
				continue
			}
			for _, c := range topCommands {
				if slices.Contains(c.names, a) {
					return c.names[0]
				}
			}
			return ""
		}
	}
	return ""
}

// topCommands are berth's top-level commands by name and aliases (a test
// checks them against what the constructors build).
var topCommands = []struct {
	names []string
	new   func(g *globals) *cobra.Command
}{
	{[]string{"version"}, newVersionCommand},
	{[]string{"info"}, newInfoCommand},
	{[]string{"image"}, newImageCommand},
	{[]string{"pull"}, newPullCommand},
	{[]string{"images", "list"}, newImagesCommand},
	{[]string{"tag"}, newTagCommand},
	{[]string{"rmi"}, func(g *globals) *cobra.Command { return newRmiCommand(g, "rmi") }},
	{[]string{"history"}, newHistoryCommand},
	{[]string{"save"}, newSaveCommand},
	{[]string{"load"}, newLoadCommand},
	{[]string{"import"}, newImportCommand},
	{[]string{"system"}, newSystemCommand},
	{[]string{"push"}, newPushCommand},
	{[]string{"login"}, newLoginCommand},
	{[]string{"logout"}, newLogoutCommand},
	{[]string{"run"}, newRunCommand},
	{[]string{"create"}, newCreateCommand},
	{[]string{"start"}, newStartCommand},
	{[]string{"stop"}, func(g *globals) *cobra.Command { return newStopCommand(g, false) }},
	{[]string{"restart"}, func(g *globals) *cobra.Command { return newStopCommand(g, true) }},
	{[]string{"kill"}, newKillCommand},
	{[]string{"pause"}, func(g *globals) *cobra.Command { return newPauseCommand(g, true) }},
	{[]string{"unpause"}, func(g *globals) *cobra.Command { return newPauseCommand(g, false) }},
	{[]string{"rm"}, newRmCommand},
	{[]string{"wait"}, newWaitCommand},
	{[]string{"ps", "ls", "list"}, newPsCommand},
	{[]string{"logs"}, newLogsCommand},
	{[]string{"exec"}, newExecCommand},
	{[]string{"inspect"}, func(g *globals) *cobra.Command { return newInspectCommand(g, false) }},
	{[]string{"container"}, newContainerCommand},
	{[]string{"attach"}, newAttachCommand},
	{[]string{"rename"}, newRenameCommand},
	{[]string{"stats"}, newStatsCommand},
	{[]string{"top"}, newTopCommand},
	{[]string{"monitor"}, newMonitorCommand},
	{[]string{"volume"}, newVolumeCommand},
	{[]string{"commit"}, newCommitCommand},
	{[]string{"diff"}, newDiffCommand},
	{[]string{"export"}, newExportCommand},
	{[]string{"cp"}, newCpCommand},
	{[]string{"network"}, newNetworkCommand},
	{[]string{"port"}, newPortCommand},
	{[]string{"dns"}, newDNSCommand},
	{[]string{"compose"}, newComposeCommand},
}

func newRootCommand(g *globals, only string) *cobra.Command {
	root := &cobra.Command{
		Use:                   "berth [OPTIONS] COMMAND",
		Short:                 "A Docker-compatible container engine",
		SilenceUsage:          true,
		SilenceErrors:         true,
		DisableFlagsInUseLine: true,
		// Docker-style: a bare `berth` prints help; a word that is no
		// command is an error (cobra, with TraverseChildren, would print
		// the help and exit 0).
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return &StatusError{Status: 1, Message: fmt.Sprintf("berth: '%s' is not a berth command.\nSee 'berth --help'", args[0])}
			}
			return cmd.Help()
		},
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

	for _, c := range topCommands {
		if only == "" || c.names[0] == only {
			root.AddCommand(c.new(g))
		}
	}
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
