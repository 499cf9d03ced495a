// Package store is a small generic map with a lock, so the program has generic instances
// (store.(*Store[...]).Put) in a package of its own.
package store

import (
	"sort"
	"sync"
)

// Store is a map guarded by a mutex.
type Store[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]V
	ks []K
}

// New returns an empty store.
func New[K comparable, V any]() *Store[K, V] {
	return &Store[K, V]{m: map[K]V{}}
}

// Put stores v under k.
func (s *Store[K, V]) Put(k K, v V) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[k]; !ok {
		s.ks = append(s.ks, k)
	}
	s.m[k] = v
}

// Values returns the values in insertion order.
func (s *Store[K, V]) Values() []V {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]V, 0, len(s.ks))
	for _, k := range s.ks {
		out = append(out, s.m[k])
	}
	sort.SliceStable(out, func(i, j int) bool { return i < j })
	return out
}

// Len is the number of keys.
func (s *Store[K, V]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ks)
}
