#include "cluster/local_process.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

extern char** environ;

namespace quiver {
namespace {

using Clock = std::chrono::steady_clock;

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// This process's environment with `overrides` set.
std::vector<std::string> ChildEnvironment(
    const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    bool replaced = false;
    for (const auto& [key, value] : overrides) {
      replaced = replaced ||
                 (entry.size() > key.size() && entry.starts_with(key) && entry[key.size()] == '=');
    }
    if (!replaced) env.emplace_back(entry);
  }
  for (const auto& [key, value] : overrides) env.push_back(key + "=" + value);
  return env;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// The child between fork and exec: async-signal-safe calls only. Reports
// errno on `error_pipe` when it cannot exec.
[[noreturn]] void ExecChild(const SpawnOptions& options, const char* binary, char** argv,
                            char** envp, int log_fd, int null_fd, int error_pipe, pid_t parent) {
  if (options.new_session) setsid();
  if (options.die_with_parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
  }
  // Signal dispositions set to "ignore" and the signal mask survive exec.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT}) signal(sig, SIG_DFL);
  // Descriptors this process opened without O_CLOEXEC (libraries' sockets,
  // a lock file) must not leak into a daemon that outlives it.
  close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  int error = 0;
  if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) error = errno;
  if (error == 0 && (dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)) {
    error = errno;
  }
  if (error == 0) {
    execve(binary, argv, envp);
    error = errno;
  }
  (void)!write(error_pipe, &error, sizeof error);
  _exit(127);
}

}  // namespace

std::string FindExecutable(const std::string& name) {
  if (name.empty()) return {};
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

Result<SpawnedProcess> SpawnProcess(const SpawnOptions& options) {
  if (options.argv.empty()) return Status::InvalidArgument("no command to start");
  SpawnedProcess spawned;
  spawned.argv = options.argv;
  spawned.argv[0] = FindExecutable(options.argv[0]);
  if (spawned.argv[0].empty()) {
    return Status::NotFound("cannot start '" + options.argv[0] +
                            "': no such executable (not installed, or not on PATH)");
  }
  std::vector<std::string> argv_strings = spawned.argv;
  std::vector<std::string> env_strings = ChildEnvironment(options.env);
  std::vector<char*> argv = Pointers(argv_strings);
  std::vector<char*> envp = Pointers(env_strings);

  const int log_fd = open(options.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return Status::IOError("cannot open " + options.log + ": " + std::strerror(errno));
  }
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int error_pipe[2] = {-1, -1};
  if (null_fd < 0 || pipe2(error_pipe, O_CLOEXEC) != 0) {
    const int error = errno;
    close(log_fd);
    if (null_fd >= 0) close(null_fd);
    return Status::IOError(std::string("cannot start a process: ") + std::strerror(error));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    ExecChild(options, argv[0], argv.data(), envp.data(), log_fd, null_fd, error_pipe[1], parent);
  }
  const int fork_error = errno;
  close(error_pipe[1]);
  close(log_fd);
  close(null_fd);
  if (pid < 0) {
    close(error_pipe[0]);
    return Status::IOError(std::string("fork: ") + std::strerror(fork_error));
  }
  // The pipe closes on exec (nothing to read), or brings the child's errno.
  int child_error = 0;
  ssize_t got = 0;
  do got = read(error_pipe[0], &child_error, sizeof child_error);
  while (got < 0 && errno == EINTR);
  close(error_pipe[0]);
  if (got == static_cast<ssize_t>(sizeof child_error)) {
    waitpid(pid, nullptr, 0);
    return Status::NotFound("cannot start " + spawned.argv[0] + ": " + std::strerror(child_error));
  }
  spawned.pid = pid;
  return spawned;
}

std::optional<int> ReapIfExited(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  int status = 0;
  if (waitpid(pid, &status, WNOHANG) == pid) return status;
  return std::nullopt;
}

std::string DescribeExit(int wait_status) {
  if (WIFSIGNALED(wait_status)) return "signal " + std::to_string(WTERMSIG(wait_status));
  return "status " + std::to_string(WEXITSTATUS(wait_status));
}

bool ProcessRunning(pid_t pid, const std::vector<std::string>& argv) {
  if (pid <= 0) return false;
  if (ReapIfExited(pid)) return false;
  // "pid (comm) S ...": the state follows the last ')'. A zombie has exited;
  // its parent (init, once we are gone) may take a while to reap it.
  const std::string stat = ReadWhole("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return false;
  const char state = stat[paren + 2];
  if (state == 'Z' || state == 'X' || state == 'x') return false;
  if (argv.empty()) return true;
  std::string expected;
  for (const auto& arg : argv) {
    expected += arg;
    expected.push_back('\0');
  }
  return ReadWhole("/proc/" + std::to_string(pid) + "/cmdline") == expected;
}

Status StopProcesses(const std::vector<SpawnedProcess>& group, std::chrono::milliseconds grace) {
  auto running = [&group] {
    std::vector<const SpawnedProcess*> left;
    for (const auto& p : group) {
      if (ProcessRunning(p.pid, p.argv)) left.push_back(&p);
    }
    return left;
  };
  for (const auto* p : running()) kill(p->pid, SIGTERM);
  const auto kill_at = Clock::now() + grace;
  const auto give_up = kill_at + std::chrono::seconds(10);
  bool killed = false;
  while (true) {
    const auto left = running();
    if (left.empty()) return Status::OK();
    const auto now = Clock::now();
    if (!killed && now >= kill_at) {
      for (const auto* p : left) kill(p->pid, SIGKILL);
      killed = true;
    } else if (now >= give_up) {
      return Status::Internal("pid " + std::to_string(left.front()->pid) +
                              " survived SIGKILL for 10 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Status RunToEnd(const SpawnOptions& options, std::chrono::milliseconds timeout) {
  QV_ASSIGN_OR_RETURN(SpawnedProcess process, SpawnProcess(options));
  const std::string& name = options.argv[0];
  const auto give_up = Clock::now() + timeout;
  while (true) {
    if (const auto status = ReapIfExited(process.pid)) {
      if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0) return Status::OK();
      return Status::Internal(name + " failed (" + DescribeExit(*status) + "); the end of " +
                              options.log + ":\n" + TailOfFile(options.log));
    }
    if (Clock::now() > give_up) {
      kill(process.pid, SIGKILL);
      waitpid(process.pid, nullptr, 0);
      return Status::Unavailable(name + " did not finish within " +
                                 std::to_string(timeout.count() / 1000) + " s; the end of " +
                                 options.log + ":\n" + TailOfFile(options.log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string TailOfFile(const std::string& path, size_t max_bytes) {
  std::string text = ReadWhole(path);
  if (text.size() <= max_bytes) return text;
  text.erase(0, text.size() - max_bytes);
  const size_t line = text.find('\n');
  if (line != std::string::npos && line + 1 < text.size()) text.erase(0, line + 1);
  return text;
}

PortPicker::PortPicker() : random_(std::random_device{}()) {}

Result<int> PortPicker::Next() {
  // Below the kernel's ephemeral range (32768-60999), above most services.
  std::uniform_int_distribution<int> ports(20000, 32767);
  for (int tries = 0; tries < 1000; ++tries) {
    const int port = ports(random_);
    if (handed_out_.contains(port)) continue;
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) break;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    if (free) {
      handed_out_.insert(port);
      return port;
    }
  }
  return Status::Unavailable("no free port on 127.0.0.1 between 20000 and 32767");
}

}  // namespace quiver
