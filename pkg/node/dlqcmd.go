package node

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/natsembed"
	fairwayv1 "github.com/panosc/fairway/proto/fairwayv1"
)

// DeadLettersCommand returns `fairway dlq`, with which an operator lists,
// inspects, redrives and purges the dead letters of the node. It talks to
// the node's HTTP API at --server with an operator token (FAIRWAY_TOKEN or
// --token-file), embedded node or not; with --nats it talks to the node's
// NATS server directly instead (credentials from --nats-credentials, the
// file `fairway up --nats-listen` writes, or from the URL's userinfo).
func DeadLettersCommand() *cobra.Command {
	var af apiFlags
	var natsURL, credentials string
	var ff dlqFilterFlags
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "List, show, redrive and purge dead letters",
		Long: "The dead letters are the messages a stage gave up on, with the stage, the reason, the\n" +
			"attempts and the earlier failures of a message redriven before. The commands reach the\n" +
			"node's HTTP API (--server, an operator token); --nats reaches its NATS server instead.\n" +
			"Filters: --stage, --feed, --error (a substring of the reason), --since and --until (RFC 3339\n" +
			"times, or durations before now such as 24h).",
	}
	af.bind(cmd.PersistentFlags())
	cmd.PersistentFlags().StringVar(&natsURL, "nats", "", "talk to the node's NATS server directly, nats://[user:password@]host:port, instead of its HTTP API")
	cmd.PersistentFlags().StringVar(&credentials, "nats-credentials", envOr("FAIRWAY_NATS_CREDENTIALS", ""), "with --nats: file of the NATS user and password, e.g. .fairway/"+natsembed.CredentialsFile+" (env FAIRWAY_NATS_CREDENTIALS)")
	ff.bind(cmd.PersistentFlags())
	backend := func(ctx context.Context) (*dlqBackend, error) {
		if natsURL == "" {
			c, err := af.client()
			if err != nil {
				return nil, err
			}
			return &dlqBackend{
				list: c.DeadLetters, show: c.DeadLetter, redrive: c.RedriveDeadLetters, purge: c.PurgeDeadLetters,
				close: func() {},
			}, nil
		}
		urls, opts, err := natsClient(natsURL, credentials)
		if err != nil {
			return nil, err
		}
		// No provisioning: the node owns the topology (and its replicas).
		b, err := bus.Connect(ctx, bus.Config{URL: urls, Options: opts, Name: "fairway-dlq", Logger: slog.New(slog.DiscardHandler), SkipProvision: true})
		if err != nil {
			return nil, err
		}
		return &dlqBackend{
			list: func(ctx context.Context, f bus.DeadLetterFilter, limit int) (api.DeadLetterPage, error) {
				return api.ListDeadLetters(ctx, b, f, limit)
			},
			show: func(ctx context.Context, seq uint64) (api.DeadLetterDetail, error) {
				return api.ShowDeadLetter(ctx, b, seq)
			},
			redrive: func(ctx context.Context, a api.DeadLetterAction) (api.DeadLetterResult, error) {
				return api.RedriveDeadLetters(ctx, b, a)
			},
			purge: func(ctx context.Context, a api.DeadLetterAction) (api.DeadLetterResult, error) {
				return api.PurgeDeadLetters(ctx, b, a)
			},
			close: func() { _ = b.Close() },
		}, nil
	}
	with := func(cmd *cobra.Command, fn func(context.Context, *dlqBackend) error) error {
		ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Minute)
		defer cancel()
		be, err := backend(ctx)
		if err != nil {
			return err
		}
		defer be.close()
		return fn(ctx, be)
	}

	var limit int
	list := &cobra.Command{
		Use:   "list [filters]",
		Short: "List dead letters with their stage, feed, reason and attempts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := ff.filter()
			if err != nil {
				return err
			}
			return with(cmd, func(ctx context.Context, be *dlqBackend) error {
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "SEQ\tSTAGE\tFEED\tATTEMPTS\tFAILURES\tTIME\tKEY\tREASON")
				n, more := 0, false
				for {
					page, err := be.list(ctx, f, api.MaxDeadLetterPage)
					if err != nil {
						return err
					}
					for _, d := range page.Letters {
						if limit > 0 && n == limit {
							more = true
							break
						}
						n++
						fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", d.Seq, d.Stage, clip(d.Feed, 60), d.Attempts, d.Failures,
							d.Time.UTC().Format(time.RFC3339), clip(d.Key, 120), clip(oneLine(d.Reason), 2000))
					}
					if more || page.Next == 0 {
						more = more || (limit > 0 && n == limit && page.Next != 0)
						break
					}
					f.After = page.Next
				}
				if err := w.Flush(); err != nil {
					return err
				}
				if more {
					fmt.Fprintf(cmd.OutOrStdout(), "%d dead letters shown; more match (--limit 0 lists them all)\n", n)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "%d dead letters\n", n)
				}
				return nil
			})
		},
	}
	list.Flags().IntVar(&limit, "limit", 100, "show at most this many dead letters (0: all)")

	var maxBytes int
	show := &cobra.Command{
		Use:   "show SEQ",
		Short: "Show a dead letter: its original message (headers, payload) and its error history",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			seq, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil || seq == 0 {
				return fmt.Errorf("%q is not a dead letter's sequence (see `fairway dlq list`)", clip(args[0], 40))
			}
			return with(cmd, func(ctx context.Context, be *dlqBackend) error {
				d, err := be.show(ctx, seq)
				if err != nil {
					return err
				}
				printDeadLetter(cmd.OutOrStdout(), d, maxBytes)
				return nil
			})
		},
	}
	show.Flags().IntVar(&maxBytes, "max-bytes", 8<<10, "print at most this many bytes of the payload")

	var all, dryRun, yes bool
	selection := func(args []string) (api.DeadLetterAction, error) {
		var a api.DeadLetterAction
		f, err := ff.filter()
		if err != nil {
			return a, err
		}
		a.Filter, a.All, a.DryRun = f, all, dryRun
		if len(args) == 1 {
			if a.Seq, err = strconv.ParseUint(args[0], 10, 64); err != nil || a.Seq == 0 {
				return a, fmt.Errorf("%q is not a dead letter's sequence (see `fairway dlq list`)", clip(args[0], 40))
			}
			if !f.Empty() || all {
				return a, errors.New("give a sequence or filters (or --all), not both")
			}
		} else if f.Empty() && !all {
			return a, errors.New("say which dead letters: a sequence, filters (--stage, --feed, --error, --since, --until) or --all")
		}
		return a, nil
	}
	redrive := &cobra.Command{
		Use:   "redrive [SEQ] [filters | --all] [--dry-run]",
		Short: "Send dead letters back to their stage (after fixing the cause)",
		Long: "Send one dead letter (SEQ), those the filters select, or every one (--all) back to the\n" +
			"stream its stage reads, as new messages; the stage tries them again, and one that fails\n" +
			"again comes back to the dead letters with its earlier failures. Every selected dead\n" +
			"letter is redriven (no cap); the command says how many.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := selection(args)
			if err != nil {
				return err
			}
			return with(cmd, func(ctx context.Context, be *dlqBackend) error {
				res, err := be.redrive(ctx, a)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if a.DryRun {
					fmt.Fprintf(out, "would redrive: %d\n", res.Matched)
					return nil
				}
				for _, e := range res.Errors {
					fmt.Fprintf(cmd.ErrOrStderr(), "dead letter %s\n", destinationHint(e))
				}
				fmt.Fprintf(out, "redriven: %d, left: %d\n", res.Done, res.Left)
				return nil
			})
		},
	}
	redrive.Flags().BoolVar(&all, "all", false, "every dead letter")
	redrive.Flags().BoolVar(&dryRun, "dry-run", false, "only say how many dead letters would be redriven")
	purge := &cobra.Command{
		Use:   "purge [SEQ] [filters | --all] [--yes] [--dry-run]",
		Short: "Remove dead letters for good",
		Long: "Remove one dead letter (SEQ), those the filters select, or every one (--all). The command\n" +
			"counts them first and asks for confirmation on a terminal; --yes removes without asking\n" +
			"(required without a terminal).",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := selection(args)
			if err != nil {
				return err
			}
			return with(cmd, func(ctx context.Context, be *dlqBackend) error {
				out := cmd.OutOrStdout()
				dry := a
				dry.DryRun = true
				count, err := be.purge(ctx, dry)
				if err != nil {
					return err
				}
				if a.DryRun || count.Matched == 0 {
					fmt.Fprintf(out, "would purge: %d\n", count.Matched)
					return nil
				}
				if !yes {
					if !isTerminal(cmd.InOrStdin()) {
						return fmt.Errorf("%d dead letters match: not a terminal, so nothing is purged without --yes", count.Matched)
					}
					fmt.Fprintf(out, "Purge %d dead letters for good? [y/N] ", count.Matched)
					line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
					if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
						fmt.Fprintln(out, "nothing purged")
						return nil
					}
				}
				res, err := be.purge(ctx, a)
				if err != nil {
					return err
				}
				for _, e := range res.Errors {
					fmt.Fprintf(cmd.ErrOrStderr(), "dead letter %s\n", e)
				}
				fmt.Fprintf(out, "purged: %d, left: %d\n", res.Done, res.Left)
				return nil
			})
		},
	}
	purge.Flags().BoolVar(&all, "all", false, "every dead letter")
	purge.Flags().BoolVar(&dryRun, "dry-run", false, "only say how many dead letters would be purged")
	purge.Flags().BoolVar(&yes, "yes", false, "purge without asking")
	cmd.AddCommand(list, show, redrive, purge)
	return cmd
}

// dlqBackend is where `fairway dlq` finds the dead letters: the node's
// HTTP API, or its NATS server.
type dlqBackend struct {
	list    func(context.Context, bus.DeadLetterFilter, int) (api.DeadLetterPage, error)
	show    func(context.Context, uint64) (api.DeadLetterDetail, error)
	redrive func(context.Context, api.DeadLetterAction) (api.DeadLetterResult, error)
	purge   func(context.Context, api.DeadLetterAction) (api.DeadLetterResult, error)
	close   func()
}

// dlqFilterFlags are the filters of `fairway dlq`.
type dlqFilterFlags struct {
	stage, feed, errText, since, until string
}

func (f *dlqFilterFlags) bind(fs *pflag.FlagSet) {
	fs.StringVar(&f.stage, "stage", "", "only this stage's dead letters (harvester, normaliser, enricher, publisher, analytics…, delivery-ID)")
	fs.StringVar(&f.feed, "feed", "", "only the dead letters of this feed")
	fs.StringVar(&f.errText, "error", "", "only the dead letters whose reason holds this text (case-insensitive)")
	fs.StringVar(&f.since, "since", "", "only those dead-lettered at or after this time (RFC 3339, or a duration before now: 24h)")
	fs.StringVar(&f.until, "until", "", "only those dead-lettered before this time (RFC 3339, or a duration before now)")
}

func (f *dlqFilterFlags) filter() (bus.DeadLetterFilter, error) {
	out := bus.DeadLetterFilter{Stage: f.stage, Feed: f.feed, Error: f.errText}
	var err error
	if out.Since, err = parseWhen("--since", f.since); err != nil {
		return out, err
	}
	if out.Until, err = parseWhen("--until", f.until); err != nil {
		return out, err
	}
	return out, nil
}

// parseWhen reads an RFC 3339 time, or a duration before now ("" is the
// zero time).
func parseWhen(flag, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return time.Now().Add(-d).Truncate(time.Second), nil
	}
	return time.Time{}, fmt.Errorf("%s %q: neither an RFC 3339 time nor a duration such as 24h", flag, clip(v, 60))
}

// destinationHint explains a refused redrive of a destination's refusal.
func destinationHint(e string) string {
	seq, reason, _ := strings.Cut(e, ": ")
	if strings.Contains(reason, bus.ErrNotRedrivable.Error()) {
		return seq + ": " + reason + " (a destination's refusal: once its cause is fixed, `fairway destinations replay ID` pushes again what the destination lacks)"
	}
	return e
}

// printDeadLetter writes d for a reader: what it is, its failures, the
// original headers and at most maxBytes of its payload, decoded when it is
// a Fairway event or JSON.
func printDeadLetter(w io.Writer, d api.DeadLetterDetail, maxBytes int) {
	fmt.Fprintf(w, "dead letter %d\n  stage:     %s\n  key:       %s\n", d.Seq, d.Stage, clip(d.Key, 500))
	if d.Feed != "" {
		fmt.Fprintf(w, "  feed:      %s\n", clip(d.Feed, 200))
	}
	fmt.Fprintf(w, "  subject:   %s\n  time:      %s\n  redrivable: %v\n", d.Subject, d.Time.Format(time.RFC3339), d.Redrivable)
	fmt.Fprintf(w, "history (%d failures):\n", len(d.History))
	for i, h := range d.History {
		fmt.Fprintf(w, "  %d. %s  %s after %d attempts: %s\n", i+1, h.Time.UTC().Format(time.RFC3339), h.Stage, h.Attempts, clip(oneLine(h.Reason), 2000))
	}
	fmt.Fprintln(w, "headers:")
	names := slices.Sorted(maps.Keys(d.Headers))
	for _, k := range names {
		fmt.Fprintf(w, "  %s: %s\n", clip(k, 100), clip(oneLine(d.Headers[k]), 500))
	}
	fmt.Fprintf(w, "payload (%d bytes%s):\n", d.PayloadSize, map[bool]string{true: ", truncated by the node"}[d.Truncated])
	fmt.Fprintln(w, bounded(prettyPayload(d.Stage, d.Payload), maxBytes))
}

// prettyPayload renders a payload: a raw record, a dataset or an enriched
// dataset as JSON with its metadata as text; JSON indented; other text as
// is; binary as hex.
func prettyPayload(stage string, p []byte) string {
	var msg proto.Message
	switch bus.Stage(stage) {
	case bus.StageNormaliser, "harvester":
		msg = &fairwayv1.RawRecord{}
	case bus.StageEnricher:
		msg = &fairwayv1.Dataset{}
	case bus.StagePublisher:
		msg = &fairwayv1.EnrichedDataset{}
	}
	if msg != nil && proto.Unmarshal(p, msg) == nil {
		if raw, ok := msg.(*fairwayv1.RawRecord); ok {
			inner := raw.Payload
			raw.Payload = nil
			head, _ := protojson.MarshalOptions{Multiline: true}.Marshal(raw)
			return string(head) + "\nmetadata (" + strconv.Itoa(len(inner)) + " bytes):\n" + prettyPayload("", inner)
		}
		if b, err := (protojson.MarshalOptions{Multiline: true}).Marshal(msg); err == nil {
			return string(b)
		}
	}
	var buf bytes.Buffer
	if json.Valid(p) && json.Indent(&buf, p, "", "  ") == nil {
		return buf.String()
	}
	if utf8.Valid(p) {
		return string(p)
	}
	return hex.Dump(p[:min(len(p), 4096)])
}

// bounded cuts s to at most n bytes (on a rune boundary), saying so.
func bounded(s string, n int) string {
	if n <= 0 || len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("\n… (%d more bytes; --max-bytes shows more)", len(s)-cut)
}

// natsClient returns the NATS URLs (comma separated) without their
// userinfo, and the options that present the credentials: those of the
// URLs' userinfo (user:password, or a token), or those of the
// credentials file. Credentials never stay in the URLs, which errors and
// logs may quote.
func natsClient(urls, credentialsFile string) (string, []nats.Option, error) {
	var out []string
	var user *url.Userinfo
	for i, raw := range strings.Split(urls, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		if !strings.Contains(raw, "://") {
			raw = "nats://" + raw // host:port, as nats.go takes it
		}
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			// Not quoted: the URL may hold a password.
			return "", nil, fmt.Errorf("--nats: URL %d is not nats://[user:password@]host:port", i+1)
		}
		if u.User != nil {
			if user != nil && user.String() != u.User.String() {
				return "", nil, errors.New("--nats: the URLs carry different credentials")
			}
			user, u.User = u.User, nil
		}
		out = append(out, u.String())
	}
	if len(out) == 0 {
		return "", nil, errors.New("--nats: no URL")
	}
	var opts []nats.Option
	switch {
	case user != nil && credentialsFile != "":
		return "", nil, errors.New("--nats: credentials both in the URL and in --nats-credentials: give them once")
	case credentialsFile != "":
		creds, err := natsembed.ReadCredentials(credentialsFile)
		if err != nil {
			return "", nil, err
		}
		opts = append(opts, creds.Option())
	case user != nil:
		if pw, ok := user.Password(); ok {
			opts = append(opts, nats.UserInfo(user.Username(), pw))
		} else {
			opts = append(opts, nats.Token(user.Username()))
		}
	}
	return strings.Join(out, ","), opts, nil
}

// clip shortens s to at most n runes for a table cell (a hostile key may be
// thousands of characters long), marking the cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
