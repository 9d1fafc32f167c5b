package bus

import (
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/compress/s2"
	"github.com/nats-io/nats.go"
)

// HeaderEncoding says how a stored message's payload is encoded: absent,
// it is the payload as published; EncodingS2, the payload compressed with
// S2 (block format). The bus's publishes compress a payload of at least
// CompressMin bytes when that makes it smaller by an eighth or more, and
// every reader of the bus (stages, followers, readers, dead letters)
// decodes it and drops the header, so that handlers see what was
// published. Messages stored before payloads were compressed have no
// header and are read as they are.
const HeaderEncoding = "Fairway-Encoding"

// HeaderSourceEncoding marks a dead letter whose payload is a message's
// stored bytes that could not be decoded: the HeaderEncoding they claimed
// (the dead letter itself holds them as its plain payload).
const HeaderSourceEncoding = "Fairway-Source-Encoding"

// EncodingS2 is the HeaderEncoding of an S2-compressed payload.
const EncodingS2 = "s2"

// CompressMin is the smallest payload the bus compresses (smaller ones
// gain too little to pay for the decoding of every reader).
const CompressMin = 512

// maxDecoded bounds a decoded payload: the largest payload NATS carries.
const maxDecoded = 64 << 20

// ErrUndecodable is the error a stored payload that cannot be decoded
// gives (an unknown encoding, corrupt data, or a decoded size past 64 MiB).
var ErrUndecodable = errors.New("bus: undecodable payload")

// encodePayload returns what to store for payload and its HeaderEncoding
// ("" when it is stored as it is).
func encodePayload(payload []byte) ([]byte, string) {
	return encodePayloadInto(nil, payload)
}

// encodePayloadInto is encodePayload compressing into dst when its
// capacity is enough (s2.MaxEncodedLen of payload), else into a new slice;
// a payload stored as it is is returned itself, not copied into dst.
func encodePayloadInto(dst, payload []byte) ([]byte, string) {
	if len(payload) < CompressMin {
		return payload, ""
	}
	c := s2.Encode(dst, payload)
	if len(c) > len(payload)-len(payload)/8 {
		return payload, ""
	}
	return c, EncodingS2
}

// decodePayload returns the payload as published of stored data with the
// given HeaderEncoding.
func decodePayload(data []byte, encoding string) ([]byte, error) {
	switch encoding {
	case "":
		return data, nil
	case EncodingS2:
		n, err := s2.DecodedLen(data)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUndecodable, err)
		}
		if n > maxDecoded {
			return nil, fmt.Errorf("%w: %d bytes decoded (at most %d)", ErrUndecodable, n, maxDecoded)
		}
		out, err := s2.Decode(make([]byte, n), data)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUndecodable, err)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%w: unknown encoding %.50q", ErrUndecodable, encoding)
	}
}

// decodeStored decodes data in place of its stored form and drops the
// encoding from h, so that a message passed on with its headers (a
// replay, a redrive) says what it carries. h may be nil.
func decodeStored(h nats.Header, data []byte) ([]byte, error) {
	if h == nil {
		return data, nil
	}
	enc := h.Get(HeaderEncoding)
	if enc == "" {
		return data, nil
	}
	out, err := decodePayload(data, enc)
	if err != nil {
		return nil, err
	}
	h.Del(HeaderEncoding)
	return out, nil
}

// Payload returns the payload of a message read from a stream of the bus
// by other means than the bus's (a JetStream consumer of a tool or a test)
// as it was published, given its headers and stored data; h is not
// changed. Its errors satisfy errors.Is(err, ErrUndecodable).
func Payload(h nats.Header, data []byte) ([]byte, error) {
	return decodePayload(data, h.Get(HeaderEncoding))
}

// Undecoded reports whether m was handed over as it is stored because its
// payload could not be decoded (it still carries HeaderEncoding): its
// Data is not what was published, and its HeaderHash must not be taken
// for the hash of what it holds.
func Undecoded(m StoredMessage) bool { return m.Header.Get(HeaderEncoding) != "" }

// encodeBuffers recycles the buffers a synchronous publish compresses into:
// the connection has copied the message when the publish returns.
var encodeBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledEncode bounds the buffer kept for reuse, so that a rare large
// payload does not pin its buffer.
const maxPooledEncode = 1 << 20

// encodeBuffer returns a pooled buffer that can hold the compressed form of
// n bytes, and the function that gives it back. Payloads that are not
// compressed, or too large to pool, get none.
func encodeBuffer(n int) ([]byte, func()) {
	need := s2.MaxEncodedLen(n)
	if n < CompressMin || need < 0 || need > maxPooledEncode {
		return nil, func() {}
	}
	p := encodeBuffers.Get().(*[]byte)
	if cap(*p) < need {
		*p = make([]byte, need)
	}
	return (*p)[:cap(*p)], func() { encodeBuffers.Put(p) }
}
