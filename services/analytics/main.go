// Command analytics runs Fairway's analytics writer as a service of its own
// against an external NATS server: its durable consumers on the pipeline's
// streams write ClickHouse (see --help).
package main

import (
	"os"

	"github.com/panosc/fairway/pkg/node"
)

func main() { os.Exit(node.Main(node.TargetAnalytics)) }
