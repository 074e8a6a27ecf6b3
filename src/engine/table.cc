#include "engine/table.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "engine/log_payload.h"
#include "engine/vector_searcher.h"
#include "expr/filter.h"

namespace quiver {
namespace {

Status CheckLimit(size_t limit) {
  if (limit == 0 || limit > kMaxResultRows) {
    return Status::InvalidArgument("limit must be between 1 and " + std::to_string(kMaxResultRows));
  }
  return Status::OK();
}

// No filter when the text is empty.
Result<std::optional<Filter>> ParseOptionalFilter(const std::string& text,
                                                  const TableSchema& schema, FilterScope scope) {
  if (text.empty()) return std::optional<Filter>();
  QV_ASSIGN_OR_RETURN(Filter filter, Filter::Parse(text, schema, scope));
  return std::optional<Filter>(std::move(filter));
}

}  // namespace

Table::Table(TableSchema schema)
    : schema_(std::move(schema)), pk_index_(*schema_.PrimaryKeyIndex()), segment_(schema_) {}

Result<std::unique_ptr<Table>> Table::Open(FileSystem* fs, const std::string& dir,
                                           TableSchema schema, const LocalLogOptions& options) {
  if (!schema.PrimaryKeyIndex()) return Status::InvalidArgument("table has no primary key");
  std::unique_ptr<Table> table(new Table(std::move(schema)));
  Table* raw = table.get();
  QV_ASSIGN_OR_RETURN(auto log,
                      LocalLog::Open(fs, JoinPath(dir, "wal"), options,
                                     [raw](const LogRecord& r) { return raw->Replay(r); }));
  table->applied_lsn_ = log->LastLsn();
  table->log_ = std::move(log);
  return table;
}

Status Table::Replay(const LogRecord& record) {
  switch (record.type) {
    case RecordType::kInsert: {
      QV_ASSIGN_OR_RETURN(InsertPayload insert, DecodeInsert(record.payload, schema_));
      (void)segment_.ApplyInsert(insert.batch, insert.upsert);
      return Status::OK();
    }
    case RecordType::kDelete: {
      QV_ASSIGN_OR_RETURN(auto keys, DecodeDelete(record.payload));
      (void)segment_.ApplyDelete(keys);
      return Status::OK();
    }
  }
  return Status::Corruption("unknown log record type " +
                            std::to_string(static_cast<int>(record.type)));
}

template <typename Fn>
auto Table::ApplyInOrder(Lsn lsn, Fn&& apply) {
  std::unique_lock order(order_mu_);
  order_cv_.wait(order, [&] { return applied_lsn_ + 1 == lsn; });
  decltype(apply()) result;
  {
    std::unique_lock data(data_mu_);
    result = apply();
  }
  applied_lsn_ = lsn;
  order.unlock();
  order_cv_.notify_all();
  return result;
}

Result<InsertCounts> Table::Insert(const RecordBatch& batch, bool upsert) {
  QV_RETURN_IF_ERROR(ValidateBatch(schema_, batch));
  if (batch.num_rows() == 0) return InsertCounts{};
  QV_ASSIGN_OR_RETURN(Lsn lsn, log_->Append(RecordType::kInsert, EncodeInsert(batch, upsert)));
  return ApplyInOrder(lsn, [&] { return segment_.ApplyInsert(batch, upsert); });
}

Status Table::CheckKeyTypes(std::span<const PrimaryKey> keys) const {
  const bool string_keys = schema_.fields[pk_index_].type == DataType::kString;
  for (const auto& key : keys) {
    if (std::holds_alternative<std::string>(key) != string_keys) {
      return Status::InvalidArgument(std::string("primary keys of this table are ") +
                                     (string_keys ? "strings" : "integers"));
    }
  }
  return Status::OK();
}

Result<uint64_t> Table::Delete(std::span<const PrimaryKey> keys) {
  QV_RETURN_IF_ERROR(CheckKeyTypes(keys));
  if (keys.empty()) return uint64_t{0};
  QV_ASSIGN_OR_RETURN(Lsn lsn, log_->Append(RecordType::kDelete, EncodeDelete(keys)));
  return ApplyInOrder(lsn, [&] { return segment_.ApplyDelete(keys); });
}

Result<uint64_t> Table::DeleteWhere(std::string_view filter_text) {
  QV_ASSIGN_OR_RETURN(Filter filter, Filter::Parse(filter_text, schema_, FilterScope::kRows));
  std::vector<PrimaryKey> keys;
  {
    std::shared_lock lock(data_mu_);
    const auto columns = segment_.columns();
    for (size_t row = 0; row < segment_.num_rows(); ++row) {
      if (segment_.IsLive(row) && filter.Matches({columns, row, 0}))
        keys.push_back(segment_.KeyOf(row));
    }
  }
  // Rows inserted between the scan and the log append are not deleted: the
  // delete is logged as the keys it matched, so replay needs no filter.
  return Delete(keys);
}

Result<std::vector<size_t>> Table::ResolveResponse(const std::vector<std::string>& names) const {
  std::vector<size_t> fields;
  if (names.empty()) {
    for (size_t i = 0; i < schema_.fields.size(); ++i) fields.push_back(i);
    return fields;
  }
  for (const auto& name : names) {
    auto index = schema_.FieldIndex(name);
    if (!index) return Status::InvalidArgument("unknown field '" + name + "' in response");
    fields.push_back(*index);
  }
  return fields;
}

std::vector<Value> Table::Project(const std::vector<size_t>& fields, size_t row) const {
  std::vector<Value> values;
  values.reserve(fields.size());
  const auto columns = segment_.columns();
  for (size_t f : fields) values.push_back(columns[f].GetValue(row));
  return values;
}

bool Table::KeyLess(uint32_t a, uint32_t b) const {
  const Column& pk = segment_.columns()[pk_index_];
  if (pk.type() == DataType::kString) return pk.GetString(a) < pk.GetString(b);
  return pk.GetInt(a) < pk.GetInt(b);
}

Result<ResultSet> Table::Search(const SearchRequest& request) const {
  size_t field_index;
  if (request.field.empty()) {
    auto vector_fields = schema_.VectorFieldIndexes();
    if (vector_fields.size() != 1) {
      return Status::InvalidArgument("the table has " + std::to_string(vector_fields.size()) +
                                     " vector fields: name one with queryField");
    }
    field_index = vector_fields[0];
  } else {
    auto index = schema_.FieldIndex(request.field);
    if (!index) return Status::InvalidArgument("unknown queryField '" + request.field + "'");
    if (!IsVectorType(schema_.fields[*index].type)) {
      return Status::InvalidArgument("queryField '" + request.field + "' is not a vector field");
    }
    field_index = *index;
  }
  const Field& field = schema_.fields[field_index];
  if (request.vector.size() != field.dimensions) {
    return Status::InvalidArgument("queryVector has " + std::to_string(request.vector.size()) +
                                   " dimensions, field '" + field.name + "' has " +
                                   std::to_string(field.dimensions));
  }
  for (float x : request.vector) {
    if (!std::isfinite(x)) return Status::InvalidArgument("queryVector holds NaN or infinity");
  }
  QV_RETURN_IF_ERROR(CheckLimit(request.limit));
  QV_ASSIGN_OR_RETURN(auto filter,
                      ParseOptionalFilter(request.filter, schema_, FilterScope::kVectorQuery));
  QV_ASSIGN_OR_RETURN(auto fields, ResolveResponse(request.response));

  std::shared_lock lock(data_mu_);
  const auto columns = segment_.columns();
  const size_t rows = segment_.num_rows();
  // The filter is applied first (except an @distance filter, which needs the
  // distance and is asked per candidate).
  std::vector<uint8_t> allowed(segment_.live_flags().begin(), segment_.live_flags().end());
  std::function<bool(uint32_t, float)> accept;
  SearchFilter search_filter{allowed, nullptr};
  if (filter && filter->UsesDistance()) {
    accept = [&](uint32_t row, float d) { return filter->Matches({columns, row, d}); };
    search_filter.accept = &accept;
  } else if (filter) {
    for (size_t row = 0; row < rows; ++row) {
      if (allowed[row] && !filter->Matches({columns, row, 0})) allowed[row] = 0;
    }
  }
  ExactSearcher searcher(columns[field_index].VectorData(), rows, field.dimensions, field.metric);
  auto neighbors = searcher.Search(request.vector, request.limit, search_filter,
                                   [this](uint32_t a, uint32_t b) { return KeyLess(a, b); });
  ResultSet result;
  result.fields = std::move(fields);
  for (const Neighbor& n : neighbors) {
    result.rows.push_back(Project(result.fields, n.row));
    if (request.with_distance) result.distances.push_back(n.distance);
  }
  return result;
}

Result<ResultSet> Table::Get(const GetRequest& request) const {
  if (request.limit) QV_RETURN_IF_ERROR(CheckLimit(*request.limit));
  if (request.keys) QV_RETURN_IF_ERROR(CheckKeyTypes(*request.keys));
  QV_ASSIGN_OR_RETURN(auto filter,
                      ParseOptionalFilter(request.filter, schema_, FilterScope::kRows));
  QV_ASSIGN_OR_RETURN(auto fields, ResolveResponse(request.response));

  std::shared_lock lock(data_mu_);
  const auto columns = segment_.columns();
  auto matches = [&](size_t row) { return !filter || filter->Matches({columns, row, 0}); };
  std::vector<size_t> rows;
  if (request.keys) {
    std::unordered_set<int64_t> seen;
    for (const auto& key : *request.keys) {
      const int64_t row = segment_.FindKey(key);
      if (row >= 0 && seen.insert(row).second && matches(static_cast<size_t>(row))) {
        rows.push_back(static_cast<size_t>(row));
      }
    }
  } else {
    for (size_t row = 0; row < segment_.num_rows(); ++row) {
      if (segment_.IsLive(row) && matches(row)) rows.push_back(row);
    }
  }
  ResultSet result;
  result.fields = std::move(fields);
  const size_t begin = std::min(request.skip, rows.size());
  const size_t end = request.limit ? std::min(rows.size(), begin + *request.limit) : rows.size();
  for (size_t i = begin; i < end; ++i) result.rows.push_back(Project(result.fields, rows[i]));
  return result;
}

size_t Table::RowCount() const {
  std::shared_lock lock(data_mu_);
  return segment_.live_rows();
}

}  // namespace quiver
