#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>

#include "engine/growing_segment.h"
#include "engine/query.h"
#include "io/file_system.h"
#include "schema/column.h"
#include "schema/schema.h"
#include "wal/local_log.h"

namespace quiver {

// One table: its log (the source of truth) and the rows materialised from it.
//
// A write is validated, appended to the log (durable on return), then applied
// to the rows in LSN order, so the live state always equals a replay of the
// log. Reads see every write whose call has returned. Thread-safe.
class Table {
 public:
  // Opens the table in `dir`, replaying its log.
  static Result<std::unique_ptr<Table>> Open(FileSystem* fs, const std::string& dir,
                                             TableSchema schema, const LocalLogOptions& options);

  const TableSchema& schema() const { return schema_; }

  Result<InsertCounts> Insert(const RecordBatch& batch, bool upsert);
  // Returns how many rows were deleted.
  Result<uint64_t> Delete(std::span<const PrimaryKey> keys);
  Result<uint64_t> DeleteWhere(std::string_view filter);

  Result<ResultSet> Search(const SearchRequest& request) const;
  Result<ResultSet> Get(const GetRequest& request) const;

  size_t RowCount() const;
  // OK, or why writes are refused (a poisoned log).
  Status Health() const { return log_->Health(); }

 private:
  explicit Table(TableSchema schema);
  Status Replay(const LogRecord& record);
  // Waits until every record before `lsn` is applied, applies `apply`
  // under the write lock, and marks `lsn` applied.
  template <typename Fn>
  auto ApplyInOrder(Lsn lsn, Fn&& apply);
  Status CheckKeyTypes(std::span<const PrimaryKey> keys) const;
  Result<std::vector<size_t>> ResolveResponse(const std::vector<std::string>& names) const;
  std::vector<Value> Project(const std::vector<size_t>& fields, size_t row) const;
  bool KeyLess(uint32_t a, uint32_t b) const;

  const TableSchema schema_;
  const size_t pk_index_;
  std::unique_ptr<Log> log_;

  mutable std::shared_mutex data_mu_;  // guards segment_
  GrowingSegment segment_;

  std::mutex order_mu_;  // guards applied_lsn_
  std::condition_variable order_cv_;
  Lsn applied_lsn_ = 0;
};

}  // namespace quiver
