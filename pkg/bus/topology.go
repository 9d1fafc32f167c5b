// Package bus owns everything JetStream in Fairway: the streams, consumers
// and KV buckets of the pipeline (defined here, in one place), the subjects
// and message ids of every event, the watermill router that runs a stage's
// handlers with retries, panic recovery, correlation ids and dead letters,
// the batch consumer of the analytics writer, and the types through which
// the rest of the node reads and writes JetStream: State (a KV bucket of
// state), StreamReader (the last message about a key, of every key, or
// every message about one key), Objects (an object store) and Owners (who
// owns each dataset). A stage never spells a subject or a stream name
// itself, and no package but this one imports nats.go/jetstream.
package bus

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream names one of the pipeline's streams.
type Stream string

// The pipeline's streams.
const (
	// Raw holds harvested records exactly as received.
	Raw Stream = "FAIRWAY_RAW"
	// Normalised holds canonical datasets.
	Normalised Stream = "FAIRWAY_NORMALISED"
	// Enriched holds datasets with techniques, links and quality.
	Enriched Stream = "FAIRWAY_ENRICHED"
	// Catalogue is the live catalogue: the last entry per dataset.
	Catalogue Stream = "FAIRWAY_CATALOGUE"
	// Ops holds operational events such as harvest-run reports.
	Ops Stream = "FAIRWAY_OPS"
	// DeadLetters holds the messages a stage gave up on, with the reason.
	DeadLetters Stream = "FAIRWAY_DLQ"
	// Usage holds usage events (COUNTER investigations and requests), one
	// JSON event per message, keyed and deduplicated by the event's id.
	Usage Stream = "FAIRWAY_USAGE"
)

// Streams lists every stream in pipeline order.
var Streams = []Stream{Raw, Normalised, Enriched, Catalogue, Ops, DeadLetters, Usage}

// subjectRoot is the first token of a stream's subjects.
var subjectRoot = map[Stream]string{
	Raw:         "fairway.raw",
	Normalised:  "fairway.normalised",
	Enriched:    "fairway.enriched",
	Catalogue:   "fairway.catalogue",
	Ops:         "fairway.ops",
	DeadLetters: "fairway.dlq",
	Usage:       "fairway.usage",
}

// Subject returns the subject an event about key is published on in stream
// s. The key is never spelled in the subject: its last token is the fixed-
// size Digest of the key, so that any key (a DOI, an OAI identifier with
// dots and colons, thousands of bytes of a hostile one) gives a short, valid
// subject, and each dataset has a subject of its own in the catalogue. The
// key itself travels in the HeaderKey header.
func Subject(s Stream, key string) string {
	return subjectRoot[s] + "." + Digest(key)
}

// SubjectFilter returns the wildcard matching every subject of stream s.
func SubjectFilter(s Stream) string { return subjectRoot[s] + ".>" }

// Digest returns the fixed-size token (32 hexadecimal characters: 128 bits
// of SHA-256) that stands for key in subjects, KV keys and message ids. A
// NATS subject or KV key travels in a protocol control line of a few KiB:
// one built from a raw identifier could make the server close the
// connection.
func Digest(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:16])
}

// MaxHashLen bounds the content hash MsgID spells as it is; a longer one is
// replaced by its digest.
const MaxHashLen = 80

// MsgID builds the Nats-Msg-Id of an event from the stage that emits it, the
// dataset key and the content hash, so a redelivery or an overlapping
// re-harvest inside the stream's dedup window is dropped by JetStream. Its
// size is bounded whatever the key and the hash.
func MsgID(stage, key, contentHash string) string {
	if len(contentHash) > MaxHashLen {
		contentHash = Digest(contentHash)
	}
	return stage + ":" + Digest(key)[:24] + ":" + contentHash
}

// Stage names a pipeline stage and the durable consumer it reads with.
type Stage string

// The pipeline's consuming stages.
const (
	// StageNormaliser reads Raw and writes Normalised.
	StageNormaliser Stage = "normaliser"
	// StageEnricher reads Normalised and writes Enriched.
	StageEnricher Stage = "enricher"
	// StagePublisher reads Enriched and writes Catalogue.
	StagePublisher Stage = "publisher"
	// StageAnalytics reads Catalogue and writes ClickHouse (the datasets,
	// the publisher's pipeline events and the citations).
	StageAnalytics Stage = "analytics"
	// StageAnalyticsOps reads Ops (harvest runs, delivery outcomes) and
	// writes ClickHouse.
	StageAnalyticsOps Stage = "analytics-ops"
	// StageAnalyticsNormalised reads Normalised and writes ClickHouse (the
	// pipeline events of the normaliser).
	StageAnalyticsNormalised Stage = "analytics-normalised"
	// StageAnalyticsEnriched reads Enriched and writes ClickHouse (the
	// pipeline events of the enricher).
	StageAnalyticsEnriched Stage = "analytics-enriched"
	// StageAnalyticsDeadLetters reads DeadLetters and writes ClickHouse.
	StageAnalyticsDeadLetters Stage = "analytics-dlq"
	// StageAnalyticsUsage reads Usage and writes ClickHouse's usage events.
	StageAnalyticsUsage Stage = "analytics-usage"
)

// ConsumerSpec defines the durable pull consumer of a stage.
type ConsumerSpec struct {
	Stage  Stage
	Stream Stream
}

// Consumers lists the durable consumers the bus provisions.
var Consumers = []ConsumerSpec{
	{StageNormaliser, Raw},
	{StageEnricher, Normalised},
	{StagePublisher, Enriched},
	{StageAnalytics, Catalogue},
	{StageAnalyticsOps, Ops},
	{StageAnalyticsNormalised, Normalised},
	{StageAnalyticsEnriched, Enriched},
	{StageAnalyticsDeadLetters, DeadLetters},
	{StageAnalyticsUsage, Usage},
}

// retiredConsumers are durable consumers an older Fairway provisioned and
// no stage reads any more: Provision deletes them, so that they show no
// lag that grows forever.
var retiredConsumers = []ConsumerSpec{
	// The analytics writer's citations consumer: its catalogue consumer
	// (StageAnalytics) writes dataset_citations since, from the same
	// decoding of each entry.
	{"analytics-citations", Catalogue},
}

// batchStages are the stages that consume in batches (RunBatches): the
// analytics writer's.
var batchStages = map[Stage]bool{
	StageAnalytics: true, StageAnalyticsOps: true, StageAnalyticsNormalised: true, StageAnalyticsEnriched: true,
	StageAnalyticsDeadLetters: true, StageAnalyticsUsage: true,
}

// BatchStage reports whether stage consumes its input in batches (see
// RunBatches): its consumer's limit of unacknowledged messages is
// Topology.BatchMaxAckPending instead of MaxAckPending.
func BatchStage(stage Stage) bool { return batchStages[stage] }

// InputOf returns the stream a stage consumes.
func InputOf(stage Stage) (Stream, bool) {
	for _, c := range Consumers {
		if c.Stage == stage {
			return c.Stream, true
		}
	}
	return "", false
}

// ReadModelPrefix begins the name of every read model's follower: one
// durable consumer on the catalogue per replica (see FollowerName).
const ReadModelPrefix = "readmodel-"

// maxConsumerName bounds the consumer names the bus builds.
const maxConsumerName = 64

// FollowerName returns the durable consumer name of the read model of
// replica: ReadModelPrefix and the replica's name when that is short and
// made of letters, digits, '-' and '_', else ReadModelPrefix and a digest of
// it (a consumer name must not hold '.', '*', '>' or spaces).
func FollowerName(replica string) string {
	if n := ReadModelPrefix + replica; replica != "" && validConsumerName(n) {
		return n
	}
	return ReadModelPrefix + Digest(replica)
}

// validConsumerName reports whether name can name a durable consumer.
func validConsumerName(name string) bool {
	if name == "" || len(name) > maxConsumerName {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Bucket names a KV bucket.
type Bucket string

// The pipeline's KV buckets.
const (
	// BucketFeeds is the feed registry.
	BucketFeeds Bucket = "fairway_feeds"
	// BucketCheckpoints holds harvest checkpoints per feed.
	BucketCheckpoints Bucket = "fairway_checkpoints"
	// BucketHashes holds the last content hash each origin emitted per key
	// into a stream that does not keep every key's last message (the raw
	// stream: the SciCat harvester's); in the others, that message is the
	// memory (see Event.SkipUnchanged).
	BucketHashes Bucket = "fairway_hashes"
	// BucketKeys maps a feed's source identifiers to dataset keys, so that a
	// deletion (which carries no DOI) finds the dataset it withdraws.
	BucketKeys Bucket = "fairway_keys"
	// BucketRequests holds harvest requests (run this feed now) until a
	// harvester takes them.
	BucketRequests Bucket = "fairway_requests"
	// BucketLeases holds which harvester runs which feed: one run of a feed
	// at a time across every replica. An entry expires (LeaseTTL) when its
	// holder stops refreshing it.
	BucketLeases Bucket = "fairway_leases"
	// BucketOwners holds which facility owns each dataset key: the one
	// whose feed first published it (see Owners).
	BucketOwners Bucket = "fairway_owners"
	// BucketDestinations is the registry of push destinations (EOSC's
	// piveau hub, DAPHNE's SciCat, …).
	BucketDestinations Bucket = "fairway_destinations"
	// BucketDeliveries holds, per destination, what it was sent of each
	// dataset (the ledger of deliveries) and the destination's counters.
	BucketDeliveries Bucket = "fairway_deliveries"
	// BucketSources holds, per dataset key (by digest), the own normalised
	// version of every source that publishes the dataset, from which the
	// normaliser merges the one dataset it emits. An entry is bounded: the
	// normaliser caps the sources of a dataset, and a value is at most
	// Topology.MaxMsgSize.
	BucketSources Bucket = "fairway_sources"
	// BucketReplays holds replay requests (run a stage's handler again over
	// the last message of every key of its input), their progress and how
	// they ended, under "<stage>.<id>" (see RequestReplay).
	BucketReplays Bucket = "fairway_replays"
	// BucketPresence holds what each running replica reports about itself
	// (the PaNET release an enricher uses, say); an entry expires LeaseTTL
	// after its last refresh, so that a replica gone stops being listed.
	BucketPresence Bucket = "fairway_presence"
	// BucketSecrets holds the node's secrets that every replica must share
	// (the key of the usage session hashes, SecretUsageSessions), made by
	// the first replica that needs one (see Bus.Secret).
	BucketSecrets Bucket = "fairway_secrets"
)

// LeaseTTL is how long a harvest lease lives without being refreshed.
const LeaseTTL = 30 * time.Second

// Buckets lists every KV bucket.
var Buckets = []Bucket{BucketFeeds, BucketCheckpoints, BucketHashes, BucketKeys, BucketRequests, BucketLeases, BucketOwners, BucketDestinations, BucketDeliveries, BucketSources, BucketReplays, BucketPresence, BucketSecrets}

// Topology holds the tunables of the streams and consumers.
type Topology struct {
	// Replicas of every stream and bucket (1 for a single server, 3 in a
	// cluster). Default 1.
	Replicas int
	// DedupWindow is the streams' duplicate window. Default 2m.
	DedupWindow time.Duration
	// MaxAge bounds how long Raw keeps messages (Normalised, Enriched and
	// the catalogue keep the last message per dataset forever). Default 30
	// days.
	MaxAge time.Duration
	// AckWait is how long a consumer waits for an ack before redelivering.
	// Default 60s.
	AckWait time.Duration
	// MaxAckPending bounds the unacknowledged messages per consumer.
	// Default 2048.
	MaxAckPending int
	// BatchMaxAckPending bounds the unacknowledged messages of each batch
	// consumer (the analytics writer's, see BatchStage): a batch stage
	// holds one batch in its handler and fetches the next meanwhile, so
	// this must be at least twice its batch size, or batches come smaller.
	// Default 20,000 (batches of up to 10,000).
	BatchMaxAckPending int
	// MaxMsgSize bounds one message. Default 8 MiB.
	MaxMsgSize int32
}

func (t *Topology) setDefaults() {
	if t.Replicas == 0 {
		t.Replicas = 1
	}
	if t.DedupWindow == 0 {
		t.DedupWindow = 2 * time.Minute
	}
	if t.MaxAge == 0 {
		t.MaxAge = 30 * 24 * time.Hour
	}
	if t.AckWait == 0 {
		t.AckWait = 60 * time.Second
	}
	if t.MaxAckPending == 0 {
		t.MaxAckPending = 2048
	}
	if t.BatchMaxAckPending == 0 {
		t.BatchMaxAckPending = 20000
	}
	if t.MaxMsgSize == 0 {
		t.MaxMsgSize = 8 << 20
	}
}

// Validate reports whether the topology is usable (zero values mean their
// defaults).
func (t Topology) Validate() error {
	switch {
	case t.Replicas < 0 || t.Replicas > 5:
		return fmt.Errorf("bus: replicas %d: want 1 to 5", t.Replicas)
	case t.DedupWindow < 0, t.MaxAge < 0, t.AckWait < 0:
		return errors.New("bus: negative dedup window, max age or ack wait")
	case t.MaxAckPending < 0, t.BatchMaxAckPending < 0, t.MaxMsgSize < 0:
		return errors.New("bus: negative max ack pending or message size")
	}
	return nil
}

// LayoutKey is the stream metadata entry that names how subjects are built
// (LayoutDigest: from digests of keys); a stream without it was written by
// an older Fairway that spelled keys in subjects.
const LayoutKey = "fairway_subjects"

// LayoutDigest is the subject layout of this version.
const LayoutDigest = "digest-v1"

// StreamConfig returns the JetStream configuration of stream s.
func (t Topology) StreamConfig(s Stream) jetstream.StreamConfig {
	t.setDefaults()
	cfg := jetstream.StreamConfig{
		Metadata:   map[string]string{LayoutKey: LayoutDigest},
		Name:       string(s),
		Subjects:   []string{SubjectFilter(s)},
		Storage:    jetstream.FileStorage,
		Replicas:   t.Replicas,
		Duplicates: t.DedupWindow,
		MaxAge:     t.MaxAge,
		MaxMsgSize: t.MaxMsgSize,
		Retention:  jetstream.LimitsPolicy,
		Discard:    jetstream.DiscardOld,
	}
	switch s {
	case Normalised, Enriched:
		// The last version of every dataset stays, however old: replaying
		// a stage (a new PaNET release applied to every dataset) reaches
		// them all. Its stage reads it for every record (the normaliser to
		// guard its merge, the enricher to skip an unchanged output):
		// direct gets answer those reads without the JetStream API.
		cfg.MaxMsgsPerSubject = 1
		cfg.MaxAge = 0
		cfg.AllowDirect = true
	case Catalogue:
		cfg.Description = "live DCAT-AP catalogue: last entry per dataset, tombstones for deletions"
		cfg.MaxMsgsPerSubject = 1
		cfg.MaxAge = 0
		cfg.AllowDirect = true
	case DeadLetters:
		cfg.Description = "dead letters of every stage, with stage, reason and attempts"
		cfg.MaxAge = 0
	case Ops:
		cfg.Description = "operational events: harvest runs, delivery outcomes"
		cfg.MaxAge = 90 * 24 * time.Hour
	case Usage:
		// ClickHouse keeps the events; the stream keeps them long enough
		// for a writer that was away to catch up, and for a replay.
		cfg.Description = "usage events (COUNTER investigations and requests), one per message, deduplicated by event id"
		cfg.MaxAge = 90 * 24 * time.Hour
	}
	return cfg
}

// ConsumerConfig returns the durable pull consumer configuration of a stage.
func (t Topology) ConsumerConfig(c ConsumerSpec) jetstream.ConsumerConfig {
	t.setDefaults()
	pending := t.MaxAckPending
	if BatchStage(c.Stage) {
		pending = t.BatchMaxAckPending
	}
	return jetstream.ConsumerConfig{
		Durable:       string(c.Stage),
		Description:   "stage " + string(c.Stage) + " reading " + string(c.Stream),
		FilterSubject: SubjectFilter(c.Stream),
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       t.AckWait,
		// Unlimited: a message is never dropped by JetStream; the router's
		// retry and dead-letter middleware decide what happens to it.
		MaxDeliver:    -1,
		MaxAckPending: pending,
		Replicas:      t.Replicas,
	}
}

// KVConfig returns the configuration of a KV bucket.
func (t Topology) KVConfig(b Bucket) jetstream.KeyValueConfig {
	t.setDefaults()
	cfg := jetstream.KeyValueConfig{
		Bucket:   string(b),
		Storage:  jetstream.FileStorage,
		Replicas: t.Replicas,
		History:  1,
	}
	if b == BucketFeeds || b == BucketCheckpoints || b == BucketOwners || b == BucketDestinations {
		cfg.History = 5
	}
	if b == BucketLeases || b == BucketPresence {
		cfg.TTL = LeaseTTL
	}
	if b == BucketSources {
		cfg.MaxValueSize = t.MaxMsgSize
	}
	return cfg
}

// ObjectStore names a JetStream object store.
type ObjectStore string

// The pipeline's object stores.
const (
	// ObjectStoreSeen holds, per feed, the source identifiers seen by its
	// last complete full harvest, to find deletions at sources that keep
	// none.
	ObjectStoreSeen ObjectStore = "fairway_seen"
	// ObjectStorePaNET holds the node's PaNET release of record (the OWL
	// file, with its version and digest as metadata), which every enricher
	// replica loads and watches.
	ObjectStorePaNET ObjectStore = "fairway_panet"
)

// ObjectStores lists every object store.
var ObjectStores = []ObjectStore{ObjectStoreSeen, ObjectStorePaNET}

var objectStoreDescription = map[ObjectStore]string{
	ObjectStoreSeen:  "source identifiers seen by complete full harvests, to find deletions",
	ObjectStorePaNET: "the node's PaNET release of record, loaded by every enricher",
}

// ObjectStoreConfig returns the configuration of an object store.
func (t Topology) ObjectStoreConfig(o ObjectStore) jetstream.ObjectStoreConfig {
	t.setDefaults()
	return jetstream.ObjectStoreConfig{
		Bucket:      string(o),
		Description: objectStoreDescription[o],
		Storage:     jetstream.FileStorage,
		Replicas:    t.Replicas,
		Compression: true,
	}
}
