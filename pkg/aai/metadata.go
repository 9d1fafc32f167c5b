package aai

import (
	"encoding/json"
	"net/http"
	"strings"
)

// MetadataPath is where a protected resource publishes its metadata
// (RFC 9728, section 3).
const MetadataPath = "/.well-known/oauth-protected-resource"

// ResourceMetadata is the OAuth 2.0 protected resource metadata of the
// node (RFC 9728): which authorization servers issue tokens it accepts and
// how to send them.
type ResourceMetadata struct {
	// Resource is the node's resource identifier (its base URL).
	Resource string `json:"resource"`
	// AuthorizationServers are the issuers whose tokens the node accepts.
	AuthorizationServers []string `json:"authorization_servers,omitempty"`
	// BearerMethodsSupported is how a token may be sent: the
	// Authorization header only.
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
	// ResourceName is a name for people.
	ResourceName string `json:"resource_name,omitempty"`
	// ResourceDocumentation is a page for developers.
	ResourceDocumentation string `json:"resource_documentation,omitempty"`
}

// Metadata returns the node's protected resource metadata for the
// resource identifier resource (its base URL); v may be nil (no issuer
// configured: the node accepts its static tokens only).
func Metadata(resource string, v *Verifier) ResourceMetadata {
	m := ResourceMetadata{
		Resource:               strings.TrimRight(resource, "/"),
		BearerMethodsSupported: []string{"header"},
		ResourceName:           "Fairway catalogue node",
	}
	if v != nil {
		m.AuthorizationServers = v.Issuers()
	}
	return m
}

// MetadataURL returns the URL of the metadata of the resource at baseURL.
func MetadataURL(baseURL string) string { return strings.TrimRight(baseURL, "/") + MetadataPath }

// MetadataHandler serves m as JSON at MetadataPath.
func MetadataHandler(m ResourceMetadata) http.Handler {
	body, _ := json.MarshalIndent(m, "", "  ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=300")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_, _ = w.Write(append(body, '\n'))
	})
}
