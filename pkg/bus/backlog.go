package bus

import (
	"context"
	"fmt"
)

// PipelineStages are the stages between the harvester and the catalogue,
// in order: the messages waiting for them are the pipeline's backlog
// (see Backlog).
var PipelineStages = []Stage{StageNormaliser, StageEnricher, StagePublisher}

// Backlog returns how many messages wait in the pipeline between the
// harvester and the catalogue: for each of PipelineStages, the messages of
// its input stream after its durable consumer's ack floor (the stream's
// last sequence less the consumer's acknowledged floor), summed. Those
// are the messages not delivered yet and those delivered but not
// acknowledged, and, when acknowledgements come out of order, the few
// acknowledged above the floor: an upper bound. It is read from the
// sequences rather than the consumer's num_pending because the server
// counts a stored message into num_pending asynchronously, after the
// publisher has its acknowledgement. Each stage costs a stream info and a
// consumer info request. The analytics writer's and the destinations'
// consumers are not counted: they may lag without holding the catalogue
// back.
func (b *Bus) Backlog(ctx context.Context) (uint64, error) {
	var total uint64
	for _, stage := range PipelineStages {
		in, ok := InputOf(stage)
		if !ok {
			return 0, fmt.Errorf("bus: %w: %q", ErrUnknownStage, stage)
		}
		c, err := b.js.Consumer(ctx, string(in), string(stage))
		if err != nil {
			return 0, fmt.Errorf("bus: consumer %s: %w", stage, err)
		}
		// The stream after the consumer: a message stored between the two
		// requests is counted.
		s, err := b.js.Stream(ctx, string(in))
		if err != nil {
			return 0, fmt.Errorf("bus: stream %s: %w", in, err)
		}
		st := s.CachedInfo().State
		floor := c.CachedInfo().AckFloor.Stream
		if st.FirstSeq > 0 {
			// Messages removed from the stream (age, purge) wait no more.
			floor = max(floor, st.FirstSeq-1)
		}
		if st.LastSeq > floor {
			total += st.LastSeq - floor
		}
	}
	return total, nil
}
