#pragma once

// Processes on this host: what the local cluster launcher (local_cluster.h)
// and the tests' servers start, probe and stop. A process is known by its
// PID and the command line it was started with: a PID alone is not trusted,
// since the kernel reuses PIDs.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace quiver {

struct SpawnOptions {
  // argv[0] is a path, or a name looked up on PATH (then replaced by the path
  // found, which is what the process's command line shows).
  std::vector<std::string> argv;
  std::string log;  // stdout and stderr are appended to this file; stdin is /dev/null
  // Set in the child's environment on top of (or in place of) this process's.
  std::vector<std::pair<std::string, std::string>> env;
  std::string cwd;               // the child's working directory; empty: this one's
  bool new_session = true;       // setsid: no controlling terminal, outlives this process
  bool die_with_parent = false;  // SIGKILL when the spawning thread exits (tests)
};

// A process started by SpawnProcess.
struct SpawnedProcess {
  pid_t pid = 0;
  std::vector<std::string> argv;  // as exec'd: argv[0] is the path of the binary
};

// Starts a process and returns once it has exec'd its binary. Errors: a
// binary that is missing or not executable is kNotFound naming it; a log file
// that cannot be opened is kIOError.
Result<SpawnedProcess> SpawnProcess(const SpawnOptions& options);

// The path of `name` (a path is returned as it is when executable), or empty.
std::string FindExecutable(const std::string& name);

// True while `pid` runs the command line `argv` (/proc/<pid>/cmdline; an
// empty argv skips that check). A zombie is not running; a child of this
// process that exited is reaped.
bool ProcessRunning(pid_t pid, const std::vector<std::string>& argv);

// The wait status of a child of this process once it has exited (reaped
// then); nothing while it runs or if it is not a child of this process.
std::optional<int> ReapIfExited(pid_t pid);

// "status 1" or "signal 9", for messages about a wait status.
std::string DescribeExit(int wait_status);

// Stops every process of `group` that still runs its command line: SIGTERM
// to all of them, then SIGKILL to those still running after `grace`. Returns
// once they are all gone (or, should SIGKILL not end one, after 10 s more:
// then kInternal naming it).
Status StopProcesses(const std::vector<SpawnedProcess>& group, std::chrono::milliseconds grace);

// Runs a command to its end, at most `timeout`: OK when it exited with 0;
// else an error naming it with the end of its log (killed after the timeout).
Status RunToEnd(const SpawnOptions& options, std::chrono::milliseconds timeout);

// The last `max_bytes` of a file, cut at a line start; empty when unreadable.
std::string TailOfFile(const std::string& path, size_t max_bytes = 2000);

// Hands out ports on 127.0.0.1 that nobody listens on now, below 32768 so
// outside the kernel's ephemeral range: the connections this host opens
// cannot take them between the probe and the server's bind (radosgw, for
// one, crashes when its port is taken). Never the same port twice.
class PortPicker {
 public:
  PortPicker();
  // kUnavailable when no free port was found.
  Result<int> Next();

 private:
  std::mt19937 random_;
  std::set<int> handed_out_;
};

}  // namespace quiver
