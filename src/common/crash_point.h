#pragma once

#include <string_view>

namespace quiver {

// Named places where a crash test may kill the process. Setting the
// environment variable QUIVER_CRASH_POINT=<name> (or <name>:<n> for the n-th
// time it is reached) makes the process SIGKILL itself there, exactly as a
// `kill -9` at that instant would. Costs one comparison when unarmed.
//
// Names in use: wal.after_append, wal.after_sync, segment.before_rename,
// segment.after_rename, manifest.before_rename, manifest.after_rename,
// wal.before_trim, compaction.mid_swap, compaction.before_cleanup.
void CrashPoint(std::string_view name);

// A named place where a test may make the process wait: with
// QUIVER_PAUSE_POINT=<name>:<path> it waits there until the file <path>
// exists (at most 10 minutes), so a test observes the state (such as a
// server still recovering) for exactly as long as it needs, then creates the
// file to let the process go on. Names in use: engine.before_recovery.
void PausePoint(std::string_view name);

}  // namespace quiver
