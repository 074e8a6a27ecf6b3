#include "common/names.h"

#include <string>

#include "common/text.h"

namespace quiver {
namespace {

bool IsNameStart(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool IsNameChar(char c) {
  return IsNameStart(c) || (c >= '0' && c <= '9');
}

}  // namespace

Status ValidateName(std::string_view what, std::string_view name) {
  std::string w(what);
  if (name.empty()) return Status::InvalidArgument(w + " name must not be empty");
  if (name.size() > kMaxNameLength) {
    return Status::InvalidArgument(w + " name is " + std::to_string(name.size()) +
                                   " characters long; the limit is " +
                                   std::to_string(kMaxNameLength));
  }
  if (!IsNameStart(name[0])) {
    return Status::InvalidArgument(w + " name " + Quoted(name) +
                                   " must start with a letter or underscore");
  }
  for (char c : name) {
    if (!IsNameChar(c)) {
      return Status::InvalidArgument(w + " name " + Quoted(name) +
                                     " may contain only letters, digits and underscores");
    }
  }
  return Status::OK();
}

}  // namespace quiver
