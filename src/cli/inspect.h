#pragma once

#include <ostream>
#include <string>

namespace quiver {

// Human-readable dumps of Quiver's files; return a process exit code.
int InspectWal(const std::string& path, std::ostream& out);
int InspectCatalog(const std::string& path, std::ostream& out);
int InspectSegment(const std::string& path, std::ostream& out);
int InspectManifest(const std::string& path, std::ostream& out);
int InspectIndex(const std::string& path, std::ostream& out);

}  // namespace quiver
