#include "engine/shard_client.h"

#include "engine/shard.h"

namespace quiver {

Result<InsertCounts> LocalShardClient::Insert(const RecordBatch& batch, bool upsert, uint64_t stamp,
                                              std::span<const uint32_t> offsets) {
  return shard_->Insert(batch, upsert, stamp, offsets);
}
Result<DeleteCounts> LocalShardClient::Delete(std::span<const PrimaryKey> keys) {
  return shard_->Delete(keys);
}
Result<DeleteCounts> LocalShardClient::DeleteWhere(std::string_view filter) {
  return shard_->DeleteWhere(filter);
}
Result<ResultSet> LocalShardClient::Search(const SearchRequest& request) const {
  return shard_->Search(request);
}
Result<ResultSet> LocalShardClient::HybridSearch(const HybridRequest& request) const {
  return shard_->HybridSearch(request);
}
Result<ResultSet> LocalShardClient::Get(const GetRequest& request) const {
  return shard_->Get(request);
}
Result<ShardStats> LocalShardClient::Stats() const {
  return shard_->Stats();
}
Status LocalShardClient::Health() const {
  return shard_->Health();
}
uint64_t LocalShardClient::LastStamp() const {
  return shard_->LastStamp();
}

}  // namespace quiver
