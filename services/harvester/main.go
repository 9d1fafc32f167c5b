// Command harvester runs Fairway's harvester stage as a service of its own against an
// external NATS server (see --help).
package main

import (
	"os"

	"github.com/panosc/fairway/pkg/node"
)

func main() { os.Exit(node.Main(node.TargetHarvester)) }
