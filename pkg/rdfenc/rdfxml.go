package rdfenc

import (
	"bytes"
	"errors"
)

const (
	nsXMLNamespace = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS        = "http://www.w3.org/2000/xmlns/"
)

type rdfxmlWriter struct{ ns *nsTable }

func (x *rdfxmlWriter) header(w *bytes.Buffer) error { return nil }
func (x *rdfxmlWriter) group(w *bytes.Buffer, ts []triple) error {
	return errors.New("not implemented yet")
}
func (x *rdfxmlWriter) footer(w *bytes.Buffer) {}
