package bus

import (
	"context"
	"fmt"
	"time"
)

// StreamStatus is how a stream stands.
type StreamStatus struct {
	// Name of the stream.
	Name Stream `json:"name"`
	// Messages and Bytes it holds.
	Messages uint64 `json:"messages"`
	Bytes    uint64 `json:"bytes"`
	// FirstSeq, FirstTime, LastSeq and LastTime are its first and last
	// messages' sequences and times (zero when empty).
	FirstSeq  uint64    `json:"first_seq"`
	FirstTime time.Time `json:"first_time,omitzero"`
	LastSeq   uint64    `json:"last_seq"`
	LastTime  time.Time `json:"last_time,omitzero"`
	// Consumers are its durable consumers.
	Consumers []ConsumerStatus `json:"consumers"`
}

// ConsumerStatus is how a durable consumer stands.
type ConsumerStatus struct {
	// Name of the consumer (a stage, a destination's delivery, a read
	// model's follower).
	Name string `json:"name"`
	// Stream it reads.
	Stream Stream `json:"stream"`
	// Pending is how many messages it has not been given yet, AckPending
	// how many it was given and has not acknowledged: Lag is their sum.
	Pending    uint64 `json:"pending"`
	AckPending int    `json:"ack_pending"`
	Lag        uint64 `json:"lag"`
	// Redelivered is how many given messages were given more than once.
	Redelivered int `json:"redelivered"`
	// Waiting is how many pull requests wait (replicas asking for work).
	Waiting int `json:"waiting"`
	// AckFloor is the stream sequence up to which every message was
	// acknowledged; LastActive when it last acknowledged one.
	AckFloor   uint64    `json:"ack_floor"`
	LastActive time.Time `json:"last_active,omitzero"`
}

// Status returns how every stream of the pipeline and its durable
// consumers stand.
func (b *Bus) Status(ctx context.Context) ([]StreamStatus, error) {
	out := make([]StreamStatus, 0, len(Streams))
	for _, s := range Streams {
		str, err := b.js.Stream(ctx, string(s))
		if err != nil {
			return nil, fmt.Errorf("bus: status of %s: %w", s, err)
		}
		info, err := str.Info(ctx)
		if err != nil {
			return nil, fmt.Errorf("bus: status of %s: %w", s, err)
		}
		st := StreamStatus{
			Name: s, Messages: info.State.Msgs, Bytes: info.State.Bytes,
			Consumers: []ConsumerStatus{},
		}
		if info.State.Msgs > 0 {
			st.FirstSeq, st.FirstTime = info.State.FirstSeq, info.State.FirstTime.UTC()
			st.LastSeq, st.LastTime = info.State.LastSeq, info.State.LastTime.UTC()
		}
		lister := str.ListConsumers(ctx)
		for ci := range lister.Info() {
			if ci.Config.Durable == "" {
				continue // a reader's ordered consumer, gone soon
			}
			c := ConsumerStatus{
				Name: ci.Name, Stream: s, Pending: ci.NumPending, AckPending: ci.NumAckPending,
				Lag: ci.NumPending + uint64(ci.NumAckPending), Redelivered: ci.NumRedelivered,
				Waiting: ci.NumWaiting, AckFloor: ci.AckFloor.Stream,
			}
			if ci.AckFloor.Last != nil {
				c.LastActive = ci.AckFloor.Last.UTC()
			}
			st.Consumers = append(st.Consumers, c)
		}
		if err := lister.Err(); err != nil {
			return nil, fmt.Errorf("bus: consumers of %s: %w", s, err)
		}
		out = append(out, st)
	}
	return out, nil
}
