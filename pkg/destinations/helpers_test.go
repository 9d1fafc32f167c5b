package destinations_test

import (
	"log/slog"

	"github.com/panosc/fairway/internal/testenv"
)

func captureLog() (*slog.Logger, *testenv.Buffer) { return testenv.CaptureLog() }
