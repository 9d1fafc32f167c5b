package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/signin"
)

// apiFlags are the flags of the commands that talk to a node's API.
type apiFlags struct {
	server    string
	tokenFile string
}

func (a *apiFlags) bind(fs *pflag.FlagSet) {
	fs.StringVar(&a.server, "server", envOr("FAIRWAY_SERVER", api.DefaultServer), "URL of the node's HTTP API (env FAIRWAY_SERVER)")
	fs.StringVar(&a.tokenFile, "token-file", os.Getenv("FAIRWAY_TOKEN_FILE"), "file holding the API token (env FAIRWAY_TOKEN_FILE; default: env FAIRWAY_TOKEN)")
}

// client returns an API client with the token of --token-file, else of
// FAIRWAY_TOKEN (a token is never a flag: it would show in ps), else the
// access token of `fairway login`: read (and refreshed when it expired)
// only when a request needs a token, and only for the node the sign-in
// was made for (over https, or http to this machine).
func (a *apiFlags) client() (*api.Client, error) {
	token := os.Getenv("FAIRWAY_TOKEN")
	if a.tokenFile != "" {
		b, err := os.ReadFile(a.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("token file: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	c, err := api.NewClient(a.server, strings.TrimSpace(token), nil)
	if err != nil || strings.TrimSpace(token) != "" {
		return c, err
	}
	server := a.server
	return c.WithTokenFunc(func(ctx context.Context) (string, error) {
		tok, err := signin.AccessToken(ctx, signin.Config{Server: server})
		if errors.Is(err, signin.ErrNotSignedIn) {
			return "", nil
		}
		return tok, err
	}), nil
}

// readSecretFile reads a secret from a file, or from stdin for "-".
func readSecretFile(cmd *cobra.Command, path string) (string, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 64<<10))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", fmt.Errorf("source token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", errors.New("source token: the file is empty")
	}
	return tok, nil
}

// feedFlags are the flags that set a feed's fields, for add and update.
type feedFlags struct {
	id, facility string
	kind, url    string
	format, set  string
	every, rate  time.Duration
	disabled     bool
	enabled      bool
	tokenFile    string
	clearToken   bool
	forUpdate    bool
	flags        *pflag.FlagSet

	// maxPages, maxBytes and maxDuration are the caps on one run.
	maxPages, maxBytes int64
	maxDuration        time.Duration
}

func (f *feedFlags) bind(fs *pflag.FlagSet, update bool) {
	f.flags, f.forUpdate = fs, update
	if !update {
		fs.StringVar(&f.id, "id", "", "feed id (a-z, 0-9, -, _)")
	}
	fs.StringVar(&f.facility, "facility", "", "facility that publishes the feed (default for a facility token: its facility)")
	fs.StringVar(&f.kind, "kind", feeds.KindOAIPMH, "oai-pmh or scicat")
	fs.StringVar(&f.url, "url", "", "OAI-PMH base URL or SciCat API URL")
	fs.StringVar(&f.format, "format", "", "OAI-PMH metadataPrefix (e.g. oai_datacite, oai_dc)")
	fs.StringVar(&f.set, "set", "", "OAI-PMH set to harvest (empty: all)")
	fs.DurationVar(&f.every, "every", feeds.DefaultEvery, "interval between harvests (0: harvest once)")
	fs.DurationVar(&f.rate, "rate-limit", 0, "minimum interval between two requests to the source (0: none)")
	fs.Int64Var(&f.maxPages, "max-pages", 0, "most pages one harvest run may request (0: the harvester's default)")
	fs.Int64Var(&f.maxBytes, "max-bytes", 0, "most bytes one harvest run may receive (0: the harvester's default)")
	fs.DurationVar(&f.maxDuration, "max-duration", 0, "longest one harvest run may take (0: the harvester's default)")
	fs.StringVar(&f.tokenFile, "source-token-file", "", "file holding the source's access token (SciCat); - reads stdin")
	if update {
		fs.BoolVar(&f.enabled, "enabled", true, "harvest the feed (--enabled=false pauses it)")
		fs.BoolVar(&f.clearToken, "clear-source-token", false, "remove the source's access token")
	} else {
		fs.BoolVar(&f.disabled, "disabled", false, "register without harvesting")
	}
}

// input returns the fields to send: on add, every field; on update, the
// flags given.
func (f *feedFlags) input(cmd *cobra.Command) (api.FeedInput, error) {
	var in api.FeedInput
	given := func(name string) bool { return !f.forUpdate || f.flags.Changed(name) }
	str := func(name string, v string) *string {
		if !given(name) || (!f.forUpdate && v == "") {
			return nil
		}
		return &v
	}
	if !f.forUpdate {
		in.ID = &f.id
	}
	in.Facility, in.Kind, in.URL = str("facility", f.facility), str("kind", f.kind), str("url", f.url)
	in.Format, in.Set = str("format", f.format), str("set", f.set)
	if given("every") {
		d := feeds.Duration(f.every)
		in.Every = &d
	}
	if given("rate-limit") {
		d := feeds.Duration(f.rate)
		in.RateLimit = &d
	}
	if given("max-pages") {
		in.MaxPages = &f.maxPages
	}
	if given("max-bytes") {
		in.MaxBytes = &f.maxBytes
	}
	if given("max-duration") {
		d := feeds.Duration(f.maxDuration)
		in.MaxDuration = &d
	}
	if f.forUpdate {
		if f.flags.Changed("enabled") {
			in.Enabled = &f.enabled
		}
	} else {
		enabled := !f.disabled
		in.Enabled = &enabled
	}
	if f.tokenFile != "" {
		if f.clearToken {
			return in, errors.New("--source-token-file and --clear-source-token exclude each other")
		}
		tok, err := readSecretFile(cmd, f.tokenFile)
		if err != nil {
			return in, err
		}
		in.Token = &tok
	} else if f.clearToken {
		empty := ""
		in.Token = &empty
	}
	return in, nil
}

// FeedsCommand returns `fairway feeds`, which manages the feed registry
// through the HTTP API of a running node (--server); writes send the token
// of FAIRWAY_TOKEN (or --token-file).
func FeedsCommand() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{
		Use:   "feeds",
		Short: "Manage the feed registry of a running node",
		Long: "Manage the feed registry of a running node through its HTTP API (--server).\n" +
			"Writes need a token: set FAIRWAY_TOKEN (or use --token-file).",
	}
	af.bind(cmd.PersistentFlags())

	var addFlags feedFlags
	add := &cobra.Command{
		Use:   "add --id ID --url URL [--facility NAME] [--kind oai-pmh|scicat] [--format PREFIX] [--set SPEC] [--every 6h]",
		Short: "Register a feed (the node checks its source first)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in, err := addFlags.input(cmd)
			if err != nil {
				return err
			}
			c, err := af.client()
			if err != nil {
				return err
			}
			f, err := c.CreateFeed(cmd.Context(), in)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), f)
		},
	}
	addFlags.bind(add.Flags(), false)

	var asJSON bool
	var facility string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the registered feeds",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			all, err := c.ListFeeds(cmd.Context(), facility)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), all)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tFACILITY\tKIND\tENABLED\tEVERY\tFORMAT\tSET\tURL")
			for _, f := range all {
				fmt.Fprintf(w, "%s\t%s\t%s\t%v\t%s\t%s\t%s\t%s\n", f.ID, f.Facility, f.Kind, f.Enabled,
					time.Duration(f.Every), dash(f.Format), dash(f.Set), f.URL)
			}
			return w.Flush()
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	list.Flags().StringVar(&facility, "facility", "", "only this facility's feeds")

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a feed, with what the last check learnt of its source and its last run's report",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			f, err := c.GetFeed(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			rs, err := c.Runs(cmd.Context(), args[0], 1)
			if err != nil {
				return err
			}
			view := struct {
				api.Feed
				LastRun *api.Run `json:"last_run,omitempty"`
			}{Feed: f}
			if len(rs) > 0 {
				view.LastRun = &rs[0]
			}
			return printJSON(cmd.OutOrStdout(), view)
		},
	}

	var updFlags feedFlags
	update := &cobra.Command{
		Use:   "update ID [--url URL] [--format PREFIX] [--set SPEC] [--every D] [--enabled=false] …",
		Short: "Change the fields given (a changed source is checked again)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := updFlags.input(cmd)
			if err != nil {
				return err
			}
			if in == (api.FeedInput{}) {
				return errors.New("nothing to change: give the flags of the fields to change")
			}
			c, err := af.client()
			if err != nil {
				return err
			}
			f, err := c.UpdateFeed(cmd.Context(), args[0], in)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), f)
		},
	}
	updFlags.bind(update.Flags(), true)

	remove := &cobra.Command{
		Use:   "remove ID",
		Short: "Remove a feed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			if err := c.DeleteFeed(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "feed %s removed\n", args[0])
			return nil
		},
	}

	check := &cobra.Command{
		Use:   "check ID",
		Short: "Check a feed's source again and record what it says",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			f, err := c.CheckFeed(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), f)
		},
	}

	var limit int
	var runsJSON bool
	runs := &cobra.Command{
		Use:   "runs ID",
		Short: "List a feed's last harvest runs, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			rs, err := c.Runs(cmd.Context(), args[0], limit)
			if err != nil {
				return err
			}
			if runsJSON {
				return printJSON(cmd.OutOrStdout(), rs)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "RUN\tSTATUS\tSTARTED\tFINISHED\tFROM\tPAGES\tRECORDS\tDELETED\tREJECTED\tERROR")
			for _, r := range rs {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", r.RunID, r.Status, stamp(r.StartedAt), stamp(r.FinishedAt),
					dash(r.From), r.Pages, r.Records, r.Deleted, r.Rejected, r.Error)
			}
			return w.Flush()
		},
	}
	runs.Flags().IntVar(&limit, "limit", 10, "how many runs")
	runs.Flags().BoolVar(&runsJSON, "json", false, "print JSON")

	cmd.AddCommand(add, list, show, update, remove, check, runs)
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func stamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}
