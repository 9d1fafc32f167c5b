package rdfenc

import (
	"bytes"
	"errors"
)

type jsonldWriter struct{ ns *nsTable }

func (x *jsonldWriter) header(w *bytes.Buffer) error { return nil }
func (x *jsonldWriter) group(w *bytes.Buffer, ts []triple) error {
	return errors.New("not implemented yet")
}
func (x *jsonldWriter) footer(w *bytes.Buffer) {}
