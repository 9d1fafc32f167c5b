package samplefeed

// Word lists the generator draws from. Names include diacritics and an
// apostrophe so that consumers meet non-ASCII text and escaping.

var givenNames = []string{
	"Anna", "Lukas", "Marie", "Jonas", "Sofia", "Mateo", "Elena", "Hugo", "Ingrid", "Pierre",
	"Chiara", "Nils", "Zofia", "Tomás", "Aino", "Giulia", "Henrik", "Léa", "Dmitri", "Astrid",
	"Björn", "Carmen", "Oisín", "Ewa", "Rafael", "Maja", "Jakub", "Inès", "Kai", "Beatriz",
	"Yusuf", "Hanna", "Paolo", "Freya", "Andrés", "Noémie", "Stefan", "Ayşe", "Mikael", "Clara",
}

var familyNames = []string{
	"Müller", "Rossi", "Dubois", "Johansson", "Kowalski", "García", "Nielsen", "Novák", "Virtanen", "Ferrari",
	"Schmidt", "Lefèvre", "Andersson", "Wiśniewska", "Fernández", "Hansen", "Horváth", "Korhonen", "Bianchi", "Meyer",
	"O'Connor", "Jensen", "Papadopoulos", "Costa", "Van der Berg", "Larsen", "Moreau", "Şahin", "Lindqvist", "Romano",
	"Keller", "Nowak", "Sørensen", "Gallo", "Fischer", "Rousseau", "Berglund", "Dvořák", "Marino", "Weber",
}

type sample struct {
	name     string
	keywords []string
}

var samples = []sample{
	{"lysozyme crystals", []string{"protein", "structural biology"}},
	{"silica nanoparticles", []string{"nanoparticles", "colloids"}},
	{"lithium-ion battery cathodes", []string{"batteries", "energy storage"}},
	{"perovskite thin films", []string{"photovoltaics", "thin films"}},
	{"human cortical bone", []string{"biomineralisation", "bone"}},
	{"zeolite catalysts", []string{"catalysis", "porous materials"}},
	{"graphene oxide membranes", []string{"2D materials", "membranes"}},
	{"amyloid fibrils", []string{"protein aggregation", "neurodegeneration"}},
	{"high-entropy alloys", []string{"metallurgy", "alloys"}},
	{"metal-organic frameworks", []string{"MOF", "gas adsorption"}},
	{"cuprate superconductors", []string{"superconductivity", "strongly correlated electrons"}},
	{"lipid bilayers", []string{"soft matter", "membranes"}},
	{"cement pastes", []string{"construction materials", "hydration"}},
	{"Roman ceramics", []string{"cultural heritage", "archaeometry"}},
	{"block copolymer blends", []string{"polymers", "self-assembly"}},
	{"platinum nanocatalysts", []string{"catalysis", "fuel cells"}},
	{"spider silk fibres", []string{"biomaterials", "fibres"}},
	{"chondritic meteorite fragments", []string{"planetary science", "meteorites"}},
	{"magnetic skyrmion lattices", []string{"magnetism", "skyrmions"}},
	{"ice VII", []string{"high pressure", "planetary interiors"}},
	{"SARS-CoV-2 main protease", []string{"protein", "drug discovery"}},
	{"solid oxide fuel cell anodes", []string{"energy materials", "fuel cells"}},
	{"topological insulator Bi2Se3", []string{"topological materials", "quantum materials"}},
	{"wood cell walls", []string{"cellulose", "biomaterials"}},
}

var conditions = []string{
	"under high pressure",
	"at cryogenic temperature",
	"during in situ heating",
	"during operando cycling",
	"under an applied magnetic field",
	"in aqueous solution",
	"under uniaxial strain",
	"during in situ synthesis",
}

var dataContents = []string{
	"raw detector images and reduced profiles",
	"raw event data and reduced intensities",
	"raw NeXus files and reconstructions",
	"raw frames and processed spectra",
}

var purposes = []string{
	"to follow the structural evolution of the sample",
	"to determine the local atomic structure",
	"to resolve nanoscale heterogeneities",
	"to quantify phase fractions and their kinetics",
	"to characterise the electronic structure",
	"to map the spatial distribution of the relevant elements",
	"to probe collective excitations and dynamics",
}
