package samplefeed

// PaNETBase is the IRI namespace of the PaNET ontology classes.
const PaNETBase = "http://purl.org/pan-science/PaNET/"

// Technique is an experimental technique of the PaNET ontology.
type Technique struct {
	// ID is the PaNET class id, e.g. "PaNET01188".
	ID string
	// Label is the class's rdfs:label in PaNET v1.3.0, exactly.
	Label string
	// Display is the label as a human would write it in a title,
	// e.g. "Small-angle X-ray scattering".
	Display string
	// Acronym is a common acronym (a skos:altLabel in PaNET where one exists);
	// may be empty.
	Acronym string
	// Probe is "x-ray" or "neutron".
	Probe string
}

// IRI returns the technique's full PaNET IRI.
func (t Technique) IRI() string { return PaNETBase + t.ID }

// Techniques lists the PaNET techniques the corpus uses. Ids and labels are
// those of PaNET v1.3.0 (PaNET_reasoned.owl); the test suite checks them
// against the ontology file.
var Techniques = []Technique{
	{"PaNET01188", "small angle x-ray scattering", "Small-angle X-ray scattering", "SAXS", "x-ray"},
	{"PaNET01191", "wide angle x-ray scattering", "Wide-angle X-ray scattering", "WAXS", "x-ray"},
	{"PaNET01162", "grazing incidence small angle x-ray scattering", "Grazing-incidence small-angle X-ray scattering", "GISAXS", "x-ray"},
	{"PaNET01216", "x-ray diffraction", "X-ray diffraction", "XRD", "x-ray"},
	{"PaNET01101", "x-ray powder diffraction", "X-ray powder diffraction", "XPD", "x-ray"},
	{"PaNET01160", "energy dispersive x-ray diffraction", "Energy-dispersive X-ray diffraction", "EDXRD", "x-ray"},
	{"PaNET01181", "pair distribution function", "Pair distribution function analysis", "PDF", "x-ray"},
	{"PaNET01164", "macromolecular crystallography", "Macromolecular crystallography", "MX", "x-ray"},
	{"PaNET01168", "serial femtosecond crystallography", "Serial femtosecond crystallography", "SFX", "x-ray"},
	{"PaNET01174", "coherent diffraction imaging", "Coherent diffraction imaging", "CDI", "x-ray"},
	{"PaNET01196", "x-ray absorption spectroscopy", "X-ray absorption spectroscopy", "XAS", "x-ray"},
	{"PaNET01198", "extended x-ray absorption fine structure", "EXAFS spectroscopy", "EXAFS", "x-ray"},
	{"PaNET01199", "x-ray absorption near edge structure", "XANES spectroscopy", "XANES", "x-ray"},
	{"PaNET01200", "x-ray emission spectroscopy", "X-ray emission spectroscopy", "XES", "x-ray"},
	{"PaNET01177", "x-ray fluorescence", "X-ray fluorescence mapping", "XRF", "x-ray"},
	{"PaNET01207", "x-ray tomography", "X-ray tomography", "", "x-ray"},
	{"PaNET01208", "x-ray microtomography", "X-ray microtomography", "", "x-ray"},
	{"PaNET01154", "nanotomography", "Nanotomography", "", "x-ray"},
	{"PaNET01212", "ptychography", "Ptychography", "", "x-ray"},
	{"PaNET01149", "x-ray reflectivity", "X-ray reflectivity", "XRR", "x-ray"},
	{"PaNET01089", "angle resolved photoemission spectroscopy", "Angle-resolved photoemission spectroscopy", "ARPES", "x-ray"},
	{"PaNET01204", "x-ray photoelectron spectroscopy", "X-ray photoelectron spectroscopy", "XPS", "x-ray"},
	{"PaNET01218", "ambient pressure x-ray photoelectron spectroscopy", "Ambient-pressure X-ray photoelectron spectroscopy", "APXPS", "x-ray"},
	{"PaNET01103", "hard x-ray photoelectron spectroscopy", "Hard X-ray photoelectron spectroscopy", "HAXPES", "x-ray"},
	{"PaNET01183", "resonant inelastic x-ray scattering", "Resonant inelastic X-ray scattering", "RIXS", "x-ray"},
	{"PaNET01137", "x-ray magnetic circular dichroism", "X-ray magnetic circular dichroism", "XMCD", "x-ray"},
	{"PaNET01205", "x-ray photon correlation spectroscopy", "X-ray photon correlation spectroscopy", "XPCS", "x-ray"},
	{"PaNET01189", "small angle neutron scattering", "Small-angle neutron scattering", "SANS", "neutron"},
	{"PaNET01100", "neutron powder diffraction", "Neutron powder diffraction", "NPD", "neutron"},
	{"PaNET01217", "neutron diffraction", "Neutron diffraction", "", "neutron"},
	{"PaNET01236", "neutron single crystal diffraction", "Neutron single-crystal diffraction", "", "neutron"},
	{"PaNET01245", "inelastic neutron spectroscopy", "Inelastic neutron scattering", "INS", "neutron"},
	{"PaNET01120", "quasielastic neutron spin echo scattering", "Neutron spin-echo spectroscopy", "NSE", "neutron"},
	{"PaNET01239", "neutron reflectometry", "Neutron reflectometry", "", "neutron"},
	{"PaNET01249", "cold neutron imaging", "Cold neutron imaging", "", "neutron"},
}

// techniqueIndex maps PaNET ids to indexes of Techniques.
var techniqueIndex = func() map[string]int {
	m := make(map[string]int, len(Techniques))
	for i, t := range Techniques {
		m[t.ID] = i
	}
	return m
}()

// TechniqueByID returns the technique with the given PaNET id.
func TechniqueByID(id string) (Technique, bool) {
	i, ok := techniqueIndex[id]
	if !ok {
		return Technique{}, false
	}
	return Techniques[i], true
}
