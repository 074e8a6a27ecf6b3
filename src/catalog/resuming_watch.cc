#include <algorithm>

#include "catalog/meta_store.h"
#include "common/log.h"

namespace quiver {

ResumingWatch::ResumingWatch(MetaStore* store, std::string prefix)
    : store_(store), prefix_(std::move(prefix)) {}

Result<std::vector<MetaEvent>> ResumingWatch::Next(std::chrono::milliseconds timeout) {
  if (!listed_) return Resync();
  // The watch starts at the first call after a listing: it replays from the
  // listing's revision whenever it starts.
  Result<std::vector<MetaEvent>> events = std::vector<MetaEvent>{};
  if (!watch_) {
    auto started = store_->Watch(prefix_, revision_);
    if (started.ok()) {
      watch_ = std::move(*started);
    } else {
      events = started.status();
    }
  }
  if (watch_) events = watch_->Next(timeout);
  if (!events.ok()) {
    // Fell behind a compaction, or the stream broke: list again, report the
    // difference, watch from there.
    log::Get("catalog").info("watch of '{}' at revision {} resumes by listing the keys: {}",
                             prefix_, revision_, events.status().ToString());
    watch_.reset();
    listed_ = false;
    ++resyncs_;
    return Resync();
  }
  for (const MetaEvent& event : *events) {
    if (event.type == MetaEvent::Type::kDelete) {
      keys_.erase(event.kv.key);
    } else {
      keys_[event.kv.key] = event.kv;
    }
    revision_ = std::max(revision_, event.kv.mod_revision);
  }
  return events;
}

Result<std::vector<MetaEvent>> ResumingWatch::Resync() {
  QV_ASSIGN_OR_RETURN(KeyListing listing, store_->List(prefix_));
  listed_ = true;

  std::vector<MetaEvent> changes;
  std::map<std::string, KeyValue> now;
  for (KeyValue& kv : listing.kvs) {
    auto known = keys_.find(kv.key);
    if (known == keys_.end() || known->second.mod_revision != kv.mod_revision) {
      changes.push_back({MetaEvent::Type::kPut, kv});
    }
    std::string key = kv.key;
    now.emplace(std::move(key), std::move(kv));
  }
  // Puts in the order they happened; the deletes' revisions are gone, so
  // they come last, at the listing's revision.
  std::sort(changes.begin(), changes.end(), [](const MetaEvent& a, const MetaEvent& b) {
    return a.kv.mod_revision < b.kv.mod_revision;
  });
  for (const auto& [key, kv] : keys_) {
    if (!now.contains(key)) {
      changes.push_back({MetaEvent::Type::kDelete, {key, "", listing.revision, 0}});
    }
  }
  keys_ = std::move(now);
  revision_ = listing.revision;
  return changes;
}

}  // namespace quiver
