package bus

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/s2"
)

func TestPayloadEncoding(t *testing.T) {
	text := bytes.Repeat([]byte("<dc:title>Tomography of a sample</dc:title>\n"), 40)
	random := make([]byte, 4096)
	r := rand.NewChaCha8([32]byte{1})
	_, _ = r.Read(random)
	for _, tc := range []struct {
		name     string
		payload  []byte
		encoding string
	}{
		{"empty", nil, ""},
		{"below CompressMin", text[:CompressMin-1], ""},
		{"text", text, EncodingS2},
		{"incompressible", random, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stored, enc := encodePayload(tc.payload)
			if enc != tc.encoding {
				t.Fatalf("encoding %q, want %q", enc, tc.encoding)
			}
			if enc == "" && !bytes.Equal(stored, tc.payload) {
				t.Fatal("payload stored as is changed")
			}
			if enc != "" && len(stored) > len(tc.payload)*7/8 {
				t.Fatalf("%d bytes stored for %d", len(stored), len(tc.payload))
			}
			got, err := decodePayload(stored, enc)
			if err != nil || !bytes.Equal(got, tc.payload) {
				t.Fatalf("decoded %d bytes, %v; want the %d published", len(got), err, len(tc.payload))
			}
			// A pooled buffer, used before for another payload, gives
			// the same bytes, and is used when the payload is compressed.
			for range 2 {
				dst, release := encodeBuffer(len(tc.payload))
				for i := range dst {
					dst[i] = 0xee
				}
				pooled, penc := encodePayloadInto(dst, tc.payload)
				if penc != enc || !bytes.Equal(pooled, stored) {
					t.Fatalf("into a pooled buffer: %d bytes %q, want %d %q", len(pooled), penc, len(stored), enc)
				}
				if enc != "" && (len(dst) == 0 || &pooled[0] != &dst[0]) {
					t.Fatal("compressed payload not written into the pooled buffer")
				}
				release()
			}
		})
	}
}

func TestPayloadUndecodable(t *testing.T) {
	bomb := binary.AppendUvarint(nil, maxDecoded+1) // a block that claims 64 MiB and a byte
	bomb = append(bomb, 0, 0, 0, 0)
	truncated := s2.Encode(nil, bytes.Repeat([]byte("abcdefgh"), 200))
	truncated = truncated[:len(truncated)/2]
	for _, tc := range []struct {
		name, encoding string
		data           []byte
	}{
		{"unknown encoding", "gzip", []byte("x")},
		{"not s2", EncodingS2, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"truncated", EncodingS2, truncated},
		{"decoded size past the bound", EncodingS2, bomb},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodePayload(tc.data, tc.encoding); !errors.Is(err, ErrUndecodable) {
				t.Fatalf("err %v, want ErrUndecodable", err)
			}
		})
	}
}
