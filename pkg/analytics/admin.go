package analytics

import "context"

// DropDatabase drops the store's whole database (tests and benchmarks use
// throwaway databases). EnsureSchema creates it again.
func (s *Store) DropDatabase(ctx context.Context) error {
	return wrap("drop database", s.conn.Exec(ctx, "DROP DATABASE IF EXISTS "+s.db))
}
