#include "cluster/log_divergence.h"

#include <chrono>
#include <thread>

namespace quiver::cluster {

Result<std::string> Divergence(const Shard& replica, Lsn* last) {
  const Log& log = *replica.log();
  const Lsn applied = replica.Stats().applied_lsn;
  QV_ASSIGN_OR_RETURN(*last, log.FetchLastLsn());
  if (*last < applied) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    QV_ASSIGN_OR_RETURN(*last, log.FetchLastLsn());
    if (*last < applied) {
      return "it applied records up to LSN " + std::to_string(applied) +
             ", past the end of its log (LSN " + std::to_string(*last) + ")";
    }
  }
  if (applied == 0) return std::string();
  auto mine = replica.AwaitApplied(applied, std::chrono::milliseconds(0));
  if (!mine.ok() || mine->request_id.empty()) return std::string();
  QV_ASSIGN_OR_RETURN(auto held, log.RequestIdAt(applied));
  if (held && !held->empty() && *held != mine->request_id)
    return AppliedAnother(mine->request_id, applied, *held);
  return std::string();
}

std::string AppliedAnother(const std::string& applied, Lsn lsn, const std::string& held) {
  return "it applied record '" + applied + "' at LSN " + std::to_string(lsn) +
         ", where its log holds '" + held + "'";
}

}  // namespace quiver::cluster
