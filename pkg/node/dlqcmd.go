package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/delivery"
	"github.com/panosc/fairway/pkg/natsembed"
)

// DeadLettersCommand returns `fairway dlq`, with which an operator inspects
// the dead letters of the node whose NATS server is at --nats and redrives
// them once the cause is fixed. Credentials come from --nats-credentials
// (the file `fairway up --nats-listen` writes) or from the URL's userinfo.
func DeadLettersCommand() *cobra.Command {
	var natsURL, credentials, stage string
	var limit int
	cmd := &cobra.Command{Use: "dlq", Short: "Inspect and redrive dead letters"}
	cmd.PersistentFlags().StringVar(&natsURL, "nats", envOr("FAIRWAY_NATS", "nats://127.0.0.1:4222"), "NATS server of the node, nats://[user:password@]host:port (env FAIRWAY_NATS)")
	cmd.PersistentFlags().StringVar(&credentials, "nats-credentials", envOr("FAIRWAY_NATS_CREDENTIALS", ""), "file of the NATS user and password, e.g. .fairway/"+natsembed.CredentialsFile+" (env FAIRWAY_NATS_CREDENTIALS)")
	cmd.PersistentFlags().StringVar(&stage, "stage", "", "only this stage's dead letters (normaliser, enricher, publisher, analytics, harvester)")
	cmd.PersistentFlags().IntVar(&limit, "limit", 100, "at most this many dead letters (0: all)")
	withBus := func(ctx context.Context, fn func(*bus.Bus) error) error {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		urls, opts, err := natsClient(natsURL, credentials)
		if err != nil {
			return err
		}
		// No provisioning: the node owns the topology (and its replicas).
		b, err := bus.Connect(ctx, bus.Config{URL: urls, Options: opts, Name: "fairway-dlq", Logger: slog.New(slog.DiscardHandler), SkipProvision: true})
		if err != nil {
			return err
		}
		defer b.Close()
		return fn(b)
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List dead letters with their stage, reason and attempts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withBus(cmd.Context(), func(b *bus.Bus) error {
				letters, err := b.DeadLetters(cmd.Context(), stage, limit)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "SEQ\tSTAGE\tATTEMPTS\tTIME\tKEY\tREASON")
				for _, d := range letters {
					fmt.Fprintf(w, "%d\t%s\t%d\t%s\t%s\t%s\n", d.Seq, d.Stage, d.Attempts, d.Time.UTC().Format(time.RFC3339), clip(d.Key, 120), clip(d.Reason, 2000))
				}
				return w.Flush()
			})
		},
	}
	redrive := &cobra.Command{
		Use:   "redrive",
		Short: "Send dead letters back to their stage (after fixing the cause)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withBus(cmd.Context(), func(b *bus.Bus) error {
				letters, err := b.DeadLetters(cmd.Context(), stage, limit)
				if err != nil {
					return err
				}
				sent, skipped := 0, 0
				for _, d := range letters {
					if err := b.Redrive(cmd.Context(), d); err != nil {
						if id, ok := delivery.DestinationOf(d.Stage); ok && errors.Is(err, bus.ErrNotRedrivable) {
							err = fmt.Errorf("a refusal of destination %s: once its cause is fixed, `fairway destinations replay %s` pushes again what the destination lacks", id, id)
						}
						fmt.Fprintf(cmd.ErrOrStderr(), "dead letter %d: %v\n", d.Seq, err)
						skipped++
						continue
					}
					sent++
				}
				fmt.Fprintf(cmd.OutOrStdout(), "redriven: %d, left: %d\n", sent, skipped)
				return nil
			})
		},
	}
	cmd.AddCommand(list, redrive)
	return cmd
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
