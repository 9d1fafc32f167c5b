package metadata

import "strings"

// resourceTypesGeneral are the DataCite resourceTypeGeneral values (kernel
// 4.6), keyed by their lower-case spelling.
var resourceTypesGeneral = func() map[string]string {
	m := map[string]string{}
	for _, t := range []string{
		"Audiovisual", "Award", "Book", "BookChapter", "Collection", "ComputationalNotebook",
		"ConferencePaper", "ConferenceProceeding", "DataPaper", "Dataset", "Dissertation", "Event",
		"Film", "Image", "Instrument", "InteractiveResource", "Journal", "JournalArticle", "Model",
		"OutputManagementPlan", "PeerReview", "PhysicalObject", "Preprint", "Project", "Report",
		"Service", "Software", "Sound", "Standard", "StudyRegistration", "Text", "Workflow", "Other",
	} {
		m[strings.ToLower(t)] = t
	}
	return m
}()

// ResourceTypeGeneral returns the canonical spelling of a DataCite
// resourceTypeGeneral value written in any case ("dataset" → "Dataset"), and
// whether s is one.
func ResourceTypeGeneral(s string) (string, bool) {
	t, ok := resourceTypesGeneral[strings.ToLower(strings.TrimSpace(s))]
	return t, ok
}
