#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "catalog/meta_store.h"

namespace quiver {

struct EtcdOptions {
  std::string endpoint;  // host:port of an etcd v3 server (gRPC, plaintext)
  // Every key lives under this prefix, so several stores (tables, tests,
  // clusters) share one etcd without seeing each other.
  std::string prefix;
  std::chrono::milliseconds deadline{5000};  // of every call
};

// The MetaStore port over etcd v3 (its gRPC API, generated from the protos
// Debian ships): Range, Put, DeleteRange and Txn for the keys (a
// compare-and-put is a Txn on the key's mod revision), a Watch stream per
// watch (a compacted start revision is kNotFound, as the port says), and
// leases (TTLs are whole seconds in etcd: a shorter one is rounded up).
// Errors: the deadline or an unreachable server is kUnavailable.
std::unique_ptr<MetaStore> NewEtcdMetaStore(EtcdOptions options);

}  // namespace quiver
