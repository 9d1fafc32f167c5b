package bus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Objects is one of the node's object stores (ObjectStoreSeen): values too
// large for a KV entry, under names.
type Objects struct {
	name ObjectStore
	st   jetstream.ObjectStore
}

// Objects returns one of the topology's object stores.
func (b *Bus) Objects(name ObjectStore) *Objects { return &Objects{name: name, st: b.objects[name]} }

// Put stores data under name, replacing what was there; description is
// kept beside it for whoever inspects the store ("" for none).
func (o *Objects) Put(ctx context.Context, name string, data []byte, description string) error {
	_, err := o.st.Put(ctx, jetstream.ObjectMeta{Name: name, Description: description}, bytes.NewReader(data))
	return o.fail("put "+name, err)
}

// Get returns the data stored under name, or an error satisfying
// errors.Is(err, ErrNotFound).
func (o *Objects) Get(ctx context.Context, name string) ([]byte, error) {
	b, err := o.st.GetBytes(ctx, name)
	if err != nil {
		return nil, o.fail("get "+name, err)
	}
	return b, nil
}

// Delete removes the object name; an error satisfying
// errors.Is(err, ErrNotFound) says there was none.
func (o *Objects) Delete(ctx context.Context, name string) error {
	return o.fail("delete "+name, o.st.Delete(ctx, name))
}

// Names returns the names of the objects that start with prefix, sorted
// (none for an empty store).
func (o *Objects) Names(ctx context.Context, prefix string) ([]string, error) {
	infos, err := o.st.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, nil
	}
	if err != nil {
		return nil, o.fail("list", err)
	}
	var names []string
	for _, info := range infos {
		if !info.Deleted && strings.HasPrefix(info.Name, prefix) {
			names = append(names, info.Name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// fail marks an object store error with the bus's sentinel for it.
func (o *Objects) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	err = fmt.Errorf("bus: %s: %s: %w", o.name, op, err)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return mark(ErrNotFound, err)
	}
	return err
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	// Name of the object.
	Name string
	// Size in bytes.
	Size uint64
	// Modified is when it was last put.
	Modified time.Time
	// Description given when it was put.
	Description string
	// Metadata given when it was put.
	Metadata map[string]string
}

// PutWithMetadata stores data under name like Put, with metadata kept
// beside it (read back by Info without reading the data).
func (o *Objects) PutWithMetadata(ctx context.Context, name string, data []byte, description string, metadata map[string]string) error {
	_, err := o.st.Put(ctx, jetstream.ObjectMeta{Name: name, Description: description, Metadata: metadata}, bytes.NewReader(data))
	return o.fail("put "+name, err)
}

// Info describes the object name without reading it, or fails with an
// error satisfying errors.Is(err, ErrNotFound): one request, cheap enough
// to poll.
func (o *Objects) Info(ctx context.Context, name string) (ObjectInfo, error) {
	info, err := o.st.GetInfo(ctx, name)
	if err != nil {
		return ObjectInfo{}, o.fail("info "+name, err)
	}
	return ObjectInfo{Name: info.Name, Size: info.Size, Modified: info.ModTime, Description: info.Description, Metadata: info.Metadata}, nil
}
