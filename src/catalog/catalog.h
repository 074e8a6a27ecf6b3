#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/meta_store.h"
#include "catalog/slot_map.h"
#include "schema/schema.h"

namespace quiver {

struct TableEntry {
  uint64_t id = 0;  // names the table's directory; never reused
  TableSchema schema;
  SlotMap slots;  // which shard owns each hash slot

  bool operator==(const TableEntry&) const = default;
};

struct DatabaseEntry {
  uint64_t id = 0;  // names the database's directory; never reused
  std::string name;
  std::string client_path;  // the locator the client sent; informational only
  int64_t vector_scale = 0;
  bool wal_requested = true;  // what the client asked for; the WAL is always on
  bool loaded = true;         // reopened at startup when true
  std::vector<TableEntry> tables;

  bool operator==(const DatabaseEntry&) const = default;
};

// Everything the catalog records, as one immutable value.
struct CatalogState {
  uint64_t next_id = 1;
  std::vector<DatabaseEntry> databases;

  bool operator==(const CatalogState&) const = default;

  DatabaseEntry* FindDatabase(std::string_view name);
  const DatabaseEntry* FindDatabase(std::string_view name) const;
};

// Binary codec, docs/FORMATS.md "Catalog".
std::string EncodeCatalog(const CatalogState& state);
Result<CatalogState> DecodeCatalog(std::string_view data);

// Reads and replaces the catalog in a MetaStore. Not thread-safe: the engine
// serialises catalog changes.
class Catalog {
 public:
  static Result<Catalog> Load(MetaStore* store);

  const CatalogState& state() const { return state_; }
  // Persists `next` durably, then makes it the current state.
  Status Commit(CatalogState next);
  // The revision of the catalog in its store (0: never written).
  Revision revision() const { return revision_; }
  // The two halves of Commit, for a caller that does the I/O outside its
  // lock: Persist writes `next` durably into `store` (the catalog's own) if
  // the catalog there is still at revision `expected` (kConflict
  // otherwise), Install then makes it the current state.
  static Result<Revision> Persist(MetaStore* store, const CatalogState& next, Revision expected);
  void Install(CatalogState next, Revision revision) {
    state_ = std::move(next);
    revision_ = revision;
  }

 private:
  explicit Catalog(MetaStore* store) : store_(store) {}
  MetaStore* store_;
  CatalogState state_;
  Revision revision_ = 0;
};

}  // namespace quiver
