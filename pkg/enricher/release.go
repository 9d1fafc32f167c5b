package enricher

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/panosc/fairway/pkg/bus"
	"github.com/panosc/fairway/pkg/panet"
)

// ReleaseObject is the name of the node's PaNET release of record in the
// object store bus.ObjectStorePaNET.
const ReleaseObject = "PaNET.owl"

// MaxReleaseSize bounds a PaNET release read from a file, a URL or an
// upload (a release is well under 1 MiB).
const MaxReleaseSize = 16 << 20

// ErrInvalidRelease is returned for a release that is too large, does not
// parse as PaNET, or holds no technique.
var ErrInvalidRelease = errors.New("enricher: invalid PaNET release")

// Release describes a PaNET release as the node keeps it.
type Release struct {
	// Version is the release's version (owl:versionInfo, …).
	Version string `json:"version"`
	// Digest is the SHA-256 of the OWL file, in hexadecimal.
	Digest string `json:"digest"`
	// Classes and Techniques count its PaNET classes and, of them, the
	// techniques (not specifiers).
	Classes    int `json:"classes"`
	Techniques int `json:"techniques"`
	// Size of the OWL file in bytes.
	Size int `json:"size"`
	// Source is where it was read from (a path, a URL, "upload by …").
	Source string `json:"source,omitempty"`
	// StoredAt is when it became the node's release.
	StoredAt time.Time `json:"stored_at"`
}

// Digest returns the digest of an OWL file as Release.Digest spells it.
func Digest(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// ParseRelease parses an OWL file as a PaNET release and describes it; it
// refuses one larger than MaxReleaseSize, one that does not parse and one
// without techniques, with an error satisfying
// errors.Is(err, ErrInvalidRelease) that says why.
func ParseRelease(data []byte, source string) (*panet.Ontology, Release, error) {
	if len(data) > MaxReleaseSize {
		return nil, Release{}, fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidRelease, len(data), MaxReleaseSize)
	}
	ont, err := panet.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, Release{}, fmt.Errorf("%w: %w", ErrInvalidRelease, err)
	}
	n := panet.Techniques(ont)
	if n == 0 {
		return nil, Release{}, fmt.Errorf("%w: no technique class (only specifiers)", ErrInvalidRelease)
	}
	return ont, Release{Version: ont.Version(), Digest: Digest(data), Classes: ont.Len(), Techniques: n, Size: len(data), Source: source}, nil
}

// ReadSource reads the bytes of a release from a path, a file:// URL or an
// http(s) URL, at most MaxReleaseSize of them.
func ReadSource(ctx context.Context, source string) ([]byte, error) {
	if panet.IsURL(source) {
		b, err := panet.Fetch(ctx, source)
		if err != nil {
			return nil, err
		}
		if len(b) > MaxReleaseSize {
			return nil, fmt.Errorf("%w: %s: more than %d bytes", ErrInvalidRelease, source, MaxReleaseSize)
		}
		return b, nil
	}
	path := source
	if u, err := url.Parse(source); err == nil && strings.EqualFold(u.Scheme, "file") {
		path = u.Path
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("enricher: PaNET release: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxReleaseSize+1))
	if err != nil {
		return nil, fmt.Errorf("enricher: PaNET release %s: %w", path, err)
	}
	if len(b) > MaxReleaseSize {
		return nil, fmt.Errorf("%w: %s: more than %d bytes", ErrInvalidRelease, path, MaxReleaseSize)
	}
	return b, nil
}

// Metadata keys of the stored release.
const (
	metaVersion    = "version"
	metaDigest     = "digest"
	metaClasses    = "classes"
	metaTechniques = "techniques"
	metaSource     = "source"
)

// PutRelease parses data (see ParseRelease) and makes it the node's
// release, which every enricher loads within seconds. A release with the
// digest of the stored one is not stored again.
func PutRelease(ctx context.Context, b *bus.Bus, data []byte, source string) (Release, error) {
	_, rel, err := ParseRelease(data, source)
	if err != nil {
		return Release{}, err
	}
	if cur, err := StoredRelease(ctx, b); err == nil && cur.Digest == rel.Digest {
		return cur, nil
	}
	if len(source) > 512 {
		source = source[:512]
	}
	md := map[string]string{
		metaVersion: rel.Version, metaDigest: rel.Digest, metaClasses: strconv.Itoa(rel.Classes),
		metaTechniques: strconv.Itoa(rel.Techniques), metaSource: source,
	}
	if err := b.Objects(bus.ObjectStorePaNET).PutWithMetadata(ctx, ReleaseObject, data, "PaNET "+rel.Version, md); err != nil {
		return Release{}, fmt.Errorf("enricher: store the PaNET release: %w", err)
	}
	return StoredRelease(ctx, b)
}

// StoredRelease describes the node's release, or fails with an error
// satisfying errors.Is(err, bus.ErrNotFound) when none is stored.
func StoredRelease(ctx context.Context, b *bus.Bus) (Release, error) {
	info, err := b.Objects(bus.ObjectStorePaNET).Info(ctx, ReleaseObject)
	if err != nil {
		return Release{}, err
	}
	classes, _ := strconv.Atoi(info.Metadata[metaClasses])
	techniques, _ := strconv.Atoi(info.Metadata[metaTechniques])
	return Release{
		Version: info.Metadata[metaVersion], Digest: info.Metadata[metaDigest], Classes: classes, Techniques: techniques,
		Size: int(info.Size), Source: info.Metadata[metaSource], StoredAt: info.Modified.UTC(),
	}, nil
}

// ReleaseData returns the OWL file of the node's release and its
// description, or an error satisfying errors.Is(err, bus.ErrNotFound).
func ReleaseData(ctx context.Context, b *bus.Bus) ([]byte, Release, error) {
	rel, err := StoredRelease(ctx, b)
	if err != nil {
		return nil, Release{}, err
	}
	data, err := b.Objects(bus.ObjectStorePaNET).Get(ctx, ReleaseObject)
	if err != nil {
		return nil, Release{}, err
	}
	return data, rel, nil
}

// Presence is what a running enricher reports about the release it uses.
type Presence struct {
	// Holder names the enricher replica.
	Holder string `json:"holder"`
	// Version and Digest are those of the release it tags with.
	Version string `json:"version"`
	Digest  string `json:"digest"`
	// Source is where that release came from.
	Source string `json:"source,omitempty"`
	// LoadedAt is when it loaded that release.
	LoadedAt time.Time `json:"loaded_at"`
	// Error says why the node's release could not be loaded, when it
	// could not (the replica keeps tagging with the one it has).
	Error string `json:"error,omitempty"`
	// Seen is when the replica last reported.
	Seen time.Time `json:"seen"`
}

const presencePrefix = "enricher."

// Enrichers returns what every running enricher reports, by holder.
func Enrichers(ctx context.Context, b *bus.Bus) ([]Presence, error) {
	st := b.State(bus.BucketPresence)
	keys, err := st.KeysMatching(ctx, presencePrefix+"*")
	if err != nil {
		return nil, err
	}
	var out []Presence
	for _, k := range keys {
		e, err := st.Get(ctx, k)
		if bus.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var p Presence
		if json.Unmarshal(e.Value, &p) == nil {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b Presence) int { return strings.Compare(a.Holder, b.Holder) })
	return out, nil
}
