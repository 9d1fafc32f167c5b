package node

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/panosc/fairway/pkg/aai"
	"github.com/panosc/fairway/pkg/api"
	"github.com/panosc/fairway/pkg/signin"
	"github.com/panosc/fairway/pkg/urlguard"
)

// LoginCommand returns `fairway login`: sign in at an OpenID Provider with
// the device grant; the commands that talk to a node then send the
// access token (refreshed when it expires) when no static token is given.
func LoginCommand() *cobra.Command {
	var cfg signin.Config
	var server string
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in at the federation's OpenID Provider (device grant); the API commands then use that sign-in",
		Long: "Sign in with the OAuth 2.0 device authorization grant: the command prints a web address and a\n" +
			"code, you open the address (on any device), sign in and enter the code. The tokens are stored in\n" +
			"your configuration directory (mode 0600; never printed) and the access token is refreshed when it\n" +
			"expires. FAIRWAY_TOKEN or --token-file, when given, still take precedence. `fairway logout` removes it.\n" +
			"Without --issuer, the issuer is the one the node at --server names in its protected resource metadata.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Server = server
			if cfg.Issuer == "" {
				issuer, err := nodeIssuer(cmd.Context(), server)
				if err != nil {
					return err
				}
				cfg.Issuer = issuer
				fmt.Fprintf(cmd.OutOrStdout(), "Signing in at %s, the issuer the node at %s names\n", signin.Printable(issuer), server)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "Signing in at %s for the node at %s\n", signin.Printable(cfg.Issuer), server)
			}
			path, err := signin.Login(cmd.Context(), cfg, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Signed in at %s; the sign-in is kept in %s\n", signin.Printable(cfg.Issuer), path)
			return nil
		},
	}
	cmd.Flags().StringVar(&cfg.Issuer, "issuer", envOr("FAIRWAY_OIDC_ISSUER", ""), "issuer URL of the OpenID Provider (env FAIRWAY_OIDC_ISSUER; default: the one the node at --server names)")
	cmd.Flags().StringVar(&server, "server", envOr("FAIRWAY_SERVER", api.DefaultServer), "URL of the node the sign-in is for (its token goes to that node only), asked for its issuer when --issuer is not given (env FAIRWAY_SERVER)")
	cmd.Flags().StringVar(&cfg.ClientID, "client-id", envOr("FAIRWAY_OIDC_CLIENT_ID", signin.DefaultClientID), "public OAuth client registered at the provider for the device grant (env FAIRWAY_OIDC_CLIENT_ID)")
	cmd.Flags().StringSliceVar(&cfg.Scopes, "scopes", nil, "scopes to ask for (default openid,offline_access; EOSC AAI: add eduperson_entitlement)")
	cmd.Flags().StringVar(&cfg.Resource, "resource", "", "the node the token is for, sent as resource indicator and audience (when the provider needs it)")
	return cmd
}

// nodeIssuer returns the one authorization server that the node at server
// names in its protected resource metadata (RFC 9728), once the metadata's
// resource is the server itself (RFC 9728, section 3.3: else the metadata
// may be another resource's) and the issuer is https (or http on this
// machine).
func nodeIssuer(ctx context.Context, server string) (string, error) {
	u := aai.MetadataURL(server)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("login: no --issuer, and the node's metadata cannot be read: %w", err)
	}
	defer resp.Body.Close()
	var md aai.ResourceMetadata
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("login: no --issuer, and %s answers %s", u, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&md); err != nil {
		return "", fmt.Errorf("login: %s: %w", u, err)
	}
	if strings.TrimRight(md.Resource, "/") != strings.TrimRight(server, "/") {
		return "", fmt.Errorf("login: %s names the resource %q, not %s: not signing in with it (RFC 9728, section 3.3)", u, signin.Printable(md.Resource), server)
	}
	switch len(md.AuthorizationServers) {
	case 1:
		issuer := md.AuthorizationServers[0]
		iu, err := url.Parse(issuer)
		if err != nil || iu.Host == "" || (iu.Scheme != "https" && !(iu.Scheme == "http" && urlguard.IsLoopback(iu.Hostname()))) {
			return "", fmt.Errorf("login: the node at %s names the issuer %q: want an https URL (http only on this machine)", server, signin.Printable(issuer))
		}
		return issuer, nil
	case 0:
		return "", fmt.Errorf("login: the node at %s accepts no sign-in (static tokens only)", server)
	}
	return "", fmt.Errorf("login: the node at %s accepts several issuers; choose one with --issuer: %s", server, signin.Printable(strings.Join(md.AuthorizationServers, ", ")))
}

// LogoutCommand returns `fairway logout`: forget the stored sign-in.
func LogoutCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Forget the sign-in of fairway login",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			had, err := signin.Logout(signin.Config{})
			if err != nil {
				return err
			}
			if had {
				fmt.Fprintln(cmd.OutOrStdout(), "Signed out.")
			} else {
				fmt.Fprintln(cmd.OutOrStdout(), "Not signed in.")
			}
			return nil
		},
	}
}
