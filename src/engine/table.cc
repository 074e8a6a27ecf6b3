#include "engine/table.h"

#include <algorithm>
#include <future>
#include <map>

#include "engine/merge.h"

namespace quiver {
namespace {

// A shard's directory: the table's own for its only shard.
std::string ShardDir(const std::string& table_dir, uint32_t shards, uint32_t shard) {
  if (shards == 1) return table_dir;
  return JoinPath(JoinPath(table_dir, "shards"), std::to_string(shard));
}

void AddStats(const ShardStats& shard, ShardStats* sum) {
  sum->live_rows += shard.live_rows;
  sum->growing_rows += shard.growing_rows;
  sum->sealed_segments += shard.sealed_segments;
  sum->sealed_rows += shard.sealed_rows;
  sum->checkpoint_lsn += shard.checkpoint_lsn;
  sum->applied_lsn += shard.applied_lsn;
  sum->wal_syncs += shard.wal_syncs;
  sum->wal_bytes += shard.wal_bytes;
  sum->index_builds += shard.index_builds;
  sum->index_build_seconds += shard.index_build_seconds;
  if (sum->indexes.empty()) {
    sum->indexes = shard.indexes;
    return;
  }
  for (size_t i = 0; i < sum->indexes.size(); ++i) {
    FieldIndexStats& total = sum->indexes[i];
    const FieldIndexStats& part = shard.indexes[i];
    total.indexed_rows += part.indexed_rows;
    total.total_rows += part.total_rows;
    total.building += part.building;
    total.pending += part.pending;
    if (total.error.empty()) total.error = part.error;
  }
}

}  // namespace

Table::Table(TableSchema schema, SlotMap slots, std::vector<std::unique_ptr<Shard>> shards,
             std::vector<std::shared_ptr<ShardClient>> clients)
    : schema_(std::move(schema)),
      shards_(std::move(shards)),
      clients_(std::move(clients)),
      slots_(std::move(slots)) {
  for (const auto& shard : clients_) clock_.Observe(shard->LastStamp());
}

Result<std::unique_ptr<Table>> Table::Remote(TableSchema schema, SlotMap slots,
                                             std::vector<std::shared_ptr<ShardClient>> clients) {
  if (clients.empty() || clients.size() != slots.shards()) {
    return Status::InvalidArgument("a remote table needs one client per shard of its slot map");
  }
  return std::unique_ptr<Table>(
      new Table(std::move(schema), std::move(slots), {}, std::move(clients)));
}

Result<std::unique_ptr<Table>> Table::Open(FileSystem* fs, const std::string& dir,
                                           const TableSchema& schema, const TableOptions& options,
                                           SlotMap slots) {
  const uint32_t count = slots.shards();
  if (count == 0 || count > kMaxShards) {
    return Status::InvalidArgument("a table has 1 to " + std::to_string(kMaxShards) + " shards");
  }
  std::vector<std::unique_ptr<Shard>> shards;
  for (uint32_t i = 0; i < count; ++i) {
    TableOptions shard_options = options;
    if (count > 1 && options.object_store != nullptr)
      shard_options.object_prefix = options.object_prefix + "/shards/" + std::to_string(i);
    auto shard = Shard::Open(fs, ShardDir(dir, count, i), schema, shard_options);
    if (!shard.ok()) {
      if (count == 1) return shard.status();
      return shard.status().WithContext("shard " + std::to_string(i));
    }
    shards.push_back(std::move(shard).value());
  }
  std::vector<std::shared_ptr<ShardClient>> clients;
  clients.reserve(shards.size());
  for (const auto& shard : shards)
    clients.push_back(std::make_shared<LocalShardClient>(shard.get()));
  return std::unique_ptr<Table>(
      new Table(schema, std::move(slots), std::move(shards), std::move(clients)));
}

std::vector<std::vector<PrimaryKey>> Table::KeysByShard(std::span<const PrimaryKey> keys) const {
  std::vector<std::vector<PrimaryKey>> groups(clients_.size());
  for (const PrimaryKey& key : keys) groups[slots_.ShardOf(key)].push_back(key);
  return groups;
}

Result<InsertCounts> Table::Insert(const RecordBatch& batch, bool upsert) {
  if (clients_.size() == 1) {
    QV_ASSIGN_OR_RETURN(InsertCounts counts,
                        clients_[0]->Insert(batch, upsert, clock_.Take(batch.num_rows()), {}));
    if (counts.lsn != 0) counts.shard_lsns = {{0, counts.lsn}};
    return counts;
  }
  // Checked whole before any shard takes a part: bad input changes nothing.
  QV_RETURN_IF_ERROR(ValidateBatch(schema(), batch));
  if (batch.num_rows() == 0) return InsertCounts{};
  const Column& keys = batch.columns[*schema().PrimaryKeyIndex()];
  std::vector<std::vector<uint32_t>> rows(clients_.size());  // each shard's rows of the batch
  for (size_t r = 0; r < batch.num_rows(); ++r)
    rows[slots_.ShardOf(KeyAt(keys, r))].push_back(static_cast<uint32_t>(r));
  // A shard that refuses writes is found before any part is written.
  for (uint32_t s = 0; s < clients_.size(); ++s) {
    if (!rows[s].empty()) QV_RETURN_IF_ERROR(clients_[s]->Health());
  }
  // Row r's stamp is stamp + r in whichever shard it lands.
  const uint64_t stamp = clock_.Take(batch.num_rows());
  auto write_part = [this, &batch, upsert, stamp](uint32_t s, std::vector<uint32_t> offsets) {
    RecordBatch part = RecordBatch::ForSchema(schema());
    for (size_t f = 0; f < part.columns.size(); ++f) {
      part.columns[f].Reserve(offsets.size());
      for (uint32_t r : offsets) part.columns[f].AppendFrom(batch.columns[f], r);
    }
    return clients_[s]->Insert(part, upsert, stamp, offsets);
  };
  std::vector<uint32_t> touched;
  for (uint32_t s = 0; s < clients_.size(); ++s) {
    if (!rows[s].empty()) touched.push_back(s);
  }
  std::vector<std::pair<uint32_t, std::future<Result<InsertCounts>>>> writes;
  for (uint32_t s : touched) {
    // The shards' logs sync in parallel; one part is written by this thread.
    const auto policy = s == touched.back() ? std::launch::deferred : std::launch::async;
    writes.emplace_back(s, std::async(policy, write_part, s, std::move(rows[s])));
  }
  InsertCounts total;
  Status failed;
  // The last part first: it runs here (deferred) while the others run.
  for (auto it = writes.rbegin(); it != writes.rend(); ++it) {
    const uint32_t s = it->first;
    Result<InsertCounts> counts = it->second.get();
    if (!counts.ok()) {
      if (failed.ok()) failed = counts.status();
      continue;
    }
    total.inserted += counts->inserted;
    total.skipped += counts->skipped;
    total.shard_lsns.emplace_back(s, counts->lsn);
  }
  if (!failed.ok()) return failed;
  std::sort(total.shard_lsns.begin(), total.shard_lsns.end());
  return total;
}

Result<std::vector<ResultSet>> Table::OnEveryShard(
    const std::function<Result<ResultSet>(const ShardClient&)>& read) const {
  // The shards answer at once (a remote one is a network round trip away);
  // the last runs in this thread.
  std::vector<std::future<Result<ResultSet>>> answers;
  answers.reserve(clients_.size());
  for (size_t s = 0; s < clients_.size(); ++s) {
    const auto policy = s + 1 == clients_.size() ? std::launch::deferred : std::launch::async;
    answers.push_back(std::async(policy, [&read, this, s] { return read(*clients_[s]); }));
  }
  std::vector<ResultSet> parts;
  parts.reserve(answers.size());
  Status failed;
  for (auto it = answers.rbegin(); it != answers.rend(); ++it) {
    Result<ResultSet> part = it->get();
    if (!part.ok()) {
      if (failed.ok()) failed = part.status();
      continue;
    }
    parts.push_back(std::move(*part));
  }
  if (!failed.ok()) return failed;
  std::reverse(parts.begin(), parts.end());
  return parts;
}

Result<DeleteCounts> Table::Delete(std::span<const PrimaryKey> keys) {
  if (clients_.size() == 1) {
    QV_ASSIGN_OR_RETURN(DeleteCounts counts, clients_[0]->Delete(keys));
    if (counts.lsn != 0) counts.shard_lsns = {{0, counts.lsn}};
    return counts;
  }
  QV_RETURN_IF_ERROR(CheckKeyTypes(schema(), keys));
  DeleteCounts total;
  const auto groups = KeysByShard(keys);
  for (uint32_t s = 0; s < clients_.size(); ++s) {
    if (!groups[s].empty()) QV_RETURN_IF_ERROR(clients_[s]->Health());
  }
  for (uint32_t s = 0; s < clients_.size(); ++s) {
    if (groups[s].empty()) continue;
    QV_ASSIGN_OR_RETURN(DeleteCounts counts, clients_[s]->Delete(groups[s]));
    total.deleted += counts.deleted;
    total.shard_lsns.emplace_back(s, counts.lsn);
  }
  return total;
}

Result<DeleteCounts> Table::DeleteWhere(std::string_view filter) {
  // Every shard parses the same filter: a bad one fails at the first,
  // before anything is deleted.
  DeleteCounts total;
  for (const auto& shard : clients_) QV_RETURN_IF_ERROR(shard->Health());
  for (uint32_t s = 0; s < clients_.size(); ++s) {
    QV_ASSIGN_OR_RETURN(DeleteCounts counts, clients_[s]->DeleteWhere(filter));
    total.deleted += counts.deleted;
    if (counts.lsn != 0) total.shard_lsns.emplace_back(s, counts.lsn);
  }
  if (clients_.size() == 1) total.lsn = total.shard_lsns.empty() ? 0 : total.shard_lsns[0].second;
  return total;
}

Result<ResultSet> Table::Search(const SearchRequest& request) const {
  if (clients_.size() == 1) return clients_[0]->Search(request);
  SearchRequest part = request;
  part.with_distance = true;
  part.facets.clear();
  if (!request.facets.empty()) part.response.clear();  // facets may use any field
  std::vector<ResultSet> parts;
  QV_ASSIGN_OR_RETURN(
      parts, OnEveryShard([&part](const ShardClient& shard) { return shard.Search(part); }));
  ResultSet merged = MergeSearch(std::move(parts), request.limit);
  if (!request.facets.empty()) {
    QV_ASSIGN_OR_RETURN(
        merged.facets, FacetsOverRows(schema(), request.facets, FilterScope::kVectorQuery, merged));
    QV_ASSIGN_OR_RETURN(auto wanted, ResolveResponse(schema(), request.response));
    ProjectRows(wanted, &merged);
  }
  if (!request.with_distance) merged.distances.clear();
  return merged;
}

Result<ResultSet> Table::HybridSearch(const HybridRequest& request) const {
  if (clients_.size() == 1) return clients_[0]->HybridSearch(request);
  QV_ASSIGN_OR_RETURN(const size_t candidates, HybridCandidates(request));
  QV_ASSIGN_OR_RETURN(auto fields, ResolveResponse(schema(), request.response));
  std::vector<Ranking> rankings;
  for (size_t q = 0; q < request.queries.size(); ++q) {
    auto ranked = Search(HybridQuerySearch(request, q, candidates,
                                           schema().fields[*schema().PrimaryKeyIndex()].name));
    if (!ranked.ok()) return ranked.status().WithContext("queries[" + std::to_string(q) + "]");
    rankings.push_back({std::move(ranked->keys), std::move(ranked->distances)});
  }
  const auto fused = Fuse(request, rankings);
  // Fetch the best keys' rows; a key deleted since it was ranked is passed over.
  ResultSet result;
  result.fields = fields;
  size_t next = 0;
  while (result.rows.size() < request.limit && next < fused.size()) {
    const size_t want = request.limit - result.rows.size();
    std::vector<PrimaryKey> keys;
    std::map<PrimaryKey, double> scores;
    for (; next < fused.size() && keys.size() < want; ++next) {
      keys.push_back(fused[next].first);
      scores.emplace(fused[next].first, fused[next].second);
    }
    GetRequest get;
    get.read = request.read;
    get.keys = keys;
    get.response = request.response;
    QV_ASSIGN_OR_RETURN(ResultSet found, GetByKeys(get));
    for (size_t r = 0; r < found.rows.size(); ++r) {
      result.rows.push_back(std::move(found.rows[r]));
      if (request.with_score) result.scores.push_back(scores[found.keys[r]]);
      result.keys.push_back(std::move(found.keys[r]));
    }
  }
  return result;
}

Result<ResultSet> Table::GetByKeys(const GetRequest& request) const {
  GetRequest part;
  part.read = request.read;
  part.for_merge = true;
  part.filter = request.filter;
  part.response = request.facets.empty() ? request.response : std::vector<std::string>{};
  const auto groups = KeysByShard(*request.keys);
  std::vector<ResultSet> parts;
  for (uint32_t s = 0; s < clients_.size(); ++s) {
    // Shard 0 always runs, so the request is checked even without keys.
    if (groups[s].empty() && s != 0) continue;
    part.keys = groups[s];
    QV_ASSIGN_OR_RETURN(ResultSet result, clients_[s]->Get(part));
    parts.push_back(std::move(result));
  }
  ResultSet rows = OrderByKeys(std::move(parts), *request.keys);
  if (!request.facets.empty()) {
    QV_ASSIGN_OR_RETURN(rows.facets,
                        FacetsOverRows(schema(), request.facets, FilterScope::kRows, rows));
    QV_ASSIGN_OR_RETURN(auto wanted, ResolveResponse(schema(), request.response));
    ProjectRows(wanted, &rows);
  }
  // The page.
  const size_t begin = std::min(request.skip, rows.rows.size());
  const size_t end = request.limit
                         ? std::min(rows.rows.size(), SaturatingAdd(begin, *request.limit))
                         : rows.rows.size();
  rows.rows = {std::make_move_iterator(rows.rows.begin() + static_cast<ptrdiff_t>(begin)),
               std::make_move_iterator(rows.rows.begin() + static_cast<ptrdiff_t>(end))};
  rows.keys = {rows.keys.begin() + static_cast<ptrdiff_t>(begin),
               rows.keys.begin() + static_cast<ptrdiff_t>(end)};
  rows.stamps.clear();
  return rows;
}

Result<ResultSet> Table::Get(const GetRequest& request) const {
  if (clients_.size() == 1) return clients_[0]->Get(request);
  if (request.limit && *request.limit == 0)
    return Status::InvalidArgument("limit must be positive");
  if (request.keys) return GetByKeys(request);
  // The shards' matching rows as keys and stamps only (up to skip + limit
  // each), merged by stamp; then the page's rows are fetched by key, so no
  // shard builds more rows than the page holds.
  GetRequest part = request;
  part.skip = 0;
  if (request.limit) part.limit = SaturatingAdd(request.skip, *request.limit);
  part.partial_facets = !request.facets.empty();
  part.for_merge = true;
  part.response = {schema().fields[*schema().PrimaryKeyIndex()].name};
  std::vector<ResultSet> parts;
  std::vector<std::vector<Facet>> facets;
  QV_ASSIGN_OR_RETURN(parts,
                      OnEveryShard([&part](const ShardClient& shard) { return shard.Get(part); }));
  facets.reserve(parts.size());
  for (ResultSet& result : parts) facets.push_back(std::move(result.partial_facets));
  // The response's fields are checked (the shards saw only the key).
  QV_ASSIGN_OR_RETURN(auto fields, ResolveResponse(schema(), request.response));
  const ResultSet page = MergeGet(std::move(parts), request.skip, request.limit);
  GetRequest fetch;
  fetch.read = request.read;
  fetch.keys = page.keys;
  fetch.response = request.response;
  QV_ASSIGN_OR_RETURN(ResultSet merged, GetByKeys(fetch));
  merged.fields = std::move(fields);
  merged.facets = MergeFacets(std::move(facets));
  return merged;
}

Result<TableStats> Table::Stats() const {
  TableStats stats;
  for (const auto& shard : clients_) {
    QV_ASSIGN_OR_RETURN(ShardStats part, shard->Stats());
    stats.shards.push_back(std::move(part));
    AddStats(stats.shards.back(), &stats);
  }
  return stats;
}

size_t Table::RowCount() const {
  size_t rows = 0;
  for (const auto& shard : shards_) rows += shard->RowCount();
  return rows;
}

Status Table::Health() const {
  for (const auto& shard : clients_) QV_RETURN_IF_ERROR(shard->Health());
  return Status::OK();
}

template <class Step>
Status Table::EachShard(Step step) {
  Status first;
  for (const auto& shard : shards_) {
    Status status = step(*shard);
    if (first.ok() && !status.ok()) first = std::move(status);
  }
  return first;
}

Status Table::Seal() {
  return EachShard([](Shard& shard) { return shard.Seal(); });
}

Status Table::MaybeSeal() {
  return EachShard([](Shard& shard) { return shard.MaybeSeal(); });
}

Status Table::Compact(bool force) {
  return EachShard([force](Shard& shard) { return shard.Compact(force); });
}

Result<bool> Table::BuildNextIndex(const std::atomic<bool>* stop) {
  if (shards_.empty()) return false;
  const size_t first = next_build_.fetch_add(1) % shards_.size();
  for (size_t i = 0; i < shards_.size(); ++i) {
    QV_ASSIGN_OR_RETURN(bool built, shards_[(first + i) % shards_.size()]->BuildNextIndex(stop));
    if (built) return true;
  }
  return false;
}

Status Table::BuildAllIndexes() {
  return EachShard([](Shard& shard) { return shard.BuildAllIndexes(); });
}

size_t Table::PendingIndexes() const {
  size_t pending = 0;
  for (const auto& shard : shards_) pending += shard->PendingIndexes();
  return pending;
}

}  // namespace quiver
