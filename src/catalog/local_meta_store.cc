// The local MetaStore: values in files, revisions, watches and leases in
// memory (catalog/meta_store.h).

#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include "catalog/meta_store.h"
#include "common/mutex.h"
#include "common/text.h"

namespace quiver {
namespace {

using Clock = std::chrono::steady_clock;

// How many past changes a watch can start from.
constexpr size_t kHistory = 10000;

class LocalMetaStore;

class LocalWatch final : public MetaWatch {
 public:
  LocalWatch(LocalMetaStore* store, std::string prefix, Revision after)
      : store_(store), prefix_(std::move(prefix)), after_(after) {}
  Result<std::vector<MetaEvent>> Next(std::chrono::milliseconds timeout) override;

 private:
  LocalMetaStore* store_;
  const std::string prefix_;
  Revision after_;
};

class LocalMetaStore final : public MetaStore {
 public:
  LocalMetaStore(FileSystem* fs, std::string dir) : fs_(fs), dir_(std::move(dir)) {}

  Result<std::optional<KeyValue>> Get(std::string_view key) override {
    MutexLock lock(&mu_);
    ExpireLeases();
    QV_RETURN_IF_ERROR(Load(key));
    auto it = keys_.find(std::string(key));
    if (it == keys_.end()) return std::optional<KeyValue>();
    return std::optional<KeyValue>(it->second);
  }

  Result<KeyListing> List(std::string_view prefix) override {
    MutexLock lock(&mu_);
    ExpireLeases();
    QV_ASSIGN_OR_RETURN(bool exists, fs_->Exists(dir_));
    if (exists) {
      QV_ASSIGN_OR_RETURN(auto names, fs_->ListDir(dir_));
      for (const auto& name : names) {
        if (name.starts_with(prefix) && !name.ends_with(kTempSuffix))
          QV_RETURN_IF_ERROR(Load(name));
      }
    }
    KeyListing out;
    out.revision = revision_;
    for (auto it = keys_.lower_bound(std::string(prefix));
         it != keys_.end() && it->first.starts_with(prefix); ++it) {
      out.kvs.push_back(it->second);
    }
    return out;
  }

  Result<Revision> Put(std::string_view key, std::string_view value, LeaseId lease) override {
    MutexLock lock(&mu_);
    ExpireLeases();
    return Write(key, value, lease);
  }

  Result<Revision> CompareAndPut(std::string_view key, std::string_view value, Revision expected,
                                 LeaseId lease) override {
    MutexLock lock(&mu_);
    ExpireLeases();
    QV_RETURN_IF_ERROR(ExpectRevision(key, expected));
    return Write(key, value, lease);
  }

  Result<Revision> FencedPut(std::string_view key, std::string_view value, Revision expected,
                             const Fence& fence) override {
    MutexLock lock(&mu_);
    ExpireLeases();
    QV_RETURN_IF_ERROR(Load(fence.key));
    auto guard = keys_.find(fence.key);
    if (guard == keys_.end() || guard->second.create_revision != fence.create_revision) {
      return FenceConflict(fence, guard == keys_.end() ? 0 : guard->second.create_revision);
    }
    QV_RETURN_IF_ERROR(ExpectRevision(key, expected));
    return Write(key, value, 0);
  }

  Result<Revision> Delete(std::string_view key) override {
    MutexLock lock(&mu_);
    ExpireLeases();
    return Remove(std::string(key));
  }

  Result<Revision> CompareAndDelete(std::string_view key, Revision expected) override {
    MutexLock lock(&mu_);
    ExpireLeases();
    QV_RETURN_IF_ERROR(Load(key));
    auto it = keys_.find(std::string(key));
    const Revision current = it == keys_.end() ? 0 : it->second.mod_revision;
    if (it == keys_.end() || current != expected) {
      return Status::Conflict("meta key " + Quoted(key) + " is at revision " +
                              std::to_string(current) + ", not " + std::to_string(expected) +
                              ": not deleted");
    }
    return Remove(std::string(key));
  }

  Revision CurrentRevision() override {
    MutexLock lock(&mu_);
    return revision_;
  }

  Result<std::unique_ptr<MetaWatch>> Watch(std::string_view prefix, Revision after) override {
    MutexLock lock(&mu_);
    if (after < compacted_) return Compacted(after);
    return std::unique_ptr<MetaWatch>(
        std::make_unique<LocalWatch>(this, std::string(prefix), after));
  }

  Result<LeaseId> GrantLease(std::chrono::milliseconds ttl) override {
    MutexLock lock(&mu_);
    const LeaseId id = next_lease_++;
    leases_[id] = {ttl, Clock::now() + ttl};
    return id;
  }

  Status KeepAlive(LeaseId lease) override {
    MutexLock lock(&mu_);
    ExpireLeases();
    auto it = leases_.find(lease);
    if (it == leases_.end() || it->second.deadline <= Clock::now())
      return Status::NotFound("lease " + std::to_string(lease) + " expired");
    it->second.deadline = Clock::now() + it->second.ttl;
    return Status::OK();
  }

  Status Compact(Revision revision) override {
    MutexLock lock(&mu_);
    while (!history_.empty() && history_.front().kv.mod_revision < revision) {
      history_.pop_front();
    }
    compacted_ = std::max(compacted_, revision - 1);
    return Status::OK();
  }

  Status RevokeLease(LeaseId lease) override {
    MutexLock lock(&mu_);
    if (leases_.erase(lease) == 0) return Status::OK();
    return DropLeaseKeys(lease);
  }

  // For LocalWatch: the events under `prefix` after `after`, waiting up to
  // `timeout` for one.
  Result<std::vector<MetaEvent>> EventsAfter(const std::string& prefix, Revision* after,
                                             std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    MutexLock lock(&mu_);
    while (true) {
      ExpireLeases();
      if (*after < compacted_) return Compacted(*after);
      std::vector<MetaEvent> out;
      for (const MetaEvent& e : history_) {
        if (e.kv.mod_revision > *after && e.kv.key.starts_with(prefix)) out.push_back(e);
      }
      if (!out.empty()) {
        *after = out.back().kv.mod_revision;
        return out;
      }
      *after = std::max(*after, revision_);  // nothing under the prefix up to here
      const auto now = Clock::now();
      if (now >= deadline) return out;
      changed_.WaitFor(&mu_, std::min<Clock::duration>(deadline - now, NextLeaseDeadline(now)));
    }
  }

 private:
  struct Lease {
    std::chrono::milliseconds ttl;
    Clock::time_point deadline;
  };

  static Status Compacted(Revision after) {
    return Status::NotFound("revision " + std::to_string(after) +
                            " is compacted: read the keys again and watch from there");
  }

  // OK when the key's mod revision is `expected` (0: absent), else kConflict.
  Status ExpectRevision(std::string_view key, Revision expected) REQUIRES(mu_) {
    QV_RETURN_IF_ERROR(Load(key));
    auto it = keys_.find(std::string(key));
    const Revision current = it == keys_.end() ? 0 : it->second.mod_revision;
    if (current == expected) return Status::OK();
    return Status::Conflict("meta key " + Quoted(key) + " is at revision " +
                            std::to_string(current) + ", not " + std::to_string(expected) +
                            ": someone else changed it");
  }

  // Reads a key's file the first time it is asked for.
  Status Load(std::string_view key) REQUIRES(mu_) {
    const std::string name(key);
    if (keys_.contains(name) || absent_.contains(name)) return Status::OK();
    const std::string path = JoinPath(dir_, name);
    QV_ASSIGN_OR_RETURN(bool exists, fs_->Exists(path));
    if (!exists) {
      absent_.insert(name);
      return Status::OK();
    }
    QV_ASSIGN_OR_RETURN(std::string value, fs_->ReadFile(path));
    // What the files held at open counts as revision 1 (not an event).
    keys_[name] = {name, std::move(value), 1, 0, 1};
    return Status::OK();
  }

  Result<Revision> Write(std::string_view key, std::string_view value, LeaseId lease)
      REQUIRES(mu_) {
    if (lease != 0 && (!leases_.contains(lease) || leases_[lease].deadline <= Clock::now()))
      return Status::NotFound("lease " + std::to_string(lease) + " expired");
    QV_RETURN_IF_ERROR(fs_->CreateDirs(dir_));
    const std::string name(key);
    QV_RETURN_IF_ERROR(fs_->WriteFileAtomic(JoinPath(dir_, name), value, AsciiLower(name)));
    absent_.erase(name);
    auto [it, created] = keys_.try_emplace(name);
    KeyValue& kv = it->second;
    ++revision_;
    kv = {name, std::string(value), revision_, lease, created ? revision_ : kv.create_revision};
    Record({MetaEvent::Type::kPut, kv});
    return revision_;
  }

  Result<Revision> Remove(const std::string& name) REQUIRES(mu_) {
    QV_RETURN_IF_ERROR(Load(name));
    if (!keys_.contains(name)) return revision_;
    QV_RETURN_IF_ERROR(fs_->RemoveFile(JoinPath(dir_, name)));
    QV_RETURN_IF_ERROR(fs_->SyncDir(dir_));
    keys_.erase(name);
    absent_.insert(name);
    Record({MetaEvent::Type::kDelete, {name, "", ++revision_, 0}});
    return revision_;
  }

  void Record(MetaEvent event) REQUIRES(mu_) {
    history_.push_back(std::move(event));
    if (history_.size() > kHistory) {
      compacted_ = history_.front().kv.mod_revision;
      history_.pop_front();
    }
    changed_.SignalAll();
  }

  Status DropLeaseKeys(LeaseId lease) REQUIRES(mu_) {
    std::vector<std::string> attached;
    for (const auto& [name, kv] : keys_) {
      if (kv.lease == lease) attached.push_back(name);
    }
    for (const auto& name : attached) QV_RETURN_IF_ERROR(Remove(name).status());
    return Status::OK();
  }

  // Deletes the keys of leases past their deadline (checked on every call).
  void ExpireLeases() REQUIRES(mu_) {
    const auto now = Clock::now();
    std::vector<LeaseId> expired;
    for (const auto& [id, lease] : leases_) {
      if (lease.deadline <= now) expired.push_back(id);
    }
    for (LeaseId id : expired) {
      // The lease goes once all its keys are gone; a failed delete is
      // retried on the next call (the lease stays expired meanwhile).
      if (DropLeaseKeys(id).ok()) leases_.erase(id);
    }
  }

  Clock::duration NextLeaseDeadline(Clock::time_point now) const REQUIRES(mu_) {
    Clock::duration next = std::chrono::hours(1);
    for (const auto& [id, lease] : leases_) next = std::min(next, lease.deadline - now);
    return std::max<Clock::duration>(next, std::chrono::milliseconds(1));
  }

  FileSystem* const fs_;
  const std::string dir_;
  Mutex mu_;                               // file writes included: changes are few and small
  CondVar changed_;                        // with mu_: a change was recorded
  Revision revision_ GUARDED_BY(mu_) = 1;  // 1: the state found at open
  // Watches must start at or after it; the state found at open (revision 1)
  // is no event, so a watch from 0 is told to read the keys first.
  Revision compacted_ GUARDED_BY(mu_) = 1;
  std::map<std::string, KeyValue> keys_ GUARDED_BY(mu_);  // loaded or written keys
  std::set<std::string> absent_ GUARDED_BY(mu_);          // keys known not to exist
  std::deque<MetaEvent> history_ GUARDED_BY(mu_);         // the last kHistory changes
  std::map<LeaseId, Lease> leases_ GUARDED_BY(mu_);
  LeaseId next_lease_ GUARDED_BY(mu_) = 1;
};

Result<std::vector<MetaEvent>> LocalWatch::Next(std::chrono::milliseconds timeout) {
  return store_->EventsAfter(prefix_, &after_, timeout);
}

}  // namespace

Status FenceConflict(const Fence& fence, Revision found) {
  return Status::Conflict("fence key " + Quoted(fence.key) +
                          (found == 0 ? std::string(" is gone")
                                      : " was created again at revision " + std::to_string(found)) +
                          ", not held since revision " + std::to_string(fence.create_revision) +
                          ": a newer leader took over");
}

std::unique_ptr<MetaStore> NewLocalMetaStore(FileSystem* fs, std::string dir) {
  return std::make_unique<LocalMetaStore>(fs, std::move(dir));
}

}  // namespace quiver
