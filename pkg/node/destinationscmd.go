package node

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/destinations"
	"github.com/panosc/fairway/pkg/feeds"
	"github.com/panosc/fairway/pkg/scicatpush"
)

// readCredentialFile reads a credential from the file of flag (or stdin
// for "-"), without its trailing newline. A missing or empty file is an
// error naming the flag; the error never quotes the file's content.
func readCredentialFile(cmd *cobra.Command, flag, path string) (string, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 64<<10))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", fmt.Errorf("--%s: %w", flag, err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if strings.TrimSpace(s) == "" {
		return "", fmt.Errorf("--%s: %s is empty", flag, path)
	}
	return s, nil
}

// destFlags are the flags that set a destination's fields, for add and
// update.
type destFlags struct {
	id, kind, url                      string
	catalogue                          string
	createCatalogue                    bool
	apiKeyFile, bearerFile             string
	username, passwordFile             string
	ownerGroup, contactEmail           string
	sourceFolder, pidPrefix            string
	accessGroups, facilities, techniqs []string
	onDelete                           string
	inFlight                           int
	disabled, enabled                  bool
	forUpdate                          bool
	flags                              *pflag.FlagSet
}

func (f *destFlags) bind(fs *pflag.FlagSet, update bool) {
	f.flags, f.forUpdate = fs, update
	if !update {
		fs.StringVar(&f.id, "id", "", "destination id (a-z, 0-9, -, _)")
	}
	fs.StringVar(&f.kind, "kind", "", "piveau (a hub-repo, e.g. EOSC) or scicat (e.g. DAPHNE)")
	fs.StringVar(&f.url, "url", "", "base URL of the destination's API ({url}/catalogues/… for piveau, {url}/api/v4/… for SciCat)")
	fs.StringVar(&f.catalogue, "catalogue", "", "piveau: the catalogue the datasets go to")
	fs.BoolVar(&f.createCatalogue, "create-catalogue", false, "piveau: create the catalogue when the hub lacks it")
	fs.StringVar(&f.apiKeyFile, "api-key-file", "", "piveau: file holding the hub's API key (X-API-Key); - reads stdin")
	fs.StringVar(&f.bearerFile, "bearer-token-file", "", "piveau: file holding a bearer token instead of an API key; - reads stdin")
	fs.StringVar(&f.username, "username", "", "scicat: the functional account's user name")
	fs.StringVar(&f.passwordFile, "password-file", "", "scicat: file holding the account's password; - reads stdin")
	fs.StringVar(&f.ownerGroup, "owner-group", "", "scicat: ownerGroup of the datasets (default "+scicatpush.DefaultOwnerGroup+")")
	fs.StringArrayVar(&f.accessGroups, "access-group", nil, "scicat: a group that may also read the datasets (repeat for several)")
	fs.StringVar(&f.contactEmail, "contact-email", "", "scicat: contactEmail of a dataset without one (default "+scicatpush.DefaultContactEmail+")")
	fs.StringVar(&f.sourceFolder, "source-folder", "", "scicat: folder the sourceFolder of every dataset starts with (default "+scicatpush.DefaultSourceFolder+")")
	fs.StringVar(&f.pidPrefix, "pid-prefix", "", "scicat: prefix of the pid of a dataset without a DOI (default "+scicatpush.DefaultPIDPrefix+")")
	fs.StringArrayVar(&f.facilities, "facility", nil, "push only this facility's datasets (repeat for several; none: every facility)")
	fs.StringArrayVar(&f.techniqs, "technique", nil, "push only datasets of this PaNET technique or a narrower one (e.g. PaNET01168; repeat for several)")
	fs.StringVar(&f.onDelete, "on-delete", "", "what a withdrawn dataset does there: delete, unpublish (scicat) or keep (default: delete for piveau, unpublish for scicat)")
	fs.IntVar(&f.inFlight, "in-flight", 0, fmt.Sprintf("datasets pushed at once (0: %d)", destinations.DefaultInFlight))
	if update {
		fs.BoolVar(&f.enabled, "enabled", true, "keep the destination in step (--enabled=false pauses it)")
	} else {
		fs.BoolVar(&f.disabled, "disabled", false, "register without pushing")
	}
}

// nonEmpty drops the empty values of a repeated flag (--facility ”
// clears the list on update).
func nonEmpty(vs []string) []string {
	out := []string{}
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// credentials reads the credential files given.
func (f *destFlags) credentials(cmd *cobra.Command) (apiKey, bearer, password *string, err error) {
	read := func(flag, path string) (*string, error) {
		if path == "" {
			return nil, nil
		}
		s, err := readCredentialFile(cmd, flag, path)
		return &s, err
	}
	if f.apiKeyFile != "" && f.bearerFile != "" {
		return nil, nil, nil, errors.New("--api-key-file and --bearer-token-file exclude each other")
	}
	if apiKey, err = read("api-key-file", f.apiKeyFile); err != nil {
		return nil, nil, nil, err
	}
	if bearer, err = read("bearer-token-file", f.bearerFile); err != nil {
		return nil, nil, nil, err
	}
	if password, err = read("password-file", f.passwordFile); err != nil {
		return nil, nil, nil, err
	}
	return apiKey, bearer, password, nil
}

// input returns the registration of add.
func (f *destFlags) input(cmd *cobra.Command) (destinations.Input, error) {
	apiKey, bearer, password, err := f.credentials(cmd)
	if err != nil {
		return destinations.Input{}, err
	}
	d := destinations.Destination{
		ID: f.id, Kind: f.kind, URL: f.url, Catalogue: f.catalogue, CreateCatalogue: f.createCatalogue,
		Username: f.username, OwnerGroup: f.ownerGroup, AccessGroups: nonEmpty(f.accessGroups), ContactEmail: f.contactEmail,
		SourceFolder: f.sourceFolder, PIDPrefix: f.pidPrefix, Facilities: nonEmpty(f.facilities), Techniques: nonEmpty(f.techniqs),
		OnDelete: f.onDelete, InFlight: f.inFlight, Enabled: !f.disabled,
	}
	if apiKey != nil {
		d.APIKey = feeds.Secret(*apiKey)
	}
	if bearer != nil {
		d.BearerToken = feeds.Secret(*bearer)
	}
	if password != nil {
		d.Password = feeds.Secret(*password)
	}
	return destinations.NewInput(d), nil
}

// patch returns the change of update: the flags given.
func (f *destFlags) patch(cmd *cobra.Command) (api.DestinationPatch, error) {
	var p api.DestinationPatch
	var err error
	if p.APIKey, p.BearerToken, p.Password, err = f.credentials(cmd); err != nil {
		return p, err
	}
	str := func(name, v string) *string {
		if !f.flags.Changed(name) {
			return nil
		}
		return &v
	}
	list := func(name string, v []string) *[]string {
		if !f.flags.Changed(name) {
			return nil
		}
		l := nonEmpty(v)
		return &l
	}
	p.Kind, p.URL, p.Catalogue = str("kind", f.kind), str("url", f.url), str("catalogue", f.catalogue)
	p.Username, p.OwnerGroup, p.ContactEmail = str("username", f.username), str("owner-group", f.ownerGroup), str("contact-email", f.contactEmail)
	p.SourceFolder, p.PIDPrefix, p.OnDelete = str("source-folder", f.sourceFolder), str("pid-prefix", f.pidPrefix), str("on-delete", f.onDelete)
	p.AccessGroups, p.Facilities, p.Techniques = list("access-group", f.accessGroups), list("facility", f.facilities), list("technique", f.techniqs)
	if f.flags.Changed("create-catalogue") {
		p.CreateCatalogue = &f.createCatalogue
	}
	if f.flags.Changed("in-flight") {
		p.InFlight = &f.inFlight
	}
	if f.flags.Changed("enabled") {
		p.Enabled = &f.enabled
	}
	return p, nil
}

// selection describes what a destination takes.
func selection(d api.Destination) string {
	var parts []string
	if len(d.Facilities) > 0 {
		parts = append(parts, "facilities "+strings.Join(d.Facilities, ","))
	}
	if len(d.Techniques) > 0 {
		parts = append(parts, "techniques "+strings.Join(d.Techniques, ","))
	}
	if len(parts) == 0 {
		return "all"
	}
	return strings.Join(parts, "; ")
}

// parseSince reads --since: a catalogue sequence or an RFC 3339 time.
func parseSince(s string) (api.ReplayRequest, error) {
	var r api.ReplayRequest
	if s == "" {
		return r, nil
	}
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		r.FromSeq = n
		return r, nil
	}
	if _, err := time.Parse(time.RFC3339, s); err != nil {
		return r, fmt.Errorf("--since %q: want a catalogue sequence (1234) or an RFC 3339 time (2026-01-02T15:04:05Z)", s)
	}
	r.Since = s
	return r, nil
}

// DestinationsCommand returns `fairway destinations`, which manages the
// push destinations through the HTTP API of a running node (--server);
// every request, reads included, sends the operator token of
// FAIRWAY_TOKEN (or --token-file).
func DestinationsCommand() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{
		Use:   "destinations",
		Short: "Manage the push destinations of a running node (EOSC's piveau hub, DAPHNE's SciCat)",
		Long: "Manage the push destinations of a running node through its HTTP API (--server).\n" +
			"Every request needs an operator token: set FAIRWAY_TOKEN (or use --token-file).\n" +
			"Credentials are read from files (--api-key-file, --bearer-token-file, --password-file) and never shown.",
	}
	af.bind(cmd.PersistentFlags())

	var addFlags destFlags
	add := &cobra.Command{
		Use: "add --id ID --kind piveau --url URL --catalogue C (--api-key-file F | --bearer-token-file F) [--create-catalogue] …\n" +
			"  add --id ID --kind scicat --url URL --username U --password-file F [--owner-group G] …",
		Short: "Register a destination (the node checks that it answers and takes the credentials)",
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
			d, err := c.CreateDestination(cmd.Context(), in)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), d)
		},
	}
	addFlags.bind(add.Flags(), false)

	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the destinations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			all, err := c.ListDestinations(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), all)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tKIND\tURL\tENABLED\tSELECTION")
			for _, d := range all {
				fmt.Fprintf(w, "%s\t%s\t%s\t%v\t%s\n", d.ID, d.Kind, d.URL, d.Enabled, selection(d))
			}
			return w.Flush()
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a destination (its credentials only as has_api_key, has_bearer_token, has_password)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			d, err := c.GetDestination(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), d)
		},
	}

	var updFlags destFlags
	update := &cobra.Command{
		Use:   "update ID [--url URL] [--catalogue C] [--api-key-file F] [--password-file F] [--facility X …] [--enabled=false] …",
		Short: "Change the fields given (a changed address, kind, catalogue or credential is checked again)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := updFlags.patch(cmd)
			if err != nil {
				return err
			}
			if p.Empty() {
				return errors.New("nothing to change: give the flags of the fields to change")
			}
			c, err := af.client()
			if err != nil {
				return err
			}
			d, err := c.UpdateDestination(cmd.Context(), args[0], p)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), d)
		},
	}
	updFlags.bind(update.Flags(), true)

	remove := &cobra.Command{
		Use:   "remove ID",
		Short: "Remove a destination (what it holds stays there)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			if err := c.DeleteDestination(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "destination %s removed\n", args[0])
			return nil
		},
	}

	var statusJSON bool
	status := &cobra.Command{
		Use:   "status [ID]",
		Short: "Show how the delivery to each destination (or one) stands",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			var all []destinations.Status
			if len(args) == 1 {
				st, err := c.DestinationStatus(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				all = []destinations.Status{st}
			} else if all, err = c.DestinationsStatus(cmd.Context()); err != nil {
				return err
			}
			if statusJSON {
				return printJSON(cmd.OutOrStdout(), all)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tKIND\tENABLED\tRUNNING\tHELD\tPUSHED\tDELETED\tSKIPPED\tFAILED\tPENDING\tLAG\tPOSITION\tLAST DELIVERY\tLAST ERROR\tAT")
			for _, s := range all {
				fmt.Fprintf(w, "%s\t%s\t%v\t%v\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%d/%d\t%s\t%s\t%s\n", s.ID, s.Kind, s.Enabled, s.Running,
					s.Held, s.Pushed, s.Deleted, s.Skipped, s.Failed, s.Pending, lag(s.OldestPending), s.Position, s.CatalogueLast,
					when(s.LastDelivery), dash(oneLine(s.LastError)), when(s.LastErrorAt))
			}
			return w.Flush()
		},
	}
	status.Flags().BoolVar(&statusJSON, "json", false, "print JSON")

	var since string
	var all bool
	replay := &cobra.Command{
		Use:   "replay ID [--since SEQ|RFC3339] [--all]",
		Short: "Push a destination again from a catalogue sequence or a time (default: the start)",
		Long: "Push a destination again from a catalogue sequence or a time (default: the start of the catalogue).\n" +
			"What the destination already holds at its current version is skipped, unless --all.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := parseSince(since)
			if err != nil {
				return err
			}
			req.All = all
			c, err := af.client()
			if err != nil {
				return err
			}
			d, err := c.ReplayDestination(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			from := "from the start of the catalogue"
			switch {
			case req.FromSeq != 0:
				from = fmt.Sprintf("from catalogue sequence %d", req.FromSeq)
			case req.Since != "":
				from = "since " + req.Since
			}
			what := "what it lacks or holds at an older version"
			if all {
				what = "every dataset"
			}
			id := ""
			if d.Replay != nil {
				id = d.Replay.ID
			}
			fmt.Fprintf(cmd.OutOrStdout(), "replay %s of destination %s requested: %s, %s\n", id, d.ID, from, what)
			return nil
		},
	}
	replay.Flags().StringVar(&since, "since", "", "catalogue sequence (1234) or RFC 3339 time to start at")
	replay.Flags().BoolVar(&all, "all", false, "push again even what the destination holds as it is")

	cmd.AddCommand(add, list, show, update, remove, status, replay)
	return cmd
}

// lag writes how long ago the oldest entry still to push was published
// ("-" when none waits).
func lag(oldest time.Time) string {
	if oldest.IsZero() {
		return "-"
	}
	return time.Since(oldest).Round(time.Second).String()
}

// when writes a time for a table ("-" when zero).
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// oneLine keeps a table row on one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
