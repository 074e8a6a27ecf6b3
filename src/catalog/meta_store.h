#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "io/file_system.h"

namespace quiver {

// The MetaStore port: small named values with the semantics etcd has, so
// that the local store and the cluster's etcd adapter are interchangeable.
//
// - Every change raises the store's revision by one; a key remembers the
//   revision of its last change (its mod revision).
// - CompareAndPut changes a key only if its mod revision is the one the
//   caller read (0: the key must not exist); otherwise kConflict, and
//   nothing changes. A manifest commit is such a CAS, which is where a
//   leader's fencing plugs in.
// - A watch sees every change under a prefix after a revision, in order; a
//   revision the store no longer remembers is kNotFound ("compacted": read
//   the keys again, then watch from the revision read).
// - A lease expires `ttl` after its last keep-alive; the keys attached to
//   it are deleted then (as ordinary delete events).
//
// Keys are internal names ([A-Za-z0-9_.-]+), never user input. Thread-safe.
using Revision = int64_t;
using LeaseId = int64_t;

struct KeyValue {
  std::string key;
  std::string value;
  Revision mod_revision = 0;
  LeaseId lease = 0;
  Revision create_revision = 0;  // of the change that created it (since its last delete)
};

// A condition on another key that a guarded write needs: `key` exists and
// was created at `create_revision`. A leader's election key and its epoch:
// once the leader is deposed (its key deleted, or created again by another),
// its writes are refused.
struct Fence {
  std::string key;
  Revision create_revision = 0;
};
// The refusal of a write whose fence key was found created at `found` (0: absent).
Status FenceConflict(const Fence& fence, Revision found);

struct MetaEvent {
  enum class Type { kPut, kDelete } type = Type::kPut;
  KeyValue kv;  // a delete carries the key and the delete's revision
};

// Keys under a prefix, in key order, as of one revision of the store.
struct KeyListing {
  std::vector<KeyValue> kvs;
  Revision revision = 0;  // the store's revision when it was read: watch from here
};

class MetaWatch {
 public:
  virtual ~MetaWatch() = default;
  // The next events, in revision order; empty when none came within
  // `timeout`. kNotFound when the watch fell behind what the store remembers.
  virtual Result<std::vector<MetaEvent>> Next(std::chrono::milliseconds timeout) = 0;
};

class MetaStore {
 public:
  virtual ~MetaStore() = default;

  // nullopt when the key does not exist.
  virtual Result<std::optional<KeyValue>> Get(std::string_view key) = 0;
  // Keys starting with `prefix`, in key order, with the revision read at.
  virtual Result<KeyListing> List(std::string_view prefix) = 0;
  // After OK the new value survives any crash. Returns the change's revision.
  virtual Result<Revision> Put(std::string_view key, std::string_view value, LeaseId lease = 0) = 0;
  // Put only if the key's mod revision is `expected` (0: absent); kConflict
  // (changing nothing) otherwise.
  virtual Result<Revision> CompareAndPut(std::string_view key, std::string_view value,
                                         Revision expected, LeaseId lease = 0) = 0;
  // CompareAndPut, only while `fence` holds: kConflict (changing nothing)
  // naming the fence when it does not.
  virtual Result<Revision> FencedPut(std::string_view key, std::string_view value,
                                     Revision expected, const Fence& fence) = 0;
  // The delete's revision (the current one when the key did not exist).
  virtual Result<Revision> Delete(std::string_view key) = 0;
  // Deletes the key only if its mod revision is `expected`; kConflict
  // (changing nothing) otherwise -- an absent key included.
  virtual Result<Revision> CompareAndDelete(std::string_view key, Revision expected) = 0;
  virtual Revision CurrentRevision() = 0;
  // Forgets the history before `revision` (etcd's compaction): a watch
  // from an earlier revision is then told to read again (kNotFound).
  virtual Status Compact(Revision revision) = 0;
  // Changes of keys under `prefix` with a revision above `after`.
  virtual Result<std::unique_ptr<MetaWatch>> Watch(std::string_view prefix, Revision after) = 0;

  virtual Result<LeaseId> GrantLease(std::chrono::milliseconds ttl) = 0;
  // kNotFound when the lease expired (its keys are gone).
  virtual Status KeepAlive(LeaseId lease) = 0;
  virtual Status RevokeLease(LeaseId lease) = 0;
};

// A watch that never loses a change, over any MetaStore. The first Next
// reports every key under the prefix as a put (the listing it starts from);
// later ones report each change after that, in revision order. When the
// store says the watch fell behind (a compaction erased the revisions it was
// at) or the watch broke (the server restarted or was unreachable), it lists
// the prefix again at a revision R, reports the difference from what it had
// reported — a key now absent as a delete (at revision R), a key with a new
// mod revision as a put — and watches from R. Values that a compaction
// erased in between are not reported, only the latest one: the store no
// longer has them. Not thread-safe (one consumer).
class ResumingWatch {
 public:
  ResumingWatch(MetaStore* store, std::string prefix);
  // kUnavailable only while the store cannot be reached (call again later:
  // nothing is lost); an empty answer when nothing changed within `timeout`.
  Result<std::vector<MetaEvent>> Next(std::chrono::milliseconds timeout);
  // The keys as reported so far.
  const std::map<std::string, KeyValue>& keys() const { return keys_; }
  // Times the watch had to list the keys again after the first listing.
  uint64_t resyncs() const { return resyncs_; }

 private:
  Result<std::vector<MetaEvent>> Resync();

  MetaStore* const store_;
  const std::string prefix_;
  std::unique_ptr<MetaWatch> watch_;  // null until the call after a listing
  std::map<std::string, KeyValue> keys_;
  Revision revision_ = 0;  // everything up to here is reported
  bool listed_ = false;
  uint64_t resyncs_ = 0;
};

// Keeps each key in the file `dir`/<key> (written with
// FileSystem::WriteFileAtomic, crash points "<key in lower case>.*"), so
// values survive restarts. Revisions, watches and leases live in memory:
// after a restart the revision starts again above every key read, and
// leases are gone (a standalone server has no one to fence).
std::unique_ptr<MetaStore> NewLocalMetaStore(FileSystem* fs, std::string dir);

}  // namespace quiver
