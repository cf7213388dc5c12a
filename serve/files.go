package serve

import (
	"crypto/rand"
	"encoding/hex"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"
)

// fileStore keeps translated files in memory for /download_file: bounded
// in count and bytes (the oldest go first), each for a limited time. A
// file's name is 32 random hex digits, a dot and the uploaded file's
// cleaned name; downloads are looked up by that exact name in a map, so no
// name reaches a file system and no path can be traversed.
type fileStore struct {
	mu       sync.Mutex
	maxCount int
	maxBytes int64
	ttl      time.Duration
	now      func() time.Time
	files    map[string]*storedFile
	order    []string // names, oldest first
	bytes    int64
}

type storedFile struct {
	data    []byte
	expires time.Time
}

func newFileStore(maxCount int, maxBytes int64, ttl time.Duration) *fileStore {
	return &fileStore{maxCount: maxCount, maxBytes: maxBytes, ttl: ttl, now: time.Now, files: map[string]*storedFile{}}
}

// unsafeName matches what a stored name may not contain.
var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// cleanName reduces an uploaded file name to a safe base name: no
// directories, only letters, digits, dots, dashes and underscores, no
// leading dot, at most 100 bytes.
func cleanName(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.TrimLeft(unsafeName.ReplaceAllString(name, "_"), ".")
	if len(name) > 100 {
		name = name[len(name)-100:]
	}
	if name == "" || name == "_" {
		name = "file.txt"
	}
	return name
}

// put stores data under a new name derived from original and returns the
// name. It returns "" when data alone exceeds the store.
func (s *fileStore) put(original string, data []byte) string {
	if int64(len(data)) > s.maxBytes {
		return ""
	}
	var id [16]byte
	rand.Read(id[:]) // never fails (crypto/rand)
	name := hex.EncodeToString(id[:]) + "." + cleanName(original)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire()
	for len(s.order) > 0 && (len(s.order) >= s.maxCount || s.bytes+int64(len(data)) > s.maxBytes) {
		s.remove(s.order[0])
	}
	s.files[name] = &storedFile{data: data, expires: s.now().Add(s.ttl)}
	s.order = append(s.order, name)
	s.bytes += int64(len(data))
	return name
}

// get returns the file stored under name and the name to download it as
// (the original name), or ok false.
func (s *fileStore) get(name string) (data []byte, download string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire()
	f := s.files[name]
	if f == nil {
		return nil, "", false
	}
	_, download, _ = strings.Cut(name, ".")
	return f.data, download, true
}

// expire drops the files past their time; s.mu is held.
func (s *fileStore) expire() {
	now := s.now()
	for len(s.order) > 0 && !now.Before(s.files[s.order[0]].expires) {
		s.remove(s.order[0])
	}
}

// remove drops a stored file; s.mu is held.
func (s *fileStore) remove(name string) {
	f := s.files[name]
	if f == nil {
		return
	}
	s.bytes -= int64(len(f.data))
	delete(s.files, name)
	for i, n := range s.order {
		if n == name {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
}
