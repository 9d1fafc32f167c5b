package samplefeed

// Instrument is a beamline or neutron instrument of a facility.
type Instrument struct {
	// Name is the instrument's usual name, e.g. "ID02".
	Name string
	// Techniques are the PaNET ids of the techniques it is used for (at least one).
	Techniques []string
}

// Facility is a photon or neutron facility publishing datasets.
type Facility struct {
	// Slug is a lower-case short identifier, used in DOIs and as setSpec.
	Slug string
	// Acronym is the facility's short name, e.g. "ESRF".
	Acronym string
	// Name is the full name, used as DataCite publisher.
	Name string
	// DataCentre is the DataCite client symbol used as datacentreSymbol.
	DataCentre string
	// Instruments are the facility's instruments used by the corpus.
	Instruments []Instrument
}

// Facilities lists the photon and neutron facilities of the corpus. The
// instruments exist at these facilities; the technique assignment is plausible
// but simplified.
var Facilities = []Facility{
	{
		Slug: "esrf", Acronym: "ESRF", Name: "European Synchrotron Radiation Facility", DataCentre: "ESRF.DATA",
		Instruments: []Instrument{
			{"ID02", []string{"PaNET01188", "PaNET01191"}},
			{"ID11", []string{"PaNET01216", "PaNET01101"}},
			{"ID19", []string{"PaNET01208", "PaNET01207"}},
			{"BM23", []string{"PaNET01196", "PaNET01198", "PaNET01199"}},
			{"ID16A", []string{"PaNET01212", "PaNET01154", "PaNET01177"}},
			{"ID32", []string{"PaNET01183", "PaNET01137"}},
			{"ID23-1", []string{"PaNET01164"}},
			{"ID10", []string{"PaNET01205", "PaNET01149"}},
		},
	},
	{
		Slug: "ill", Acronym: "ILL", Name: "Institut Laue-Langevin", DataCentre: "ILL.ILL",
		Instruments: []Instrument{
			{"D22", []string{"PaNET01189"}},
			{"D11", []string{"PaNET01189"}},
			{"D20", []string{"PaNET01100", "PaNET01217"}},
			{"D19", []string{"PaNET01236", "PaNET01217"}},
			{"IN5", []string{"PaNET01245"}},
			{"IN15", []string{"PaNET01120"}},
			{"FIGARO", []string{"PaNET01239"}},
		},
	},
	{
		Slug: "ess", Acronym: "ESS", Name: "European Spallation Source", DataCentre: "ESS.DATA",
		Instruments: []Instrument{
			{"LoKI", []string{"PaNET01189"}},
			{"DREAM", []string{"PaNET01100", "PaNET01217"}},
			{"ESTIA", []string{"PaNET01239"}},
			{"ODIN", []string{"PaNET01249"}},
			{"BIFROST", []string{"PaNET01245"}},
			{"NMX", []string{"PaNET01236"}},
		},
	},
	{
		Slug: "euxfel", Acronym: "EuXFEL", Name: "European XFEL", DataCentre: "XFEL.DATA",
		Instruments: []Instrument{
			{"SPB/SFX", []string{"PaNET01168", "PaNET01174"}},
			{"MID", []string{"PaNET01205", "PaNET01188"}},
			{"FXE", []string{"PaNET01200", "PaNET01216"}},
			{"SCS", []string{"PaNET01183", "PaNET01137"}},
			{"HED", []string{"PaNET01216", "PaNET01188"}},
		},
	},
	{
		Slug: "psi", Acronym: "PSI", Name: "Paul Scherrer Institute", DataCentre: "PSI.DATA",
		Instruments: []Instrument{
			{"cSAXS", []string{"PaNET01188", "PaNET01212"}},
			{"TOMCAT", []string{"PaNET01208", "PaNET01207"}},
			{"SIS", []string{"PaNET01089"}},
			{"PXI", []string{"PaNET01164"}},
			{"SANS-I", []string{"PaNET01189"}},
			{"AMOR", []string{"PaNET01239"}},
			{"HRPT", []string{"PaNET01100"}},
		},
	},
	{
		Slug: "maxiv", Acronym: "MAX IV", Name: "MAX IV Laboratory", DataCentre: "MAXIV.DATA",
		Instruments: []Instrument{
			{"BioMAX", []string{"PaNET01164"}},
			{"CoSAXS", []string{"PaNET01188", "PaNET01191"}},
			{"NanoMAX", []string{"PaNET01212", "PaNET01177"}},
			{"Balder", []string{"PaNET01196", "PaNET01198"}},
			{"Bloch", []string{"PaNET01089"}},
			{"HIPPIE", []string{"PaNET01218", "PaNET01204"}},
			{"DanMAX", []string{"PaNET01101", "PaNET01181", "PaNET01208"}},
		},
	},
	{
		Slug: "soleil", Acronym: "SOLEIL", Name: "Synchrotron SOLEIL", DataCentre: "SOLEIL.DATA",
		Instruments: []Instrument{
			{"SWING", []string{"PaNET01188"}},
			{"CASSIOPEE", []string{"PaNET01089"}},
			{"SAMBA", []string{"PaNET01196", "PaNET01199"}},
			{"PSICHE", []string{"PaNET01208", "PaNET01160"}},
			{"PROXIMA-1", []string{"PaNET01164"}},
			{"GALAXIES", []string{"PaNET01103", "PaNET01183"}},
			{"SIXS", []string{"PaNET01149", "PaNET01162"}},
		},
	},
	{
		Slug: "desy", Acronym: "DESY", Name: "Deutsches Elektronen-Synchrotron DESY", DataCentre: "DESY.DATA",
		Instruments: []Instrument{
			{"P03", []string{"PaNET01162", "PaNET01188"}},
			{"P07", []string{"PaNET01216", "PaNET01181"}},
			{"P06", []string{"PaNET01177", "PaNET01212"}},
			{"P65", []string{"PaNET01196", "PaNET01198"}},
			{"P11", []string{"PaNET01164"}},
			{"P05", []string{"PaNET01208", "PaNET01154"}},
			{"P22", []string{"PaNET01103", "PaNET01204"}},
		},
	},
}

// FacilityBySlug returns the facility with the given slug.
func FacilityBySlug(slug string) (Facility, bool) {
	for _, f := range Facilities {
		if f.Slug == slug {
			return f, true
		}
	}
	return Facility{}, false
}
