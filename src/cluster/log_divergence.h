#pragma once

#include <string>

#include "common/lsn.h"
#include "common/status.h"
#include "engine/shard.h"

namespace quiver::cluster {

// Why a replica no longer matches its log, or "" when it does, as far as
// its last applied record tells: a NATS 2.9 stream whose servers disagreed
// after a failure can go back (records a reader was delivered are gone) and
// fill those LSNs with other records, which an ordered reader, past them
// already, never delivers (docs/CLUSTER.md, "NATS 2.9 drift"). Diverged
// when the log ends below the replica's applied LSN (asked twice, half a
// second apart: a server that just took the stream over may still be
// applying it) or holds another record (request id) at that LSN. `*last`:
// the log's last LSN. Errors: the log could not be asked.
Result<std::string> Divergence(const Shard& replica, Lsn* last);

// The reason given when a replica applied record `applied` at `lsn` where
// its log holds record `held` (request ids).
std::string AppliedAnother(const std::string& applied, Lsn lsn, const std::string& held);

}  // namespace quiver::cluster
